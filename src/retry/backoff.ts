/**
 * The delay before each retry, as a pure function of the policy and the retry number (and,
 * with jitter, of an injectable random source), so a seeded run sleeps exactly as long as the
 * last one.
 *
 * @module
 */

import type { RetryPolicy } from "./policy.ts";

/**
 * The sleep before retry number `retry` (1-based: 1 is the first retry, after the first
 * attempt failed), in milliseconds, following {@link RetryPolicy.strategy} and capped at
 * {@link RetryPolicy.maxDelay}. With jitter `j` the delay becomes
 * `delay * (1 + j * (2 * random() - 1))`, then is capped again and never negative; `random`
 * is only called when `j > 0`.
 *
 * @param policy - a policy built by `retryPolicy`, whose fields are trusted.
 * @param retry - the retry number, an integer >= 1.
 * @param random - a source of numbers in [0, 1); inject a seeded one for deterministic runs.
 * @throws RangeError if `retry` is not an integer >= 1.
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  if (!Number.isInteger(retry) || retry < 1) throw new RangeError(`retry must be an integer >= 1, got ${retry}`);
  // Capping before jitter keeps an overflowed (Infinity) delay from turning into NaN when the
  // jitter factor is 0; capping after keeps the jittered delay within the promise of maxDelay.
  const delay = Math.min(uncappedDelay(policy, retry), policy.maxDelay);
  if (policy.jitter === 0) return delay;
  const jittered = delay * (1 + policy.jitter * (2 * random() - 1));
  return Math.min(Math.max(jittered, 0), policy.maxDelay);
}

/**
 * The first `count` delays of the policy, without jitter: `[backoffDelay(policy, 1), ...]`.
 * Handy for documentation and tests.
 *
 * @throws RangeError if `count` is not a non-negative integer.
 */
export function backoffDelays(policy: RetryPolicy, count: number = policy.maxRetries): number[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  const unjittered: RetryPolicy = { ...policy, jitter: 0 };
  return Array.from({ length: count }, (_, i) => backoffDelay(unjittered, i + 1));
}

/** The strategy's delay before the cap; may be Infinity for large `retry`, never NaN. */
function uncappedDelay(policy: RetryPolicy, retry: number): number {
  const { initialDelay, maxDelay } = policy;
  switch (policy.strategy) {
    case "fixed":
      return initialDelay;
    case "exponential":
      // tokio-retry's ExponentialBackoff: the base in ms raised to the retry number.
      return initialDelay ** retry;
    case "fibonacci": {
      // 0 * fib(n) would be 0 * Infinity = NaN once fib overflows.
      if (initialDelay === 0) return 0;
      let previous = 0;
      let current = 1; // fib(1)
      for (let n = 1; n < retry; n++) {
        // fib never shrinks, so once the cap is reached every later delay is the cap; stopping
        // here also bounds the loop (fib overflows to Infinity after ~1500 terms).
        if (initialDelay * current >= maxDelay) break;
        [previous, current] = [current, previous + current];
      }
      return initialDelay * current;
    }
  }
}
