/**
 * The consumer benchmark's cases: one consumer-group member reading a pre-filled topic on the
 * embedded broker (real clock), per commit strategy, with a record handler (`run()`) and a
 * batch handler (`runBatches()`):
 *
 * - no commits (`manual`, never committing): the baseline, what fetching and handing records
 *   out costs;
 * - `before-processing` and `after-processing`: one offset commit per fetched batch;
 * - transform, no transactions: the handler copies every record to an output topic through
 *   an idempotent producer, and nothing is committed: the cost of producing the output;
 * - `transactional` (consume-transform-produce): the same copy, with each fetched batch's
 *   output and input offsets committed in one transaction.
 *
 * @module
 */
import {
  type CommitStrategy,
  type ConsumerConfig,
  createConsumer,
  createProducer,
  EmbeddedBroker,
  exactlyOnce,
  type Producer,
  type Request,
  type RequestOptions,
  type ResponseFor,
  type Transport,
} from "../src/internal.ts";
import { PARTITIONS, RETRY, SHARED_CONFIG, TRANSACTIONAL_ID } from "./cases.ts";
import { reconcile, type Reconciliation } from "./records.ts";

export const INPUT_TOPIC = "bench-in";
export const OUTPUT_TOPIC = "bench-out";
/** Records per appended chunk when pre-filling: about one 128 KiB producer batch of 100-byte records. */
export const FILL_CHUNK = 1_300;
export const CONSUMER_GROUP = "bench-group";

/**
 * The consumer settings every case shares; only `commit` (and, for the transactional case,
 * `producer`) differ. These are the defaults, spelled out: 500 records per fetch (and per
 * transaction), read-committed, a member's session of 10 s, heartbeats every 3 s.
 */
export const CONSUMER_CONFIG = {
  maxPollRecords: 500,
  isolation: "read-committed",
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 3_000,
  pollIntervalMs: 50,
} as const satisfies Omit<ConsumerConfig, "groupId">;

/** How the loop hands records to the handler. */
export type HandlerMode = "run" | "runBatches";
/** What the handler does with each record: nothing, or copy it to the output topic. */
export type Transform = "none" | "idempotent" | "transactional";

export interface ConsumerCase {
  readonly name: string;
  readonly commit: CommitStrategy;
  readonly mode: HandlerMode;
  readonly transform: Transform;
}

const KINDS: readonly Omit<ConsumerCase, "name" | "mode">[] = [
  { commit: "manual", transform: "none" },
  { commit: "before-processing", transform: "none" },
  { commit: "after-processing", transform: "none" },
  { commit: "manual", transform: "idempotent" },
  { commit: "transactional", transform: "transactional" },
];

/** A case's name without its handler mode, e.g. "before-processing". */
function kindName(kind: Omit<ConsumerCase, "name" | "mode">): string {
  if (kind.transform === "idempotent") return "transform, no transactions";
  if (kind.transform === "transactional") return "transactional (consume-transform-produce)";
  return kind.commit === "manual" ? "no commits (manual, never committing)" : kind.commit;
}

/** Every kind, first with `run()`, then with `runBatches()`; the first case is the baseline. */
export const CONSUMER_CASES: readonly ConsumerCase[] = (["run", "runBatches"] as const).flatMap((mode) =>
  KINDS.map((kind) => ({ ...kind, mode, name: `${kindName(kind)}, ${mode}()` }))
);

export interface ConsumerCaseResult {
  readonly case: string;
  readonly commit: CommitStrategy;
  readonly mode: HandlerMode;
  readonly transform: Transform;
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSec: number;
  /** Records the handler was given; must equal `records`. */
  readonly handled: number;
  /** Requests the consumer (and its producer) sent, by kind. */
  readonly fetches: number;
  readonly offsetCommits: number;
  /** Transactions ended (`endTxn` requests); null without transactions. */
  readonly transactions: number | null;
  readonly requests: number;
  /**
   * Whether the group's committed offsets reached every partition's end once the run
   * stopped; null for cases that never commit.
   */
  readonly committedToEnd: boolean | null;
  /** The output topic read back (read-committed for the transactional case); null without a transform. */
  readonly output: Reconciliation | null;
}

/** Counts requests by kind on their way through: one map update per request, never per record. */
class CountingTransport implements Transport {
  readonly counts = new Map<Request["api"], number>();
  readonly #inner: Transport;

  constructor(inner: Transport) {
    this.#inner = inner;
  }

  request<R extends Request>(request: R, options: RequestOptions): Promise<ResponseFor<R>> {
    this.counts.set(request.api, (this.counts.get(request.api) ?? 0) + 1);
    return this.#inner.request(request, options);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  count(api: Request["api"]): number {
    return this.counts.get(api) ?? 0;
  }
}

/**
 * A fresh broker whose input topic holds the first `count` of `values`, keyless, a quarter
 * per partition in {@link FILL_CHUNK}-record batches, appended straight to each partition's
 * log as the broker does for a plain produce request: filling costs no time of its own.
 */
function filledBroker(values: readonly Uint8Array[], count: number): EmbeddedBroker {
  const broker = new EmbeddedBroker();
  broker.createTopic(INPUT_TOPIC, { partitions: PARTITIONS, replicationFactor: 1 });
  broker.createTopic(OUTPUT_TOPIC, { partitions: PARTITIONS, replicationFactor: 1 });
  for (let p = 0; p < PARTITIONS; p++) {
    const from = Math.floor((count * p) / PARTITIONS);
    const to = Math.floor((count * (p + 1)) / PARTITIONS);
    for (let i = from; i < to; i += FILL_CHUNK) {
      const chunk = values.slice(i, Math.min(to, i + FILL_CHUNK));
      broker.partition(INPUT_TOPIC, p).append({ keys: new Array<null>(chunk.length).fill(null), values: chunk });
    }
  }
  return broker;
}

/** The output producer: the producer benchmark's settings, idempotent, transactional for that case. */
function outputProducer(transport: Transport, transform: Transform): Producer | undefined {
  if (transform === "none") return undefined;
  const semantic = exactlyOnce(
    transform === "transactional" ? { retry: RETRY, transactionalId: TRANSACTIONAL_ID } : { retry: RETRY },
  );
  return createProducer(transport, OUTPUT_TOPIC, { ...SHARED_CONFIG, deliverySemantic: semantic });
}

/**
 * Runs one case: a fresh broker filled with `count` records, one consumer on a fresh group
 * reading them all. Timing starts before `run()`/`runBatches()` (so it includes joining the
 * group, a few requests) and ends when the loop has stopped after the last record, its
 * commits done; for the transform without transactions, after the output producer's
 * `flush()` too.
 */
export async function runConsumerCase(
  spec: ConsumerCase,
  values: readonly Uint8Array[],
  count: number,
): Promise<ConsumerCaseResult> {
  const broker = filledBroker(values, count);
  const transport = new CountingTransport(broker.transport());
  const producer = outputProducer(transport, spec.transform);
  const consumer = createConsumer(transport, INPUT_TOPIC, {
    ...CONSUMER_CONFIG,
    groupId: CONSUMER_GROUP,
    commit: spec.commit,
    ...(spec.transform === "transactional" ? { producer } : {}),
  });
  // The idempotent producer fetches its producer id and the topic's metadata at once: one
  // turn of the event loop, before timing, as in the producer benchmark. The transactional
  // one initialises in its first transaction, inside the timing (a few requests).
  if (spec.transform === "idempotent") await new Promise((resolve) => setTimeout(resolve, 0));

  let handled = 0;
  const stop = new AbortController();
  // The loop stops after the last record: the record (or batch) in hand finishes, and its
  // commit (or transaction) completes before run() resolves.
  const started = performance.now();
  if (spec.mode === "run") {
    await consumer.run(
      spec.transform === "none"
        ? () => {
          if (++handled === count) stop.abort();
        }
        : async (record, { tx }) => {
          await (tx ?? producer!).send(record.key, record.value);
          if (++handled === count) stop.abort();
        },
      { signal: stop.signal },
    );
  } else {
    await consumer.runBatches(
      spec.transform === "none"
        ? (batch) => {
          handled += batch.records.length;
          if (handled === count) stop.abort();
        }
        : async (batch, { tx }) => {
          const out = tx ?? producer!;
          for (const record of batch.records) await out.send(record.key, record.value);
          handled += batch.records.length;
          if (handled === count) stop.abort();
        },
      { signal: stop.signal },
    );
  }
  if (spec.transform === "idempotent") await producer!.flush();
  const seconds = (performance.now() - started) / 1000;

  const committedToEnd = spec.commit === "manual"
    ? null
    : Array.from({ length: PARTITIONS }, (_, p) =>
      broker.committedOffset(CONSUMER_GROUP, INPUT_TOPIC, p) === broker.partition(INPUT_TOPIC, p).log.endOffset).every(
        Boolean,
      );
  const requests = [...transport.counts.values()].reduce((a, b) => a + b, 0);
  const result: ConsumerCaseResult = {
    case: spec.name,
    commit: spec.commit,
    mode: spec.mode,
    transform: spec.transform,
    records: count,
    seconds,
    recordsPerSec: count / seconds,
    handled,
    fetches: transport.count("fetch"),
    offsetCommits: transport.count("offsetCommit") + transport.count("txnOffsetCommit"),
    transactions: spec.transform === "transactional" ? transport.count("endTxn") : null,
    requests,
    committedToEnd,
    output: spec.transform === "none" ? null : reconcile(
      broker,
      OUTPUT_TOPIC,
      PARTITIONS,
      count,
      spec.transform === "transactional" ? "read-committed" : "read-uncommitted",
    ),
  };
  await consumer.close();
  await producer?.close();
  await transport.close();
  return result;
}

/** What is wrong with a pass, if anything: every record handled once, committed, and copied once. */
export function consumerViolations(r: ConsumerCaseResult): string[] {
  const problems: string[] = [];
  if (r.handled !== r.records) problems.push(`${r.handled} of ${r.records} records handled`);
  if (r.committedToEnd === false) problems.push("the group's offsets did not reach the end");
  if (r.output !== null) {
    const { delivered, lost, duplicated, unknown } = r.output;
    if (lost > 0 || duplicated > 0 || unknown > 0) {
      problems.push(`output: ${delivered} delivered, ${lost} lost, ${duplicated} duplicated, ${unknown} unknown`);
    }
  }
  return problems;
}
