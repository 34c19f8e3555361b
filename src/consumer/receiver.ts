/**
 * `records$` in the receiver-offset model (as Reactor Kafka's receiver offsets): each record
 * is handed out with an `ack()`, and the engine counts it processed only once acknowledged.
 * RxJS has no backpressure, so the receiver bounds how many records are out unacknowledged.
 *
 * @module
 */
import { Observable, type Observer, Subscriber, type Subscription, type TeardownLogic } from "rxjs";
import type { ConsumedRecord, ReceivedRecord } from "./record.ts";

/** Hands records out to one `records$` subscription, each with its `ack()`. */
export class Receiver {
  readonly #next: (record: ReceivedRecord) => void;
  readonly #limit: number;
  #unacked = 0;
  #room: (() => void) | null = null;
  #open = true;

  /** `limit`: the most records handed out and not yet acknowledged. */
  constructor(next: (record: ReceivedRecord) => void, limit: number) {
    this.#next = next;
    this.#limit = limit;
  }

  /**
   * Hands `record` out, once fewer than `limit` records wait for their ack; `acked` runs on
   * its first `ack()`, unless the reader stopped by then. False when the reader stopped
   * before the record could be handed out.
   */
  async handOut(record: ConsumedRecord, acked: () => void, signal: AbortSignal): Promise<boolean> {
    while (this.#unacked >= this.#limit && !signal.aborted) await this.#waitForRoom(signal);
    if (signal.aborted || !this.#open) return false;
    this.#unacked++;
    let done = false;
    const ack = (): void => {
      if (done || !this.#open) return;
      done = true;
      this.#unacked--;
      this.#room?.();
      acked();
    };
    this.#next({ ...record, ack });
    return true;
  }

  /** Hands out a record already committed (`before-processing`): its `ack()` changes nothing. */
  handOutCommitted(record: ConsumedRecord): void {
    this.#next({ ...record, ack: () => {} });
  }

  /** The reader stopped: acks from now on change nothing, their records are handed back. */
  close(): void {
    this.#open = false;
    this.#room?.();
  }

  #waitForRoom(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.#room = null;
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.#room = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }
}

/** A `records$` observer's `next` threw on a record. */
export type SubscriberFailure = (record: ReceivedRecord, error: unknown) => void;

/**
 * The `records$` observable. RxJS catches an exception thrown by a subscriber's own `next`
 * and rethrows it from a timer, where it crashes the process; this one catches it first: the
 * record stays unacknowledged (so it is not committed) and `failed` reports it. Operators
 * subscribe with their own subscribers, which turn a throw into the stream's error, and are
 * left alone.
 */
export class RecordStream extends Observable<ReceivedRecord> {
  readonly #failed: SubscriberFailure;

  constructor(subscribe: (subscriber: Subscriber<ReceivedRecord>) => TeardownLogic, failed: SubscriberFailure) {
    super(subscribe);
    this.#failed = failed;
  }

  override subscribe(
    observerOrNext?: Partial<Observer<ReceivedRecord>> | ((value: ReceivedRecord) => void) | null,
    error?: ((error: unknown) => void) | null,
    complete?: (() => void) | null,
  ): Subscription {
    if (observerOrNext instanceof Subscriber) return super.subscribe(observerOrNext);
    const observer = typeof observerOrNext === "function" || observerOrNext == null
      ? { next: observerOrNext ?? undefined, error: error ?? undefined, complete: complete ?? undefined }
      : observerOrNext;
    const next = observer.next?.bind(observer);
    return super.subscribe({
      next: (record) => {
        try {
          next?.(record);
        } catch (thrown) {
          this.#failed(record, thrown);
        }
      },
      error: observer.error?.bind(observer),
      complete: observer.complete?.bind(observer),
    });
  }
}
