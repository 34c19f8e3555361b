/**
 * What one generated run holds, and the fast-check arbitrary that draws it: a topic shape, a
 * producer config, a fault schedule, replica stops, transactions (aborts, stalls, a zombie)
 * and a consumer group whose members join, leave, crash and pause at generated steps.
 * `run-generator.ts` plays a schedule; everything a run does follows from it (its `seed`
 * drives the chaos layers), so it replays exactly and fast-check can shrink it.
 */
import fc from "fast-check";
import type { ChaosFault, CommitStrategy } from "../../src/index.ts";

export type SemanticKind = "at-most-once" | "at-least-once" | "exactly-once";
export const SEMANTICS: readonly SemanticKind[] = ["at-most-once", "at-least-once", "exactly-once"];

/** The commit strategy that completes each semantic end to end. */
export const COMMIT: Record<SemanticKind, CommitStrategy> = {
  "at-most-once": "before-processing",
  "at-least-once": "after-processing",
  "exactly-once": "transactional",
};

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

/**
 * A change to the consumer group, made when the group's handlers have been called `atCall`
 * times in all (a step never reached is never made):
 * - `join`: a new member joins;
 * - `leave`: a member stops and leaves the group (its partitions move at once);
 * - `crash`: a member's process dies, in its handler or wherever it is (a request on its way
 *   may or may not have reached the broker); the group notices when its session expires;
 * - `pause`: a member's process freezes for `forMs` (no timers, no requests, no handler),
 *   like a long GC pause or SIGSTOP. Past the session timeout the group moves its partitions
 *   on, and when it wakes it is a zombie of an old generation: what it then commits must be
 *   refused.
 */
export interface GroupStep {
  readonly atCall: number;
  readonly action: "join" | "leave" | "crash" | "pause";
  /** Which member, counted among those still running, modulo their number (`join` ignores it). */
  readonly member: number;
  /** `pause` only: simulated ms the member stays frozen. */
  readonly forMs: number;
}

/** The consumer side: a group that reads the topic back through its semantic's commit strategy. */
export interface Group {
  /** Members that start together. */
  readonly members: number;
  readonly steps: readonly GroupStep[];
  /** Faults on every member's transport (its transactional producer's too). */
  readonly faults: Pick<Faults, "dropRequest" | "dropResponse" | "disconnect" | "reconnectMs">;
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
  /** Null: the run checks the producer side only. */
  readonly consumer: Group | null;
}

/** Faults and group changes in one run, per kind, both sides. */
export type FaultCounts = Record<
  | ChaosFault["kind"]
  | "replica-stop"
  | "abort"
  | "stall"
  | "zombie"
  | "member-join"
  | "member-leave"
  | "consumer-crash"
  | "member-pause"
  | "member-gave-up"
  | "fenced-commit",
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
    abort: 0,
    stall: 0,
    zombie: 0,
    "member-join": 0,
    "member-leave": 0,
    "consumer-crash": 0,
    "member-pause": 0,
    "member-gave-up": 0,
    "fenced-commit": 0,
  };
}

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
 * partition, one replica, no faults, no stops, one member and no group changes), and values
 * that depend on another field (min in-sync ≤ replication, a stop's partition and follower,
 * a step's member) are clamped or taken modulo when played instead.
 */
export function scheduleArbitrary(options: GeneratorOptions): fc.Arbitrary<Schedule> {
  if (options.semantic) return scheduleFor(options.semantic, options);
  return fc.oneof(...SEMANTICS.map((semantic) => scheduleFor(semantic, options)));
}

function scheduleFor(semantic: SemanticKind, options: GeneratorOptions): fc.Arbitrary<Schedule> {
  const { records } = options;
  const eos = semantic === "exactly-once";
  const topic = fc.record({
    partitions: fc.integer({ min: 1, max: 8 }),
    replication: fc.integer({ min: 1, max: 3 }),
    minInsync: fc.integer({ min: 1, max: 3 }),
  }).map((t) => ({ ...t, minInsync: Math.min(t.minInsync, t.replication) }));
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
  const longest = 4 * SESSION_TIMEOUT_MS;
  const consumer = options.consumers === false ? fc.constant(null) : groupArbitrary(records, longest);
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
      retry: fc.record({
        // Exactly-once promises no loss; its policy must outlast every generated fault.
        maxRetries: eos ? fc.constant(10_000) : fc.integer({ min: 0, max: 30 }),
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

/** Member sessions last this long (simulated ms); pauses are drawn around it, so some outlast it. */
export const SESSION_TIMEOUT_MS = 1_000;

/** `longest`: the longest pause, in simulated ms. */
function groupArbitrary(records: number, longest: number): fc.Arbitrary<Group> {
  const step: fc.Arbitrary<GroupStep> = fc.record({
    atCall: fc.integer({ min: 1, max: records }),
    action: fc.constantFrom("join" as const, "leave" as const, "crash" as const, "pause" as const),
    member: fc.integer({ min: 0, max: 7 }),
    forMs: fc.integer({ min: 1, max: longest }),
  });
  return fc.record({
    members: fc.integer({ min: 1, max: 3 }),
    steps: fc.array(step, { maxLength: 8 }),
    faults: fc.record({
      dropRequest: rate(0.03),
      dropResponse: rate(0.03),
      disconnect: rate(0.01),
      reconnectMs: fc.integer({ min: 0, max: 50 }),
    }),
  });
}
