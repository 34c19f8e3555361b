/**
 * Kafka's 32-bit murmur2, bit for bit. Keyed records must land on the partition a Java,
 * librdkafka (`murmur2_random`) or KafkaJS (v2 default) producer would choose for the same
 * key bytes, so this is a port of `org.apache.kafka.common.utils.Utils.murmur2(byte[])`,
 * quirks included (the seed, and the tail bytes being mixed before the final avalanche).
 *
 * @module
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/**
 * Hashes `data` exactly as Kafka's `Utils.murmur2(byte[])` does.
 *
 * @param data - The key bytes, typically the serialized record key.
 * @returns The hash as a signed 32-bit integer, the same value Java's `int` holds, so it
 *   can be compared with Kafka's own test vectors and logs.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  // Java's int arithmetic wraps; `| 0`, `Math.imul` and `>>>` reproduce that in JS without
  // the precision loss a plain `*` would cause above 2^53.
  let h = (SEED ^ length) | 0;
  const blocksEnd = length & ~3;

  for (let i = 0; i < blocksEnd; i += 4) {
    // `|` instead of Java's `+`: the bytes occupy disjoint bits, so the result is the same
    // and stays an int32 instead of drifting into a double.
    let k = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) | 0;
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }

  // Java falls through the cases; the multiply only happens once, after the last byte.
  switch (length & 3) {
    case 3:
      h ^= data[blocksEnd + 2]! << 16;
    // falls through
    case 2:
      h ^= data[blocksEnd + 1]! << 8;
    // falls through
    case 1:
      h ^= data[blocksEnd]!;
      h = Math.imul(h, M);
  }

  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * Clears the sign bit, as Kafka's `Utils.toPositive`. Not `Math.abs`: that would map
 * `-2^31` to itself (in Java) and send keys to different partitions than Kafka does.
 *
 * @param n - A signed 32-bit integer, typically a {@link murmur2} hash.
 * @returns `n & 0x7fffffff`, in `[0, 2^31 - 1]`.
 */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}
