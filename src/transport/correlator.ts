import { RequestTimedOutError } from "../errors.ts";
import type { Clock } from "../runtime/clock.ts";

interface Pending<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
  timer: unknown;
}

/**
 * Matches responses to outstanding requests by correlation id and enforces each request's
 * timeout. Any transport whose responses arrive apart from its requests (in-process, a
 * socket, a message bus) uses one, so timeouts and disconnects behave the same everywhere.
 */
export class Correlator<T> {
  #next = 1;
  #pending = new Map<number, Pending<T>>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Registers a request; its promise settles on {@link settle}, {@link fail} or timeout. */
  open(timeoutMs: number): { id: number; response: Promise<T> } {
    const id = this.#next++;
    const response = new Promise<T>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        if (this.#pending.delete(id)) reject(new RequestTimedOutError(timeoutMs));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
    });
    return { id, response };
  }

  /** Delivers a response; a late one (after timeout or failure) is ignored, as on a real wire. */
  settle(id: number, value: T): void {
    const pending = this.#take(id);
    pending?.resolve(value);
  }

  /** Rejects one outstanding request. */
  fail(id: number, error: unknown): void {
    this.#take(id)?.reject(error);
  }

  /** Rejects every outstanding request, as when a connection drops. */
  failAll(error: unknown): void {
    for (const id of [...this.#pending.keys()]) this.fail(id, error);
  }

  /** How many requests await a response. */
  get size(): number {
    return this.#pending.size;
  }

  #take(id: number): Pending<T> | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    this.#clock.clearTimeout(pending.timer);
    return pending;
  }
}
