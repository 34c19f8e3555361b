import type { Clock } from "./clock.ts";
import { macrotask } from "./macrotask.ts";

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/**
 * Simulated time that runs as fast as the CPU allows and replays identically.
 *
 * Time jumps to the next due timer only when the system is otherwise idle: timers fire one
 * per macrotask, so every promise chain a timer starts settles before the next timer fires,
 * exactly as it would in real time with an instant network. Timers due at the same moment
 * fire in the order they were set. Together with a seeded chaos transport this makes a
 * whole fault run deterministic, and backoffs of seconds cost nothing.
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];
  #pumping = false;

  /** @param start the initial value of `now()`, in ms. */
  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer: Timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    // Keep the queue sorted by (at, seq); inserting from the back is cheap because most new
    // timers are due after those already queued.
    let i = this.#timers.length;
    while (i > 0 && this.#timers[i - 1]!.at > timer.at) i--;
    this.#timers.splice(i, 0, timer);
    this.#schedule();
    return timer;
  }

  clearTimeout(handle: unknown): void {
    const i = this.#timers.indexOf(handle as Timer);
    if (i >= 0) this.#timers.splice(i, 1);
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.#timers.length;
  }

  #schedule(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    macrotask(this.#tick);
  }

  #tick = (): void => {
    this.#pumping = false;
    const timer = this.#timers.shift();
    if (!timer) return;
    if (timer.at > this.#now) this.#now = timer.at;
    if (this.#timers.length > 0) this.#schedule();
    timer.fn();
  };
}
