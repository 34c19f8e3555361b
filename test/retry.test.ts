import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import fc from "fast-check";
import {
  ConfigError,
  DisconnectedError,
  InvalidRecordError,
  NotLeaderError,
  RequestTimedOutError,
} from "../src/errors.ts";
import {
  backoffDelay,
  backoffDelays,
  decideRetry,
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  retryPolicy,
  type RetryStrategy,
} from "../src/internal.ts";

/** mulberry32: a tiny seeded generator of numbers in [0, 1), so jitter runs are reproducible. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function throwsConfig(fn: () => unknown, field: string, mentions: string[] = []): void {
  try {
    fn();
  } catch (error) {
    assert.instance(error, ConfigError);
    const config = error as ConfigError;
    assert.is(config.field, field);
    assert.is(config.code, "CONFIG_INVALID");
    for (const word of mentions) assert.ok(config.message.includes(word), `"${config.message}" should mention ${word}`);
    return;
  }
  assert.unreachable(`expected a ConfigError for ${field}`);
}

const STRATEGIES: RetryStrategy[] = ["fixed", "fibonacci", "exponential"];
const neverCalled = (): number => {
  throw new Error("random must not be called without jitter");
};

// --- policy ---------------------------------------------------------------------------

test("defaults are Fluvio's and frozen", () => {
  assert.equal({ ...DEFAULT_RETRY_POLICY }, {
    maxRetries: 4,
    initialDelay: 20,
    maxDelay: 200_000,
    timeout: 300_000,
    strategy: "exponential",
    jitter: 0,
  });
  assert.ok(Object.isFrozen(DEFAULT_RETRY_POLICY));
  assert.equal({ ...retryPolicy() }, { ...DEFAULT_RETRY_POLICY });
  assert.equal({ ...retryPolicy({}) }, { ...DEFAULT_RETRY_POLICY });
});

test("retryPolicy merges over the defaults and freezes the result", () => {
  const policy = retryPolicy({ maxRetries: 5, strategy: "fibonacci", jitter: 0.2 });
  assert.equal({ ...policy }, { ...DEFAULT_RETRY_POLICY, maxRetries: 5, strategy: "fibonacci", jitter: 0.2 });
  assert.ok(Object.isFrozen(policy));
  assert.equal({ ...retryPolicy({ maxRetries: undefined }) }, { ...DEFAULT_RETRY_POLICY });
  assert.equal({ ...retryPolicy({ maxRetries: 0, initialDelay: 0, maxDelay: 0, jitter: 1 }) }, {
    ...DEFAULT_RETRY_POLICY,
    maxRetries: 0,
    initialDelay: 0,
    maxDelay: 0,
    jitter: 1,
  });
});

test("retryPolicy rejects an input that is not an object", () => {
  for (const bad of [null, 5, "fast", true, [], () => 1]) {
    throwsConfig(() => retryPolicy(bad as unknown as Partial<RetryPolicy>), "retry", ["expected an object"]);
  }
});

test("retryPolicy names unknown keys instead of ignoring them", () => {
  throwsConfig(() => retryPolicy({ maxRetry: 3 } as unknown as Partial<RetryPolicy>), "retry.maxRetry", [
    "maxRetry",
    "maxRetries",
  ]);
  throwsConfig(() => retryPolicy({ backoff: "fixed" } as unknown as Partial<RetryPolicy>), "retry.backoff", [
    "backoff",
  ]);
});

test("retryPolicy prefixes the field with its config path", () => {
  throwsConfig(() => retryPolicy({ maxDelay: -1 }, "deliverySemantic.retry"), "deliverySemantic.retry.maxDelay");
  throwsConfig(
    () => retryPolicy(null as unknown as Partial<RetryPolicy>, "deliverySemantic.retry"),
    "deliverySemantic.retry",
  );
});

test("retryPolicy validates maxRetries", () => {
  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "3", null]) {
    throwsConfig(() => retryPolicy({ maxRetries: bad as number }), "retry.maxRetries", ["non-negative integer"]);
  }
});

test("retryPolicy validates initialDelay and maxDelay", () => {
  for (const key of ["initialDelay", "maxDelay"] as const) {
    for (const bad of [-1, -0.001, Number.NaN, Number.POSITIVE_INFINITY, "10", null]) {
      throwsConfig(
        () => retryPolicy({ [key]: bad, ...(key === "initialDelay" ? { maxDelay: 1e9 } : {}) }),
        `retry.${key}`,
      );
    }
  }
});

test("retryPolicy validates timeout", () => {
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, "100"]) {
    throwsConfig(() => retryPolicy({ timeout: bad as number }), "retry.timeout", ["> 0"]);
  }
});

test("retryPolicy rejects maxDelay below initialDelay", () => {
  throwsConfig(() => retryPolicy({ initialDelay: 100, maxDelay: 50 }), "retry.maxDelay", ["initialDelay"]);
  // Only initialDelay given: the default maxDelay is the one too small, and the message says so.
  throwsConfig(() => retryPolicy({ initialDelay: 300_000 }), "retry.maxDelay", ["(default)"]);
  assert.is(retryPolicy({ initialDelay: 50, maxDelay: 50 }).maxDelay, 50);
});

test("retryPolicy names the allowed strategies", () => {
  for (const bad of ["linear", "Exponential", "", 1]) {
    throwsConfig(() => retryPolicy({ strategy: bad as RetryStrategy }), "retry.strategy", [
      '"fixed"',
      '"fibonacci"',
      '"exponential"',
    ]);
  }
});

test("retryPolicy validates jitter", () => {
  for (const bad of [-0.1, 1.1, Number.NaN, "0.2"]) {
    throwsConfig(() => retryPolicy({ jitter: bad as number }), "retry.jitter", ["[0, 1]"]);
  }
});

// --- backoff --------------------------------------------------------------------------

test("exponential is initialDelay ** n, capped (the seed example)", () => {
  const policy = retryPolicy({
    maxRetries: 5,
    initialDelay: 10,
    maxDelay: 2000,
    timeout: 10_000,
    strategy: "exponential",
  });
  assert.equal(backoffDelays(policy), [10, 100, 1000, 2000, 2000]);
  assert.equal(backoffDelays(retryPolicy({ initialDelay: 2, maxDelay: 1e9, strategy: "exponential" }), 5), [
    2,
    4,
    8,
    16,
    32,
  ]);
});

test("fibonacci is initialDelay * fib(n)", () => {
  const policy = retryPolicy({ initialDelay: 10, maxDelay: 10_000, strategy: "fibonacci" });
  assert.equal(backoffDelays(policy, 5), [10, 10, 20, 30, 50]);
  assert.equal(backoffDelays(policy, 8), [10, 10, 20, 30, 50, 80, 130, 210]);
});

test("fixed repeats initialDelay", () => {
  const policy = retryPolicy({ initialDelay: 250, strategy: "fixed" });
  assert.equal(backoffDelays(policy, 6), [250, 250, 250, 250, 250, 250]);
});

test("backoffDelays defaults to maxRetries delays", () => {
  assert.is(backoffDelays(retryPolicy({ maxRetries: 7 })).length, 7);
  assert.equal(backoffDelays(retryPolicy({ maxRetries: 0 })), []);
  assert.throws(() => backoffDelays(DEFAULT_RETRY_POLICY, -1), RangeError);
});

test("every strategy is capped by maxDelay", () => {
  for (const strategy of STRATEGIES) {
    const policy = retryPolicy({ initialDelay: 10, maxDelay: 25, strategy });
    for (const delay of backoffDelays(policy, 12)) assert.ok(delay <= 25, `${strategy}: ${delay} > 25`);
  }
  assert.equal(backoffDelays(retryPolicy({ initialDelay: 10, maxDelay: 25, strategy: "fibonacci" }), 6), [
    10,
    10,
    20,
    25,
    25,
    25,
  ]);
  assert.equal(backoffDelays(retryPolicy({ initialDelay: 10, maxDelay: 25, strategy: "exponential" }), 3), [
    10,
    25,
    25,
  ]);
  assert.equal(backoffDelays(retryPolicy({ initialDelay: 10, maxDelay: 10, strategy: "fixed" }), 3), [10, 10, 10]);
});

test("huge retry numbers cap instead of overflowing to NaN", () => {
  for (const strategy of STRATEGIES) {
    for (const initialDelay of [0, 1e-300, 0.5, 1, 10, 1e6]) {
      const policy = retryPolicy({ initialDelay, maxDelay: Math.max(initialDelay, 5000), strategy, jitter: 1 });
      for (const retry of [1, 100, 1500, 5000, 1e6, Number.MAX_SAFE_INTEGER]) {
        for (const r of [0, 0.5, 0.999999]) {
          const delay = backoffDelay(policy, retry, () => r);
          assert.ok(
            Number.isFinite(delay) && delay >= 0 && delay <= policy.maxDelay,
            `${strategy} ${initialDelay} ${retry}: ${delay}`,
          );
        }
      }
    }
  }
  assert.is(backoffDelay(retryPolicy({ initialDelay: 10, maxDelay: 2000 }), 1e6), 2000);
});

test("backoffDelay rejects a retry number below 1", () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => backoffDelay(DEFAULT_RETRY_POLICY, bad), RangeError);
});

test("random is only consulted with jitter", () => {
  const policy = retryPolicy({ initialDelay: 10, maxDelay: 2000 });
  assert.is(backoffDelay(policy, 2, neverCalled), 100);
  assert.equal(decideRetry(policy, 2, 0, new DisconnectedError(), neverCalled), { retry: true, delay: 100 });
});

test("jitter spreads delays by ±jitter, within the cap, deterministically", () => {
  for (const strategy of STRATEGIES) {
    const policy = retryPolicy({ initialDelay: 10, maxDelay: 2000, strategy, jitter: 0.2, maxRetries: 10 });
    const plain = backoffDelays(policy, 10);
    const run = (seed: number): number[] => {
      const random = seeded(seed);
      return plain.map((_, i) => backoffDelay(policy, i + 1, random));
    };
    const first = run(42);
    assert.equal(run(42), first, "same seed, same delays");
    assert.not.equal(run(7), first, "another seed, other delays");
    first.forEach((delay, i) => {
      const base = plain[i] ?? Number.NaN;
      assert.ok(delay >= base * 0.8 - 1e-9 && delay <= base * 1.2 + 1e-9, `${strategy} #${i + 1}: ${delay} vs ${base}`);
      assert.ok(delay >= 0 && delay <= policy.maxDelay, `${strategy} #${i + 1}: ${delay} over the cap`);
    });
  }
});

test("jitter extremes: random 0 and 1 give -jitter and +jitter, still capped", () => {
  const policy = retryPolicy({ initialDelay: 100, maxDelay: 110, strategy: "fixed", jitter: 0.2 });
  assert.is(backoffDelay(policy, 1, () => 0), 80);
  assert.is(backoffDelay(policy, 1, () => 0.5), 100);
  assert.is(backoffDelay(policy, 1, () => 1), 110, "120 capped at maxDelay");
  const full = retryPolicy({ initialDelay: 100, maxDelay: 1000, strategy: "fixed", jitter: 1 });
  assert.is(backoffDelay(full, 1, () => 0), 0, "never negative");
  assert.is(backoffDelay(full, 1, () => 1), 200);
});

// --- decideRetry ----------------------------------------------------------------------

const seedPolicy = retryPolicy({
  maxRetries: 5,
  initialDelay: 10,
  maxDelay: 2000,
  timeout: 10_000,
  strategy: "exponential",
});

test("decideRetry retries a retriable error with the backoff delay", () => {
  assert.equal(decideRetry(seedPolicy, 1, 0, new RequestTimedOutError(100)), { retry: true, delay: 10 });
  assert.equal(decideRetry(seedPolicy, 2, 50, new NotLeaderError("moved")), { retry: true, delay: 100 });
  assert.equal(decideRetry(seedPolicy, 5, 3000, new DisconnectedError()), { retry: true, delay: 2000 });
});

test("decideRetry never retries a non-retriable error", () => {
  for (
    const error of [new InvalidRecordError("value", "x"), new Error("boom"), "boom", undefined, { retriable: true }]
  ) {
    assert.equal(decideRetry(seedPolicy, 1, 0, error), { retry: false, reason: "not-retriable" });
  }
  // Checked first: even with no retries or time left, the reason is the error itself.
  assert.equal(decideRetry(seedPolicy, 99, 99_999, new InvalidRecordError("value", "x")), {
    retry: false,
    reason: "not-retriable",
  });
});

test("decideRetry stops after maxRetries retries", () => {
  assert.equal(decideRetry(seedPolicy, 5, 0, new RequestTimedOutError(100)).retry, true);
  assert.equal(decideRetry(seedPolicy, 6, 0, new RequestTimedOutError(100)), { retry: false, reason: "max-retries" });
  const once = retryPolicy({ maxRetries: 0 });
  assert.equal(decideRetry(once, 1, 0, new RequestTimedOutError(100)), { retry: false, reason: "max-retries" });
  // Checked before the timeout.
  assert.equal(decideRetry(seedPolicy, 6, 10_000, new RequestTimedOutError(100)), {
    retry: false,
    reason: "max-retries",
  });
});

test("decideRetry refuses a retry that would start at or after the timeout", () => {
  // Retry 3 sleeps 1000 ms.
  assert.equal(decideRetry(seedPolicy, 3, 8999, new RequestTimedOutError(100)), { retry: true, delay: 1000 });
  assert.equal(decideRetry(seedPolicy, 3, 9000, new RequestTimedOutError(100)), { retry: false, reason: "timeout" });
  assert.equal(decideRetry(seedPolicy, 3, 9500, new RequestTimedOutError(100)), { retry: false, reason: "timeout" });
  assert.equal(decideRetry(seedPolicy, 1, 10_000, new RequestTimedOutError(100)), { retry: false, reason: "timeout" });
});

test("decideRetry applies jitter through the injected random", () => {
  const jittery = retryPolicy({ ...seedPolicy, jitter: 0.2 });
  assert.equal(decideRetry(jittery, 2, 0, new DisconnectedError(), () => 1), { retry: true, delay: 120 });
  assert.equal(decideRetry(jittery, 2, 0, new DisconnectedError(), () => 0), { retry: true, delay: 80 });
  // The timeout is judged on the jittered delay: 9890 + 120 >= 10000, but 9890 + 80 < 10000.
  assert.equal(decideRetry(jittery, 2, 9890, new DisconnectedError(), () => 1), { retry: false, reason: "timeout" });
  assert.equal(decideRetry(jittery, 2, 9890, new DisconnectedError(), () => 0), { retry: true, delay: 80 });
});

test("decideRetry rejects nonsense counters", () => {
  const error = new DisconnectedError();
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => decideRetry(seedPolicy, bad, 0, error), RangeError);
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => decideRetry(seedPolicy, 1, bad, error), RangeError);
  }
});

test("a full run makes 1 + maxRetries attempts and sleeps the documented delays", () => {
  const slept: number[] = [];
  let elapsed = 0;
  let attempts = 1;
  for (;;) {
    const decision = decideRetry(seedPolicy, attempts, elapsed, new RequestTimedOutError(100));
    if (!decision.retry) {
      assert.is(decision.reason, "max-retries");
      break;
    }
    slept.push(decision.delay);
    elapsed += decision.delay;
    attempts++;
  }
  assert.is(attempts, 6);
  assert.equal(slept, [10, 100, 1000, 2000, 2000]);
});

// --- properties -----------------------------------------------------------------------

const policyArbitrary = fc
  .record({
    maxRetries: fc.integer({ min: 0, max: 50 }),
    initialDelay: fc.double({ min: 0, max: 1e6, noNaN: true, noDefaultInfinity: true }),
    extra: fc.double({ min: 0, max: 1e9, noNaN: true, noDefaultInfinity: true }),
    timeout: fc.double({ min: 1, max: 1e9, noNaN: true, noDefaultInfinity: true }),
    strategy: fc.constantFrom<RetryStrategy>(...STRATEGIES),
    jitter: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ extra, ...rest }) => retryPolicy({ ...rest, maxDelay: rest.initialDelay + extra }));

test("property: delays are finite and within [0, maxDelay]", () => {
  fc.assert(
    fc.property(
      policyArbitrary,
      fc.integer({ min: 1, max: 5000 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (policy, n, r) => {
        const delay = backoffDelay(policy, n, () => r);
        return Number.isFinite(delay) && delay >= 0 && delay <= policy.maxDelay;
      },
    ),
    { numRuns: 500 },
  );
});

test("property: exponential (initialDelay >= 1) and fibonacci never shrink", () => {
  const growing = policyArbitrary.filter(
    (policy) => policy.strategy === "fibonacci" || (policy.strategy === "exponential" && policy.initialDelay >= 1),
  );
  fc.assert(
    fc.property(growing, fc.integer({ min: 1, max: 200 }), (policy, n) => {
      const delays = backoffDelays(policy, n);
      return delays.every((delay, i) => Number.isFinite(delay) && (i === 0 || delay >= (delays[i - 1] ?? Number.NaN)));
    }),
    { numRuns: 300 },
  );
});

test.run();
