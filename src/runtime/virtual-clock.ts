import type { Clock } from "./clock.ts";
import { macrotask } from "./macrotask.ts";

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** Earlier first; among equals, the one set first. */
function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * Simulated time that runs as fast as the CPU allows and replays identically.
 *
 * Time jumps to the next due timer only when the system is otherwise idle: timers fire one
 * per macrotask, so every promise chain a timer starts settles before the next timer fires,
 * exactly as it would in real time with an instant network. Timers due at the same moment
 * fire in the order they were set. Together with a seeded chaos transport this makes a
 * whole fault run deterministic, and backoffs of seconds cost nothing.
 *
 * Use it only with in-process transports: real I/O does not wait for simulated time.
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  // A binary min-heap; cancelled timers stay in it and are skipped when they surface.
  #heap: Timer[] = [];
  #live = 0;
  #pumping = false;

  /** @param start the initial value of `now()`, in ms. */
  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer: Timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#push(timer);
    this.#live++;
    this.#schedule();
    return timer;
  }

  /** Zero-delay work runs before any timer that is due later: time never passes over it. */
  defer(fn: () => void): void {
    this.setTimeout(fn, 0);
  }

  clearTimeout(handle: unknown): void {
    const timer = handle as Timer | undefined;
    if (!timer || timer.cancelled) return;
    timer.cancelled = true;
    this.#live--;
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.#live;
  }

  #schedule(): void {
    if (this.#pumping || this.#live === 0) return;
    this.#pumping = true;
    macrotask(this.#tick);
  }

  #tick = (): void => {
    this.#pumping = false;
    let timer = this.#pop();
    while (timer?.cancelled) timer = this.#pop();
    if (!timer) return;
    timer.cancelled = true;
    this.#live--;
    if (timer.at > this.#now) this.#now = timer.at;
    this.#schedule();
    timer.fn();
  };

  #push(timer: Timer): void {
    const heap = this.#heap;
    let i = heap.push(timer) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): Timer | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      for (let i = 0;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let min = i;
        if (l < heap.length && before(heap[l]!, heap[min]!)) min = l;
        if (r < heap.length && before(heap[r]!, heap[min]!)) min = r;
        if (min === i) break;
        [heap[i], heap[min]] = [heap[min]!, heap[i]!];
        i = min;
      }
    }
    return top;
  }
}
