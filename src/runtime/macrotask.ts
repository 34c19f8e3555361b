/**
 * The runtime seam for "run after the current burst of work". A linger of 0 ms sends a
 * partial batch here rather than on a microtask: a caller awaiting `send()` in a loop never
 * yields to macrotasks, so its records fill batches instead of leaving one request each.
 *
 * @module
 */

type Immediate = (fn: () => void) => unknown;

const immediate: Immediate = typeof (globalThis as { setImmediate?: Immediate }).setImmediate === "function"
  ? (globalThis as unknown as { setImmediate: Immediate }).setImmediate
  : (fn) => setTimeout(fn, 0);

/** Runs `fn` as a macrotask, after pending microtasks and I/O callbacks. */
export function macrotask(fn: () => void): void {
  immediate(fn);
}
