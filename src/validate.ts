/**
 * The checks every config parser shares, so that each names the bad field and the bad value
 * the same way.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";
import type { Clock } from "./runtime/clock.ts";

/** A short, safe description of a value for an error message. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (typeof value === "object") return (value as object).constructor?.name ?? "an object";
  return typeof value;
}

/** A plain object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Something with the {@link Clock} methods. */
export function isClock(value: unknown): value is Clock {
  return isObject(value) && typeof value.now === "function" && typeof value.setTimeout === "function" &&
    typeof value.clearTimeout === "function";
}

/**
 * Throws for a key that is not an option. A misspelt key (`maxRetry`, `dropResponses`) would
 * otherwise silently mean "use the default".
 */
export function rejectUnknownKeys(input: object, known: readonly string[], field: string, hint = ""): void {
  for (const key of Object.keys(input)) {
    if (!known.includes(key)) {
      throw new ConfigError(
        field ? `${field}.${key}` : key,
        `unknown option "${key}"${hint}; expected one of ${known.join(", ")}`,
      );
    }
  }
}

/**
 * An options object whose keys are all known, or a {@link ConfigError} naming `field` (not an
 * object) or the unknown key.
 */
export function checkOptions(input: unknown, known: readonly string[], field: string): asserts input is object {
  if (!isObject(input)) throw new ConfigError(field, `expected an object, got ${describe(input)}`);
  rejectUnknownKeys(input, known, field);
}

/** An integer from `min` to `max`, or a {@link ConfigError} naming `field`. */
export function integerIn(field: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new ConfigError(field, `expected an integer ${range}, got ${describe(value)}`);
  }
  return value;
}
