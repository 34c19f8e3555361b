import { InvalidRecordError } from "../errors.ts";
import { recordHeaders, type RecordHeadersInit } from "../transport/headers.ts";
import type { Bytes, RecordHeaders } from "../transport/protocol.ts";
import { describe, isObject } from "../validate.ts";

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

/** What `send()` takes besides the key and value. */
export interface SendOptions {
  /**
   * Names to `Uint8Array`s or strings (sent as UTF-8). A name is printable ASCII without
   * ":" and may not start with `Acktor-` or `Nats-`; readers get the values as bytes.
   */
  readonly headers?: RecordHeadersInit | undefined;
  /** Ms since the epoch; default: the producer clock's time at `send()` (Kafka's CreateTime). */
  readonly timestamp?: number | undefined;
}

const SEND_OPTIONS = ["headers", "timestamp"];

/**
 * Checks `send()`'s options and returns the record's encoded headers, or null for none. The
 * timestamp is left to {@link recordTimestamp}: its default is the producer's clock.
 */
export function optionHeaders(options: SendOptions): RecordHeaders | null {
  if (!isObject(options as unknown)) {
    throw new InvalidRecordError(
      "options",
      `expected an object with headers and/or timestamp, got ${describe(options)}`,
    );
  }
  for (const name in options) {
    if (!SEND_OPTIONS.includes(name)) {
      throw new InvalidRecordError("options", `unknown option "${name}"; expected headers or timestamp`);
    }
  }
  return recordHeaders(options.headers);
}
