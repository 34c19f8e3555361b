/**
 * The throughput cases of `npm run bench:nats`: raw `@nats-io` publishing and acktor
 * producers, on the same server, topic shape and 100-byte records. Each case runs on a fresh
 * stream (see nats.ts) and reports records/s and, where there is an ack, send → PubAck.
 *
 * @module
 */
import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { connectNats, type Framing } from "../src/adapters/nats/index.ts";
import { atLeastOnce, atMostOnce, createProducer, type DeliverySemantic, exactlyOnce } from "../src/index.ts";
import { Samples } from "./stats.ts";

/** Where and how the cases publish. */
export interface BenchTarget {
  readonly servers: string | string[];
  readonly partitions: number;
  /** In-flight publishes of the windowed raw baselines, and acktor's `publishWindow`. */
  readonly window: number;
}

/** One case's measurement. */
export interface Result {
  readonly id: string;
  readonly case: string;
  readonly recordsPerSec: number;
  readonly ackP50: number | null;
  readonly ackP99: number | null;
  /** Every round's records/s, in round order (set on the median row). */
  readonly rounds?: readonly number[];
}

/** A throughput case: `framing` is the stream's (raw cases publish plain messages: "message"). */
export interface Case {
  readonly id: string;
  readonly name: string;
  readonly framing: Framing;
  run(topic: string, records: readonly Uint8Array[]): Promise<Result>;
}

/** The retry policy of the acktor cases: generous, as nothing should fail on a healthy server. */
const RETRY = { maxRetries: 10, initialDelay: 50, maxDelay: 1_000, timeout: 60_000 };

/**
 * Every case, baselines first. The raw ones mirror what each acktor case does on the wire:
 * - `raw-window`: `js.publish` with `window` awaiting PubAcks, what at-least-once in message
 *   framing does;
 * - `raw-msgid-window`: the same with a message id each, the server's dedup work;
 * - `raw-msgid-per-partition`: message ids, one publish in flight per partition and the
 *   partitions concurrently, what exactly-once in message framing does to keep order;
 * - `raw-core`: `nc.publish`, no ack, what at-most-once does.
 */
export function throughputCases(target: BenchTarget): Case[] {
  const { window } = target;
  return [
    rawJetStream(target, "raw-window", `raw js.publish, window ${window}`, { window, msgId: false }),
    rawJetStream(target, "raw-msgid-window", `raw js.publish + msgID, window ${window}`, { window, msgId: true }),
    rawJetStream(target, "raw-msgid-per-partition", "raw js.publish + msgID, 1 in flight per partition", {
      window: 1,
      msgId: true,
      perPartition: true,
    }),
    rawCore(target),
    acktor(target, "acktor-message-amo", "acktor message, at-most-once", "message", atMostOnce()),
    acktor(target, "acktor-message-alo", "acktor message, at-least-once", "message", atLeastOnce(RETRY)),
    acktor(target, "acktor-message-eos", "acktor message, exactly-once", "message", exactlyOnce({ retry: RETRY })),
    acktor(target, "acktor-batch-alo", "acktor batch, at-least-once", "batch", atLeastOnce(RETRY)),
    acktor(target, "acktor-batch-eos", "acktor batch, exactly-once", "batch", exactlyOnce({ retry: RETRY })),
  ];
}

interface RawShape {
  /** Publishes awaiting their PubAck at once: in all, or per partition with `perPartition`. */
  readonly window: number;
  readonly msgId: boolean;
  /** One set of `window` workers per partition, each publishing only that partition's records. */
  readonly perPartition?: boolean;
}

/** A raw-client case in message framing: `measure` gets a connection of its own, closed afterwards. */
function rawCase(
  target: BenchTarget,
  id: string,
  name: string,
  measure: (nc: NatsConnection, topic: string, records: readonly Uint8Array[]) => Promise<Omit<Result, "id" | "case">>,
): Case {
  return {
    id,
    name,
    framing: "message",
    async run(topic, records) {
      const nc = await connect({ servers: target.servers });
      try {
        return { id, case: name, ...(await measure(nc, topic, records)) };
      } finally {
        await nc.close();
      }
    },
  };
}

function rawJetStream(target: BenchTarget, id: string, name: string, shape: RawShape): Case {
  const { partitions } = target;
  return rawCase(target, id, name, async (nc, topic, records) => {
    const js = jetstream(nc);
    const latency = new Samples();
    // Record i goes to partition i % partitions, as acktor's round-robin partitioner does.
    const lanes = shape.perPartition ? partitions : 1;
    const next = Array.from({ length: lanes }, (_, lane) => lane);
    const step = shape.perPartition ? partitions : 1;
    const worker = async (lane: number): Promise<void> => {
      while (next[lane]! < records.length) {
        const i = next[lane]!;
        next[lane]! += step;
        const at = performance.now();
        await js.publish(`${topic}.${i % partitions}`, records[i]!, shape.msgId ? { msgID: `raw-${i}` } : undefined);
        latency.add(performance.now() - at);
      }
    };
    const started = performance.now();
    const workers: Promise<void>[] = [];
    for (let lane = 0; lane < lanes; lane++) {
      for (let w = 0; w < shape.window; w++) workers.push(worker(lane));
    }
    await Promise.all(workers);
    const seconds = (performance.now() - started) / 1000;
    return {
      recordsPerSec: records.length / seconds,
      ackP50: latency.percentile(50),
      ackP99: latency.percentile(99),
    };
  });
}

function rawCore(target: BenchTarget): Case {
  return rawCase(target, "raw-core", "raw nc.publish (no ack)", async (nc, topic, records) => {
    const started = performance.now();
    for (let i = 0; i < records.length; i++) nc.publish(`${topic}.${i % target.partitions}`, records[i]!);
    await nc.flush();
    return { recordsPerSec: records.length / ((performance.now() - started) / 1000), ackP50: null, ackP99: null };
  });
}

function acktor(target: BenchTarget, id: string, name: string, framing: Framing, semantic: DeliverySemantic): Case {
  return {
    id,
    name,
    framing,
    async run(topic, records) {
      const nats = await connectNats({ servers: target.servers, publishWindow: target.window });
      const producer = createProducer(nats, topic, {
        deliverySemantic: semantic,
        partitioner: "round-robin",
        batchSize: 128 * 1024,
        requestTimeout: 10_000,
      });
      const latency = new Samples();
      const acked = semantic.kind !== "at-most-once";
      const started = performance.now();
      for (let i = 0; i < records.length; i++) {
        const sent = performance.now();
        const output = await producer.send(null, records[i]!);
        // Sampled (1 in 16): a callback per record would weigh on the loop it measures.
        if (acked && (i & 15) === 0) output.wait().then(() => latency.add(performance.now() - sent));
      }
      await producer.flush();
      const seconds = (performance.now() - started) / 1000;
      await producer.close();
      await nats.close();
      return {
        id,
        case: name,
        recordsPerSec: records.length / seconds,
        ackP50: acked ? latency.percentile(50) : null,
        ackP99: acked ? latency.percentile(99) : null,
      };
    },
  };
}
