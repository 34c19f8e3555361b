/**
 * Record headers and timestamps on NATS JetStream, both framings, both directions: the
 * producer's publishes, the offset fetch, the durable consumer, dead letters and `idempotent`
 * output; what plain NATS clients see of acktor's records and acktor of theirs; and the batch
 * frame's versions. The frame tests need no server; the rest run against ACKTOR_NATS_URL
 * (default 127.0.0.1:4222) unless ACKTOR_SKIP_ENGINES=1.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { jetstream } from "@nats-io/jetstream";
import { connect, headers as natsHeaders } from "@nats-io/transport-node";
import { type Framing, type NatsTransport, streamName } from "../src/adapters/nats/index.ts";
import { decodeFrame, encodeFrame } from "../src/adapters/nats/frame.ts";
import { recordsOf } from "../src/adapters/nats/message.ts";
import {
  atLeastOnce,
  type ConsumedRecord,
  type ConsumerConfig,
  type ConsumerOutcome,
  createConsumer,
  createProducer,
  exactlyOnce,
  InvalidRecordError,
  type RecordHeaders,
} from "../src/index.ts";
import type { FetchedRecord } from "../src/transport/protocol.ts";
import { dec, server, SKIP, uniqueTopic, URL } from "./helpers/nats.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Every byte value: not UTF-8, holds CR and LF. */
const BINARY = Uint8Array.from({ length: 256 }, (_, i) => i);
/** Values that must come back byte for byte, whichever way they travel. */
const TRICKY: Record<string, string | Uint8Array> = {
  trace: "abc-1",
  bin: BINARY,
  empty: "",
  padded: "  spaces around  ",
  lines: "one\r\ntwo",
  unicode: "ünïcödé ✓ 𝄞",
  ["__proto__"]: "not the prototype",
};

/** Headers as comparable plain data: every value as its byte list. */
const bytesOf = (headers: RecordHeaders): Record<string, number[]> =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [...v]]));
const expected = (init: Record<string, string | Uint8Array>): Record<string, number[]> =>
  Object.fromEntries(Object.entries(init).map(([k, v]) => [k, [...(typeof v === "string" ? enc(v) : v)]]));

// ---- the frame (no server) -----------------------------------------------------------

/** A version-1 frame as acktor 0.1 wrote it: no timestamps, header count 0. */
function versionOneFrame(records: [string | null, string][], baseSequence: number, headerCount = 0): Uint8Array {
  const parts: number[] = [0x41, 0x4b, 1, 0];
  const u32 = (n: number) => parts.push((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  u32(records.length);
  u32(baseSequence >>> 0);
  for (const [key, value] of records) {
    if (key === null) u32(-1 >>> 0);
    else {
      u32(enc(key).length);
      parts.push(...enc(key));
    }
    u32(enc(value).length);
    parts.push(...enc(value));
    parts.push((headerCount >> 8) & 255, headerCount & 255);
  }
  return Uint8Array.from(parts);
}

test("frame version 2 round-trips keys, values, headers (binary included) and timestamps", () => {
  const headers = { a: enc("1"), bin: BINARY, ["é-utf8"]: enc("name bytes are UTF-8") };
  const data = encodeFrame({
    keys: [enc("k"), null, null],
    values: [enc("v0"), enc(""), enc("v2")],
    headers: [headers, null, { only: new Uint8Array(0) }],
    timestamps: [1_700_000_000_123, 0, 2 ** 53 - 1],
  }, 9);
  assert.is(data[2], 2, "writes version 2");
  const frame = decodeFrame(data);
  assert.is(frame.baseSequence, 9);
  assert.equal(frame.keys.map((k) => k && dec(k)), ["k", null, null]);
  assert.equal(frame.values.map(dec), ["v0", "", "v2"]);
  assert.equal(frame.headers.map(bytesOf), [bytesOf(headers), {}, { only: [] }]);
  assert.equal(frame.timestamps, [1_700_000_000_123, 0, 2 ** 53 - 1]);
  // A batch sent without timestamps or headers columns.
  const bare = decodeFrame(encodeFrame({ keys: [null], values: [enc("x")] }));
  assert.equal([bare.timestamps, bare.headers], [[-1], [{}]]);
});

test("frame version 1 still decodes; its records take the message's stored time; headers in it are refused", () => {
  const data = versionOneFrame([["k", "a"], [null, "b"]], 4);
  const frame = decodeFrame(data);
  assert.equal([frame.baseSequence, frame.keys.map((k) => k && dec(k)), frame.values.map(dec)], [4, ["k", null], [
    "a",
    "b",
  ]]);
  assert.equal(frame.timestamps, [-1, -1]);
  assert.equal(frame.headers, [{}, {}]);
  const stored = new Date(1_650_000_000_000);
  const records: FetchedRecord[] = recordsOf({ seq: 3, data, headers: undefined, time: stored }, "batch");
  assert.equal(records.map((r) => [dec(r.value), r.timestamp, r.headers]), [
    ["a", 1_650_000_000_000, {}],
    ["b", 1_650_000_000_000, {}],
  ]);
  assert.throws(() => decodeFrame(versionOneFrame([["k", "a"]], 0, 1)), /not supported in version 1/);
  const three = versionOneFrame([["k", "a"]], 0);
  three[2] = 3;
  assert.throws(() => decodeFrame(three), /version 3 is not supported \(this acktor reads versions 1 and 2\)/);
});

// ---- on a server -----------------------------------------------------------------------

/** Runs a consumer until `count` records were handled (and, if given, `done()` holds), then stops and closes it. */
async function consume(
  nats: NatsTransport,
  topic: string,
  count: number,
  config: Partial<ConsumerConfig> = {},
  handler: (r: ConsumedRecord) => unknown = () => {},
  done: (outcomes: readonly ConsumerOutcome[]) => boolean = () => true,
): Promise<{ records: ConsumedRecord[]; outcomes: ConsumerOutcome[] }> {
  const consumer = createConsumer(nats, topic, {
    groupId: `g-${topic}`,
    sessionTimeoutMs: 2_000,
    heartbeatIntervalMs: 500,
    ...config,
  });
  const records: ConsumedRecord[] = [];
  const outcomes: ConsumerOutcome[] = [];
  const sub = consumer.outcomes$.subscribe((o) => outcomes.push(o));
  const stop = new AbortController();
  try {
    const running = consumer.run(async (r) => {
      await handler(r);
      records.push(r);
    }, { signal: stop.signal });
    const deadline = Date.now() + 20_000;
    while ((records.length < count || !done(outcomes)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    stop.abort();
    await running;
  } finally {
    stop.abort();
    sub.unsubscribe();
    await consumer.close();
  }
  return { records, outcomes };
}

/** Every record of a partition through acktor's offset fetch. */
async function fetchAll(nats: NatsTransport, topic: string, partition = 0): Promise<FetchedRecord[]> {
  const answer = await nats.request(
    { api: "fetch", topic, partition, offset: 0, maxRecords: 1_000, isolation: "read-committed" },
    { timeoutMs: 5_000 },
  );
  if (!answer.ok) throw new Error(answer.error.message);
  return answer.records;
}

if (SKIP) {
  console.log("SKIPPED: the NATS JetStream header tests (ACKTOR_SKIP_ENGINES=1)");
} else {
  test("message framing: the JetStream consumer hands out each record's key (issue 10: every key was null)", async () => {
    const nats = await server();
    const topic = uniqueTopic("keys");
    try {
      await nats.createTopic(topic, { partitions: 1, storage: "memory" });
      const producer = createProducer(nats, topic, { deliverySemantic: atLeastOnce() });
      try {
        for (let i = 0; i < 5; i++) await producer.send(i === 4 ? null : `k${i}`, `r${i}`);
        await producer.flush();
      } finally {
        await producer.close();
      }
      const { records } = await consume(nats, topic, 5);
      assert.equal(
        records.map((r) => [r.key && dec(r.key), dec(r.value)]),
        [["k0", "r0"], ["k1", "r1"], ["k2", "r2"], ["k3", "r3"], [null, "r4"]],
      );
    } finally {
      await nats.deleteTopic(topic).catch(() => {});
      await nats.close();
    }
  });

  for (const framing of ["message", "batch"] as Framing[]) {
    for (const semantic of ["at-least-once", "exactly-once"] as const) {
      test(`${framing} framing, ${semantic}: headers and timestamps round-trip through the fetch and the consumer, byte for byte`, async () => {
        const nats = await server();
        const topic = uniqueTopic(`headers-${framing}`);
        try {
          await nats.createTopic(topic, { partitions: 1, framing, storage: "memory" });
          const producer = createProducer(nats, topic, {
            deliverySemantic: semantic === "exactly-once" ? exactlyOnce() : atLeastOnce(),
          });
          const before = Date.now();
          try {
            await producer.send("k", "with", { headers: TRICKY, timestamp: 42 });
            await producer.send("k", "without");
            await producer.send(null, "keyless", { headers: { only: "one" } });
            await producer.flush();
          } finally {
            await producer.close();
          }
          const check = (records: readonly FetchedRecord[], how: string): void => {
            assert.equal(records.map((r) => dec(r.value)), ["with", "without", "keyless"], how);
            assert.equal(records.map((r) => r.key && dec(r.key)), ["k", "k", null], `${how}: keys`);
            assert.equal(bytesOf(records[0]!.headers), expected(TRICKY), `${how}: headers, byte for byte`);
            assert.equal(records[1]!.headers, {}, `${how}: a record without headers has {}`);
            assert.equal(bytesOf(records[2]!.headers), expected({ only: "one" }), how);
            assert.is(records[0]!.timestamp, 42, `${how}: the timestamp given`);
            for (const r of records.slice(1)) {
              assert.ok(r.timestamp >= before && r.timestamp <= Date.now(), `${how}: default is send time`);
            }
          };
          check(await fetchAll(nats, topic), "fetch");
          const { records } = await consume(nats, topic, 3);
          check(records, "consumer");
        } finally {
          await nats.deleteTopic(topic).catch(() => {});
          await nats.close();
        }
      });
    }

    test(`${framing} framing: a dead letter keeps its headers and timestamp; idempotent output forwards them`, async () => {
      const nats = await server();
      const topic = uniqueTopic(`dlq-in-${framing}`);
      const dlq = uniqueTopic(`dlq-${framing}`);
      const out = uniqueTopic(`out-${framing}`);
      try {
        for (const t of [topic, dlq, out]) await nats.createTopic(t, { partitions: 1, framing, storage: "memory" });
        const producer = createProducer(nats, topic, { deliverySemantic: atLeastOnce() });
        try {
          await producer.send("k", "poison", { headers: { bin: BINARY, why: "test" }, timestamp: 7 });
          await producer.send("k", "good", { headers: { n: "2" }, timestamp: 8 });
          await producer.flush();
        } finally {
          await producer.close();
        }
        const { outcomes } = await consume(nats, topic, 1, { maxDeliveries: 2, deadLetterTopic: dlq }, (r) => {
          if (dec(r.value) === "poison") throw new Error("poison");
        }, (o) => o.some((x) => x.type === "dead-lettered"));
        assert.ok(outcomes.some((o) => o.type === "dead-lettered"));
        const [letter, ...more] = await fetchAll(nats, dlq);
        assert.is(more.length, 0);
        assert.equal([dec(letter!.key!), dec(letter!.value), letter!.timestamp], ["k", "poison", 7]);
        assert.equal(bytesOf(letter!.headers), expected({ bin: BINARY, why: "test" }));

        const consumer = createConsumer(nats, topic, { groupId: "fwd", commit: "idempotent", outputTopic: out });
        const stop = new AbortController();
        try {
          const running = consumer.run(async (r, { output }) => {
            await output!.send(r.key, `out-${dec(r.value)}`, { headers: { ...r.headers, hop: "1" } });
          }, { signal: stop.signal });
          const deadline = Date.now() + 20_000;
          while ((await fetchAll(nats, out)).length < 2 && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 50));
          }
          stop.abort();
          await running;
        } finally {
          stop.abort();
          await consumer.close();
        }
        const outputs = await fetchAll(nats, out);
        assert.equal(outputs.map((r) => dec(r.value)), ["out-poison", "out-good"]);
        assert.equal(bytesOf(outputs[0]!.headers), expected({ bin: BINARY, why: "test", hop: "1" }));
        assert.equal(bytesOf(outputs[1]!.headers), expected({ n: "2", hop: "1" }));
      } finally {
        for (const t of [topic, dlq, out]) await nats.deleteTopic(t).catch(() => {});
        await nats.close();
      }
    });
  }

  test("message framing interop: plain NATS readers see user headers by name; acktor reads a plain publisher's headers", async () => {
    const nats = await server();
    const topic = uniqueTopic("interop");
    const nc = await connect({ servers: URL });
    try {
      await nats.createTopic(topic, { partitions: 1, storage: "memory" });
      const producer = createProducer(nats, topic);
      try {
        await producer.send("k", "from-acktor", {
          headers: { trace: "abc", bin: new Uint8Array([0, 255]) },
          timestamp: 9,
        });
        await producer.flush();
      } finally {
        await producer.close();
      }
      // What a plain NATS client sees of acktor's record.
      const js = jetstream(nc);
      const stored = await (await js.jetstreamManager()).streams.getMessage(streamName(topic), { seq: 1 });
      assert.is(stored!.header.get("trace"), "abc", "a text header travels under its own name");
      assert.is(stored!.header.get("Acktor-Base64-bin"), "AP8=", "a binary one as base64 under Acktor-Base64-");
      assert.is(stored!.header.get("Acktor-Timestamp"), "9");
      // A plain publisher's record: its headers are the record's, its timestamp the server's.
      const h = natsHeaders();
      h.set("Source", "plain");
      h.set("Nats-Msg-Id", "plain-1"); // the server's, not the record's
      const before = Date.now();
      await js.publish(`${topic}.0`, enc("from-plain"), { headers: h });
      const [, plain] = await fetchAll(nats, topic);
      assert.is(dec(plain!.value), "from-plain");
      assert.is(plain!.key, null);
      assert.equal(bytesOf(plain!.headers), expected({ Source: "plain" }));
      assert.ok(plain!.timestamp >= before - 1_000 && plain!.timestamp <= Date.now() + 1_000, "the server's time");
    } finally {
      await nats.deleteTopic(topic).catch(() => {});
      await nc.close();
      await nats.close();
    }
  });

  test("on NATS too, bad headers and timestamps are refused before anything is published", async () => {
    const nats = await server();
    const topic = uniqueTopic("refused");
    try {
      await nats.createTopic(topic, { partitions: 1, framing: "batch", storage: "memory" });
      const producer = createProducer(nats, topic);
      try {
        const refusals = await Promise.all([
          producer.send("k", "v", { headers: { "Nats-Msg-Id": "x" } }),
          producer.send("k", "v", { headers: { ok: 5 as never } }),
          producer.send("k", "v", { timestamp: -5 }),
        ].map((p) => p.then(() => null, (e: unknown) => e)));
        assert.equal(refusals.map((e) => e instanceof InvalidRecordError && e.field), [
          "headers",
          "headers",
          "timestamp",
        ]);
        await producer.flush();
      } finally {
        await producer.close();
      }
      assert.equal(await fetchAll(nats, topic), []);
    } finally {
      await nats.deleteTopic(topic).catch(() => {});
      await nats.close();
    }
  });
}

test.run();
