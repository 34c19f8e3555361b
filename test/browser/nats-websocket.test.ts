/**
 * acktor on NATS JetStream from a browser, over WebSocket: headless Chromium runs a page
 * bundled from `acktor/nats`'s browser entry, against a nats-server of this test's own
 * (free ports, JetStream, a `websocket` block without TLS; killed at the end), while Node
 * talks to the same server over TCP.
 *
 * - The browser entry bundles for the browser with no `node:*` module, and package.json's
 *   "browser" condition selects it.
 * - The page produces exactly-once over `ws://`, Node consumes over `nats://`: every record
 *   once, in order per partition, where the page's acknowledgements put it.
 * - Node produces exactly-once, the page consumes (commit after processing): the same, and
 *   the group's durable consumer holds nothing unacknowledged afterwards.
 * - A `nats://` or `host:port` address in the page is a `ConfigError` saying browsers connect
 *   over WebSocket.
 *
 * Each test has a deadline, and anything the page logs as an error fails it. Runs on Node
 * (`npx tsx test/browser/nats-websocket.test.ts`, or through `test/browser/run.ts`);
 * ACKTOR_SKIP_ENGINES=1 skips it.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as assert from "uvu/assert";
import { build } from "esbuild";
import { type Browser, chromium, type Page } from "playwright-core";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { test } from "../helpers/harness.ts";
import { bundleForBrowser, chromiumPath, modulePage, ORIGIN, type PageLog, withPage } from "../helpers/chromium.ts";
import { type OwnNatsServer, startNatsServer } from "../helpers/nats-process.ts";
import { dec, readAll, SKIP, uniqueTopic } from "../helpers/nats.ts";
import * as nodeEntry from "../../src/adapters/nats/index.ts";
import * as browserEntry from "../../src/adapters/nats/browser.ts";
import {
  connectNats,
  durableName,
  type Framing,
  type NatsTransport,
  streamName,
} from "../../src/adapters/nats/index.ts";
import { createConsumer, createProducer, exactlyOnce } from "../../src/index.ts";
import type { Acked, NatsPage, Refusal, Seen } from "./nats-websocket.page.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const PAGE_ENTRY = fileURLToPath(new URL("./nats-websocket.page.ts", import.meta.url));
const COUNT = 2_000;
const PARTITIONS = 4;
const KEYS = 7;

let server: OwnNatsServer | null = null;
let browser: Browser | null = null;
let nats: NatsTransport | null = null;
let script = "";

/** What `before` set up; throws when it did not (its own failure is reported by the harness). */
function setUp(): { server: OwnNatsServer; browser: Browser; nats: NatsTransport } {
  if (server === null || browser === null || nats === null) throw new Error("the before hook did not set up");
  return { server, browser, nats };
}

test.before(async () => {
  if (SKIP) return;
  server = await startNatsServer({ name: "ws-browser", websocket: true });
  nats = await connectNats({ servers: server.url });
  script = await bundleForBrowser(PAGE_ENTRY);
  // As launchChromium does, plus one switch. The page comes from a made-up origin over http
  // (helpers/chromium.ts's ORIGIN) and the server listens on loopback: Chromium lets only a
  // secure context reach loopback addresses, and only with the user's "local network access"
  // permission (else net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS). The switch makes the
  // origin count as secure, as a deployed page on https is; each page is granted the
  // permission before it loads (see inPage).
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ["--no-sandbox", `--unsafely-treat-insecure-origin-as-secure=${ORIGIN}`],
    headless: true,
  });
});

test.after(async () => {
  await browser?.close().catch(() => {});
  await nats?.close().catch(() => {});
  await server?.stop();
});

/** The page's API, inside `page.evaluate`. */
type Global = typeof globalThis & { acktorNats: NatsPage };

/** Opens the page, waits for its module, runs `fn`; anything the page logs as an error fails the test. */
async function inPage<T>(fn: (page: Page) => Promise<T>): Promise<T> {
  const { browser } = setUp();
  const site = modulePage(script, "acktor on NATS over WebSocket");
  const { result, log } = await withPage(browser, site, "/", async (page, log: PageLog) => {
    await page.waitForFunction(() => "acktorNats" in globalThis, null, { timeout: 15_000 });
    return { result: await fn(page), log };
  }, { beforeLoad: (page) => page.context().grantPermissions(["local-network-access"], { origin: ORIGIN }) });
  assert.equal(log.errors, [], `the page logged errors:\n${log.errors.join("\n")}`);
  return result;
}

/** Every value 0..count-1 exactly once; per partition, offsets and values rising; each where its ack put it. */
function checkExactlyOnceInOrder(seen: readonly Seen[], acked: readonly Acked[], count: number): void {
  const values = seen.map((s) => s.value);
  const twice = values.filter((v, i) => values.indexOf(v) !== i);
  assert.equal(twice, [], `records handled more than once: ${twice.slice(0, 10).join(", ")}`);
  const missing = [...Array(count).keys()].filter((v) => !values.includes(v));
  assert.equal(missing, [], `records never handled: ${missing.slice(0, 10).join(", ")}`);
  assert.is(seen.length, count);
  for (let p = 0; p < PARTITIONS; p++) {
    const mine = seen.filter((s) => s.partition === p);
    for (let i = 1; i < mine.length; i++) {
      const [before, now] = [mine[i - 1]!, mine[i]!];
      assert.ok(
        now.offset > before.offset && now.value > before.value,
        `partition ${p} out of order: value ${now.value} at offset ${now.offset} after value ${before.value} at ${before.offset}`,
      );
    }
  }
  for (const s of seen) {
    assert.is(s.key, `k${s.value % KEYS}`);
    const ack = acked[s.value]!;
    assert.equal([s.partition, s.offset], [ack.partition, ack.offset], `value ${s.value} is where its ack put it`);
  }
}

/** The log of `topic`, every partition: each value once. */
async function checkLog(admin: NatsTransport, topic: string, count: number): Promise<void> {
  const stored: number[] = [];
  for (let p = 0; p < PARTITIONS; p++) stored.push(...(await readAll(admin, topic, p)).map((r) => Number(r.value)));
  assert.is(stored.length, count, `the log holds ${stored.length} records for ${count} produced`);
  assert.is(new Set(stored).size, count, "no record stored twice");
}

test("acktor/nats's browser entry bundles for a browser without node:* modules; package.json selects it", async () => {
  // Bundled as a user's bundler would: every dependency included, no shims, platform browser.
  const result = await build({
    entryPoints: [fileURLToPath(new URL("../../src/adapters/nats/browser.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const inputs = Object.keys(result.metafile.inputs);
  const nodeOnly = inputs.filter((i) => i.startsWith("node:") || i.includes("@nats-io/transport-node"));
  assert.equal(nodeOnly, [], "the browser entry reaches Node-only modules");
  assert.ok(inputs.some((i) => i.includes("@nats-io/nats-core")), "nats-core is bundled");
  // The check is not vacuous: the Node entry, with its TCP client, does not bundle for a browser.
  const nodeBundle = await build({
    entryPoints: [fileURLToPath(new URL("../../src/adapters/nats/index.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    logLevel: "silent",
  }).then(() => null, (e: unknown) => e);
  assert.match(String((nodeBundle as Error | null)?.message), /node:net/);
  // Both entries offer the same names; the browser condition of "./nats" points at the browser build.
  assert.equal(Object.keys(browserEntry).sort(), Object.keys(nodeEntry).sort());
  const exports = JSON.parse(readFileSync(`${root}/package.json`, "utf8")).exports["./nats"];
  assert.equal(Object.keys(exports)[0], "browser", "the browser condition comes first");
  assert.equal(exports.browser.import, { types: "./dist/nats.browser.d.ts", default: "./dist/nats.browser.js" });
  assert.match(readFileSync(`${root}/tsup.config.ts`, "utf8"), `"nats.browser": "src/adapters/nats/browser.ts"`);
});

for (const framing of ["message", "batch"] as Framing[]) {
  test(
    `${framing} framing: the page produces ${COUNT} records exactly-once over ws://, Node consumes them over nats://`,
    {
      deadlineMs: 120_000,
    },
    async () => {
      if (SKIP) return;
      const { server, nats } = setUp();
      const topic = uniqueTopic(`ws-page-${framing}`);
      const args = { servers: server.wsUrl!, topic, partitions: PARTITIONS, framing, count: COUNT, keys: KEYS };
      const started = Date.now();
      const acked = await inPage((page) => page.evaluate((a) => (globalThis as Global).acktorNats.produce(a), args));
      const produced = Date.now() - started;
      assert.is(acked.length, COUNT);
      await checkLog(nats, topic, COUNT);

      const consumer = createConsumer(nats, topic, { groupId: `node-${framing}`, commit: "after-processing" });
      const seen: Seen[] = [];
      const done = new AbortController();
      await consumer.run((record) => {
        seen.push({
          value: Number(dec(record.value)),
          key: record.key && dec(record.key),
          partition: record.partition,
          offset: record.offset,
          deliveries: record.deliveries,
        });
        if (seen.length === COUNT) done.abort();
      }, { signal: AbortSignal.any([done.signal, AbortSignal.timeout(60_000)]) });
      await consumer.close();
      checkExactlyOnceInOrder(seen, acked, COUNT);
      console.log(
        `  ${framing} framing: the page produced ${COUNT} records over ws:// in ${produced} ms (page load included)`,
      );
    },
  );

  test(
    `${framing} framing: Node produces ${COUNT} records exactly-once over nats://, the page consumes them over ws://`,
    {
      deadlineMs: 120_000,
    },
    async () => {
      if (SKIP) return;
      const { server, nats } = setUp();
      const topic = uniqueTopic(`ws-node-${framing}`);
      await nats.createTopic(topic, { partitions: PARTITIONS, framing, storage: "memory" });
      const producer = createProducer(nats, topic, { deliverySemantic: exactlyOnce() });
      const outputs = [];
      for (let i = 0; i < COUNT; i++) outputs.push(await producer.send(`k${i % KEYS}`, `${i}`));
      const acked: Acked[] = (await Promise.all(outputs.map((o) => o.wait())))
        .map(({ partition, offset }, value) => ({ value, partition, offset }));
      await producer.close();
      await checkLog(nats, topic, COUNT);

      const groupId = `page-${framing}`;
      const args = { servers: server.wsUrl!, topic, groupId, count: COUNT, withinMs: 60_000 };
      const started = Date.now();
      const seen = await inPage((page) => page.evaluate((a) => (globalThis as Global).acktorNats.consume(a), args));
      const consumed = Date.now() - started;
      checkExactlyOnceInOrder(seen, acked, COUNT);
      assert.ok(seen.every((s) => s.deliveries === 1), "no record was delivered twice");

      // Committed after processing: the group's durable consumer has nothing pending or unacknowledged.
      const nc = await connect({ servers: server.url });
      try {
        const info = await (await jetstreamManager(nc)).consumers.info(streamName(topic), durableName(groupId));
        assert.equal([info.num_pending, info.num_ack_pending], [0, 0], "every record acknowledged by the page");
      } finally {
        await nc.close();
      }
      console.log(
        `  ${framing} framing: the page consumed ${COUNT} records over ws:// in ${consumed} ms (page load included)`,
      );
    },
  );
}

test("in the page, a nats:// or host:port address is a ConfigError: browsers connect over ws:// or wss://", {
  deadlineMs: 30_000,
}, async () => {
  if (SKIP) return;
  const { server } = setUp();
  const cases: (string | string[])[] = [`nats://${server.url}`, server.url, `tls://${server.url}`];
  const mixed = [server.wsUrl!, `nats://${server.url}`];
  const refusals: (Refusal | null)[] = await inPage(async (page) => {
    const out: (Refusal | null)[] = [];
    for (const servers of [...cases, mixed]) {
      out.push(await page.evaluate((a) => (globalThis as Global).acktorNats.refuse(a), servers));
    }
    return out;
  });
  for (const [i, refusal] of refusals.entries()) {
    assert.ok(refusal !== null, `case ${i} connected`);
    assert.ok(refusal.isConfigError && refusal.isAcktorError, `${refusal.name}: ${refusal.message}`);
    assert.is(refusal.field, "servers");
  }
  for (const refusal of refusals.slice(0, cases.length)) {
    assert.match(refusal!.message, /browsers connect to NATS over WebSocket only/);
  }
  assert.match(refusals.at(-1)!.message, /mixes WebSocket addresses/);
});

test.run();
