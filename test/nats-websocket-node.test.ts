/**
 * `connectNats` over WebSocket outside a browser: Node 22 and later, Deno and Bun have a
 * global `WebSocket`, and `acktor/nats` dials `ws://` addresses with `@nats-io/nats-core`'s
 * `wsconnect` there. Runs against a nats-server of its own (free ports, JetStream, a
 * `websocket` block without TLS), killed at the end. Node before 22 has no global WebSocket:
 * there the test checks that `ws://` is refused with a `ConfigError` saying so.
 * ACKTOR_SKIP_ENGINES=1 skips what needs the server.
 */
import * as assert from "uvu/assert";
import { test } from "./helpers/harness.ts";
import { connectNats, type NatsTransport } from "../src/adapters/nats/index.ts";
import { ConfigError, createConsumer, createProducer, EngineUnavailableError, exactlyOnce } from "../src/index.ts";
import { type OwnNatsServer, startNatsServer } from "./helpers/nats-process.ts";
import { dec, SKIP, uniqueTopic } from "./helpers/nats.ts";

const HAS_WEBSOCKET = typeof (globalThis as { WebSocket?: unknown }).WebSocket === "function";

let server: OwnNatsServer | null = null;
const own = (): OwnNatsServer => {
  if (server === null) throw new Error("the test's nats-server did not start (see the before hook's failure)");
  return server;
};

test.before(async () => {
  if (!SKIP) server = await startNatsServer({ name: "ws-node", websocket: true });
});
test.after(async () => {
  await server?.stop();
});

test("a server list mixing ws:// and nats:// addresses is a ConfigError, before anything connects", async () => {
  for (const servers of [["ws://127.0.0.1:1", "nats://127.0.0.1:2"], ["127.0.0.1:2", "wss://127.0.0.1:3"]]) {
    const error = await connectNats({ servers }).catch((e: unknown) => e);
    assert.instance(error, ConfigError, String(error));
    assert.is((error as ConfigError).field, "servers");
    assert.match((error as Error).message, /mixes WebSocket addresses/);
  }
});

test("ws:// and nats:// with nothing listening, or ws:// at a TCP port: EngineUnavailableError within timeoutMs", {
  deadlineMs: 30_000,
}, async () => {
  if (!HAS_WEBSOCKET) return;
  // Port 1: nothing listens (Node's WebSocket never reported that, and the connect hung).
  const cases = ["ws://127.0.0.1:1", "nats://127.0.0.1:1"];
  if (!SKIP) cases.push(`ws://${own().url}`);
  for (const servers of cases) {
    const started = Date.now();
    const error = await connectNats({ servers, timeoutMs: 1_500 }).catch((e: unknown) => e);
    const took = Date.now() - started;
    assert.instance(error, EngineUnavailableError, `${servers}: ${String(error)}`);
    assert.match(
      (error as Error).message,
      /cannot connect to NATS \(\w+: \S/,
      `${servers}: a reason, not an empty one`,
    );
    assert.ok(took < 10_000, `${servers}: refused after ${took} ms`);
  }
});

test("connectNats({ servers: 'ws://…' }) produces exactly-once and consumes, every record once in order", {
  deadlineMs: 30_000,
}, async () => {
  if (SKIP) return;
  const wsUrl = own().wsUrl!;
  if (!HAS_WEBSOCKET) {
    const error = await connectNats({ servers: wsUrl }).catch((e: unknown) => e);
    assert.instance(error, ConfigError, String(error));
    assert.match((error as Error).message, /global WebSocket/);
    console.log(`  (no global WebSocket on this runtime: ${wsUrl} refused with a ConfigError, as documented)`);
    return;
  }
  const nats = await connectNats({ servers: wsUrl, timeoutMs: 5_000 });
  try {
    const topic = uniqueTopic("ws-node");
    const count = 120;
    await nats.createTopic(topic, { partitions: 3, storage: "memory" });
    const producer = createProducer(nats, topic, { deliverySemantic: exactlyOnce() });
    const outputs = [];
    for (let i = 0; i < count; i++) outputs.push(await producer.send(`k${i % 5}`, `${i}`));
    const acked = await Promise.all(outputs.map((o) => o.wait()));
    await producer.close();
    assert.ok(acked.every((m) => m.offset >= 0), "every record acknowledged with an offset");

    const consumer = createConsumer(nats, topic, { groupId: "ws-node", commit: "after-processing" });
    const seen: { partition: number; offset: number; value: number }[] = [];
    const done = new AbortController();
    await consumer.run((record) => {
      seen.push({ partition: record.partition, offset: record.offset, value: Number(dec(record.value)) });
      if (seen.length === count) done.abort();
    }, { signal: AbortSignal.any([done.signal, AbortSignal.timeout(20_000)]) });
    await consumer.close();

    assert.is(seen.length, count, `consumed ${seen.length} of ${count}`);
    assert.equal([...new Set(seen.map((s) => s.value))].sort((a, b) => a - b), [...Array(count).keys()]);
    for (const p of [0, 1, 2]) {
      const mine = seen.filter((s) => s.partition === p);
      for (let i = 1; i < mine.length; i++) {
        assert.ok(
          mine[i]!.offset > mine[i - 1]!.offset && mine[i]!.value > mine[i - 1]!.value,
          `partition ${p} in order`,
        );
      }
    }
    // What the producer was told matches what the consumer read.
    for (const s of seen) {
      assert.equal({ partition: acked[s.value]!.partition, offset: acked[s.value]!.offset }, {
        partition: s.partition,
        offset: s.offset,
      });
    }
  } finally {
    await nats.close();
  }
});

test("a ws:// connection reconnects by itself after its server restarts, and the producer carries on", {
  deadlineMs: 45_000,
}, async () => {
  if (SKIP || !HAS_WEBSOCKET) return;
  const { process, wsUrl } = own();
  const nats = await connectNats({ servers: wsUrl! });
  try {
    const topic = uniqueTopic("ws-restart");
    await nats.createTopic(topic, { partitions: 1, storage: "file" });
    const retry = { maxRetries: 100, initialDelay: 100, maxDelay: 500, timeout: 30_000 };
    const producer = createProducer(nats, topic, { deliverySemantic: exactlyOnce({ retry }) });
    const before = await (await producer.send(null, "before")).wait();
    await process.kill("SIGKILL");
    process.start();
    // Sent while the server is down: delivered once it is back, over a WebSocket again.
    const after = await (await producer.send(null, "after")).wait();
    await producer.close();
    assert.equal([before.offset, after.offset], [1, 2]);
  } finally {
    await nats.close();
  }
});

test("one kind of connection per process: nats:// is refused while a ws:// one is open, and the other way round", {
  deadlineMs: 30_000,
}, async () => {
  if (SKIP || !HAS_WEBSOCKET) return;
  const { url, wsUrl } = own();
  let ws: NatsTransport | null = await connectNats({ servers: wsUrl! });
  let tcp: NatsTransport | null = null;
  try {
    const refused = await connectNats({ servers: url }).catch((e: unknown) => e);
    assert.instance(refused, ConfigError, String(refused));
    assert.match((refused as Error).message, /1 WebSocket NATS connection\(s\) open/);
    await ws.close();
    ws = null;
    tcp = await connectNats({ servers: `nats://${url}` });
    const back = await connectNats({ servers: wsUrl! }).catch((e: unknown) => e);
    assert.instance(back, ConfigError, String(back));
    assert.match((back as Error).message, /1 TCP NATS connection\(s\) open/);
    await tcp.close();
    tcp = null;
    ws = await connectNats({ servers: wsUrl! });
  } finally {
    await ws?.close();
    await tcp?.close();
  }
});

test.run();
