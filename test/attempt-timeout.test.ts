/** The policy timeout rule: an attempt that times out leaves room for the retry its policy promises. */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { RequestTimedOutError } from "../src/errors.ts";
import { backoffDelay } from "../src/retry/backoff.ts";
import { attemptTimeout, decideRetry } from "../src/retry/decide.ts";
import { retryPolicy } from "../src/retry/policy.ts";

const readme = retryPolicy({
  maxRetries: 5,
  initialDelay: 10,
  maxDelay: 2000,
  timeout: 10_000,
  strategy: "exponential",
});

test("the README policy's first attempt waits half of what is left after its backoff, not the whole timeout", () => {
  assert.is(attemptTimeout(readme, 1, 0, 30_000), 4_995);
  // A short requestTimeout is kept.
  assert.is(attemptTimeout(readme, 1, 0, 1_000), 1_000);
  // The last attempt the policy allows may use all that is left.
  assert.is(attemptTimeout(readme, 6, 9_000, 30_000), 1_000);
  // So may one after which no backoff fits any more.
  assert.is(attemptTimeout(readme, 3, 9_500, 30_000), 500);
});

test("an attempt that times out before the last is always retried while a backoff fits", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 0, max: 500 }),
      fc.integer({ min: 0, max: 5_000 }),
      fc.integer({ min: 1, max: 100_000 }),
      fc.constantFrom("fixed", "fibonacci", "exponential"),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.integer({ min: 1, max: 60_000 }),
      fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
      (maxRetries, initialDelay, extra, timeout, strategy, jitter, requestTimeout, random) => {
        const policy = retryPolicy({
          maxRetries,
          initialDelay,
          maxDelay: initialDelay + extra,
          timeout,
          strategy: strategy as "fixed",
          jitter,
        });
        let elapsed = 0;
        for (let attempts = 1; attempts <= maxRetries; attempts++) {
          const left = policy.timeout - elapsed;
          const longest = Math.min(backoffDelay({ ...policy, jitter: 0 }, attempts) * (1 + jitter), policy.maxDelay);
          // Under 2 ms of room the 1 ms floor of an attempt may eat it; no backoff fits then anyway.
          if (left <= longest + 2) return;
          const wait = attemptTimeout(policy, attempts, elapsed, requestTimeout);
          assert.ok(wait >= 1 && wait <= requestTimeout);
          elapsed += wait;
          const decision = decideRetry(policy, attempts, elapsed, new RequestTimedOutError(wait), () => random);
          assert.ok(decision.retry, `attempt ${attempts} timed out with no room left to retry`);
          elapsed += decision.retry ? decision.delay : 0;
        }
      },
    ),
  );
});

test.run();
