/**
 * Whole runs, generated: a fast-check arbitrary of a topic shape, a producer config, a fault
 * schedule, consumer crashes and group churn, and {@link runSchedule}, which plays one such
 * schedule on a `VirtualClock` against the embedded broker and judges it with the shared
 * history checker (`history.ts`), producer side and consumer side, by its semantic's
 * invariant. Everything a run does follows from the schedule (its `seed` drives the chaos
 * layers and the crash points), so a schedule replays exactly, and fast-check can shrink it.
 *
 * Used by `test/property-schedules.test.ts` (CI size) and `test/verify.ts` (`npm run verify`).
 */
import fc from "fast-check";
import {
  atLeastOnce,
  atMostOnce,
  chaos,
  type ChaosFault,
  type ChaosTransport,
  type CommitStrategy,
  createProducer,
  EmbeddedBroker,
  exactlyOnce,
  type Producer,
  ProducerFencedError,
  VirtualClock,
} from "../../src/index.ts";
import { consumeWithCrashes } from "../../src/demo/consume.ts";
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

export type SemanticKind = "at-most-once" | "at-least-once" | "exactly-once";
export const SEMANTICS: readonly SemanticKind[] = ["at-most-once", "at-least-once", "exactly-once"];

/**
 * A follower stopped when record `atRecord` is sent, resumed `forMs` of simulated time later
 * (or once the producer is done, whichever comes first): a stop that lasted until some later
 * send could last forever, as a commit may wait for the very replica it needs.
 */
export interface ReplicaStop {
  readonly atRecord: number;
  readonly partition: number;
  readonly follower: number;
  readonly forMs: number;
}

export interface Faults {
  readonly dropRequest: number;
  readonly dropResponse: number;
  readonly duplicateRequest: number;
  readonly delay: { readonly probability: number; readonly maxMs: number };
  readonly disconnect: number;
  readonly reconnectMs: number;
}

/** Exactly-once only: the producer writes in transactions of `size` records. */
export interface Transactions {
  readonly size: number;
  /** Transaction attempts (by number) the application aborts on purpose, then retries. */
  readonly abortAt: readonly number[];
  /** Transaction attempts that stall past `timeoutMs`, so the broker aborts them. */
  readonly stallAt: readonly number[];
  readonly timeoutMs: number;
  /**
   * At this transaction a new producer with the same transactional id takes over; the old one
   * (a zombie) then tries to write and commit, and must be fenced.
   */
  readonly zombieAt: number | null;
}

/** One generated run. */
export interface Schedule {
  readonly seed: number;
  readonly semantic: SemanticKind;
  readonly records: number;
  readonly topic: { readonly partitions: number; readonly replication: number; readonly minInsync: number };
  readonly producer: {
    readonly batchSize: number;
    readonly lingerMs: number;
    readonly maxInFlight: number;
    readonly isolation: "read-uncommitted" | "read-committed";
    readonly retry: {
      readonly maxRetries: number;
      readonly initialDelay: number;
      readonly maxDelay: number;
      readonly strategy: "fixed" | "fibonacci" | "exponential";
    };
  };
  /** Faults on the producer's transport. */
  readonly faults: Faults;
  readonly replicaStops: readonly ReplicaStop[];
  /** Exactly-once: null for an idempotent producer without transactions. */
  readonly transactions: Transactions | null;
  /** The consumer side: the group that reads the topic back through its commit strategy. */
  readonly consumer: {
    /** Consumer instances that crash (at a seeded record or request); each is replaced in the group. */
    readonly crashes: number;
    readonly faults: Pick<Faults, "dropRequest" | "dropResponse" | "disconnect" | "reconnectMs">;
  } | null;
}

/** The commit strategy that completes each semantic end to end. */
export const COMMIT: Record<SemanticKind, CommitStrategy> = {
  "at-most-once": "before-processing",
  "at-least-once": "after-processing",
  "exactly-once": "transactional",
};

export interface GeneratorOptions {
  readonly records: number;
  /** Generate only this semantic. */
  readonly semantic?: SemanticKind;
  /** Include the consumer side (default true). */
  readonly consumers?: boolean;
}

/**
 * A fault rate in [0, max], zero a third of the time. An integer underneath, so it shrinks
 * straight to 0 (no fault of that kind), which is what makes a shrunk schedule minimal.
 */
const rate = (max: number) =>
  fc.integer({ min: -Math.round(max * 500), max: Math.round(max * 1000) }).map((n) => Math.max(0, n) / 1000);

/**
 * The arbitrary of whole runs. No `chain`: every field shrinks on its own (toward one
 * partition, one replica, no faults, no stops), and values that depend on another field
 * (min in-sync ≤ replication, a stop's partition and follower) are clamped instead.
 */
export function scheduleArbitrary(options: GeneratorOptions): fc.Arbitrary<Schedule> {
  if (options.semantic) return scheduleFor(options.semantic, options);
  return fc.oneof(...SEMANTICS.map((semantic) => scheduleFor(semantic, options)));
}

function scheduleFor(semantic: SemanticKind, options: GeneratorOptions): fc.Arbitrary<Schedule> {
  const { records } = options;
  const topic = fc.record({
    partitions: fc.integer({ min: 1, max: 8 }),
    replication: fc.integer({ min: 1, max: 3 }),
    minInsync: fc.integer({ min: 1, max: 3 }),
  }).map((t) => ({ ...t, minInsync: Math.min(t.minInsync, t.replication) }));
  {
    const eos = semantic === "exactly-once";
    const faults: fc.Arbitrary<Faults> = fc.record({
      dropRequest: rate(0.08),
      dropResponse: rate(0.08),
      // Below a non-idempotent producer a retransmission writes the record twice (README
      // "Faults on purpose"): at-most-once promises never to *send* twice, so its schedules have none.
      duplicateRequest: semantic === "at-most-once" ? fc.constant(0) : rate(0.05),
      delay: fc.record({ probability: rate(0.2), maxMs: fc.integer({ min: 1, max: 50 }) }),
      disconnect: rate(0.02),
      reconnectMs: fc.integer({ min: 0, max: 50 }),
    });
    const replicaStop: fc.Arbitrary<ReplicaStop> = fc.record({
      atRecord: fc.integer({ min: 0, max: records - 1 }),
      // Taken modulo the topic's partitions and followers when played.
      partition: fc.integer({ min: 0, max: 7 }),
      follower: fc.integer({ min: 1, max: 2 }),
      forMs: fc.integer({ min: 1, max: 30_000 }),
    });
    const transactions: fc.Arbitrary<Transactions | null> = eos
      ? fc.option(
        fc.record({
          size: fc.integer({ min: 50, max: 2_000 }),
          abortAt: fc.uniqueArray(fc.integer({ min: 0, max: 20 }), { maxLength: 3 }),
          stallAt: fc.uniqueArray(fc.integer({ min: 0, max: 20 }), { maxLength: 2 }),
          timeoutMs: fc.integer({ min: 1_000, max: 10_000 }),
          zombieAt: fc.option(fc.integer({ min: 0, max: 10 }), { freq: 2 }),
        }),
        { freq: 4 },
      )
      : fc.constant(null);
    const consumer = options.consumers === false ? fc.constant(null) : fc.record({
      crashes: fc.integer({ min: 0, max: 4 }),
      faults: fc.record({
        dropRequest: rate(0.03),
        dropResponse: rate(0.03),
        disconnect: rate(0.01),
        reconnectMs: fc.integer({ min: 0, max: 50 }),
      }),
    });
    return fc.record({
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      semantic: fc.constant(semantic),
      records: fc.constant(records),
      topic,
      producer: fc.record({
        batchSize: fc.integer({ min: 1_000, max: 64 * 1024 }),
        lingerMs: fc.constantFrom(0, 0, 1, 5, 20),
        maxInFlight: fc.integer({ min: 1, max: 5 }),
        isolation: fc.constantFrom("read-uncommitted" as const, "read-committed" as const),
        retry: eos
          // Exactly-once promises no loss; its policy must outlast every generated fault.
          ? fc.record({
            maxRetries: fc.constant(10_000),
            initialDelay: fc.integer({ min: 1, max: 20 }),
            maxDelay: fc.integer({ min: 20, max: 200 }),
            strategy: fc.constantFrom("fixed" as const, "fibonacci" as const, "exponential" as const),
          })
          : fc.record({
            maxRetries: fc.integer({ min: 0, max: 30 }),
            initialDelay: fc.integer({ min: 1, max: 20 }),
            maxDelay: fc.integer({ min: 20, max: 200 }),
            strategy: fc.constantFrom("fixed" as const, "fibonacci" as const, "exponential" as const),
          }),
      }),
      faults,
      replicaStops: fc.array(replicaStop, { maxLength: 3 }),
      transactions,
      consumer,
    });
  }
}

/** Faults injected in one run, per kind, both sides. */
export type FaultCounts = Record<
  ChaosFault["kind"] | "replica-stop" | "consumer-crash" | "abort" | "stall" | "zombie",
  number
>;

export function emptyCounts(): FaultCounts {
  return {
    "drop-request": 0,
    "drop-response": 0,
    "duplicate-request": 0,
    delay: 0,
    disconnect: 0,
    "replica-stop": 0,
    "consumer-crash": 0,
    abort: 0,
    stall: 0,
    zombie: 0,
  };
}

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
  /** Skip the consumer side even when the schedule has one. */
  readonly producerOnly?: boolean;
}

const TOPIC = "in";
const OUTPUT = "out";
const REQUEST_TIMEOUT = 100;

/** A short, readable summary of a schedule, for failure messages. */
export function describeSchedule(s: Schedule): string {
  return JSON.stringify(s);
}

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
  const count = (t: ChaosTransport) => t.events.on("fault", (f) => counts[f.kind]++);
  const transport = chaos(broker.transport(), { seed: s.seed, clock, ...s.faults });
  count(transport);
  const violations: string[] = [];
  const history = new History(label);
  const key = (i: number) => `k${i % 97}`;

  // Replica stops, applied as the send loop reaches them; every stopped follower resumes at the flush.
  const stops = [...s.replicaStops].sort((a, b) => a.atRecord - b.atRecord);
  const stopped = new Map<string, { partition: number; follower: number }>();
  const resume = (id: string) => {
    const stop = stopped.get(id);
    if (!stop) return;
    stopped.delete(id);
    broker.partition(TOPIC, stop.partition).resume(stop.follower);
  };
  const stepReplicas = (i: number) => {
    while (stops.length > 0 && stops[0]!.atRecord <= i) {
      const drawn = stops.shift()!;
      if (s.topic.replication === 1) continue;
      const stop = {
        ...drawn,
        partition: drawn.partition % s.topic.partitions,
        follower: 1 + (drawn.follower - 1) % (s.topic.replication - 1),
      };
      const id = `${stop.partition}/${stop.follower}`;
      if (stopped.has(id)) continue;
      broker.partition(TOPIC, stop.partition).follower(stop.follower)?.send({ type: "STOP" });
      counts["replica-stop"]++;
      stopped.set(id, { partition: stop.partition, follower: stop.follower });
      clock.setTimeout(() => resume(id), stop.forMs);
    }
  };
  const resumeAll = () => {
    for (const id of [...stopped.keys()]) resume(id);
  };

  const retry = { ...s.producer.retry, timeout: 10_000_000 };
  const semantic = s.semantic === "at-most-once"
    ? atMostOnce()
    : s.semantic === "at-least-once"
    ? atLeastOnce(retry)
    : exactlyOnce({
      retry,
      ...(s.transactions ? { transactionalId: "tx", transactionTimeoutMs: s.transactions.timeoutMs } : {}),
    });
  const config = {
    clock,
    deliverySemantic: semantic,
    requestTimeout: REQUEST_TIMEOUT,
    batchSize: s.producer.batchSize,
    lingerMs: s.producer.lingerMs,
    maxInFlight: s.producer.maxInFlight,
    isolation: s.producer.isolation,
    random: seeded(s.seed),
  };

  if (s.transactions === null) {
    const producer = createProducer(transport, TOPIC, config);
    producer.outcomes$.subscribe((o) => history.outcome(idOf(o.value), o));
    const waits: Promise<void>[] = [];
    for (let i = 0; i < s.records; i++) {
      stepReplicas(i);
      const out = await producer.send(key(i), `r${i}`);
      history.send(i, { key: key(i), partition: out.partition });
      waits.push(out.wait().then((m) => void history.outcome(i, m), (e: Error) => void history.outcome(i, e)));
    }
    resumeAll();
    await producer.flush().catch(() => {});
    await Promise.all(waits);
    await producer.close().catch(() => {});
  } else {
    await produceTransactions(s, s.transactions, {
      broker,
      clock,
      transport,
      config,
      history,
      key,
      stepReplicas,
      counts,
      violations,
    });
    resumeAll();
  }

  // Producer side: the input log, read-committed for transactions (aborted records never visible).
  for (let p = 0; p < s.topic.partitions; p++) {
    const isolation = s.transactions ? "read-committed" : "read-uncommitted";
    for (const r of broker.read(TOPIC, p, { isolation })) history.read(idOf(r.value), p, r.offset);
  }
  const report = history.check();
  violations.push(...judge(report, s, options.extra ?? []));

  // The consumer side reads an input without transactions: the demo's group (consumeWithCrashes)
  // waits for committed offsets to reach the log end, which control markers never let it reach.
  if (s.consumer && !options.producerOnly && s.transactions === null) {
    violations.push(...await consumerSide(s, broker, clock, counts, label));
  }
  return { schedule: s, violations, faults: counts, report, simulatedMs: clock.now() };
}

function judge(report: HistoryReport, s: Schedule, extra: readonly Invariant[]): string[] {
  const base: Invariant[] = s.semantic === "at-most-once" ? [atMostOnceHolds] : s.semantic === "at-least-once"
    // "No loss while the policy lasts": every lost record was reported failed (its policy ran out).
    ? [atLeastOnceHolds({ policyLasts: false }), lossesReported]
    : [exactlyOnceHolds];
  // What wait() and outcomes$ reported must match the log (not for transactions: an aborted
  // attempt's offsets were real but are no longer visible).
  if (s.transactions === null) base.push(reportsMatchLog);
  if (s.semantic !== "exactly-once" && s.producer.maxInFlight === 1 && s.semantic === "at-least-once") {
    // One request in flight per partition keeps each key's order of first arrival.
    base.push(orderKept);
  }
  return [...base, ...extra].flatMap((check) => check(report));
}

interface TxContext {
  readonly broker: EmbeddedBroker;
  readonly clock: VirtualClock;
  readonly transport: ChaosTransport;
  readonly config: Record<string, unknown> & { clock: VirtualClock };
  readonly history: History;
  readonly key: (i: number) => string;
  readonly stepReplicas: (i: number) => void;
  readonly counts: FaultCounts;
  readonly violations: string[];
}

/**
 * The exactly-once producer side with transactions: chunks of records, each in a transaction
 * retried until it commits, as an application would (a failed transaction is retried by a new
 * producer instance with the same transactional id, which fences the old one and aborts
 * whatever it left open). Aborted and stalled attempts are scheduled; a zombie is fenced.
 */
async function produceTransactions(s: Schedule, tx: Transactions, c: TxContext): Promise<void> {
  const make = (): Producer => createProducer(c.transport, TOPIC, c.config);
  let producer = make();
  let attempt = 0;
  for (let first = 0, txn = 0; first < s.records; txn++) {
    const last = Math.min(s.records, first + tx.size);
    if (tx.zombieAt === txn) {
      // The current instance opens a transaction and writes into it; a new instance with the
      // same id takes over (fencing it and aborting that transaction); the old one wakes up and
      // tries to write and commit: it must be refused. (An instance that never initialised is
      // no zombie: its first init would legitimately fence the newer one.)
      const zombie = producer;
      let initialised = true;
      try {
        await zombie.beginTransaction();
        await zombie.send("zombie", `z${s.records}`);
      } catch {
        initialised = false;
      }
      producer = make();
      await producer.beginTransaction().catch(() => {});
      await producer.abort().catch(() => {});
      if (initialised) {
        c.counts.zombie++;
        const zombieWrite = await zombieTries(zombie, s.records + 1);
        if (zombieWrite !== null) {
          c.violations.push(`[${s.semantic} seed ${s.seed}] zombie producer not fenced: ${zombieWrite}`);
        }
      }
      await zombie.close().catch(() => {});
    }
    for (let tries = 0;; tries++) {
      const thisAttempt = attempt++;
      if (tries > 200) {
        c.violations.push(`[${s.semantic} seed ${s.seed}] transaction ${txn} never committed in 200 attempts`);
        return;
      }
      try {
        await producer.beginTransaction();
        for (let i = first; i < last; i++) {
          c.stepReplicas(i);
          const out = await producer.send(c.key(i), `r${i}`);
          if (tries === 0) c.history.send(i, { key: c.key(i), partition: out.partition });
        }
        if (tx.stallAt.includes(thisAttempt)) {
          c.counts.stall++;
          await new Promise<void>((resolve) => c.clock.setTimeout(resolve, tx.timeoutMs + 1_000));
        }
        if (tx.abortAt.includes(thisAttempt)) {
          c.counts.abort++;
          await producer.abort();
          continue;
        }
        await producer.commit();
        break;
      } catch {
        // A failed transaction: abandon this instance, as a restarted process would.
        const old = producer;
        producer = make();
        void old.close().catch(() => {});
      }
    }
    first = last;
  }
  await producer.close().catch(() => {});
}

/** What a fenced zombie managed to do, or null when it was refused everywhere. */
async function zombieTries(zombie: Producer, id: number): Promise<string | null> {
  try {
    const out = await zombie.send("zombie", `z${id}`);
    await out.wait();
    await zombie.commit();
    return "it wrote and committed";
  } catch (error) {
    if (error instanceof ProducerFencedError) return null;
    // Any other refusal still kept it out; the visible log is judged separately (a `z` value is a phantom).
    return null;
  }
}

/**
 * The consumer side: a group reads the input through the semantic's commit strategy, with
 * crashes, and is judged end to end: what the handlers processed (at-most-once: never twice;
 * at-least-once: every record in the log at least once) or, for exactly-once, what its
 * transactions put in the output topic, read back read-committed (each record exactly once,
 * per-partition order). Then a consumer of an old generation must be refused a commit.
 */
async function consumerSide(
  s: Schedule,
  broker: EmbeddedBroker,
  clock: VirtualClock,
  counts: FaultCounts,
  label: string,
): Promise<string[]> {
  const c = s.consumer!;
  const commit = COMMIT[s.semantic];
  const groupId = `g-${commit}`;
  const consumed = await consumeWithCrashes({
    broker,
    clock,
    topic: TOPIC,
    partitions: s.topic.partitions,
    groupId,
    commit,
    ...(commit === "transactional" ? { outputTopic: OUTPUT } : {}),
    seed: s.seed ^ 0x5bd1e995,
    faults: c.faults,
    crashes: c.crashes,
  });
  counts["consumer-crash"] += consumed.crashes.length;
  const e2e = new History(`${label} end to end`);
  const violations: string[] = [];
  const sentIds = new Set<number>();
  for (let p = 0; p < s.topic.partitions; p++) {
    for (const r of broker.read(TOPIC, p, { isolation: "read-committed" })) {
      const id = idOf(r.value);
      if (!sentIds.has(id)) e2e.send(id, { partition: p, producer: `in-${p}` });
      sentIds.add(id);
    }
  }
  if (commit === "transactional") {
    const from = new Map<number, number>();
    for (let p = 0; p < s.topic.partitions; p++) {
      for (const r of broker.read(TOPIC, p, { isolation: "read-committed" })) from.set(idOf(r.value), p);
    }
    for (let p = 0; p < s.topic.partitions; p++) {
      for (const r of broker.read(OUTPUT, p, { isolation: "read-committed" })) e2e.read(idOf(r.value), p, r.offset);
    }
    violations.push(...exactlyOnceHolds(e2e.check()).filter((v) => !v.includes("reordered")));
  } else {
    for (let p = 0; p < s.topic.partitions; p++) {
      const log = broker.read(TOPIC, p, { isolation: "read-uncommitted" });
      for (const r of log) {
        const n = consumed.handled[p]![r.offset] ?? 0;
        for (let k = 0; k < n; k++) e2e.read(idOf(r.value), p, r.offset);
      }
    }
    const report = e2e.check();
    violations.push(...(commit === "before-processing" ? atMostOnceHolds(report) : atLeastOnceHolds()(report)));
  }
  violations.push(...consumed.failures.map((f) => `[${label}] consumer failed on its own: ${f}`));
  violations.push(...await generationFencing(broker, groupId, label));
  return violations;
}

/** A member of an old generation must not commit: join, let another join (a new generation), commit with the old one. */
async function generationFencing(broker: EmbeddedBroker, groupId: string, label: string): Promise<string[]> {
  const t = broker.transport();
  const group = `${groupId}-fence`;
  const T = { timeoutMs: 1_000 };
  const a = await t.request({ api: "joinGroup", groupId: group, topic: TOPIC, sessionTimeoutMs: 60_000 }, T);
  if (!a.ok) return [`[${label}] fencing check: join failed`];
  const b = await t.request({ api: "joinGroup", groupId: group, topic: TOPIC, sessionTimeoutMs: 60_000 }, T);
  if (!b.ok) return [`[${label}] fencing check: second join failed`];
  const stale = await t.request({
    api: "offsetCommit",
    groupId: group,
    memberId: a.memberId,
    generation: a.generation,
    offsets: [{ topic: TOPIC, partition: 0, offset: 1 }],
  }, T);
  const out: string[] = [];
  if (b.generation <= a.generation) out.push(`[${label}] a join did not start a new generation`);
  if (stale.ok) out.push(`[${label}] a consumer of generation ${a.generation} committed in generation ${b.generation}`);
  return out;
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
