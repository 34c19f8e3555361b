/**
 * One history checker for every engine. A test feeds it the history of a run — every send,
 * every reported outcome (`outcomes$` or `wait()`), every record read back with its partition
 * and offset — and it reports what went wrong. Each delivery semantic's invariant is a
 * function from that report to a list of violations, each naming the run's `label` (its seed
 * or schedule) and a few example record ids, so a failure says what to replay.
 *
 * Records are identified by a number the caller assigns (record `i` carries the value `r<i>`,
 * see `idOf`); the order of `send()` calls per producer is the send order.
 */
import type { RecordMetadata, RecordOutcome } from "../../src/index.ts";
import * as assert from "uvu/assert";

const decoder = new TextDecoder();

/** The number in a value like `r17` or `out-17`; NaN for a value with none (a phantom). */
export function idOf(value: Uint8Array | string): number {
  const text = typeof value === "string" ? value : decoder.decode(value);
  const digits = text.replace(/^\D+/, "");
  return digits === "" ? NaN : Number(digits);
}

/** What a producer said about one record. */
export type Reported =
  | { readonly status: "delivered"; readonly partition?: number; readonly offset?: number }
  | { readonly status: "failed" }
  | { readonly status: "sent-unconfirmed" };

/** Anything a producer reports: an `outcomes$` entry, what `wait()` resolved to, or its error. */
export type OutcomeLike = Reported | RecordOutcome | RecordMetadata | Error;

export interface SendInfo {
  readonly key?: string | null;
  readonly value?: string;
  /** The partition it was sent to, if known; otherwise the partition it is read from. */
  readonly partition?: number;
  /** Which producer sent it; order is only compared between records of one producer. */
  readonly producer?: string;
}

export interface HistoryReport {
  readonly label: string;
  readonly sent: number;
  readonly read: number;
  /** Sent, never read. */
  readonly lost: number[];
  /** Read more than once (each id once). */
  readonly duplicated: number[];
  /** Copies beyond the first, summed over all records. */
  readonly extraCopies: number;
  /**
   * Per partition in offset order, considering each record's first copy: records that come
   * before one sent earlier by the same producer to the same partition.
   */
  readonly reordered: number[];
  /** Read, never sent. */
  readonly phantom: number[];
  /** Reported delivered, never read. */
  readonly deliveredButLost: number[];
  /** Reported failed (by `outcomes$` or `wait()`). */
  readonly failed: number[];
  /** Lost without any failure reported for it. */
  readonly lostUnreported: number[];
  /** Reported failed, yet read back (a lost ack makes failure ambiguous). */
  readonly failedButRead: number[];
  /** Reported delivered at a partition and offset where it was not read. */
  readonly misplaced: number[];
  /** Reported delivered at the same partition and offset as another record. */
  readonly sharedSlot: number[];
  /** Read from a partition other than the one it was sent to (when that is known). */
  readonly misrouted: number[];
  /** How many times a record was read. */
  copies(id: number): number;
}

/** What an invariant returns: one line per broken rule; none when it holds. */
export type Invariant = (report: HistoryReport) => string[];

const EXAMPLES = 5;

function violation(report: HistoryReport, what: string, ids: readonly number[]): string[] {
  if (ids.length === 0) return [];
  const examples = ids.slice(0, EXAMPLES).map((id) => `r${id}`).join(", ");
  const more = ids.length > EXAMPLES ? ", …" : "";
  return [`[${report.label}] ${what}: ${ids.length} record(s), e.g. ${examples}${more}`];
}

/** No semantic allows a record nobody sent. */
const noPhantoms: Invariant = (r) => violation(r, "phantom (read, never sent)", r.phantom);

/** At-most-once: nothing duplicated. */
export const atMostOnce: Invariant = (r) => [...noPhantoms(r), ...violation(r, "duplicated", r.duplicated)];

/**
 * At-least-once: nothing reported delivered is lost; while the retry policy lasts
 * (`policyLasts`, the default), nothing is lost at all.
 */
export function atLeastOnce(options: { policyLasts?: boolean } = {}): Invariant {
  return (r) => [
    ...noPhantoms(r),
    ...violation(r, "reported delivered but lost", r.deliveredButLost),
    ...(options.policyLasts ?? true ? violation(r, "lost while the policy lasts", r.lost) : []),
  ];
}

/** Per partition, each record's first copy comes in its producer's send order. */
export const orderKept: Invariant = (r) => violation(r, "reordered", r.reordered);

/** Exactly-once: neither lost nor duplicated, and per-partition order kept. */
export const exactlyOnce: Invariant = (r) => [
  ...noPhantoms(r),
  ...violation(r, "lost", r.lost),
  ...violation(r, "duplicated", r.duplicated),
  ...orderKept(r),
];

/** What the producer reported agrees with the log: no delivered record misplaced or sharing a slot. */
export const reportsMatchLog: Invariant = (r) => [
  ...violation(r, "reported delivered at a slot that does not hold it", r.misplaced),
  ...violation(r, "reported delivered at a slot shared with another record", r.sharedSlot),
  ...violation(r, "read from a partition it was not sent to", r.misrouted),
];

/** Every lost record had a failure reported for it. */
export const lossesReported: Invariant = (r) => violation(r, "lost without a reported failure", r.lostUnreported);

/** Fails the test with every violation of `invariants`, each naming the label and examples. */
export function assertHolds(report: HistoryReport, ...invariants: Invariant[]): void {
  const violations = invariants.flatMap((check) => check(report));
  assert.ok(violations.length === 0, violations.join("\n"));
}

function sortedIds(ids: Iterable<number>): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

function isError(o: OutcomeLike): o is Error {
  return o instanceof Error;
}

function toReported(o: OutcomeLike): Reported {
  if (isError(o)) return { status: "failed" };
  if ("status" in o) return o;
  return { status: "delivered", partition: o.partition, offset: o.offset };
}

/** The history of one run, fed as it happens or afterwards. */
export class History {
  readonly #sends = new Map<number, SendInfo & { readonly order: number }>();
  readonly #outcomes: { id: number; reported: Reported }[] = [];
  readonly #reads: { id: number; partition: number; offset: number }[] = [];

  constructor(readonly label: string) {}

  /** A record sent; call in send order. */
  send(id: number, info: SendInfo = {}): this {
    this.#sends.set(id, { ...info, order: this.#sends.size });
    return this;
  }

  /** What was reported for record `id`: an `outcomes$` entry, a `wait()` result or its error. */
  outcome(id: number, outcome: OutcomeLike): this {
    this.#outcomes.push({ id, reported: toReported(outcome) });
    return this;
  }

  /** A record read back from `partition` at `offset`. */
  read(id: number, partition: number, offset: number): this {
    this.#reads.push({ id, partition, offset });
    return this;
  }

  check(): HistoryReport {
    const sends = this.#sends;
    const copies = new Map<number, number>();
    const slots = new Map<string, number[]>();
    const byPartition = new Map<number, { id: number; offset: number }[]>();
    for (const { id, partition, offset } of this.#reads) {
      copies.set(id, (copies.get(id) ?? 0) + 1);
      const slot = `${partition}:${offset}`;
      slots.set(slot, [...(slots.get(slot) ?? []), id]);
      if (!byPartition.has(partition)) byPartition.set(partition, []);
      byPartition.get(partition)!.push({ id, offset });
    }
    const count = (id: number) => copies.get(id) ?? 0;
    const misrouted = this.#reads.filter(({ id, partition }) => {
      const sentTo = sends.get(id)?.partition;
      return sentTo !== undefined && sentTo !== partition;
    }).map(({ id }) => id);

    const lost = sortedIds([...sends.keys()].filter((id) => count(id) === 0));
    const duplicated = sortedIds([...copies].filter(([, n]) => n > 1).map(([id]) => id));
    const extraCopies = [...copies].reduce((sum, [id, n]) => sum + (sends.has(id) ? n - 1 : 0), 0);
    const phantom = sortedIds([...copies.keys()].filter((id) => !sends.has(id)));

    // Order: per partition by offset, first copies only, compared within one producer and one
    // partition; a record is out of order when one sent earlier follows it.
    const reordered: number[] = [];
    for (const [partition, reads] of byPartition) {
      const seen = new Set<number>();
      const firsts = reads
        .sort((a, b) => a.offset - b.offset)
        .filter(({ id }) => sends.has(id) && !seen.has(id) && (seen.add(id), true))
        .filter(({ id }) => (sends.get(id)!.partition ?? partition) === partition);
      const laterMin = new Map<string, number>();
      for (let i = firsts.length - 1; i >= 0; i--) {
        const send = sends.get(firsts[i]!.id)!;
        const producer = send.producer ?? "";
        const min = laterMin.get(producer) ?? Infinity;
        if (send.order > min) reordered.push(firsts[i]!.id);
        else laterMin.set(producer, send.order);
      }
    }

    const delivered = new Set<number>();
    const failed = new Set<number>();
    const misplaced = new Set<number>();
    const claimed = new Map<string, Set<number>>();
    for (const { id, reported } of this.#outcomes) {
      if (reported.status === "failed") failed.add(id);
      if (reported.status !== "delivered") continue;
      delivered.add(id);
      const { partition, offset } = reported;
      if (partition === undefined || offset === undefined || offset < 0) continue;
      const slot = `${partition}:${offset}`;
      if (!(slots.get(slot) ?? []).includes(id)) misplaced.add(id);
      if (!claimed.has(slot)) claimed.set(slot, new Set());
      claimed.get(slot)!.add(id);
    }
    const sharedSlot = [...claimed.values()].filter((ids) => ids.size > 1).flatMap((ids) => [...ids]);

    return {
      label: this.label,
      sent: sends.size,
      read: this.#reads.length,
      lost,
      duplicated,
      extraCopies,
      reordered: sortedIds(reordered),
      phantom,
      deliveredButLost: lost.filter((id) => delivered.has(id)),
      failed: sortedIds(failed),
      lostUnreported: lost.filter((id) => !failed.has(id)),
      failedButRead: sortedIds([...failed].filter((id) => count(id) > 0)),
      misplaced: sortedIds(misplaced),
      sharedSlot: sortedIds(sharedSlot),
      misrouted: sortedIds(misrouted),
      copies: count,
    };
  }
}
