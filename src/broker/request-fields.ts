/**
 * Checks on the fields of a request as it arrives. A request crosses a transport as plain
 * data, so its fields may be anything; a bad one is the sender's bug, answered with
 * `REQUEST_INVALID` naming the field, never a broker crash or a silent default.
 *
 * @module
 */
import { AcktorError } from "../errors.ts";
import { describe } from "../validate.ts";

function invalid(field: string, expected: string, value: unknown): AcktorError {
  return new AcktorError(
    "REQUEST_INVALID",
    `invalid request field "${field}": expected ${expected}, got ${describe(value)}`,
  );
}

/** An integer of at least `min`. */
export function wireInteger(field: string, value: unknown, min = 0): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw invalid(field, `an integer >= ${min}`, value);
  }
  return value;
}

/** A non-empty string. */
export function wireString(field: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0) throw invalid(field, "a non-empty string", value);
  return value;
}

/** A boolean. */
export function wireBoolean(field: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw invalid(field, "a boolean", value);
  return value;
}

/** An array (typed as the protocol declares it, checked because the wire may not match). */
export function wireArray<T>(field: string, value: readonly T[]): readonly T[] {
  if (!Array.isArray(value)) throw invalid(field, "an array", value);
  return value;
}

/**
 * An optional per-record column of a produce request: absent (or null), or an array with one
 * slot per record. A shorter one would silently drop the last records' headers or timestamps.
 */
export function wireColumn<T>(
  field: string,
  value: readonly T[] | null | undefined,
  records: number,
): readonly T[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.length !== records) throw invalid(field, `an array of ${records} entries`, value);
  return value;
}
