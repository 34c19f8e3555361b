/**
 * The demo's consumer side on NATS JetStream: a consumer group (one durable JetStream
 * consumer) reads a topic to its end, and its instances crash at seeded points. A crash
 * kills the instance's connection in the middle of a handler, with acks and naks still
 * unsent lost, as with a killed process; the server hands what was not acked to the next
 * instance after `ack_wait`. It counts how often a handler completed each log entry, which
 * is what the demo reconciles.
 *
 * Unlike the embedded broker's consumers, these run without the chaos layer: a JetStream
 * consumer needs the `NatsTransport` itself (acks and pulls are not transport requests), and
 * a wrapper of it is refused. The crashes still apply.
 *
 * @module
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { type RandomGenerator, unsafeUniformIntDistribution, xoroshiro128plus } from "pure-rand";
import { connectNats, durableName, streamName } from "../adapters/nats/index.ts";
import type { CommitStrategy } from "../consumer/config.ts";
import { createConsumer } from "../consumer/create.ts";
import { type Crash, seedFor } from "./consume.ts";
import { CRASHED } from "./crash.ts";

/** What {@link consumeNatsWithCrashes} needs. */
export interface NatsConsumeOptions {
  readonly servers: string;
  readonly topic: string;
  /** Records in the topic: the crash points are drawn within it. */
  readonly size: number;
  readonly groupId: string;
  readonly commit: CommitStrategy;
  /** `idempotent` only: the handler copies each record here. */
  readonly outputTopic?: string;
  /** Seeds the crash points. */
  readonly seed: number;
  /** How many consumer instances crash before one is left to finish. */
  readonly crashes: number;
  /** How long the last instance may take to drain the group; default 120 000 ms. */
  readonly finishWithinMs?: number;
}

/** What the group did. */
export interface NatsConsumeResult {
  /** How many times a handler completed the log entry at (partition, offset). */
  runs(partition: number, offset: number): number;
  readonly crashes: readonly Crash[];
  readonly instances: number;
  readonly failures: readonly string[];
}

/** `ack_wait`: a crashed instance's unacked messages come again after this, in real time. */
const SESSION_MS = 1_000;
const POLL_MS = 100;

/** Reads `topic` to its end with a group whose instances crash at seeded points. */
export async function consumeNatsWithCrashes(options: NatsConsumeOptions): Promise<NatsConsumeResult> {
  const { servers, topic, groupId, commit, outputTopic } = options;
  const handled = new Map<string, number>();
  const crashes: Crash[] = [];
  const failures: string[] = [];
  const rng: RandomGenerator = xoroshiro128plus(seedFor(options.seed, 0));
  // Each crashing instance handles at most its share before it dies, and a crash costs at
  // most a pull's worth besides (acked and lost, or handed to the next instance): half of
  // an even split leaves room for both, so every planned crash comes before the records end.
  const share = Math.max(1, Math.floor(options.size / (2 * (options.crashes + 1))));
  // A plain connection asks the server whether the group is done: nothing left to deliver,
  // nothing awaiting an ack. The consumers' own connections are the ones that crash.
  const plain = await connect({ servers });
  const jsm = await jetstreamManager(plain);
  const drained = async (): Promise<boolean> => {
    const info = await jsm.consumers.info(streamName(topic), durableName(groupId)).catch(() => null);
    return info !== null && info.num_pending === 0 && info.num_ack_pending === 0;
  };
  let instances = 0;
  try {
    while (instances === 0 || !(await drained())) {
      instances++;
      const crashing = crashes.length < options.crashes;
      const atRecord = crashing ? unsafeUniformIntDistribution(1, share, rng) : -1;
      const nats = await connectNats({ servers });
      const consumer = createConsumer(nats, topic, {
        groupId,
        commit,
        sessionTimeoutMs: SESSION_MS,
        heartbeatIntervalMs: 300,
        requestTimeout: 2_000,
        maxPollRecords: 500,
        ...(outputTopic === undefined ? {} : { outputTopic }),
      });
      const stop = new AbortController();
      let calls = 0;
      let dead = false;
      const running = consumer.run(async (record, context) => {
        if (dead) throw CRASHED;
        if (++calls === atRecord) {
          // The process dies mid-record: its connection goes, and whatever the consumer
          // would have acked or nak'ed after this handler never reaches the server.
          dead = true;
          void nats.close().catch(() => {});
          stop.abort();
          throw CRASHED;
        }
        if (context.output) await context.output.send(record.key, record.value);
        const at = `${record.partition}:${record.offset}`;
        handled.set(at, (handled.get(at) ?? 0) + 1);
      }, { signal: stop.signal });
      let ended = false;
      let failure: unknown = null;
      running.then(() => (ended = true), (error) => ([ended, failure] = [true, error]));
      const deadline = Date.now() + (options.finishWithinMs ?? 120_000);
      while (!dead && !ended && !(await drained())) {
        if (Date.now() > deadline) {
          failure = new Error(`the group was not drained within ${options.finishWithinMs ?? 120_000} ms`);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      stop.abort();
      await running.catch(() => {});
      if (dead) crashes.push({ at: "handler" });
      else if (failure !== null) failures.push(failure instanceof Error ? failure.message : String(failure));
      await consumer.close().catch(() => {});
      await nats.close().catch(() => {});
      if (failure !== null && !dead && instances > options.crashes + 3) break;
    }
  } finally {
    await plain.close();
  }
  return { runs: (p, offset) => handled.get(`${p}:${offset}`) ?? 0, crashes, instances, failures };
}
