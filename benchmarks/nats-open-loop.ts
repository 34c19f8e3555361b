/**
 * The open-loop latency case of `npm run bench:nats`: records are offered at a fixed rate
 * (not as fast as the publisher takes them), so send → ack measures the publish path rather
 * than time spent queued behind a saturated one. The same schedule drives raw `js.publish`
 * and an acktor at-least-once producer in message framing.
 *
 * Each record's latency runs from its scheduled send time to its ack, so a publisher that
 * falls behind the schedule is charged for it (no coordinated omission). The first tenth of
 * the records is a warm-up and not counted. Both keep at most `--window` publishes awaiting
 * their PubAck.
 *
 * @module
 */
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { connectNats } from "../src/adapters/nats/index.ts";
import { Window } from "../src/adapters/nats/publish-window.ts";
import { atLeastOnce, createProducer } from "../src/index.ts";
import type { BenchTarget } from "./nats-cases.ts";
import { Samples } from "./stats.ts";

/** One publisher's run at the offered rate. */
export interface OpenLoopResult {
  readonly id: string;
  readonly case: string;
  readonly offeredPerSec: number;
  /** Acks per second over the run: below the offered rate if the publisher could not keep up. */
  readonly ackedPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly samples: number;
}

/**
 * Hands record `i` over and resolves once it is handed over, with its ack to come (boxed:
 * a promise resolved with a promise would wait for the ack instead).
 */
type Publish = (i: number) => Promise<{ readonly ack: Promise<unknown> }>;

/** Offers `count` records at `rate` per second through `publish`, and measures each one's send → ack. */
async function offer(publish: Publish, count: number, rate: number): Promise<Omit<OpenLoopResult, "id" | "case">> {
  const latency = new Samples();
  const warmUp = Math.floor(count / 10);
  const acks: Promise<unknown>[] = [];
  const gap = 1000 / rate;
  const start = performance.now();
  let i = 0;
  while (i < count) {
    const due = Math.min(count, Math.floor((performance.now() - start) / gap) + 1);
    for (; i < due; i++) {
      const scheduled = start + i * gap;
      const counted = i >= warmUp;
      const { ack } = await publish(i);
      acks.push(ack.then(() => {
        if (counted) latency.add(performance.now() - scheduled);
      }));
    }
    // The next record is due in a fraction of a millisecond at most rates: a timer, not a
    // busy loop, so the acks are handled in between, as they would be in an application.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, start + i * gap - performance.now())));
  }
  await Promise.all(acks);
  const seconds = (performance.now() - start) / 1000;
  return {
    offeredPerSec: rate,
    ackedPerSec: count / seconds,
    p50: latency.percentile(50),
    p99: latency.percentile(99),
    samples: latency.count,
  };
}

/**
 * Raw `js.publish` at the offered rate, with at most `window` awaiting their PubAck as acktor
 * does: with no bound, thousands of pending requests slow the client itself down (measured:
 * fewer acks per second than offered, at a rate the windowed client sustains), which would
 * make a baseline no one should use. A record that finds the window full waits for it, and
 * that wait counts in its latency.
 */
export async function rawOpenLoop(
  target: BenchTarget,
  topic: string,
  records: readonly Uint8Array[],
  rate: number,
): Promise<OpenLoopResult> {
  const nc = await connect({ servers: target.servers });
  const js = jetstream(nc);
  try {
    const window = new Window(target.window);
    // In order: each record takes its window slot before the next is handed over.
    const publish: Publish = async (i) => {
      if (!window.tryAcquire()) await window.acquire();
      const ack = js.publish(`${topic}.${i % target.partitions}`, records[i]!);
      return { ack: ack.finally(() => window.release()) };
    };
    const result = await offer(publish, records.length, rate);
    return { id: "raw-open-loop", case: "raw js.publish", ...result };
  } finally {
    await nc.close();
  }
}

/** An acktor at-least-once producer, message framing, at the offered rate. */
export async function acktorOpenLoop(
  target: BenchTarget,
  topic: string,
  records: readonly Uint8Array[],
  rate: number,
): Promise<OpenLoopResult> {
  const nats = await connectNats({ servers: target.servers, publishWindow: target.window });
  const producer = createProducer(nats, topic, {
    deliverySemantic: atLeastOnce({ maxRetries: 10, initialDelay: 50, maxDelay: 1_000, timeout: 60_000 }),
    partitioner: "round-robin",
    requestTimeout: 10_000,
  });
  try {
    // `wait()` is per batch: one promise per record is what a caller awaiting each record pays.
    const publish: Publish = async (i) => {
      const output = await producer.send(null, records[i]!);
      return { ack: output.wait() };
    };
    const result = await offer(publish, records.length, rate);
    return { id: "acktor-open-loop", case: "acktor message, at-least-once", ...result };
  } finally {
    await producer.close();
    await nats.close();
  }
}
