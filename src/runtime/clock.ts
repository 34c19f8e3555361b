import { macrotask } from "./macrotask.ts";

/**
 * The one source of time for acktor. Every timer (linger, request timeouts, backoff, replica
 * lag, chaos delays) goes through a {@link Clock}, so a whole system can run on a
 * {@link VirtualClock} and replay the same faults in the same order, seed for seed.
 *
 * @module
 */

/** A clock: a monotonic `now()` in milliseconds and timers. Compatible with XState's clock option. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /**
   * Runs `fn` once the current burst of work is done, without letting time pass first. A
   * clock without it gets the runtime's macrotask, which is right for real time only.
   */
  defer?(fn: () => void): void;
  /**
   * Wall-clock milliseconds since the Unix epoch, for record timestamps (`now()` is monotonic,
   * not epoch time). A clock without it stamps records with its `now()`: a `VirtualClock`'s
   * simulated time, so a replayed run stamps the same timestamps.
   */
  epochNow?(): number;
}

/** Real time: `performance.now()` and the runtime's timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  // Not setTimeout(fn, 0): that is clamped to 1 ms or more, which would cap a one-at-a-time sender.
  defer: macrotask,
  epochNow: () => Date.now(),
};

/** The clock's time for a record timestamp: whole milliseconds, since the epoch on a real clock. */
export function recordTime(clock: Clock): number {
  return clock.epochNow ? clock.epochNow() : Math.floor(clock.now());
}

/** Runs `fn` after the current burst of work, at the clock's current time. */
export function defer(clock: Clock, fn: () => void): void {
  if (clock.defer) clock.defer(fn);
  else macrotask(fn);
}

/** Resolves after `ms` on the given clock. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/** Resolves after `ms` on the given clock, or as soon as `signal` aborts: true if the whole time passed. */
export function sleepUnlessAborted(clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const stop = () => {
      clock.clearTimeout(handle);
      resolve(false);
    };
    const handle = clock.setTimeout(() => {
      signal.removeEventListener("abort", stop);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", stop, { once: true });
  });
}
