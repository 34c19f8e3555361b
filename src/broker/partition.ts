import { type Actor, createActor } from "xstate";
import { type Clock, recordTime } from "../runtime/clock.ts";
import { InvalidTxnStateError, OffsetOutOfRangeError } from "../errors.ts";
import type { FetchedRecord, Isolation, RecordColumns } from "../transport/protocol.ts";
import { type AbortedTxn, type ControlType, type LogRead, PartitionLog } from "./log.ts";
import { PartitionTransactions } from "./partition-transactions.ts";
import { ProducerStateTable, type SequenceVerdict } from "./producer-state.ts";
import { replicaMachine } from "./replica-machine.ts";

/** How a partition replicates. */
export interface PartitionOptions {
  readonly clock: Clock;
  /** Number of copies, leader included. */
  readonly replicationFactor: number;
  /** Delay before followers copy an append. */
  readonly replicaLagMs: number;
  /** A follower that has not caught up for this long leaves the in-sync set. */
  readonly replicaLagTimeMaxMs: number;
  /** Fewest in-sync replicas, leader included, that a read-committed write needs. */
  readonly minInsyncReplicas: number;
  /** Delete the oldest batches while the log holds more key and value bytes than this; -1: no limit. */
  readonly retentionBytes?: number;
  /** Delete batches whose newest timestamp is older than this; -1: no limit. */
  readonly retentionMs?: number;
}

/** Sizes of a partition's internal structures: each stays bounded under retention and expiry. */
export interface PartitionStats {
  /** Batches and markers held in the log. */
  readonly chunks: number;
  /** Key and value bytes held in the log. */
  readonly bytes: number;
  /** The first offset still in the log; retention moves it forward. */
  readonly logStartOffset: number;
  /** Producers in the dedup table. */
  readonly producers: number;
  /** Batches remembered by the dedup table, over all producers. */
  readonly dedupBatches: number;
  /** Aborted transactions in the index. */
  readonly aborted: number;
  /** Transactions open in this partition (a record written, no marker yet). */
  readonly openTransactions: number;
  /** Read-committed acks waiting for the high watermark. */
  readonly heldAcks: number;
}

/** A snapshot of a partition's replication state. */
export interface PartitionState {
  /** The first offset still in the log; retention moves it forward. */
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly highWatermark: number;
  /** Ids of the in-sync replicas; 0 is the leader. */
  readonly isr: readonly number[];
}

interface Follower {
  readonly actor: Actor<typeof replicaMachine>;
  leo: number;
  /** When it last held everything the leader had at some moment (Kafka's lastCaughtUpTimeMs). */
  caughtUpAt: number;
}

/** How a held read-committed ack ends. */
export type ReplicationResult = "replicated" | "timed-out" | "not-enough-replicas";

interface HeldAck {
  readonly end: number;
  readonly resolve: (result: ReplicationResult) => void;
  readonly timer: unknown;
}

/**
 * One partition: the leader's log, follower replicas, the in-sync replica set (ISR) and the
 * high watermark (HW), the end of what every in-sync replica holds. A read-committed ack is
 * held until the HW covers the batch; a follower that stops or lags past
 * `replicaLagTimeMaxMs` is dropped from the ISR, which lets the HW, and the held acks, move on.
 *
 * For exactly-once it also keeps the producers' dedup table, the transactions open here, the
 * index of aborted transactions and so the last stable offset (LSO), where read-committed
 * readers stop.
 */
export class Partition {
  readonly log: PartitionLog = new PartitionLog();
  readonly #options: PartitionOptions;
  readonly #followers: Follower[] = [];
  readonly #isr = new Set<number>([0]);
  #highWatermark = 0;
  #held: HeldAck[] = [];
  #isrCheck: unknown = undefined;
  readonly #label: string;
  readonly #topic: string;
  readonly #index: number;
  readonly #producers: ProducerStateTable;
  readonly #txns = new PartitionTransactions();
  readonly #retentionBytes: number;
  readonly #retentionMs: number;

  /** @param label names the partition in error messages, e.g. `orders[2]`. */
  constructor(options: PartitionOptions, label = "partition") {
    this.#options = options;
    this.#label = label;
    const match = /^(.*)\[(\d+)\]$/.exec(label);
    this.#topic = match ? match[1]! : label;
    this.#index = match ? Number(match[2]) : -1;
    this.#producers = new ProducerStateTable(label);
    this.#retentionBytes = options.retentionBytes ?? -1;
    this.#retentionMs = options.retentionMs ?? -1;
    for (let id = 1; id < options.replicationFactor; id++) {
      const follower = { leo: 0, caughtUpAt: options.clock.now() } as Follower;
      const machine = replicaMachine.provide({
        actions: { copied: (_, { leo, asOf }) => this.#onCopied(follower, id, leo, asOf) },
      });
      (follower as { actor: Follower["actor"] }).actor = createActor(machine, {
        input: { id, lagMs: options.replicaLagMs },
        clock: options.clock,
      }).start();
      this.#followers.push(follower);
      this.#isr.add(id);
    }
  }

  get highWatermark(): number {
    return this.#highWatermark;
  }

  get state(): PartitionState {
    return {
      logStartOffset: this.log.startOffset,
      logEndOffset: this.log.endOffset,
      highWatermark: this.#highWatermark,
      isr: [...this.#isr].sort((a, b) => a - b),
    };
  }

  /** Whether a read-committed write can be accepted now. */
  get enoughReplicas(): boolean {
    return this.#isr.size >= this.#options.minInsyncReplicas;
  }

  /** The follower actor with this id (1 … replicationFactor-1), for inspection and fault injection. */
  follower(id: number): Actor<typeof replicaMachine> | undefined {
    return this.#followers[id - 1]?.actor;
  }

  /**
   * The last stable offset: the first offset of the earliest transaction not yet decided and
   * replicated here, or the HW when there is none. Read-committed readers stop at it.
   */
  get lastStableOffset(): number {
    return this.#txns.lastStableOffset(this.#highWatermark);
  }

  /**
   * Appends a plain batch (no producer id) on the leader and starts replicating it. Records
   * without a timestamp get the append time.
   */
  append(records: RecordColumns): number {
    this.#beforeAppend();
    const base = this.log.append(records, recordTime(this.#options.clock));
    this.#afterAppend();
    return base;
  }

  /**
   * Whether a batch from an idempotent or transactional producer is appended, answered as a
   * duplicate, or refused (see {@link ProducerStateTable.check}). A non-transactional batch
   * from a producer whose transaction is open here is refused, as in Kafka: it would land
   * inside the transaction without belonging to it.
   */
  checkSequence(
    producerId: number,
    epoch: number,
    baseSequence: number,
    count: number,
    transactional: boolean,
  ): SequenceVerdict {
    if (!transactional && this.#txns.isOpen(producerId)) {
      const error = new InvalidTxnStateError(
        `producer ${producerId} has a transaction open in ${this.#label}; a non-transactional write to it is refused`,
      );
      return { kind: "error", error };
    }
    return this.#producers.check(producerId, epoch, baseSequence, count, transactional);
  }

  /**
   * Appends a batch that {@link checkSequence} allowed, records it in the dedup table and,
   * for the first write of a transaction here, opens the transaction at its first offset.
   */
  appendSequenced(
    records: RecordColumns,
    producerId: number,
    epoch: number,
    baseSequence: number,
    transactional: boolean,
  ): number {
    this.#beforeAppend();
    const base = this.log.append(records, recordTime(this.#options.clock), producerId, transactional);
    this.#producers.record(producerId, epoch, baseSequence, this.log.endOffset - base, base, this.#options.clock.now());
    if (transactional) this.#txns.onAppend(producerId, base);
    this.#afterAppend();
    return base;
  }

  /**
   * Writes the control marker that ends `producerId`'s transaction here (it takes one offset
   * and replicates like data) and returns its offset. An aborted transaction goes into the
   * aborted index, so read-committed readers skip its records. The transaction stays
   * unstable, holding the LSO, until the HW covers its marker: only then is the decision
   * safe on every in-sync replica.
   */
  writeMarker(producerId: number, epoch: number, control: ControlType): number {
    this.#beforeAppend();
    const offset = this.log.appendMarker(producerId, control, recordTime(this.#options.clock));
    this.#producers.onMarker(producerId, epoch, this.#options.clock.now());
    this.#txns.onMarker(producerId, control, offset);
    this.#afterAppend();
    return offset;
  }

  /**
   * A follower that holds everything is caught up as of now, however long it has been idle
   * (Kafka's lastCaughtUpTimeMs); otherwise the first append after a quiet spell would drop
   * every lagging-by-design follower from the ISR.
   */
  #beforeAppend(): void {
    const now = this.#options.clock.now();
    for (const follower of this.#followers) if (follower.leo >= this.log.endOffset) follower.caughtUpAt = now;
  }

  /** Starts replicating what was just appended, then applies retention. */
  #afterAppend(): void {
    const leo = this.log.endOffset;
    const at = this.#options.clock.now();
    for (const follower of this.#followers) follower.actor.send({ type: "APPENDED", leo, at });
    this.#advance();
    this.enforceRetention();
  }

  /** Restarts a stopped follower; it catches up from the leader's current end. */
  resume(id: number): void {
    this.follower(id)?.send({ type: "RESUME", leo: this.log.endOffset, at: this.#options.clock.now() });
  }

  /**
   * Resolves once the HW reaches `end`; or with `timed-out` if `timeoutMs` passes first; or
   * with `not-enough-replicas` if the ISR shrinks below `minInsyncReplicas` meanwhile (Kafka's
   * NOT_ENOUGH_REPLICAS_AFTER_APPEND). The write stays in the log whatever the result, as in
   * Kafka: an unconfirmed ack rolls nothing back.
   */
  whenReplicated(end: number, timeoutMs: number): Promise<ReplicationResult> {
    if (this.#highWatermark >= end) return Promise.resolve("replicated");
    return new Promise((resolve) => {
      const ack: HeldAck = {
        end,
        resolve,
        timer: this.#options.clock.setTimeout(() => {
          this.#held = this.#held.filter((h) => h !== ack);
          resolve("timed-out");
        }, timeoutMs),
      };
      this.#held.push(ack);
    });
  }

  /** The records of {@link fetch}. */
  read(offset: number, maxRecords: number, isolation: Isolation): FetchedRecord[] {
    return this.fetch(offset, maxRecords, isolation).records;
  }

  /**
   * Reads from `offset`. Read-committed reads stop at the LSO (never beyond the HW) and skip
   * aborted transactions; read-uncommitted reads go to the log end and include them. Neither
   * returns control markers.
   */
  fetch(offset: number, maxRecords: number, isolation: Isolation): LogRead {
    this.enforceRetention();
    const start = this.log.startOffset;
    // A fetch of no records is a position probe (Kafka's ListOffsets): it is never out of range.
    if (offset < start && maxRecords > 0) {
      throw new OffsetOutOfRangeError(
        this.#topic,
        this.#index,
        `offset ${offset} of ${this.#label} was deleted by retention; the log starts at ${start}`,
      );
    }
    if (isolation !== "read-committed") return this.log.read(offset, this.log.endOffset, maxRecords, null);
    const upTo = this.lastStableOffset;
    // Each transactional batch is then looked up in O(log n) of the aborted transactions.
    return this.log.read(offset, upTo, maxRecords, this.#txns.aborted.anyFrom(offset) ? this.#txns.aborted : null);
  }

  /**
   * Deletes what retention allows (whole batches from the front, never at or beyond the last
   * stable offset) and forgets aborted transactions below the new log start. Runs on every
   * append and fetch, so it needs no timer; {@link EmbeddedBroker.cleanup} runs it on demand.
   */
  enforceRetention(): void {
    if (this.#retentionBytes < 0 && this.#retentionMs < 0) return;
    const now = recordTime(this.#options.clock);
    // The cheap check first: the LSO costs a pass over the open transactions.
    if (!this.log.retentionDue(this.#retentionBytes, this.#retentionMs, now)) return;
    const deleted = this.log.retain(this.lastStableOffset, this.#retentionBytes, this.#retentionMs, now);
    if (deleted > 0) this.#txns.aborted.truncateBelow(this.log.startOffset);
  }

  /**
   * Forgets the dedup state of producers idle for `expirationMs` (Kafka's
   * `producer.id.expiration.ms`), except those with a transaction open here and those `keep`
   * names (the broker keeps transactional producers while their transactional id lives).
   */
  expireProducers(expirationMs: number, keep: (producerId: number) => boolean = () => false): number {
    return this.#producers.expire(
      this.#options.clock.now() - expirationMs,
      (producerId) => this.#txns.isOpen(producerId) || keep(producerId),
    );
  }

  /** Sizes of the internal structures. */
  get stats(): PartitionStats {
    const log = this.log.stats;
    return {
      ...log,
      producers: this.#producers.size,
      dedupBatches: this.#producers.batches,
      aborted: this.#txns.aborted.size,
      openTransactions: this.#txns.openCount,
      heldAcks: this.#held.length,
    };
  }

  /** The aborted transactions still indexed, oldest first. */
  abortedTransactions(): AbortedTxn[] {
    return this.#txns.aborted.list();
  }

  #onCopied(follower: Follower, id: number, leo: number, asOf: number): void {
    follower.leo = leo;
    follower.caughtUpAt = Math.max(follower.caughtUpAt, asOf);
    if (!this.#isr.has(id) && leo >= this.log.endOffset) this.#isr.add(id);
    this.#advance();
  }

  /** Recomputes the HW, releases the acks it now covers, and watches followers that lag. */
  #advance(): void {
    let hw = this.log.endOffset;
    for (const [i, follower] of this.#followers.entries()) {
      if (this.#isr.has(i + 1) && follower.leo < hw) hw = follower.leo;
    }
    if (hw > this.#highWatermark) {
      this.#highWatermark = hw;
      let released = 0;
      // Held acks are in offset order, because appends are.
      while (released < this.#held.length && this.#held[released]!.end <= hw) {
        const ack = this.#held[released++]!;
        this.#options.clock.clearTimeout(ack.timer);
        // As in Kafka, a write the HW covers is only confirmed while the ISR still meets
        // minInsyncReplicas; if the HW moved because replicas left, it is not safe.
        ack.resolve(this.enoughReplicas ? "replicated" : "not-enough-replicas");
      }
      if (released > 0) this.#held = this.#held.slice(released);
      this.#txns.onHighWatermark(hw);
    }
    this.#watchLaggards();
  }

  /**
   * Arms one timer for the in-sync follower that will first exceed the lag limit. It is event
   * driven rather than periodic, so an idle broker holds no timers and lets the process exit.
   */
  #watchLaggards(): void {
    const { clock, replicaLagTimeMaxMs } = this.#options;
    let due = Infinity;
    for (const [i, follower] of this.#followers.entries()) {
      if (this.#isr.has(i + 1) && follower.leo < this.log.endOffset) {
        due = Math.min(due, follower.caughtUpAt + replicaLagTimeMaxMs);
      }
    }
    if (this.#isrCheck !== undefined) clock.clearTimeout(this.#isrCheck);
    this.#isrCheck = undefined;
    if (due === Infinity) return;
    this.#isrCheck = clock.setTimeout(() => {
      this.#isrCheck = undefined;
      const now = clock.now();
      for (const [i, follower] of this.#followers.entries()) {
        const lagging = follower.leo < this.log.endOffset && now - follower.caughtUpAt >= replicaLagTimeMaxMs;
        if (lagging) this.#isr.delete(i + 1);
      }
      this.#advance();
    }, Math.max(0, due - clock.now()));
  }
}
