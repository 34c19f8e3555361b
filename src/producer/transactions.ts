import { type Actor, createActor } from "xstate";
import { type Observable, Subject } from "rxjs";
import {
  type AcktorError,
  InvalidTxnStateError,
  ProducerFencedError,
  TransactionAbortedError,
  TransactionTimedOutError,
} from "../errors.ts";
import type { PartitionOffset, Request, ResponseFor } from "../transport/protocol.ts";
import type { GuardedInspector } from "../inspect.ts";
import type { Batch } from "./batch.ts";
import { transactionMachine } from "./machines/transaction-machine.ts";

/** A transaction's end, with what it held. */
export interface TransactionReport {
  readonly type: "committed" | "aborted";
  readonly transactionalId: string;
  readonly producerId: number;
  readonly epoch: number;
  /** Records written in the transaction. */
  readonly records: number;
  /** Where they went: each batch's partition, first offset (-1 if unknown) and size. */
  readonly batches: readonly { readonly partition: number; readonly baseOffset: number; readonly count: number }[];
  /** Consumer-group offsets committed (or dropped) with it. */
  readonly offsets: readonly { readonly groupId: string; readonly offsets: readonly PartitionOffset[] }[];
  /** Why an aborted transaction was aborted, when it was not the caller's choice. */
  readonly cause?: unknown;
}

/** What the transaction manager needs from its producer. */
export interface TransactionHost {
  readonly topic: string;
  identity(): { producerId: number; epoch: number };
  /** Sends a control request, retrying retriable failures; throws the typed error otherwise. */
  call<R extends Request>(request: R): Promise<Extract<ResponseFor<R>, { ok: true }>>;
  /** Gets a fresh epoch for the transactional id (after the coordinator aborted on timeout). */
  reinit(): Promise<void>;
  /** Seals open batches and waits for `batches` to settle; returns the failed ones. */
  settle(batches: Batch[]): Promise<Batch[]>;
  /** The transaction's end reported (or discarded) the failures of `batches`: no barrier repeats them. */
  forget(batches: readonly Batch[]): void;
  /** A partition was added to the transaction (its batches may go), or refused (they fail). */
  resume(partition: number): void;
}

interface OpenTransaction {
  readonly partitions: Set<number>;
  /** Partitions whose addPartitionsToTxn failed, with the error; their batches fail unsent. */
  readonly refused: Map<number, unknown>;
  readonly adding: Set<number>;
  readonly batches: Batch[];
  readonly offsets: { groupId: string; offsets: readonly PartitionOffset[] }[];
  /** The first error that doomed the transaction, if any. */
  failure: unknown;
}

/**
 * The transactional side of an exactly-once producer: KIP-98's flow with KIP-890's rule that
 * a partition is added to the transaction before its first write. Every operation checks the
 * transaction machine first, so misuse gets an {@link InvalidTxnStateError} naming the state
 * instead of a request the coordinator would refuse or, worse, a stuck producer.
 */
export class TransactionManager {
  /** The transaction lifecycle actor, for inspection. */
  readonly actor: Actor<typeof transactionMachine>;
  /** One report per committed or aborted transaction. */
  readonly reports$: Observable<TransactionReport>;
  readonly #reports = new Subject<TransactionReport>();
  readonly #host: TransactionHost;
  readonly #transactionalId: string;
  #current: OpenTransaction | null = null;

  /** `inspect`: the producer's (already guarded) inspection observer, if it has one. */
  constructor(host: TransactionHost, transactionalId: string, inspect: GuardedInspector | null = null) {
    this.#host = host;
    this.#transactionalId = transactionalId;
    this.actor = createActor(transactionMachine, inspect === null ? undefined : { inspect }).start();
    this.reports$ = this.#reports.asObservable();
  }

  /** The lifecycle state: `initializing`, `ready`, `in-transaction`, `committing`, … */
  get state(): string {
    return String(this.actor.getSnapshot().value);
  }

  /** The producer closed: no more reports. */
  complete(): void {
    this.#reports.complete();
  }

  ready(): void {
    this.actor.send({ type: "READY" });
  }

  /** Opens a transaction. */
  begin(): void {
    this.#require("BEGIN", "begin a transaction");
    this.actor.send({ type: "BEGIN" });
    this.#current = {
      partitions: new Set(),
      adding: new Set(),
      refused: new Map(),
      batches: [],
      offsets: [],
      failure: null,
    };
  }

  /** Throws unless records may be written now. */
  requireOpen(operation: string): void {
    if (this.state !== "in-transaction") throw this.#refusal(operation);
  }

  /** Makes a new batch part of the open transaction. */
  track(batch: Batch): void {
    this.#current?.batches.push(batch);
  }

  /**
   * Whether `partition` is in the transaction. If not, it is added (once) and the host is
   * told to resume when that is done; the batch waits, as KIP-890 requires.
   */
  admitted(partition: number): boolean {
    const txn = this.#current;
    if (!txn || txn.partitions.has(partition)) return true;
    if (!txn.adding.has(partition)) {
      txn.adding.add(partition);
      this.#host
        .call({ api: "addPartitionsToTxn", ...this.#identity(), partitions: [{ topic: this.#host.topic, partition }] })
        .then(
          () => {
            txn.partitions.add(partition);
            this.#host.resume(partition);
          },
          (error: unknown) => {
            txn.refused.set(partition, error);
            this.fail(error);
            // Its waiting batches must fail now, or settling the transaction would wait forever.
            this.#host.resume(partition);
          },
        );
    }
    return false;
  }

  /** Why `partition` could not join the open transaction, or undefined if it could (or has not tried). */
  refusal(partition: number): unknown {
    return this.#current?.refused.get(partition);
  }

  /** Commits a consumer group's offsets with the transaction (KIP-447: pass the group's generation). */
  async sendOffsets(groupId: string, offsets: readonly PartitionOffset[], generation?: number): Promise<void> {
    this.requireOpen("send offsets");
    const txn = this.#current!;
    try {
      await this.#host.call({
        api: "txnOffsetCommit",
        ...this.#identity(),
        groupId,
        offsets,
        ...(generation === undefined ? {} : { generation }),
      });
      txn.offsets.push({ groupId, offsets });
    } catch (error) {
      this.fail(error);
      throw error;
    }
  }

  /** A write of the transaction failed: only an abort can follow (or nothing, if fenced). */
  fail(error: unknown): void {
    const txn = this.#current;
    if (txn && txn.failure === null) txn.failure = error;
    if (error instanceof ProducerFencedError) this.actor.send({ type: "FENCED" });
    else this.actor.send({ type: "ABORTABLE" });
  }

  /**
   * Waits for every write of the transaction, then commits it with its offsets. If a write
   * failed, or the coordinator refuses, the transaction is aborted and the most telling error
   * is thrown: {@link ProducerFencedError}, {@link TransactionTimedOutError}, or
   * {@link TransactionAbortedError} with the cause.
   */
  async commit(): Promise<void> {
    this.#require("COMMIT", "commit");
    this.actor.send({ type: "COMMIT" });
    const txn = this.#current!;
    const failed = await this.#host.settle(txn.batches);
    if (failed.length > 0 && txn.failure === null) {
      txn.failure = failed[0]!.result?.status === "failed" ? failed[0]!.result.error.cause : null;
    }
    if (txn.failure === null) {
      try {
        if (this.#touched(txn)) await this.#host.call({ api: "endTxn", ...this.#identity(), commit: true });
        this.actor.send({ type: "COMMITTED" });
        this.#report("committed", txn);
        this.#current = null;
        return;
      } catch (error) {
        txn.failure = error;
        if (error instanceof ProducerFencedError) this.actor.send({ type: "FENCED" });
        else this.actor.send({ type: "ABORTABLE" });
      }
    }
    const cause = txn.failure;
    this.#host.forget(txn.batches);
    if (this.state === "abortable") await this.abort();
    throw cause instanceof ProducerFencedError || cause instanceof TransactionTimedOutError
      ? cause
      : new TransactionAbortedError(`the transaction could not commit and was aborted: ${messageOf(cause)}`, cause);
  }

  /**
   * Aborts the open transaction: its writes finish (as aborted, invisible to read-committed
   * readers) and its offsets are dropped. After a coordinator timeout the producer takes a
   * new epoch and is ready again.
   */
  async abort(): Promise<void> {
    this.#require("ABORT", "abort");
    this.actor.send({ type: "ABORT" });
    const txn = this.#current!;
    await this.#host.settle(txn.batches);
    // Aborting discards the transaction's writes, failed ones included.
    this.#host.forget(txn.batches);
    let timedOut = txn.failure instanceof TransactionTimedOutError;
    if (!timedOut && this.#touched(txn)) {
      try {
        await this.#host.call({ api: "endTxn", ...this.#identity(), commit: false });
      } catch (error) {
        if (error instanceof ProducerFencedError) {
          this.actor.send({ type: "FENCED" });
          throw error;
        }
        if (!(error instanceof TransactionTimedOutError)) {
          this.actor.send({ type: "FATAL" });
          throw error;
        }
        timedOut = true;
      }
    }
    // The coordinator already aborted and bumped the epoch: take the new one.
    if (timedOut) await this.#host.reinit();
    this.actor.send({ type: "ABORTED" });
    this.#report("aborted", txn);
    this.#current = null;
  }

  #touched(txn: OpenTransaction): boolean {
    return txn.partitions.size > 0 || txn.adding.size > 0 || txn.offsets.length > 0;
  }

  #identity(): { transactionalId: string; producerId: number; epoch: number } {
    return { transactionalId: this.#transactionalId, ...this.#host.identity() };
  }

  #require(event: "BEGIN" | "COMMIT" | "ABORT", operation: string): void {
    if (!this.actor.getSnapshot().can({ type: event })) throw this.#refusal(operation);
  }

  #refusal(operation: string): AcktorError {
    const state = this.state;
    if (state === "fenced") {
      return new ProducerFencedError(
        `cannot ${operation}: transactional id "${this.#transactionalId}" was taken over by a newer producer`,
      );
    }
    const hint = state === "ready"
      ? "; call beginTransaction() first"
      : state === "abortable"
      ? "; the transaction failed and can only be aborted"
      : "";
    return new InvalidTxnStateError(`cannot ${operation} while the transaction is ${state}${hint}`);
  }

  #report(type: TransactionReport["type"], txn: OpenTransaction): void {
    if (!this.#reports.observed) return;
    const { producerId, epoch } = this.#host.identity();
    this.#reports.next({
      type,
      transactionalId: this.#transactionalId,
      producerId,
      epoch,
      records: txn.batches.reduce((n, b) => n + b.values.length, 0),
      batches: txn.batches.map((b) => ({
        partition: b.partition,
        baseOffset: b.result?.status === "delivered" ? b.result.baseOffset : -1,
        count: b.values.length,
      })),
      offsets: txn.offsets,
      ...(txn.failure === null ? {} : { cause: txn.failure }),
    });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
