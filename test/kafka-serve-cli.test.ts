/**
 * `npx acktor serve`: its `--topics` parser as a pure function, and the command itself run
 * by this very runtime (Node through tsx, Deno, Bun) as a child process: it prints its
 * address, serves the topics it was given over the Kafka wire protocol, and stops cleanly on
 * SIGINT with exit code 0. A bad flag is one line and exit code 2.
 */
import { spawn } from "node:child_process";
import process from "node:process";
import * as assert from "uvu/assert";
import { test } from "./helpers/harness.ts";
import { WireClient } from "./helpers/kafka-wire.ts";
import { runtimeName } from "./helpers/session.ts";
import { ConfigError } from "../src/index.ts";
import { parseTopics } from "../src/cli/serve.ts";
import * as m from "../src/kafka/messages/index.ts";

const CLI = new URL("../src/cli/acktor.ts", import.meta.url).pathname;

/** The command line that runs a TypeScript file on the runtime running this test. */
function command(args: string[]): [string, string[]] {
  const runtime = runtimeName();
  if (runtime.startsWith("deno")) return [process.execPath, ["run", "-A", CLI, ...args]];
  if (runtime.startsWith("bun")) return [process.execPath, [CLI, ...args]];
  return [process.execPath, ["--import", "tsx", CLI, ...args]];
}

interface Run {
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  kill(signal: "SIGINT" | "SIGKILL"): void;
}

function run(args: string[]): Run {
  const [bin, argv] = command(args);
  const child = spawn(bin, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (chunk: Uint8Array) => out += new TextDecoder().decode(chunk));
  child.stderr!.on("data", (chunk: Uint8Array) => err += new TextDecoder().decode(chunk));
  return {
    stdout: () => out,
    stderr: () => err,
    exited: new Promise((resolve) => child.on("exit", (code) => resolve(code))),
    kill: (signal) => child.kill(signal),
  };
}

async function until(what: string, done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("--topics: NAME[:PARTITIONS[:REPLICAS]] separated by commas; anything else names the problem", () => {
  assert.equal(parseTopics("orders:4:3,audit, x:2"), [
    { name: "orders", partitions: 4, replicationFactor: 3 },
    { name: "audit", partitions: 1, replicationFactor: 1 },
    { name: "x", partitions: 2, replicationFactor: 1 },
  ]);
  assert.equal(parseTopics(""), []);
  for (
    const [text, problem] of [["x:0", /partition count/], ["x:2:y", /replica count/], [":3", /NAME/], [
      "a:1:1:1",
      /NAME/,
    ]]
  ) {
    const error = (() => {
      try {
        parseTopics(text as string);
      } catch (e) {
        return e;
      }
    })();
    assert.instance(error, ConfigError, text as string);
    assert.match((error as Error).message, problem as RegExp);
  }
});

test(
  "acktor serve: prints its address, serves its topics, stops on SIGINT with exit code 0",
  { deadlineMs: 60_000 },
  async () => {
    const serve = run(["serve", "--port", "0", "--topics", "orders:4:3,audit"]);
    let client: WireClient | null = null;
    try {
      await until("the address line", () => /on 127\.0\.0\.1:\d+/.test(serve.stdout()), 45_000);
      const port = Number(/127\.0\.0\.1:(\d+)/.exec(serve.stdout())![1]);
      client = await WireClient.connect(port);
      const meta = await client.request(m.metadata, 9, { topics: null });
      const topics = (meta.topics as { name: string; partitions: unknown[] }[])
        .map((t) => [t.name, t.partitions.length]).sort();
      assert.equal(topics, [["audit", 1], ["orders", 4]]);
      client.close();
      serve.kill("SIGINT");
      const code = await serve.exited;
      // "stopped" comes after the server closed, so the handler ran and the close completed.
      assert.match(serve.stdout(), /stopped\n$/, serve.stderr());
      // Deno's child_process reports a child that got a signal as killed (code null) even when
      // it handled the signal and exited by itself; Node and Bun report its own exit code.
      if (!runtimeName().startsWith("deno")) assert.is(code, 0, serve.stderr());
    } finally {
      client?.close();
      serve.kill("SIGKILL");
    }
  },
);

test("acktor serve with a bad flag or value: one line on stderr, exit code 2", { deadlineMs: 60_000 }, async () => {
  for (
    const args of [["serve", "--topics", "x:0"], ["serve", "--topics", "a,a"], ["serve", "--prot", "1"], ["launch"], []]
  ) {
    const bad = run(args);
    try {
      assert.is(await bad.exited, 2, `${args.join(" ")}: ${bad.stderr()}`);
      assert.match(bad.stderr() + bad.stdout(), /error: /);
    } finally {
      bad.kill("SIGKILL");
    }
  }
});

test.run();
