/**
 * Edges of the NATS JetStream adapter that a cluster hits while it recovers, pinned on a
 * single server:
 * - a stream that stops answering for a while (the client sees "no responders", as during a
 *   stream-leader election) is retried while the policy lasts; a stream that is gone fails
 *   at once with a typed UnknownTopicError;
 * - `connectNats` waits up to its `timeoutMs` for JetStream to answer, and names the cause when
 *   it does not;
 * - an AbortSignal stops `run()` after the record in hand, before- and after-processing.
 * Servers this file starts itself listen on ports of their own and are killed by their pid.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import * as net from "node:net";
import { connectNats, type Framing, type NatsTransport, streamName } from "../src/adapters/nats/index.ts";
import { splitFrameOffset } from "../src/adapters/nats/frame.ts";
import {
  AcktorError,
  atLeastOnce,
  type CommitStrategy,
  type ConsumedRecord,
  createConsumer,
  createProducer,
  DeliveryFailedError,
  EngineUnavailableError,
  exactlyOnce,
  UnknownTopicError,
} from "../src/index.ts";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { dec, readAll, server, SKIP, uniqueTopic, URL } from "./helpers/nats.ts";
import { freePorts, NatsProcess, poll, removeDir, tempDir } from "./helpers/nats-process.ts";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A plain JetStream manager on its own connection: changes the stream behind acktor's back. */
async function plain() {
  const nc = await connect({ servers: URL });
  return { nc, jsm: await jetstreamManager(nc) };
}

// ---- 1. no responders: retriable while the stream exists, typed when it is gone ----------

/** A retry policy with time left: 20 s, retries every 50–200 ms. */
const PATIENT = { maxRetries: 1_000, initialDelay: 50, maxDelay: 200, timeout: 20_000 };

for (const framing of ["message", "batch"] as Framing[]) {
  for (const semantic of ["at-least-once", "exactly-once"] as const) {
    test(`${framing} framing, ${semantic}: a stream that answers "no responders" for a while is retried, and the record lands`, async () => {
      if (SKIP) return;
      const nats = await server();
      const { nc, jsm } = await plain();
      const topic = uniqueTopic("noresp");
      try {
        await nats.createTopic(topic, { partitions: 1, framing, storage: "memory" });
        const retry = PATIENT;
        const producer = createProducer(nats, topic, {
          deliverySemantic: semantic === "exactly-once" ? exactlyOnce({ retry }) : atLeastOnce(retry),
        });
        await (await producer.send(null, "before")).wait();
        // Nothing takes the partition's subject now: a publish meets "no responders", as while
        // a stream's leader is elected, but the stream itself still exists.
        const info = await jsm.streams.info(streamName(topic));
        await jsm.streams.update(streamName(topic), { ...info.config, subjects: [`${topic}.parked`] });
        const out = await producer.send(null, "during");
        const outcome = out.wait().then((m) => m, (e: unknown) => e);
        await sleep(1_500);
        await jsm.streams.update(streamName(topic), info.config);
        const result = await outcome;
        assert.not.instance(result, Error, `the record failed although its policy had time left: ${String(result)}`);
        await producer.close();
        assert.equal((await readAll(nats, topic, 0)).map((r) => r.value), ["before", "during"]);
      } finally {
        await jsm.streams.delete(streamName(topic)).catch(() => {});
        await nc.close();
        await nats.close();
      }
    });
  }
}

test("a stream that was deleted fails at once with UnknownTopicError naming the topic, not retried", async () => {
  if (SKIP) return;
  const nats = await server();
  const { nc, jsm } = await plain();
  const topic = uniqueTopic("gone");
  try {
    await nats.createTopic(topic, { partitions: 1, storage: "memory" });
    const producer = createProducer(nats, topic, { deliverySemantic: atLeastOnce(PATIENT) });
    await (await producer.send(null, "before")).wait();
    await jsm.streams.delete(streamName(topic));
    const started = Date.now();
    const error = await (await producer.send(null, "after")).wait().catch((e: unknown) => e);
    assert.instance(error, DeliveryFailedError, String(error));
    const failed = error as DeliveryFailedError;
    assert.is(failed.reason, "not-retriable", failed.message);
    assert.instance(failed.cause, UnknownTopicError, String(failed.cause));
    assert.is((failed.cause as UnknownTopicError).topic, topic);
    assert.ok(Date.now() - started < 5_000, "not retried for the policy's 20 s");
    await producer.close().catch(() => {});
  } finally {
    await nc.close();
    await nats.close();
  }
});

test("a stream that never answers again fails when the policy runs out, with a retriable cause naming the topic", async () => {
  if (SKIP) return;
  const nats = await server();
  const { nc, jsm } = await plain();
  const topic = uniqueTopic("parked");
  try {
    await nats.createTopic(topic, { partitions: 1, storage: "memory" });
    const producer = createProducer(nats, topic, {
      deliverySemantic: atLeastOnce({ ...PATIENT, timeout: 1_500 }),
    });
    await (await producer.send(null, "before")).wait();
    const info = await jsm.streams.info(streamName(topic));
    await jsm.streams.update(streamName(topic), { ...info.config, subjects: [`${topic}.parked`] });
    const error = await (await producer.send(null, "never")).wait().catch((e: unknown) => e);
    assert.instance(error, DeliveryFailedError, String(error));
    const failed = error as DeliveryFailedError;
    assert.ok(failed.reason === "timeout" || failed.reason === "max-retries", failed.message);
    assert.ok(failed.attempts > 1, `retried (${failed.attempts} attempts)`);
    assert.instance(failed.cause, AcktorError);
    assert.ok((failed.cause as AcktorError).retriable, failed.message);
    assert.ok((failed.cause as Error).message.includes(topic), (failed.cause as Error).message);
    await producer.close().catch(() => {});
  } finally {
    await jsm.streams.delete(streamName(topic)).catch(() => {});
    await nc.close();
    await nats.close();
  }
});

// ---- 2. connectNats waits for JetStream ------------------------------------------------

/** A nats-server of this test's own (never 4222), listening once this resolves; kill it with `stop`. */
async function ownServer(port: number, jetStream: boolean) {
  const dir = tempDir("edge");
  const server = new NatsProcess({
    name: `edge-${port}`,
    dir,
    config: `listen: 127.0.0.1:${port}\n${jetStream ? `jetstream { store_dir: "${dir}" }\n` : ""}`,
  });
  server.start();
  await poll(`nats-server on port ${port}`, () =>
    new Promise<boolean>((resolve) => {
      const s = net.createConnection(port, "127.0.0.1");
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    }), { within: 5_000, step: 50, describe: () => server.logTail() });
  return {
    async stop() {
      await server.kill("SIGKILL");
      removeDir(dir);
    },
  };
}

test("connectNats waits up to timeoutMs for JetStream to answer (a server without it, replaced by one with it)", {
  deadlineMs: 30_000,
}, async () => {
  if (SKIP) return;
  const port = (await freePorts(1))[0]!;
  let current = await ownServer(port, false);
  let nats: NatsTransport | null = null;
  try {
    const connecting = connectNats({ servers: `127.0.0.1:${port}`, timeoutMs: 10_000 }).then((t) => t, (e) => e);
    await sleep(1_000);
    // As a cluster that is still electing: JetStream answers only after a while.
    await current.stop();
    current = await ownServer(port, true);
    const result = await connecting;
    assert.not.instance(result, Error, String(result));
    nats = result as NatsTransport;
    const topic = uniqueTopic("late-js");
    await nats.createTopic(topic, { partitions: 1, storage: "memory" });
    const producer = createProducer(nats, topic, { deliverySemantic: atLeastOnce() });
    await (await producer.send(null, "x")).wait();
    await producer.close();
  } finally {
    await nats?.close();
    await current.stop();
  }
});

test(
  "connectNats to a server without JetStream fails after timeoutMs, naming the cause",
  { deadlineMs: 20_000 },
  async () => {
    if (SKIP) return;
    const port = (await freePorts(1))[0]!;
    const own = await ownServer(port, false);
    try {
      const started = Date.now();
      const error = await connectNats({ servers: `127.0.0.1:${port}`, timeoutMs: 1_500 }).catch((e: unknown) => e);
      const took = Date.now() - started;
      assert.instance(error, EngineUnavailableError, String(error));
      const message = (error as Error).message;
      assert.match(message, `127.0.0.1:${port}`);
      assert.match(message, /no responders/);
      assert.ok(/says it runs without JetStream/.test(message), message);
      assert.ok(took >= 1_400 && took < 6_000, `failed after ${took} ms, not about timeoutMs`);
    } finally {
      await own.stop();
    }
  },
);

// ---- 3. an AbortSignal stops run() after the record in hand -----------------------------

const COUNT = 500;
const STOP_AT = 10;

/** One partition holding COUNT records in one batch-framed message: one delivery of COUNT records. */
async function oneFrame(nats: NatsTransport): Promise<string> {
  const topic = uniqueTopic("abort");
  await nats.createTopic(topic, { partitions: 1, framing: "batch", storage: "memory" });
  const producer = createProducer(nats, topic, {
    deliverySemantic: atLeastOnce(),
    lingerMs: 200,
    batchSize: 1024 * 1024,
  });
  await Promise.all(Array.from({ length: COUNT }, (_, i) => producer.send(null, `r${i}`)));
  await producer.close();
  const stored = await readAll(nats, topic, 0);
  assert.is(new Set(stored.map((r) => splitFrameOffset(r.offset).sequence)).size, 1, "the records share one message");
  return topic;
}

const idOf = (r: ConsumedRecord): number => Number(dec(r.value).slice(1));

/** Reads the group until `quietMs` pass without a record; the ids read. */
async function drain(nats: NatsTransport, topic: string, groupId: string, commit: CommitStrategy, quietMs: number) {
  const c = createConsumer(nats, topic, { groupId, commit, maxPollRecords: COUNT });
  const stop = new AbortController();
  const seen: number[] = [];
  let quiet = setTimeout(() => stop.abort(), quietMs);
  await c.run((r) => {
    seen.push(idOf(r));
    clearTimeout(quiet);
    quiet = setTimeout(() => stop.abort(), quietMs);
  }, { signal: stop.signal });
  clearTimeout(quiet);
  await c.close();
  return seen;
}

for (const commit of ["before-processing", "after-processing"] as CommitStrategy[]) {
  test(`${commit}: aborting in the handler at record ${STOP_AT} of a ${COUNT}-record message stops run() after it`, async () => {
    if (SKIP) return;
    const nats = await server();
    const topic = await oneFrame(nats);
    const groupId = `g-${commit}`;
    try {
      const c = createConsumer(nats, topic, { groupId, commit, maxPollRecords: COUNT });
      const stop = new AbortController();
      const seen: number[] = [];
      await c.run((r) => {
        seen.push(idOf(r));
        if (seen.length === STOP_AT) stop.abort();
      }, { signal: stop.signal });
      await c.close();
      assert.equal(
        seen,
        Array.from({ length: STOP_AT }, (_, i) => i),
        "the handler ran exactly for the records before the stop",
      );
      const next = await drain(nats, topic, groupId, commit, 3_000);
      if (commit === "before-processing") {
        // The message was acked (committed) before its records were handed out: not read again.
        assert.equal(next, [], "nothing comes again under before-processing");
      } else {
        // The message was not acked: all of it comes again, the handled records too (at-least-once).
        const head = `${next.length} records: ${next.slice(0, 12).join(",")}…`;
        assert.equal(next, Array.from({ length: COUNT }, (_, i) => i), `the whole message comes again (${head})`);
      }
    } finally {
      await nats.deleteTopic(topic).catch(() => {});
      await nats.close();
    }
  });
}

// ---- 4. a lost ackAck does not stall a before-processing consumer for requestTimeout -----

/**
 * A TCP proxy to the server that, once armed, forwards the first client write holding a
 * JetStream ack (`$JS.ACK.`) and then cuts the connection: the server gets the ack, its
 * confirmation (the ackAck reply) is lost. `cut` resolves when that happened.
 */
async function ackCuttingProxy() {
  const [host, port] = URL.replace(/^nats:\/\//, "").split(":");
  const sockets = new Set<net.Socket>();
  let fire: () => void = () => {};
  const cut = new Promise<void>((resolve) => (fire = resolve));
  let armed = true;
  const proxy = net.createServer((client) => {
    const upstream = net.createConnection(Number(port ?? 4222), host!);
    for (const s of [client, upstream]) {
      s.on("error", () => {});
      s.setNoDelay(true);
      sockets.add(s);
      s.on("close", () => (sockets.delete(s), client.destroy(), upstream.destroy()));
    }
    client.on("data", (b) => {
      upstream.write(b);
      if (armed && b.toString("latin1").includes("$JS.ACK.")) {
        armed = false;
        // Give the ack time to reach the server, then drop both sides before its reply.
        upstream.end(() => (client.destroy(), upstream.destroy(), fire()));
      }
    });
    upstream.on("data", (b) => client.write(b));
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    port: (proxy.address() as net.AddressInfo).port,
    cut,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}

test("before-processing: a lost ackAck stalls the consumer for a short bound, not for requestTimeout (30 s)", {
  deadlineMs: 60_000,
}, async () => {
  if (SKIP) return;
  const admin = await server();
  const proxy = await ackCuttingProxy();
  const topic = uniqueTopic("ackack");
  const nats = await connectNats({ servers: `127.0.0.1:${proxy.port}` });
  try {
    await admin.createTopic(topic, { partitions: 1, storage: "memory" });
    const producer = createProducer(admin, topic, { deliverySemantic: atLeastOnce() });
    await (await producer.send(null, "a")).wait();
    const c = createConsumer(nats, topic, {
      groupId: "g",
      commit: "before-processing",
      sessionTimeoutMs: 3_000,
      heartbeatIntervalMs: 1_000,
    });
    assert.is(c.config.requestTimeout, 30_000, "the default requestTimeout, which the ackAck must not wait for");
    const stop = new AbortController();
    const seen: string[] = [];
    let sawB = 0;
    const running = c.run((r) => {
      seen.push(dec(r.value));
      if (dec(r.value) === "b") {
        sawB = Date.now();
        stop.abort();
      }
    }, { signal: stop.signal });
    await proxy.cut;
    const cutAt = Date.now();
    await (await producer.send(null, "b")).wait();
    await producer.close();
    const giveUp = setTimeout(() => stop.abort(), 40_000);
    await running;
    clearTimeout(giveUp);
    await c.close();
    assert.ok(sawB > 0, `"b" was never handled (seen: ${seen.join(",")})`);
    const stalled = sawB - cutAt;
    assert.ok(stalled < 10_000, `"b" was handled ${stalled} ms after the ackAck was lost`);
    assert.ok(seen.filter((v) => v === "a").length <= 1, `"a" handled at most once (seen: ${seen.join(",")})`);
  } finally {
    await nats.close();
    await proxy.close();
    await admin.deleteTopic(topic).catch(() => {});
    await admin.close();
  }
});

test.run();
