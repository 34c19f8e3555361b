/**
 * The Kafka wire server itself, on every runtime with `node:net` (Node, Deno, Bun): framing,
 * routing, ApiVersions with KIP-511's fallback, UNSUPPORTED_VERSION, bad frames closing only
 * their connection, produce and fetch of record batches against the broker's own log, the
 * server-side chaos layer, and the listener's options and lifecycle. A minimal client built
 * on the codec drives it; kafkajs, kcat and @platformatic/kafka drive it in the
 * kafka-*-client tests.
 */
import * as assert from "uvu/assert";
import { test } from "./helpers/harness.ts";
import { WireClient } from "./helpers/kafka-wire.ts";
import { ConfigError, EmbeddedBroker } from "../src/index.ts";
import * as m from "../src/kafka/messages/index.ts";
import { KafkaErrorCode as K } from "../src/kafka/error-codes.ts";
import { encodeBatch, encodeControlBatch } from "../src/kafka/records/batch-encoder.ts";
import { fixCrc } from "./helpers/record-batches.ts";
import { decodeBatches } from "../src/kafka/records/record-batch.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => b === null ? null : new TextDecoder().decode(b);

async function serving(listen: Parameters<EmbeddedBroker["listen"]>[0] = {}) {
  const broker = new EmbeddedBroker();
  broker.createTopic("t", { partitions: 2, replicationFactor: 3 });
  const logs: string[] = [];
  const server = await broker.listen({ port: 0, log: (line) => logs.push(line), ...listen });
  return { broker, server, logs };
}

type Row = Record<string, unknown>;
const rows = (value: unknown) => value as Row[];

function produceBody(topic: string, partition: number, batch: Uint8Array, acks = -1) {
  return {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
  };
}

const batchOf = (values: string[], timestamp = 1_700_000_000_000) =>
  encodeBatch({
    baseOffset: 0,
    records: {
      keys: values.map((v) => enc(`k-${v}`)),
      values: values.map(enc),
      headers: values.map((v) => ({ trace: enc(`h-${v}`) })),
      timestamps: values.map((_, i) => timestamp + i),
    },
  });

test("ApiVersions lists every served API; an unknown ApiVersions version gets KIP-511's v0 answer", {
  deadlineMs: 10_000,
}, async () => {
  const { server } = await serving();
  const client = await WireClient.connect(server.address.port);
  try {
    const v3 = await client.request(m.apiVersions, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" });
    assert.is(v3.errorCode, K.NONE);
    const keys = rows(v3.apiKeys).map((k) => k.apiKey);
    for (const key of [0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 22, 24, 25, 26, 28]) {
      assert.ok(keys.includes(key), `ApiVersions lacks API key ${key}`);
    }
    // A client newer than the server asks in v99: the answer is v0 with the ranges.
    const writer = new Uint8Array([0, 0, 0, 10, 0, 18, 0, 99, 0, 0, 0, 42, 0, 0]);
    const frame = await client.send(writer);
    const view = new DataView(frame.buffer, frame.byteOffset);
    assert.is(view.getInt32(0), 42, "correlation id");
    assert.is(view.getInt16(4), K.UNSUPPORTED_VERSION);
    assert.ok(view.getInt32(6) >= 20, "the v0 body still lists the API ranges");
  } finally {
    client.close();
    await server.close();
  }
});

test(
  "an unknown API or version is answered UNSUPPORTED_VERSION and the connection goes on",
  { deadlineMs: 10_000 },
  async () => {
    const { server, logs } = await serving();
    const client = await WireClient.connect(server.address.port);
    try {
      for (const [key, version] of [[999, 0], [0, 2], [1, 99]]) {
        const frame = await client.send(
          new Uint8Array([0, 0, 0, 10, key! >> 8, key! & 255, 0, version!, 0, 0, 0, 7, 0, 0]),
        );
        const view = new DataView(frame.buffer, frame.byteOffset);
        assert.is(view.getInt32(0), 7);
        assert.is(view.getInt16(4), K.UNSUPPORTED_VERSION, `API ${key} v${version}`);
      }
      const after = await client.request(m.metadata, 9, { topics: null });
      assert.equal(rows(after.topics).map((t) => t.name), ["t"]);
      assert.ok(logs.some((l) => /API 999 v0/.test(l)), logs.join("\n"));
    } finally {
      client.close();
      await server.close();
    }
  },
);

test(
  "garbage, a truncated frame and a 100 MB size prefix close only their own connection",
  { deadlineMs: 15_000 },
  async () => {
    const { server, logs } = await serving();
    const healthy = await WireClient.connect(server.address.port);
    try {
      const bad = [
        enc("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        new Uint8Array([0x06, 0x40, 0x00, 0x01, 1, 2, 3]),
        new Uint8Array([0, 0, 0, 3, 1, 2, 3]),
        new Uint8Array([0, 0, 0, 12, 0, 3, 0, 9, 0, 0, 0, 1, 0x7f, 0xff, 0, 0]), // clientId runs past the frame
      ];
      for (const bytes of bad) {
        const client = await WireClient.connect(server.address.port);
        client.write(bytes);
        await client.closed;
        const meta = await healthy.request(m.metadata, 1, { topics: [{ name: "t" }] });
        assert.is(rows(meta.topics)[0]!.errorCode, K.NONE);
      }
      // A truncated frame: the size says 100 bytes, 10 arrive, then the client goes away.
      const truncated = await WireClient.connect(server.address.port);
      truncated.write(new Uint8Array([0, 0, 0, 100, 0, 3, 0, 1, 0, 0, 0, 1, 0, 0]));
      truncated.close();
      await truncated.closed;
      const meta = await healthy.request(m.metadata, 12, { topics: null });
      assert.is(rows(meta.topics).length, 1);
      assert.ok(logs.some((l) => /exceeds maxFrameBytes/.test(l)), logs.join("\n"));
      assert.ok(logs.some((l) => /cannot hold a request header/.test(l)), logs.join("\n"));
      assert.ok(logs.some((l) => /malformed request/.test(l)), logs.join("\n"));
    } finally {
      healthy.close();
      await server.close();
    }
  },
);

test("an unknown topic is UNKNOWN_TOPIC_OR_PARTITION on Metadata and Produce; auto-creation makes it", {
  deadlineMs: 10_000,
}, async () => {
  const { server } = await serving();
  const auto = await serving({ autoCreateTopics: { partitions: 3, replicationFactor: 1 } });
  const client = await WireClient.connect(server.address.port);
  const autoClient = await WireClient.connect(auto.server.address.port);
  try {
    const meta = await client.request(m.metadata, 9, { topics: [{ name: "nope" }], allowAutoTopicCreation: true });
    assert.is(rows(meta.topics)[0]!.errorCode, K.UNKNOWN_TOPIC_OR_PARTITION);
    const produced = await client.request(m.produce, 7, produceBody("nope", 0, batchOf(["a"])));
    const answer = rows(rows(produced.responses)[0]!.partitionResponses)[0]!;
    assert.is(answer.errorCode, K.UNKNOWN_TOPIC_OR_PARTITION);
    const made = await autoClient.request(m.metadata, 9, { topics: [{ name: "fresh" }], allowAutoTopicCreation: true });
    assert.is(rows(rows(made.topics)[0]!.partitions).length, 3);
    // A name Kafka would refuse is INVALID_TOPIC_EXCEPTION, which clients do not retry, auto-creation or not.
    for (const c of [client, autoClient]) {
      const bad = await c.request(m.metadata, 9, { topics: [{ name: "bad!name" }], allowAutoTopicCreation: true });
      assert.is(rows(bad.topics)[0]!.errorCode, K.INVALID_TOPIC_EXCEPTION);
      const write = await c.request(m.produce, 9, produceBody("bad!name", 0, batchOf(["a"])));
      assert.is(rows(rows(write.responses)[0]!.partitionResponses)[0]!.errorCode, K.INVALID_TOPIC_EXCEPTION);
    }
  } finally {
    client.close();
    autoClient.close();
    await server.close();
    await auto.server.close();
  }
});

test("produce then fetch: keys, values, headers and timestamps arrive in the broker's log and come back", {
  deadlineMs: 10_000,
}, async () => {
  const { broker, server } = await serving();
  const client = await WireClient.connect(server.address.port);
  try {
    for (const version of [3, 7, 9]) {
      const produced = await client.request(m.produce, version, produceBody("t", 1, batchOf(["a", "b", "c"])));
      assert.is(rows(rows(produced.responses)[0]!.partitionResponses)[0]!.errorCode, K.NONE, `produce v${version}`);
    }
    const log = broker.read("t", 1);
    assert.equal(log.map((r) => dec(r.value)), ["a", "b", "c", "a", "b", "c", "a", "b", "c"]);
    assert.equal(log.map((r) => dec(r.key)).slice(0, 3), ["k-a", "k-b", "k-c"]);
    assert.equal(dec(log[1]!.headers.trace!), "h-b");
    assert.is(log[2]!.timestamp, 1_700_000_000_002);
    for (const version of [4, 11, 12]) {
      const fetched = await client.request(m.fetch, version, {
        maxWaitMs: 100,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        topics: [{ topic: "t", partitions: [{ partition: 1, fetchOffset: 3, partitionMaxBytes: 1 << 20 }] }],
      });
      const p = rows(rows(fetched.responses)[0]!.partitions)[0]!;
      assert.is(p.errorCode, K.NONE);
      assert.is(p.highWatermark, 9);
      const records = decodeBatches(p.records as Uint8Array).flatMap((b) =>
        b.columns.values.map((v, i) => ({ offset: b.baseOffset + i, value: dec(v), ts: b.columns.timestamps[i] }))
      );
      // Whole batches from the one holding offset 3.
      assert.equal(records.map((r) => r.offset), [3, 4, 5, 6, 7, 8], `fetch v${version}`);
      assert.is(records[1]!.ts, 1_700_000_000_001);
    }
  } finally {
    client.close();
    await server.close();
  }
});

test(
  "what Kafka refuses from a producer is refused, and nothing of it is written",
  { deadlineMs: 10_000 },
  async () => {
    const { broker, server } = await serving();
    const client = await WireClient.connect(server.address.port);
    const answer = async (batch: Uint8Array) => {
      const produced = await client.request(m.produce, 9, produceBody("t", 0, batch)); // v8+ carries the message
      return rows(rows(produced.responses)[0]!.partitionResponses)[0]!;
    };
    try {
      const control = encodeControlBatch({
        baseOffset: 0,
        producerId: 1,
        producerEpoch: 0,
        commit: true,
        timestamp: 1,
      });
      assert.is((await answer(control)).errorCode, K.INVALID_RECORD, "a control batch");
      const gaps = encodeBatch({
        baseOffset: 0,
        records: { keys: [null, null], values: [enc("a"), enc("b")] },
        offsetDeltas: [0, 2],
      });
      assert.is((await answer(gaps)).errorCode, K.INVALID_RECORD, "offset deltas with a gap");
      const flipped = batchOf(["a"]).slice();
      flipped[flipped.length - 1] = flipped.at(-1)! ^ 1;
      const crc = await answer(flipped);
      assert.is(crc.errorCode, K.CORRUPT_MESSAGE, "a CRC mismatch");
      assert.match(String(crc.errorMessage), /CRC-32C/, JSON.stringify(crc));
      const snappy = batchOf(["a"]).slice();
      snappy[22] = (snappy[22]! & ~7) | 2; // attributes' low byte: codec 2
      const refused = await answer(fixCrc(snappy));
      assert.is(refused.errorCode, K.UNSUPPORTED_COMPRESSION_TYPE, "snappy");
      assert.match(String(refused.errorMessage), /snappy/);
      assert.is(broker.read("t", 0, { isolation: "read-uncommitted" }).length, 0);
      assert.is((await answer(batchOf(["ok"]))).errorCode, K.NONE, "the connection goes on");
    } finally {
      client.close();
      await server.close();
    }
  },
);

test("a response's maxBytes: the first non-empty partition gets a batch however small it is, the rest wait", {
  deadlineMs: 10_000,
}, async () => {
  const { server } = await serving();
  const client = await WireClient.connect(server.address.port);
  try {
    for (const partition of [0, 1]) {
      await client.request(m.produce, 7, produceBody("t", partition, batchOf(["a", "b"])));
    }
    const fetched = await client.request(m.fetch, 11, {
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 10,
      isolationLevel: 0,
      topics: [{
        topic: "t",
        partitions: [0, 1].map((partition) => ({ partition, fetchOffset: 0, partitionMaxBytes: 10 })),
      }],
    });
    const [p0, p1] = rows(rows(fetched.responses)[0]!.partitions);
    assert.is(decodeBatches(p0!.records as Uint8Array).length, 1, "one batch, larger than maxBytes (KIP-74)");
    assert.is((p1!.records as Uint8Array).length, 0, "nothing more once the response is full");
    assert.is(p1!.highWatermark, 2, "but its high watermark, so the client knows to ask again");
  } finally {
    client.close();
    await server.close();
  }
});

test("a fetch with nothing to read waits up to maxWaitMs, and answers early once records arrive", {
  deadlineMs: 10_000,
}, async () => {
  const { broker, server } = await serving();
  const client = await WireClient.connect(server.address.port);
  try {
    const started = Date.now();
    const waiting = client.request(m.fetch, 11, {
      maxWaitMs: 5000,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      topics: [{ topic: "t", partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
    });
    setTimeout(() => broker.partition("t", 0).append({ keys: [null], values: [enc("late")] }), 200);
    const fetched = await waiting;
    const p = rows(rows(fetched.responses)[0]!.partitions)[0]!;
    const values = decodeBatches(p.records as Uint8Array).flatMap((b) => b.columns.values.map(dec));
    assert.equal(values, ["late"]);
    assert.ok(Date.now() - started < 4000, "answered before maxWaitMs once a record arrived");
  } finally {
    client.close();
    await server.close();
  }
});

test(
  "server chaos: a dropped response and a dropped connection both leave the request applied",
  { deadlineMs: 10_000 },
  async () => {
    const { broker, server } = await serving({ chaos: { seed: 1, dropResponse: 1, apiKeys: [0] } });
    try {
      const dropped = await WireClient.connect(server.address.port);
      const lost = dropped.request(m.produce, 7, produceBody("t", 0, batchOf(["x"])));
      // Metadata is not subject to faults here; its answer comes after the lost one.
      const meta = await dropped.request(m.metadata, 1, { topics: [{ name: "t" }] });
      assert.is(rows(meta.topics)[0]!.errorCode, K.NONE);
      assert.equal(broker.read("t", 0).map((r) => dec(r.value)), ["x"]);
      dropped.close();
      await lost.catch(() => {});
      server.chaos({ seed: 2, disconnect: 1, apiKeys: [0] });
      const cut = await WireClient.connect(server.address.port);
      const error = await cut.request(m.produce, 7, produceBody("t", 0, batchOf(["y"]))).catch((e: Error) => e);
      assert.instance(error, Error);
      await cut.closed;
      assert.equal(broker.read("t", 0).map((r) => dec(r.value)), ["x", "y"]);
      assert.equal(server.chaosStats(), { dropResponse: 1, disconnect: 1 });
      server.chaos(null);
      const calm = await WireClient.connect(server.address.port);
      const ok = await calm.request(m.produce, 7, produceBody("t", 0, batchOf(["z"])));
      assert.is(rows(rows(ok.responses)[0]!.partitionResponses)[0]!.errorCode, K.NONE);
      calm.close();
    } finally {
      await server.close();
    }
  },
);

test("acks=0 applies the write and sends no response", { deadlineMs: 10_000 }, async () => {
  const { broker, server } = await serving();
  const client = await WireClient.connect(server.address.port);
  try {
    const silent = client.request(m.produce, 7, produceBody("t", 0, batchOf(["quiet"]), 0));
    const meta = await client.request(m.metadata, 1, { topics: [{ name: "t" }] });
    assert.is(rows(meta.topics)[0]!.errorCode, K.NONE, "the next answer is Metadata's, not a Produce response");
    assert.equal(broker.read("t", 0, { isolation: "read-uncommitted" }).map((r) => dec(r.value)), ["quiet"]);
    client.close();
    await silent.catch(() => {});
  } finally {
    await server.close();
  }
});

test("listen: bad options are ConfigErrors naming the field; a taken port too; close() and await using end it", {
  deadlineMs: 10_000,
}, async () => {
  const broker = new EmbeddedBroker();
  for (
    const [options, field] of [
      [{ port: -1 }, "listen.port"],
      [{ host: 7 }, "listen.host"],
      [{ maxFrameBytes: 10 }, "listen.maxFrameBytes"],
      [{ prot: 1 }, "listen.prot"],
      [{ chaos: { seed: 1, dropResponse: 2 } }, "chaos.dropResponse"],
      [{ autoCreateTopics: { partitions: 0, replicationFactor: 1 } }, "listen.autoCreateTopics.partitions"],
    ] as const
  ) {
    const error = await broker.listen(options as never).catch((e: unknown) => e);
    assert.instance(error, ConfigError, JSON.stringify(options));
    assert.is((error as ConfigError).field, field);
  }
  const first = await broker.listen({ port: 0, log: () => {} });
  try {
    const taken = await broker.listen({ port: first.address.port, log: () => {} }).catch((e: unknown) => e);
    assert.instance(taken, ConfigError);
    assert.match((taken as Error).message, `${first.address.port} is already in use`);
    const host = await broker.listen({ port: 0, host: "256.1.1.1", log: () => {} }).catch((e: unknown) => e);
    assert.instance(host, ConfigError);
    assert.is((host as ConfigError).field, "listen.host");
    const client = await WireClient.connect(first.address.port);
    assert.is(first.connections, 1);
    await first.close();
    await client.closed;
  } finally {
    await first.close();
  }
  {
    await using scoped = await broker.listen({ port: 0, log: () => {} });
    assert.ok(scoped.address.port > 0);
    assert.is(scoped.url, `127.0.0.1:${scoped.address.port}`);
  }
});
test.run();
