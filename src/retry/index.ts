/**
 * Retry policies for producers: validated configuration, backoff delays and the
 * retry-or-stop decision.
 *
 * @module
 */

export { DEFAULT_RETRY_POLICY, retryPolicy, type RetryPolicy, type RetryStrategy } from "./policy.ts";
export { backoffDelay, backoffDelays } from "./backoff.ts";
export { decideRetry, type RetryDecision } from "./decide.ts";
