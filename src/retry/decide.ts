/**
 * Whether a failed attempt is tried again, and after how long, and how long an attempt may
 * wait so that its retry still fits. Both are pure functions of the policy, the attempts so
 * far and the time spent (and the error), so the actor that drives retries holds no retry
 * logic of its own and every outcome can be tested alone.
 *
 * @module
 */

import { type ExhaustedReason, isRetriable } from "../errors.ts";
import { backoffDelay } from "./backoff.ts";
import type { RetryPolicy } from "./policy.ts";

/** Retry after `delay` ms, or stop for `reason`. */
export type RetryDecision =
  | { readonly retry: true; readonly delay: number }
  | { readonly retry: false; readonly reason: ExhaustedReason };

/**
 * Decides what follows a failed attempt. Checked in this order:
 *
 * 1. the error is not retriable → `"not-retriable"` (sending it again cannot help);
 * 2. `attempts > policy.maxRetries`, i.e. the first attempt and all `maxRetries` retries are
 *    spent → `"max-retries"`;
 * 3. the next attempt would start at or after `policy.timeout` → `"timeout"`; the retry is
 *    refused up front rather than slept for and then abandoned;
 * 4. otherwise retry after `backoffDelay(policy, attempts, random)`.
 *
 * @param attempts - attempts already made, including the one that just failed (>= 1).
 * @param elapsedMs - time since the first attempt started.
 * @param error - what the last attempt failed with; only {@link isRetriable} errors are retried.
 * @param random - passed to {@link backoffDelay} for jitter.
 * @throws RangeError if `attempts` is not an integer >= 1 or `elapsedMs` is not a finite number >= 0.
 */
export function decideRetry(
  policy: RetryPolicy,
  attempts: number,
  elapsedMs: number,
  error: unknown,
  random?: () => number,
): RetryDecision {
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new RangeError(`attempts must be an integer >= 1, got ${attempts}`);
  }
  // A NaN elapsed time would never compare as past the timeout and retry until maxRetries.
  if (!Number.isFinite(elapsedMs) || elapsedMs < 0) {
    throw new RangeError(`elapsedMs must be a finite number >= 0, got ${elapsedMs}`);
  }
  if (!isRetriable(error)) return { retry: false, reason: "not-retriable" };
  if (attempts > policy.maxRetries) return { retry: false, reason: "max-retries" };
  const delay = backoffDelay(policy, attempts, random);
  if (elapsedMs + delay >= policy.timeout) return { retry: false, reason: "timeout" };
  return { retry: true, delay };
}

/**
 * How long attempt number `attempts` may wait for its response, so that a timed-out attempt
 * still leaves room for the retry the policy promises:
 *
 * - the last attempt the policy allows (`attempts > maxRetries`), or one after which even the
 *   next backoff no longer fits in what is left of `policy.timeout`, may use all that is left;
 * - any other attempt gets at most half of what is left after the longest next backoff
 *   (jitter included), so when it times out the backoff and a retry of at least as long
 *   still fit, and {@link decideRetry} says retry.
 *
 * Either way an attempt never waits longer than `requestTimeout`, nor less than 1 ms.
 *
 * @param attempts - the attempt about to start, 1-based.
 * @param elapsedMs - time since the first attempt started.
 */
export function attemptTimeout(
  policy: RetryPolicy,
  attempts: number,
  elapsedMs: number,
  requestTimeout: number,
): number {
  const left = policy.timeout - elapsedMs;
  let budget = left;
  if (attempts <= policy.maxRetries) {
    const unjittered = backoffDelay({ ...policy, jitter: 0 }, attempts);
    const longest = Math.min(unjittered * (1 + policy.jitter), policy.maxDelay);
    if (left > longest) budget = (left - longest) / 2;
  }
  return Math.max(1, Math.floor(Math.min(requestTimeout, budget)));
}
