/**
 * What the retry module says when it refuses: the exact RangeError and ConfigError messages
 * (the field, the bound and which side was a default), and `attemptTimeout` with jitter and at
 * the edge where what is left equals the longest backoff. Written to kill the StrykerJS
 * survivors of `npm run mutate -- --mutate 'src/retry/**'`.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { ConfigError, DisconnectedError, RequestTimedOutError } from "../src/errors.ts";
import { backoffDelay, backoffDelays, decideRetry, retryPolicy } from "../src/internal.ts";
import { attemptTimeout } from "../src/retry/decide.ts";
import { NO_RETRY } from "../src/retry/policy.ts";

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  assert.unreachable("expected a throw");
  return "";
}

const policy = retryPolicy({ maxRetries: 3, initialDelay: 100, maxDelay: 1000, timeout: 10_000, strategy: "fixed" });

test("RangeErrors name the argument, the bound and the value", () => {
  assert.is(message(() => backoffDelay(policy, 0)), "retry must be an integer >= 1, got 0");
  assert.is(message(() => backoffDelays(policy, -1)), "count must be a non-negative integer, got -1");
  assert.is(
    message(() => decideRetry(policy, 0, 0, new DisconnectedError())),
    "attempts must be an integer >= 1, got 0",
  );
  assert.is(
    message(() => decideRetry(policy, -3, 0, new DisconnectedError())),
    "attempts must be an integer >= 1, got -3",
  );
  assert.is(
    message(() => decideRetry(policy, 1, -1, new DisconnectedError())),
    "elapsedMs must be a finite number >= 0, got -1",
  );
});

test("ConfigErrors say what was expected", () => {
  assert.ok(message(() => retryPolicy({ maxDelay: -1 })).includes("expected a finite number of ms >= 0, got -1"));
  const strategy = message(() => retryPolicy({ strategy: "linear" as never }));
  assert.ok(strategy.includes(`expected one of "fixed", "fibonacci", "exponential"`), strategy);
});

test("maxDelay below initialDelay: the message marks which side is the default", () => {
  const cases: [Parameters<typeof retryPolicy>[0], string][] = [
    [{ maxDelay: 5 }, "5 is less than initialDelay 20 (default)"],
    [{ initialDelay: 300_000 }, "200000 (default) is less than initialDelay 300000"],
    [{ initialDelay: 500, maxDelay: 100 }, "100 is less than initialDelay 500"],
  ];
  for (const [input, text] of cases) {
    try {
      retryPolicy(input);
      assert.unreachable("expected a ConfigError");
    } catch (error) {
      assert.instance(error, ConfigError);
      assert.is((error as ConfigError).field, "retry.maxDelay");
      assert.ok((error as Error).message.endsWith(text), `"${(error as Error).message}" should end with "${text}"`);
    }
  }
});

test("attemptTimeout leaves room for the longest jittered backoff", () => {
  const jittery = retryPolicy({ ...policy, jitter: 0.5 });
  // Longest next backoff: 100 * 1.5 = 150; (10000 - 150) / 2 = 4925.
  assert.is(attemptTimeout(jittery, 1, 0, 1e9), 4925);
  // The jittered bound is still capped at maxDelay: 900 * 1.5 = 1350 -> 1000.
  const capped = retryPolicy({ ...policy, initialDelay: 900, jitter: 0.5 });
  assert.is(attemptTimeout(capped, 1, 0, 1e9), 4500);
});

test("attemptTimeout: when what is left equals the longest backoff, the attempt may use it all", () => {
  // left = 10000 - 9900 = 100 = the next backoff: no retry would fit, so no halving.
  assert.is(attemptTimeout(policy, 1, 9900, 1e9), 100);
  // One ms more left and the attempt is halved around the backoff: (101 - 100) / 2, at least 1.
  assert.is(attemptTimeout(policy, 1, 9899, 1e9), 1);
  assert.is(attemptTimeout(policy, 1, 9800, 1e9), 50);
});

test("NO_RETRY makes exactly one attempt and never times out first", () => {
  assert.equal({ ...NO_RETRY }, {
    maxRetries: 0,
    initialDelay: 0,
    maxDelay: 0,
    timeout: Number.MAX_SAFE_INTEGER,
    strategy: "exponential",
    jitter: 0,
  });
  assert.equal(decideRetry(NO_RETRY, 1, 0, new RequestTimedOutError(5)), { retry: false, reason: "max-retries" });
});

test.run();
