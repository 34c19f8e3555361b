import type { ConsumedRecord } from "./record.ts";

/** Starts a consumer loop with `handler`, stopping when `signal` aborts; settles when the loop ends. */
type StartLoop = (handler: (record: ConsumedRecord) => Promise<void>, signal: AbortSignal) => Promise<void>;

/** Settles a record handed to the loop body: processed, or interrupted (it comes again). */
interface InHand {
  readonly record: ConsumedRecord;
  processed(): void;
  interrupted(reason: unknown): void;
}

/**
 * `for await` over a consumer. The loop hands one record at a time to a handler that waits
 * until the loop body asks for the next record, so "processed" means the body finished
 * with it, and the consumer's commit strategy applies unchanged. The loop is started on the
 * first `next()`.
 */
export class RecordIterator implements AsyncIterator<ConsumedRecord> {
  readonly #start: StartLoop;
  readonly #stop = new AbortController();
  #loop: Promise<void> | null = null;
  /** The record the body is working on: processed once it asks for the next one. */
  #inHand: InHand | null = null;
  /** A record the loop has offered and the body has not taken yet. */
  #offered: InHand | null = null;
  #waiting: { resolve(result: IteratorResult<ConsumedRecord>): void; reject(error: unknown): void } | null = null;
  #ended: { error: unknown } | null = null;

  constructor(start: StartLoop) {
    this.#start = start;
  }

  next(): Promise<IteratorResult<ConsumedRecord>> {
    this.#inHand?.processed();
    this.#inHand = null;
    try {
      this.#loop ??= this.#begin();
    } catch (error) {
      // A consumer that cannot start (closed, busy, transactional) rejects like any other next().
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#deliver();
    });
  }

  async return(): Promise<IteratorResult<ConsumedRecord>> {
    this.#stop.abort();
    // The body left mid-record: not processed, so the strategy treats it as never handled.
    const interrupted = new Error("the for-await loop stopped");
    this.#inHand?.interrupted(interrupted);
    this.#offered?.interrupted(interrupted);
    this.#inHand = this.#offered = null;
    await this.#loop?.catch(() => {});
    return { done: true, value: undefined };
  }

  #begin(): Promise<void> {
    const loop = this.#start(
      (record) =>
        new Promise<void>((processed, interrupted) => {
          this.#offered = { record, processed, interrupted };
          this.#deliver();
        }),
      this.#stop.signal,
    );
    loop.then(
      () => this.#end({ error: undefined }),
      (error) => this.#end({ error }),
    );
    return loop;
  }

  #end(ended: { error: unknown }): void {
    this.#ended = ended;
    this.#deliver();
  }

  #deliver(): void {
    const waiting = this.#waiting;
    if (waiting === null) return;
    if (this.#offered !== null) {
      this.#inHand = this.#offered;
      this.#offered = null;
      this.#waiting = null;
      waiting.resolve({ done: false, value: this.#inHand.record });
    } else if (this.#ended !== null) {
      this.#waiting = null;
      if (this.#ended.error === undefined) waiting.resolve({ done: true, value: undefined });
      else waiting.reject(this.#ended.error);
    }
  }
}
