import { InvalidRecordError } from "../errors.ts";
import type { Bytes } from "../transport/protocol.ts";
import { describe } from "../validate.ts";

/** A record key: bytes, a string (sent as UTF-8), or none. */
export type RecordKey = Bytes | string | null | undefined;
/** A record value: bytes, or a string (sent as UTF-8). */
export type RecordValue = Bytes | string;

const utf8 = new TextEncoder();

/** The bytes of a value; anything else is refused before it is accepted. */
export function valueBytes(value: RecordValue): Bytes {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return utf8.encode(value);
  throw new InvalidRecordError("value", `expected a Uint8Array or a string, got ${describe(value)}`);
}

/** The bytes of a key, or null for a keyless record. */
export function keyBytes(key: RecordKey): Bytes | null {
  if (key === null || key === undefined) return null;
  if (key instanceof Uint8Array) return key;
  if (typeof key === "string") return utf8.encode(key);
  throw new InvalidRecordError("key", `expected a Uint8Array, a string, null or undefined, got ${describe(key)}`);
}
