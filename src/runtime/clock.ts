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
}

/** Real time: `performance.now()` and the runtime's timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Resolves after `ms` on the given clock. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
