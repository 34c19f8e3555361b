/**
 * Control requests with retries: metadata, producer ids, transaction steps, group membership
 * and offset commits. Each of these is safe to repeat (the broker makes a repeat harmless),
 * so a retriable failure is always worth another try; data writes are not, and go through
 * the request machine instead.
 *
 * @module
 */
import { DeliveryFailedError, errorFromWire } from "../errors.ts";
import { decideRetry } from "../retry/decide.ts";
import { retryPolicy } from "../retry/policy.ts";
import { type Clock, sleep } from "../runtime/clock.ts";
import type { Request, ResponseFor } from "./protocol.ts";
import type { Transport } from "./transport.ts";

/** How {@link call} paces and bounds its attempts. */
export interface CallOptions {
  readonly clock: Clock;
  /** Per attempt. */
  readonly requestTimeout: number;
  /** Over all attempts. */
  readonly timeout: number;
}

/** The successful answer to request type `R`. */
export type Answer<R extends Request> = Extract<ResponseFor<R>, { ok: true }>;

/**
 * Sends `request` until it succeeds, retrying retriable failures with a short exponential
 * backoff. Throws the broker's typed error when it is not retriable, or a
 * {@link DeliveryFailedError} when retries or time run out.
 */
export async function call<R extends Request>(
  transport: Transport,
  request: R,
  options: CallOptions,
): Promise<Answer<R>> {
  const { clock, requestTimeout } = options;
  const policy = retryPolicy({
    maxRetries: 20,
    initialDelay: 2,
    maxDelay: 1000,
    timeout: Math.max(requestTimeout, options.timeout),
  });
  const started = clock.now();
  for (let attempts = 1;; attempts++) {
    let error: unknown;
    try {
      const answer = await transport.request(request, { timeoutMs: requestTimeout });
      if (answer.ok) return answer as Answer<R>;
      error = errorFromWire(answer.error);
    } catch (thrown) {
      error = thrown;
    }
    const decision = decideRetry(policy, attempts, clock.now() - started, error);
    if (!decision.retry) {
      throw decision.reason === "not-retriable" ? error : new DeliveryFailedError(attempts, decision.reason, error);
    }
    await sleep(clock, decision.delay);
  }
}
