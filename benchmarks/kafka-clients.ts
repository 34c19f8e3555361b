/**
 * The record file kcat produces from, and the kafkajs sides of the Kafka benchmark
 * (benchmarks/kafka.ts): an idempotent producer sending fixed-size batches, and a group
 * consumer counting until it has read everything.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { Kafka } from "kafkajs";

/** The text of record `i`: its number, padded with `x` to `bytes` bytes. */
export const recordText = (i: number, bytes: number): string => String(i).padStart(10, "0").padEnd(bytes, "x");

/** Writes `count` records of `bytes` bytes, one a line (kcat -l), to a temporary file; returns its path. */
export function writeRecordFile(count: number, bytes: number): string {
  const path = join(tmpdir(), `acktor-bench-kafka-${process.pid}.txt`);
  const line = Buffer.alloc(bytes + 1, "x");
  line[bytes] = 0x0a;
  const chunk = 10_000;
  const out = Buffer.alloc(chunk * (bytes + 1));
  writeFileSync(path, "");
  for (let start = 0; start < count; start += chunk) {
    const n = Math.min(chunk, count - start);
    for (let j = 0; j < n; j++) {
      line.write(String(start + j).padStart(10, "0"), 0, "latin1");
      line.copy(out, j * (bytes + 1));
    }
    writeFileSync(path, out.subarray(0, n * (bytes + 1)), { flag: "a" });
  }
  return path;
}

/** Sends `count` records of `bytes` bytes to `topic` through an idempotent kafkajs producer, 10,000 per send. */
export async function kafkajsProduce(kafka: Kafka, topic: string, count: number, bytes: number): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const batch = 10_000;
    for (let start = 0; start < count; start += batch) {
      const messages = Array.from({ length: Math.min(batch, count - start) }, (_, j) => ({
        value: Buffer.from(recordText(start + j, bytes)),
      }));
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Reads `topic` from the beginning with a kafkajs group consumer until `count` records came; returns how many. */
export async function kafkajsConsume(kafka: Kafka, topic: string, count: number, timeoutMs: number): Promise<number> {
  const consumer = kafka.consumer({
    groupId: `bench-${Date.now()}`,
    maxBytes: 64 << 20,
    maxBytesPerPartition: 16 << 20,
  });
  let seen = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: ({ batch }) => {
        seen += batch.messages.length;
        if (seen >= count) done();
        return Promise.resolve();
      },
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<void>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`kafkajs read ${seen} of ${count} records in ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    await Promise.race([all, expired]).finally(() => clearTimeout(timer));
    return seen;
  } finally {
    await consumer.disconnect();
  }
}
