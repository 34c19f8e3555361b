/**
 * A broker error as the `ok: false` answer a transport carries: the broker never rejects a
 * request's promise, so a client sees every refusal as a typed, wire-safe error.
 *
 * @module
 */
import { AcktorError, errorToWire, type WireError } from "../errors.ts";

/** The refusal answer for `error`; anything that is not an {@link AcktorError} becomes `INTERNAL`. */
export function failure(error: unknown): { ok: false; error: WireError } {
  const typed = error instanceof AcktorError
    ? error
    : new AcktorError("INTERNAL", `broker failure: ${String(error)}`, { cause: error });
  return { ok: false, error: errorToWire(typed) };
}
