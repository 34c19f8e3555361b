/**
 * Whole runs, generated and played: {@link runSchedule} plays one schedule (`schedule.ts`) on
 * a `VirtualClock` against the embedded broker and judges it with the shared history checker
 * (`history.ts`), producer side here and end to end in `consumer-side.ts`, by its semantic's
 * invariant. Everything a run does follows from the schedule (its `seed` drives the chaos
 * layers), so a schedule replays exactly, and fast-check can shrink it.
 *
 * Used by `test/property-schedules.test.ts` (CI size) and `test/verify.ts` (`npm run verify`).
 */
import {
  atLeastOnce,
  atMostOnce,
  chaos,
  type ChaosTransport,
  createProducer,
  EmbeddedBroker,
  exactlyOnce,
  type ProducerConfig,
  VirtualClock,
} from "../../src/index.ts";
import { consumerSide } from "./consumer-side.ts";
import {
  atLeastOnce as atLeastOnceHolds,
  atMostOnce as atMostOnceHolds,
  exactlyOnce as exactlyOnceHolds,
  History,
  type HistoryReport,
  idOf,
  type Invariant,
  lossesReported,
  orderKept,
  reportsMatchLog,
} from "./history.ts";
import { produceTransactions } from "./produce-transactions.ts";
import { ReplicaStops } from "./replica-stops.ts";
import { emptyCounts, type FaultCounts, type Schedule } from "./schedule.ts";

export interface RunResult {
  readonly schedule: Schedule;
  /** One line per broken invariant; empty when the run kept its promise. */
  readonly violations: string[];
  readonly faults: FaultCounts;
  /** The producer side's report (the input log). */
  readonly report: HistoryReport;
  /** Simulated ms the run took. */
  readonly simulatedMs: number;
}

/** Options only tests use. */
export interface RunOptions {
  /**
   * Extra invariants, judged on the producer side's report: the self-test passes a wrong one
   * to see a failing property shrink.
   */
  readonly extra?: readonly Invariant[];
  /** Extra invariants on what the consumer group's handlers completed (see `consumer-side.ts`). */
  readonly extraHandled?: readonly Invariant[];
  /** Skip the consumer side even when the schedule has one. */
  readonly producerOnly?: boolean;
}

const TOPIC = "in";
const OUTPUT = "out";
const REQUEST_TIMEOUT = 100;

/** Wall-clock ms a run may take before it is reported as stuck (a liveness violation). */
export const RUN_DEADLINE_MS = 120_000;

/** Plays one schedule and judges it; a run stuck past {@link RUN_DEADLINE_MS} is a violation. */
export function runSchedule(s: Schedule, options: RunOptions = {}): Promise<RunResult> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stuck = new Promise<RunResult>((resolve) => {
    timer = setTimeout(() =>
      resolve({
        schedule: s,
        violations: [`[${s.semantic} seed ${s.seed}] the run did not finish in ${RUN_DEADLINE_MS} ms of wall time`],
        faults: emptyCounts(),
        report: new History("stuck").check(),
        simulatedMs: NaN,
      }), RUN_DEADLINE_MS);
  });
  return Promise.race([play(s, options), stuck]).finally(() => clearTimeout(timer));
}

async function play(s: Schedule, options: RunOptions): Promise<RunResult> {
  const label = `${s.semantic} seed ${s.seed}`;
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic(TOPIC, {
    partitions: s.topic.partitions,
    replicationFactor: s.topic.replication,
    minInsyncReplicas: s.topic.minInsync,
  });
  broker.createTopic(OUTPUT, { partitions: s.topic.partitions });
  const counts = emptyCounts();
  const transport = chaos(broker.transport(), { seed: s.seed, clock, ...s.faults });
  transport.events.on("fault", (f) => counts[f.kind]++);
  const violations: string[] = [];
  const history = new History(label);
  const key = (i: number) => `k${i % 97}`;
  const stops = new ReplicaStops(s, broker, clock, TOPIC, counts);
  const config = producerConfig(s, clock);

  if (s.transactions === null) {
    await produce(s, { transport, config, history, key, stops });
  } else {
    await produceTransactions(s, s.transactions, {
      clock,
      transport,
      topic: TOPIC,
      config,
      history,
      key,
      stops,
      counts,
      violations,
    });
    stops.resumeAll();
  }

  // Producer side: the input log, read-committed for transactions (aborted records never visible).
  const isolation = s.transactions ? "read-committed" : "read-uncommitted";
  for (let p = 0; p < s.topic.partitions; p++) {
    for (const r of broker.read(TOPIC, p, { isolation })) history.read(idOf(r.value), p, r.offset);
  }
  const report = history.check();
  violations.push(...judge(report, s, options.extra ?? []));

  // The consumer side reads an input without transactions: the group is done once its
  // committed offsets reach the log end, which control markers never let it reach.
  if (s.consumer && !options.producerOnly && s.transactions === null) {
    violations.push(
      ...await consumerSide(s, s.consumer, {
        broker,
        clock,
        input: TOPIC,
        output: OUTPUT,
        counts,
        label,
        extra: options.extraHandled ?? [],
      }),
    );
  }
  return { schedule: s, violations, faults: counts, report, simulatedMs: clock.now() };
}

function producerConfig(s: Schedule, clock: VirtualClock): ProducerConfig {
  const retry = { ...s.producer.retry, timeout: 10_000_000 };
  const semantic = s.semantic === "at-most-once"
    ? atMostOnce()
    : s.semantic === "at-least-once"
    ? atLeastOnce(retry)
    : exactlyOnce({
      retry,
      ...(s.transactions ? { transactionalId: "tx", transactionTimeoutMs: s.transactions.timeoutMs } : {}),
    });
  return {
    clock,
    deliverySemantic: semantic,
    requestTimeout: REQUEST_TIMEOUT,
    batchSize: s.producer.batchSize,
    lingerMs: s.producer.lingerMs,
    maxInFlight: s.producer.maxInFlight,
    isolation: s.producer.isolation,
    random: seeded(s.seed),
  };
}

/** The producer side without transactions: every record sent, every outcome recorded. */
async function produce(
  s: Schedule,
  c: {
    transport: ChaosTransport;
    config: ProducerConfig;
    history: History;
    key: (i: number) => string;
    stops: ReplicaStops;
  },
): Promise<void> {
  const { history, key } = c;
  const producer = createProducer(c.transport, TOPIC, c.config);
  producer.outcomes$.subscribe((o) => history.outcome(idOf(o.value), o));
  const waits: Promise<void>[] = [];
  for (let i = 0; i < s.records; i++) {
    c.stops.step(i);
    const out = await producer.send(key(i), `r${i}`);
    history.send(i, { key: key(i), partition: out.partition });
    waits.push(out.wait().then((m) => void history.outcome(i, m), (e: Error) => void history.outcome(i, e)));
  }
  c.stops.resumeAll();
  await producer.flush().catch(() => {});
  await Promise.all(waits);
  await producer.close().catch(() => {});
}

function judge(report: HistoryReport, s: Schedule, extra: readonly Invariant[]): string[] {
  const base: Invariant[] = s.semantic === "at-most-once" ? [atMostOnceHolds] : s.semantic === "at-least-once"
    // "No loss while the policy lasts": every lost record was reported failed (its policy ran out).
    ? [atLeastOnceHolds({ policyLasts: false }), lossesReported]
    : [exactlyOnceHolds];
  // What wait() and outcomes$ reported must match the log (not for transactions: an aborted
  // attempt's offsets were real but are no longer visible).
  if (s.transactions === null) base.push(reportsMatchLog);
  // One request in flight per partition keeps each key's order of first arrival.
  if (s.semantic === "at-least-once" && s.producer.maxInFlight === 1) base.push(orderKept);
  return [...base, ...extra].flatMap((check) => check(report));
}

/** A seeded `random` for backoff jitter. */
function seeded(seed: number): () => number {
  let x = (seed >>> 0) || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}
