/**
 * Kafka record batches against a client nobody here wrote: kafkajs 2.2.4's own record batch
 * encoder and decoder (from its sources under node_modules). Batches it writes decode here;
 * batches written here decode there, and its CRC-32C agrees with ours. Skipped where kafkajs
 * does not load.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import { decodeBatches } from "../src/kafka/records/record-batch.ts";
import { encodeBatches, encodeControlBatch } from "../src/kafka/records/batch-encoder.ts";
import { dec, sample, T0, view } from "./helpers/record-batches.ts";

/** kafkajs's own record batch encoder and decoder, or null where it does not load. */
interface Kafkajs {
  RecordBatch: (input: Record<string, unknown>) => Promise<{ buffer: Uint8Array }>;
  Record: (input: Record<string, unknown>) => unknown;
  decodeBatch: (decoder: unknown) => Promise<KafkajsBatch>;
  Decoder: new (buffer: Uint8Array) => unknown;
  crc32C: (buffer: Uint8Array) => number;
}

interface KafkajsBatch {
  firstOffset: string;
  inTransaction: boolean;
  isControlBatch: boolean;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  partitionLeaderEpoch: number;
  records: {
    offset: string;
    timestamp: string;
    key: Uint8Array | null;
    value: Uint8Array | null;
    headers: Record<string, Uint8Array>;
  }[];
}

function loadKafkajs(): Kafkajs | null {
  try {
    const require = createRequire(import.meta.url);
    const dir = "kafkajs/src/protocol/recordBatch";
    return {
      RecordBatch: require(`${dir}/v0/index.js`).RecordBatch,
      Record: require(`${dir}/record/v0/index.js`),
      decodeBatch: require(`${dir}/v0/decoder.js`),
      Decoder: require("kafkajs/src/protocol/decoder.js"),
      crc32C: require(`${dir}/crc32C/index.js`),
    };
  } catch {
    return null;
  }
}

const kafkajs = loadKafkajs();
const KAFKAJS = "kafkajs 2.2.4 as the oracle:";

if (kafkajs === null) {
  test.skip(`${KAFKAJS} not loadable on this runtime`);
} else {
  const kjs = kafkajs;
  const buf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

  test(`${KAFKAJS} batches its encoder writes (plain, transactional, gzip) decode here`, async () => {
    for (const compression of [0, 1]) {
      const records = [
        kjs.Record({ offsetDelta: 0, timestampDelta: 0, key: Buffer.from("k1"), value: Buffer.from("v1") }),
        kjs.Record({
          offsetDelta: 1,
          timestampDelta: 250,
          key: null,
          value: Buffer.alloc(200, 3),
          headers: { a: "x", b: Buffer.from([0, 255]) },
        }),
        kjs.Record({ offsetDelta: 2, timestampDelta: -7, key: Buffer.from(""), value: Buffer.from("v3") }),
      ];
      const encoded = await kjs.RecordBatch({
        compression,
        firstOffset: "12345678901",
        firstTimestamp: T0,
        maxTimestamp: T0 + 250,
        partitionLeaderEpoch: 4,
        lastOffsetDelta: 2,
        transactional: true,
        producerId: "77",
        producerEpoch: 3,
        firstSequence: 100,
        records,
      });
      const [b, ...rest] = decodeBatches(new Uint8Array(encoded.buffer));
      assert.is(rest.length, 0);
      assert.is(b!.compression, compression);
      assert.is(b!.baseOffset, 12345678901);
      assert.is(b!.partitionLeaderEpoch, 4);
      assert.ok(b!.transactional);
      assert.is(b!.producerId, 77);
      assert.is(b!.producerEpoch, 3);
      assert.is(b!.baseSequence, 100);
      assert.is(b!.lastOffsetDelta, 2);
      assert.is(b!.offsetDeltas, null);
      assert.equal(b!.columns.timestamps, [T0, T0 + 250, T0 - 7]);
      assert.equal(b!.columns.keys.map((k) => k === null ? null : dec(k)), ["k1", null, ""]);
      assert.equal(b!.columns.values.map((v) => v.length), [2, 200, 2]);
      assert.is(b!.columns.headers![0], null);
      assert.is(dec(b!.columns.headers![1]!.a!), "x");
      assert.equal([...b!.columns.headers![1]!.b!], [0, 255]);
    }
  });

  test(`${KAFKAJS} its decoder reads batches encoded here, and its CRC-32C agrees`, async () => {
    const input = sample();
    const joined = encodeBatches([input, { ...input, baseOffset: 5, transactional: false, compression: 1 }]);
    const decoder = new kjs.Decoder(buf(joined)) as { canReadInt64: () => boolean };
    const batches: KafkajsBatch[] = [];
    while (decoder.canReadInt64()) batches.push(await kjs.decodeBatch(decoder));
    assert.is(batches.length, 2);
    const [first, second] = batches as [KafkajsBatch, KafkajsBatch];
    assert.is(first.firstOffset, String(input.baseOffset));
    assert.ok(first.inTransaction);
    assert.not.ok(first.isControlBatch);
    assert.is(first.producerId, String(2 ** 40 + 3));
    assert.is(first.producerEpoch, 12);
    assert.is(first.firstSequence, 2_000_000_000);
    assert.is(first.partitionLeaderEpoch, 17);
    const base = input.baseOffset;
    assert.equal(first.records.map((r) => r.offset), [0, 3, 4, 90_000].map((d) => String(base + d)));
    assert.equal(first.records.map((r) => r.timestamp), input.records.timestamps!.map(String));
    assert.equal(
      first.records.map((r) => r.key === null ? null : [...r.key]),
      input.records.keys.map((k) => k === null ? null : [...k]),
    );
    assert.equal(first.records.map((r) => [...r.value!]), input.records.values.map((v) => [...v]));
    assert.equal(Object.keys(first.records[0]!.headers), ["trace", "content-type"]);
    assert.is(dec(first.records[0]!.headers.trace!), "t-1");
    assert.equal(Object.keys(first.records[2]!.headers), ["ü-name"]);
    assert.not.ok(second.inTransaction);
    assert.equal(second.records.map((r) => r.offset), [0, 3, 4, 90_000].map((d) => String(5 + d)));
    assert.equal(second.records.map((r) => [...r.value!]), input.records.values.map((v) => [...v]));
    // kafkajs does not check CRCs when decoding, so check ours with its CRC-32C.
    let at = 0;
    for (let i = 0; i < 2; i++) {
      const v = view(joined);
      const end = at + 12 + v.getInt32(at + 8);
      assert.is(kjs.crc32C(buf(joined.subarray(at + 21, end))), v.getUint32(at + 17), `batch ${i} CRC`);
      at = end;
    }
    const marker = encodeControlBatch({ baseOffset: 8, producerId: 77, producerEpoch: 1, commit: true, timestamp: T0 });
    const control = await kjs.decodeBatch(new kjs.Decoder(buf(marker)));
    assert.ok(control.isControlBatch);
    assert.ok(control.inTransaction);
    assert.equal([...control.records[0]!.key!], [0, 0, 0, 1]);
  });
}

test.run();
