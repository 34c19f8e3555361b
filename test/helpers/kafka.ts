/**
 * What the Kafka wire-protocol tests share: an embedded broker listening on a free port with
 * the topics a test needs, kafkajs clients with small timeouts, kcat runs that cannot
 * outlive their deadline, and reading a partition back from the broker's own log (the
 * reconciled truth every test checks the clients against).
 *
 * The tests run wherever `node:net` and `node:child_process` work: Node, Deno and Bun (the
 * browser runner skips them, as it skips every file that imports a Node built-in). The
 * client libraries are loaded on first use, by dynamic import.
 */
import { spawn } from "node:child_process";
import process from "node:process";
import type { Kafka, KafkaConfig } from "kafkajs";
import { EmbeddedBroker, type Isolation } from "../../src/index.ts";

/** ACKTOR_SKIP_ENGINES=1 skips what needs kcat. */
export const SKIP_ENGINES = process.env.ACKTOR_SKIP_ENGINES === "1";
/** The kcat binary (ACKTOR_KCAT overrides it). */
export const KCAT = process.env.ACKTOR_KCAT ?? "kcat";

export const dec = (
  b: Uint8Array | null | undefined,
): string | null => (b == null ? null : new TextDecoder().decode(b));

let topicCount = 0;
/** A topic name no other test of this run uses. */
export const uniqueTopic = (what: string): string =>
  `kt-${what}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}-${topicCount++}`;

/** A record as `broker.read()` returns it. */
export type LogRecord = ReturnType<EmbeddedBroker["read"]>[number];
/** The server handle `broker.listen()` returns. */
export type KafkaServer = Awaited<ReturnType<EmbeddedBroker["listen"]>>;
/** The options `broker.listen()` takes. */
export type ListenOptions = NonNullable<Parameters<EmbeddedBroker["listen"]>[0]>;

/** A broker with a Kafka listener; `close()` (or `await using`) stops the listener. */
export interface KafkaFixture extends AsyncDisposable {
  readonly broker: EmbeddedBroker;
  readonly server: KafkaServer;
  /** The bootstrap server string, `host:port`. */
  readonly url: string;
  /** What the server logged (closed connections and why), instead of printing it. */
  readonly logs: string[];
  close(): Promise<void>;
}

/**
 * Starts an embedded broker with `topics` (name to partition count, replication factor
 * `replicationFactor`, default 3) listening on a free port of 127.0.0.1.
 */
export async function startKafka(
  topics: Record<string, number>,
  options: { replicationFactor?: number; listen?: Partial<ListenOptions> } = {},
): Promise<KafkaFixture> {
  const broker = new EmbeddedBroker();
  for (const [name, partitions] of Object.entries(topics)) {
    broker.createTopic(name, { partitions, replicationFactor: options.replicationFactor ?? 3 });
  }
  const logs: string[] = [];
  const server = await broker.listen({ port: 0, host: "127.0.0.1", log: (line) => logs.push(line), ...options.listen });
  let closed: Promise<void> | null = null;
  const close = () => (closed ??= server.close());
  return { broker, server, url: server.url, logs, close, [Symbol.asyncDispose]: close };
}

/** Every record of a partition in the broker's log, as the given isolation sees it. */
export function readLog(
  broker: EmbeddedBroker,
  topic: string,
  partition: number,
  isolation: Isolation = "read-committed",
): LogRecord[] {
  return broker.read(topic, partition, { isolation });
}

/** Every value of a topic's partitions in the broker's log, partition by partition, as text. */
export function logValues(
  broker: EmbeddedBroker,
  topic: string,
  partitions: number,
  isolation: Isolation = "read-committed",
): string[][] {
  return Array.from({ length: partitions }, (_, p) => readLog(broker, topic, p, isolation).map((r) => dec(r.value)!));
}

/** Values that occur other than exactly once among `seen`, out of `expected`: `{ missing, duplicated }`. */
export function onceEach(
  expected: readonly string[],
  seen: readonly string[],
): { missing: string[]; duplicated: string[] } {
  const counts = new Map<string, number>();
  for (const v of seen) counts.set(v, (counts.get(v) ?? 0) + 1);
  return {
    missing: expected.filter((v) => !counts.has(v)),
    duplicated: [...counts].filter(([, n]) => n > 1).map(([v]) => v),
  };
}

/**
 * Where each partition's values (named by a letter and their send number, as `v17`) break
 * send order: `partition p at index i` for the first value not after its predecessor; empty
 * when every partition is in send order.
 */
export function sendOrderBreaks(partitions: readonly (readonly string[])[]): string[] {
  return partitions.flatMap((values, p) => {
    const numbers = values.map((v) => Number(v.slice(1)));
    const at = numbers.findIndex((n, k) => k > 0 && !(n > numbers[k - 1]!));
    return at === -1 ? [] : [`partition ${p} at index ${at}: ${values[at - 1]} then ${values[at]}`];
  });
}

/**
 * A kafkajs client of `url` with small timeouts and retries, so a broken server fails a test
 * within seconds rather than minutes, and without kafkajs's logging.
 */
export async function kafkajs(url: string, clientId: string, overrides: Partial<KafkaConfig> = {}): Promise<Kafka> {
  const lib = await import("kafkajs");
  // kafkajs is CommonJS: its exports come as named ones or under `default`, by loader.
  const { Kafka, logLevel } = "Kafka" in lib ? lib : (lib as unknown as { default: typeof lib }).default;
  return new Kafka({
    clientId,
    brokers: [url],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    requestTimeout: 2_000,
    retry: { retries: 10, initialRetryTime: 50, maxRetryTime: 1_000 },
    ...overrides,
  });
}

/** Disconnects whatever of `clients` was created, then closes the listener; never throws. */
export async function cleanUp(fx: KafkaFixture | null, ...clients: ({ disconnect(): Promise<void> } | null)[]) {
  fx?.server.chaos(null);
  await Promise.allSettled(clients.map((c) => c?.disconnect()));
  await fx?.close();
}

/** Reads `topic` with a fresh kafkajs group consumer until `done(values)` holds; the values in arrival order. */
export async function consumeUntil(
  fx: KafkaFixture,
  topic: string,
  readUncommitted: boolean,
  done: (values: string[]) => boolean,
  signal: AbortSignal,
): Promise<string[]> {
  const kafka = await kafkajs(fx.url, `reader-${readUncommitted ? "ru" : "rc"}`);
  const consumer = kafka.consumer({ groupId: uniqueTopic("reader"), readUncommitted, maxWaitTimeInMs: 100 });
  const values: string[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: ({ message }) => Promise.resolve(void values.push(dec(message.value)!)) });
    await waitFor(
      () => done(values),
      `a ${readUncommitted ? "read-uncommitted" : "read-committed"} consumer of ${topic}`,
      {
        withinMs: 20_000,
        signal,
        progress: () => `${values.length} values: ${values.slice(-5).join(", ")}`,
      },
    );
    return values;
  } finally {
    await consumer.disconnect().catch(() => {});
  }
}

/** Sleeps `ms` of real time. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits (real time, polling every `stepMs`) until `done()` holds; fails naming `what` and
 * `progress()` after `withinMs`, or once `signal` aborts.
 */
export async function waitFor(
  done: () => boolean,
  what: string,
  options: { withinMs: number; stepMs?: number; progress?: () => string; signal?: AbortSignal },
): Promise<void> {
  const start = Date.now();
  while (!done()) {
    const state = options.progress ? ` (${options.progress()})` : "";
    if (options.signal?.aborted) throw new Error(`stopped waiting for ${what}${state}: the test ended`);
    if (Date.now() - start > options.withinMs) {
      throw new Error(`gave up waiting for ${what} after ${options.withinMs} ms${state}`);
    }
    await sleep(options.stepMs ?? 20);
  }
}

/** How a kcat run ended. */
export interface KcatResult {
  /** Exit code, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Lines kcat wrote to stdout. */
  readonly lines: number;
  /** The hard timeout killed it. */
  readonly timedOut: boolean;
  /** It was stopped on purpose: `stopAfterLines` reached, or `stop()` called. */
  readonly stopped: boolean;
  /** The command, for failure messages. */
  readonly command: string;
}

export interface KcatOptions {
  /** Kills kcat (SIGKILL) after this long, wall clock; the result says `timedOut`. */
  readonly timeoutMs: number;
  /** Written to kcat's stdin, which is then closed; without it stdin is closed at once. */
  readonly stdin?: string | Uint8Array;
  /** Stops kcat (SIGTERM, then SIGKILL) once it has written this many lines to stdout. */
  readonly stopAfterLines?: number;
  /** Stops kcat when it aborts, e.g. the test's signal. */
  readonly signal?: AbortSignal;
  /** Keep stdout (default true); a benchmark counting millions of lines turns it off. */
  readonly keepStdout?: boolean;
}

/** A running kcat: its result, and a way to stop it early. */
export interface KcatRun extends Promise<KcatResult> {
  stop(): void;
  /** Lines written to stdout so far. */
  lines(): number;
}

/** What a failure message says about a kcat run. */
export function describeKcat(r: KcatResult): string {
  const how = r.timedOut ? "killed at its timeout" : r.stopped ? "stopped" : `exit ${r.code ?? r.signal}`;
  return `${r.command}: ${how}, ${r.lines} lines out; stderr: ${r.stderr.slice(-2_000) || "(empty)"}`;
}

/**
 * Runs kcat with `args` (no shell). It never outlives `timeoutMs`: past it, it is killed and
 * the result says `timedOut`. The promise never rejects; a spawn failure is exit code 127
 * with the reason in `stderr`.
 */
export function kcat(args: readonly string[], options: KcatOptions): KcatRun {
  const command = `${KCAT} ${args.map((a) => (/^[\w.,:=/@%-]+$/.test(a) ? a : JSON.stringify(a))).join(" ")}`;
  const child = spawn(KCAT, args, { stdio: ["pipe", "pipe", "pipe"] });
  const keep = options.keepStdout ?? true;
  let stdout = "";
  let stderr = "";
  let lines = 0;
  let timedOut = false;
  let stopped = false;
  const stop = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    stopped = true;
    child.kill("SIGTERM");
    setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"), 1_000).unref();
  };
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs);
  const onAbort = () => stop();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    if (keep) stdout += chunk;
    for (let i = chunk.indexOf("\n"); i !== -1; i = chunk.indexOf("\n", i + 1)) lines++;
    if (options.stopAfterLines !== undefined && lines >= options.stopAfterLines) stop();
  });
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => void (stderr = (stderr + chunk).slice(-100_000)));
  // kcat may exit before reading all of its input (a failure): the broken pipe is its result, not ours.
  child.stdin.on("error", () => {});
  if (options.stdin === undefined) child.stdin.end();
  else child.stdin.end(options.stdin);
  const result = new Promise<KcatResult>((resolve) => {
    let spawnError: Error | null = null;
    child.on("error", (error) => void (spawnError = error));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      resolve({
        code: spawnError ? 127 : code,
        signal,
        stdout,
        stderr: spawnError ? `could not start ${KCAT}: ${spawnError.message}` : stderr,
        lines,
        timedOut,
        stopped,
        command,
      });
    });
  });
  return Object.assign(result, { stop, lines: () => lines });
}
