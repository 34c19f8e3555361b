import type { Actor, AnyActorRef } from "xstate";
import type { Bytes, RecordColumns, RecordHeaders } from "../transport/protocol.ts";
import { type Deferred, deferred } from "./deferred.ts";
import type { batchMachine } from "./machines/batch-machine.ts";
import type { RequestOutput } from "./machines/request-machine.ts";

/** What `wait()` learns: the base offset, or why the batch was not confirmed. */
export type Confirmation = { readonly baseOffset: number } | { readonly error: Error };

/**
 * The records of one batch for one partition, as plain parallel arrays, plus the bookkeeping
 * that `wait()`, `flush()` and the outcome streams read. Promises are made only when
 * someone asks, so a batch nobody waits on costs no promise and no unhandled rejection.
 */
export class Batch implements RecordColumns {
  readonly keys: (Bytes | null)[] = [];
  readonly values: Bytes[] = [];
  readonly timestamps: number[] = [];
  /**
   * Each record's headers (null: none), made when the first record with headers arrives: a
   * batch of records without headers carries no array and no slot for them.
   */
  headers: (RecordHeaders | null)[] | null = null;
  /** Sum of key, value and header bytes. */
  bytes = 0;
  /** The actor that runs this batch through the batch machine. */
  actor!: Actor<typeof batchMachine>;
  /** How the batch ended, once it has. */
  result: RequestOutput | null = null;
  /** Linger timer, while the batch is open. */
  lingerTimer: unknown = undefined;
  /** Exactly-once: the sequence number of the first record, from its first dispatch. */
  baseSequence = -1;
  /**
   * Each record's offset, when the broker gave them one by one (an engine whose offsets are
   * not consecutive within a batch); null when record `i` is at `baseOffset + i`.
   */
  offsets: readonly number[] | null = null;
  /** The request actor carrying the batch, once dispatched. */
  request: AnyActorRef | null = null;
  #confirmation: Confirmation | null = null;
  #confirmed: Deferred<Confirmation> | null = null;
  #settled: Deferred<void> | null = null;

  constructor(
    /** Unique within its producer, in creation order. */
    readonly id: number,
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Appends a record's slots. */
  push(key: Bytes | null, value: Bytes, headers: RecordHeaders | null, timestamp: number): void {
    const index = this.values.length;
    this.keys.push(key);
    this.values.push(value);
    this.timestamps.push(timestamp);
    if (headers !== null) (this.headers ??= new Array<RecordHeaders | null>(index).fill(null)).push(headers);
    else if (this.headers !== null) this.headers.push(null);
  }

  /** Marks the batch done for the producer: its slot and buffer space are free. */
  settle(result: RequestOutput): void {
    this.result = result;
    this.#settled?.resolve();
  }

  /** Resolves once the batch is settled (delivered, failed, or sent for at-most-once). */
  whenSettled(): Promise<void> {
    if (this.result) return Promise.resolve();
    this.#settled ??= deferred();
    return this.#settled.promise;
  }

  /** Records the broker's verdict on the batch; only the first verdict counts. */
  confirm(confirmation: Confirmation): void {
    if (this.#confirmation) return;
    this.#confirmation = confirmation;
    this.#confirmed?.resolve(confirmation);
  }

  /** Resolves with the broker's verdict, once there is one. */
  whenConfirmed(): Promise<Confirmation> {
    if (this.#confirmation) return Promise.resolve(this.#confirmation);
    this.#confirmed ??= deferred();
    return this.#confirmed.promise;
  }
}
