/**
 * A process that can be frozen, as SIGSTOP or a long GC pause freezes one: while frozen its
 * timers do not fire, it sends no request and takes in no answer, and its handlers wait.
 * Simulated time goes on for everyone else, so the group coordinator sees a member fall
 * silent; when it wakes, the timers that came due fire, held requests go out (late, with
 * whatever generation they carried) and held answers come in. That is how a consumer becomes
 * a zombie of an old generation.
 */
import type { Clock, RequestOptions, Transport } from "../../src/index.ts";
import type { Request, ResponseFor } from "../../src/transport/protocol.ts";

export class Pause {
  #frozen = false;
  #waiting: (() => void)[] = [];
  /** How many times the process was frozen. */
  times = 0;

  get frozen(): boolean {
    return this.#frozen;
  }

  /** Freezes the process for `forMs` of `clock`'s time (a clock that is not frozen itself). */
  freeze(clock: Clock, forMs: number): void {
    if (this.#frozen) return;
    this.#frozen = true;
    this.times++;
    clock.setTimeout(() => this.#thaw(), forMs);
  }

  /** Resolves at once when running, or when the process wakes. */
  running(): Promise<void> {
    if (!this.#frozen) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #thaw(): void {
    this.#frozen = false;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const wake of waiting) wake();
  }
}

interface Handle {
  inner: unknown;
  cancelled: boolean;
}

/** The process's clock: `now()` goes on, but timers that come due while frozen fire on waking. */
export class PausableClock implements Clock {
  constructor(readonly inner: Clock, readonly pause: Pause) {}

  now(): number {
    return this.inner.now();
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const handle: Handle = { inner: undefined, cancelled: false };
    handle.inner = this.inner.setTimeout(() => {
      void this.pause.running().then(() => {
        if (!handle.cancelled) fn();
      });
    }, ms);
    return handle;
  }

  clearTimeout(handle: unknown): void {
    const h = handle as Handle;
    h.cancelled = true;
    this.inner.clearTimeout(h.inner);
  }

  defer(fn: () => void): void {
    this.setTimeout(fn, 0);
  }
}

/** The process's network: requests wait to go out, and answers to come in, while it is frozen. */
export class PausableTransport implements Transport {
  constructor(readonly inner: Transport, readonly pause: Pause) {}

  async request<R extends Request>(request: R, options: RequestOptions): Promise<ResponseFor<R>> {
    await this.pause.running();
    try {
      return await this.inner.request(request, options);
    } finally {
      await this.pause.running();
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
