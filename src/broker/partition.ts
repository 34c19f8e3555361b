import { type Actor, createActor } from "xstate";
import type { Clock } from "../runtime/clock.ts";
import type { Bytes, FetchedRecord, Isolation } from "../transport/protocol.ts";
import { PartitionLog } from "./log.ts";
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
}

/** A snapshot of a partition's replication state. */
export interface PartitionState {
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
 */
export class Partition {
  readonly log = new PartitionLog();
  readonly #options: PartitionOptions;
  readonly #followers: Follower[] = [];
  readonly #isr = new Set<number>([0]);
  #highWatermark = 0;
  #held: HeldAck[] = [];
  #isrCheck: unknown = undefined;

  constructor(options: PartitionOptions) {
    this.#options = options;
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
    return { logEndOffset: this.log.endOffset, highWatermark: this.#highWatermark, isr: [...this.#isr].sort((a, b) => a - b) };
  }

  /** Whether a read-committed write can be accepted now. */
  get enoughReplicas(): boolean {
    return this.#isr.size >= this.#options.minInsyncReplicas;
  }

  /** The follower actor with this id (1 … replicationFactor-1), for inspection and fault injection. */
  follower(id: number): Actor<typeof replicaMachine> | undefined {
    return this.#followers[id - 1]?.actor;
  }

  /** Appends a batch on the leader and starts replicating it. */
  append(keys: readonly (Bytes | null)[], values: readonly Bytes[]): number {
    // A follower that holds everything is caught up as of now, however long it has been idle
    // (Kafka's lastCaughtUpTimeMs); otherwise the first append after a quiet spell would
    // drop every lagging-by-design follower from the ISR.
    const now = this.#options.clock.now();
    for (const follower of this.#followers) if (follower.leo >= this.log.endOffset) follower.caughtUpAt = now;
    const base = this.log.append(keys, values);
    const leo = this.log.endOffset;
    const at = this.#options.clock.now();
    for (const follower of this.#followers) follower.actor.send({ type: "APPENDED", leo, at });
    this.#advance();
    return base;
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

  /** Reads from `offset`: up to the HW for read-committed, up to the log end otherwise. */
  read(offset: number, maxRecords: number, isolation: Isolation): FetchedRecord[] {
    const upTo = isolation === "read-committed" ? this.#highWatermark : this.log.endOffset;
    return this.log.read(offset, upTo, maxRecords);
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
      if (this.#isr.has(i + 1) && follower.leo < this.log.endOffset) due = Math.min(due, follower.caughtUpAt + replicaLagTimeMaxMs);
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
