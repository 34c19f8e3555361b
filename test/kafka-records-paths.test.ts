/**
 * The record-batch code's two speed paths, each checked against a slower reference: CRC-32C
 * over 32-bit words against the bit-by-bit definition, and decoding into the log's packed
 * layout against decoding into views.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { crc32c } from "../src/kafka/records/crc32c.ts";
import { decodeBatches } from "../src/kafka/records/record-batch.ts";
import { encodeBatch } from "../src/kafka/records/batch-encoder.ts";
import type { RecordHeaders } from "../src/transport/protocol.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const T0 = 1_700_000_000_000;

test("CRC-32C over words equals the bytewise definition at every alignment, length and split", () => {
  // The definition, one bit at a time: no tables, nothing shared with the code under test.
  const reference = (bytes: Uint8Array, from: number, to: number): number => {
    let c = ~0;
    for (let i = from; i < to; i++) {
      c ^= bytes[i]!;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return ~c >>> 0;
  };
  const backing = new Uint8Array(700);
  for (let i = 0; i < backing.length; i++) backing[i] = (i * 151 + 17) & 255;
  for (const offset of [0, 1, 2, 3, 5]) {
    const bytes = backing.subarray(offset);
    for (const [from, to] of [[0, 64], [1, 65], [3, 200], [7, 7], [0, 63], [13, 690 - offset], [2, 130]]) {
      const whole = crc32c(bytes, from!, to!);
      assert.is(whole, reference(bytes, from!, to!), `offset ${offset}, [${from}, ${to})`);
      const mid = Math.floor((from! + to!) / 2);
      assert.is(crc32c(bytes, mid, to!, crc32c(bytes, from!, mid)), whole, `split at ${mid}`);
    }
  }
});

test("packed decoding holds the same records as views: null and empty keys, short and long values, headers", () => {
  const long = new Uint8Array(1000).map((_, i) => i & 255);
  const input = {
    baseOffset: 0,
    records: {
      keys: [null, enc(""), enc("k2"), null, enc("k".repeat(300))],
      values: [enc("a"), enc(""), long, enc("d"), enc("e")],
      headers: [null, { h: enc("1") }, null, null, { x: enc("") }] as (RecordHeaders | null)[],
      timestamps: [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4],
    },
  };
  const bytes = encodeBatch(input);
  const views = decodeBatches(bytes)[0]!;
  const packed = decodeBatches(bytes, { packed: true })[0]!;
  assert.equal([packed.columns.keys.length, packed.columns.values.length], [0, 0], "packed leaves the arrays empty");
  const p = packed.columns.packed!;
  assert.is(p.count, 5);
  for (let i = 0; i < 5; i++) {
    const key = p.nullKeys?.[i] === 1 ? null : [...p.data.subarray(p.bounds[2 * i]!, p.bounds[2 * i + 1]!)];
    const value = [...p.data.subarray(p.bounds[2 * i + 1]!, p.bounds[2 * i + 2]!)];
    const expectedKey = views.columns.keys[i];
    assert.equal(key, expectedKey === null ? null : [...expectedKey!], `key ${i}`);
    assert.equal(value, [...views.columns.values[i]!], `value ${i}`);
  }
  assert.is(p.bounds[10], p.data.length, "the data holds exactly the key and value bytes");
  assert.not.equal(p.data.buffer, bytes.buffer, "a copy: the request frame is not pinned");
  assert.equal(packed.columns.headers, views.columns.headers);
  assert.equal(packed.columns.timestamps, views.columns.timestamps);
  // The encoder reads the packed form back to the very same bytes.
  assert.equal([...encodeBatch({ baseOffset: 0, records: packed.columns })], [...bytes]);
});

test.run();
