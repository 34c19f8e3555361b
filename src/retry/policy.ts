/**
 * How a producer retries a failed request: how often, how long it waits in between and how
 * long it keeps trying at all. A {@link RetryPolicy} is plain, frozen data, validated once by
 * {@link retryPolicy} so that the backoff and decision code can trust every field.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { checkOptions, describe } from "../validate.ts";

/**
 * How the delay between retries grows (Fluvio's strategies, with tokio-retry's semantics):
 *
 * - `"fixed"`: every delay is `initialDelay`.
 * - `"fibonacci"`: `initialDelay * fib(n)`, i.e. 10 ms gives 10, 10, 20, 30, 50, ...
 * - `"exponential"`: `initialDelay ** n`, the base itself raised to the retry number, not a
 *   doubling: 10 ms gives 10, 100, 1000, ... An `initialDelay` of 1 ms therefore never grows,
 *   and one below 1 ms shrinks.
 *
 * Every strategy is capped at {@link RetryPolicy.maxDelay}.
 */
export type RetryStrategy = "fixed" | "fibonacci" | "exponential";

/** When and how often a failed request is sent again. All durations are in milliseconds. */
export interface RetryPolicy {
  /** Retries after the first attempt; a run makes at most `maxRetries + 1` attempts. */
  readonly maxRetries: number;
  /** The first delay, and the base that {@link RetryStrategy} grows from. */
  readonly initialDelay: number;
  /** No delay is longer than this, whatever the strategy or jitter. */
  readonly maxDelay: number;
  /**
   * Bounds all attempts and the sleeps between them together, measured from the start of the
   * first attempt: no attempt starts once it has passed.
   */
  readonly timeout: number;
  /** How the delay grows from one retry to the next. */
  readonly strategy: RetryStrategy;
  /**
   * A fraction in [0, 1]: each delay is spread uniformly over ±`jitter` of itself, so that
   * producers failing together do not retry together. 0 turns it off; KafkaJS uses 0.2.
   */
  readonly jitter: number;
}

/** Fluvio's defaults: 4 retries, exponential from 20 ms, capped at 200 s, 300 s in all, no jitter. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxRetries: 4,
  initialDelay: 20,
  maxDelay: 200_000,
  timeout: 300_000,
  strategy: "exponential",
  jitter: 0,
});

const STRATEGIES: readonly RetryStrategy[] = ["fixed", "fibonacci", "exponential"];
const KEYS = Object.keys(DEFAULT_RETRY_POLICY) as readonly (keyof RetryPolicy)[];

/**
 * Builds a complete, frozen {@link RetryPolicy} from the fields given, the rest taken from
 * {@link DEFAULT_RETRY_POLICY}. A field given as `undefined` counts as not given.
 *
 * @param input - the fields to override.
 * @param field - the config path of `input`, used to name the offending field in errors.
 * @throws {@link ConfigError} naming the field (e.g. `retry.maxDelay`) when `input` is not an
 *   object, has a key that is not a policy field, or has a value of the wrong type or range.
 */
export function retryPolicy(input?: Partial<RetryPolicy>, field = "retry"): RetryPolicy {
  if (input === undefined) return DEFAULT_RETRY_POLICY;
  checkOptions(input, KEYS, field);

  // Each field is read once, so a getter cannot hand validation one value and the policy another.
  const values = new Map<keyof RetryPolicy, unknown>(KEYS.map((key) => [key, input[key]]));
  const given = (key: keyof RetryPolicy): unknown => values.get(key);
  // Only `undefined` means "not given": a `null` is a mistake worth reporting, not a default.
  const pick = (key: keyof RetryPolicy): unknown => (given(key) === undefined ? DEFAULT_RETRY_POLICY[key] : given(key));
  const at = (key: keyof RetryPolicy): string => `${field}.${key}`;

  const maxRetries = pick("maxRetries");
  if (typeof maxRetries !== "number" || !Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new ConfigError(at("maxRetries"), `expected a non-negative integer, got ${describe(maxRetries)}`);
  }
  const initialDelay = pick("initialDelay");
  if (!isFiniteAtLeastZero(initialDelay)) {
    throw new ConfigError(at("initialDelay"), `expected a finite number of ms >= 0, got ${describe(initialDelay)}`);
  }
  const maxDelay = pick("maxDelay");
  if (!isFiniteAtLeastZero(maxDelay)) {
    throw new ConfigError(at("maxDelay"), `expected a finite number of ms >= 0, got ${describe(maxDelay)}`);
  }
  const timeout = pick("timeout");
  if (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout <= 0) {
    throw new ConfigError(at("timeout"), `expected a finite number of ms > 0, got ${describe(timeout)}`);
  }
  const strategy = pick("strategy");
  if (!(STRATEGIES as readonly unknown[]).includes(strategy)) {
    throw new ConfigError(
      at("strategy"),
      `expected one of ${STRATEGIES.map((s) => `"${s}"`).join(", ")}, got ${describe(strategy)}`,
    );
  }
  const jitter = pick("jitter");
  if (typeof jitter !== "number" || !(jitter >= 0 && jitter <= 1)) {
    throw new ConfigError(at("jitter"), `expected a fraction in [0, 1], got ${describe(jitter)}`);
  }
  if (maxDelay < initialDelay) {
    // Often only one side was given; saying which value is the default makes the fix obvious.
    const note = (key: keyof RetryPolicy): string => (given(key) === undefined ? " (default)" : "");
    throw new ConfigError(
      at("maxDelay"),
      `${maxDelay}${note("maxDelay")} is less than initialDelay ${initialDelay}${note("initialDelay")}`,
    );
  }

  return Object.freeze({ maxRetries, initialDelay, maxDelay, timeout, strategy: strategy as RetryStrategy, jitter });
}

function isFiniteAtLeastZero(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

/** The policy of at-most-once: each batch is sent exactly once. */
export const NO_RETRY: RetryPolicy = retryPolicy({
  maxRetries: 0,
  initialDelay: 0,
  maxDelay: 0,
  timeout: Number.MAX_SAFE_INTEGER,
});
