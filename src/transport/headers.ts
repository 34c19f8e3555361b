/**
 * Record headers and timestamps: what `send()` accepts, what counts toward a record's size,
 * and the rules every engine shares. The producer checks a record against them before it
 * accepts it, so a record accepted once is valid on every engine (the embedded broker, NATS
 * in either framing) and nothing invalid is ever sent.
 *
 * @module
 */
import { InvalidRecordError } from "../errors.ts";
import { describe } from "../validate.ts";
import type { Bytes, RecordHeaders } from "./protocol.ts";

/** Headers as `send()` takes them: names to bytes, or to strings (sent as UTF-8). */
export type RecordHeadersInit = Readonly<Record<string, Bytes | string>>;

/**
 * The headers of a record without any: one shared, frozen object, so a headerless record
 * costs no allocation on either side.
 */
export const EMPTY_HEADERS: RecordHeaders = Object.freeze({});

/** The most headers a record may carry, and the longest name: what a batch frame can hold. */
const MAX_HEADERS = 65_535;
const MAX_NAME_LENGTH = 65_535;
const utf8 = new TextEncoder();

/**
 * True for a name a user header may not have: one starting, in any case, with `Acktor-`
 * (acktor's own: the key, the timestamp, frames and binary values on NATS) or `Nats-` (the
 * NATS server's: `Nats-Msg-Id` would change deduplication, `Nats-Expected-*` fail writes).
 */
export function reservedHeaderName(name: string): boolean {
  const lower = name.slice(0, 7).toLowerCase();
  return lower.startsWith("acktor-") || lower.startsWith("nats-");
}

/**
 * A name that can travel as a NATS message header: printable ASCII (33 to 126) without a
 * colon, RFC 822's field name. Checked on every engine, so that a record stays portable.
 */
function validName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 33 || c > 126 || c === 58) return false;
  }
  return true;
}

/**
 * Checks `send()`'s headers and encodes them: a frozen copy with string values as UTF-8, or
 * null when there are none (so a record with `{}` costs what one without headers costs).
 * Throws {@link InvalidRecordError} (field `headers`) for anything but a plain object of
 * valid names to `Uint8Array`s or strings.
 */
export function recordHeaders(input: unknown): RecordHeaders | null {
  if (input === undefined || input === null) return null;
  const proto = typeof input === "object" ? Object.getPrototypeOf(input) : undefined;
  if (Array.isArray(input) || (proto !== Object.prototype && proto !== null)) {
    throw new InvalidRecordError(
      "headers",
      `expected a plain object of names to Uint8Arrays or strings, got ${describe(input)}`,
    );
  }
  const names = Object.keys(input as object);
  if (names.length === 0) return null;
  if (names.length > MAX_HEADERS) {
    throw new InvalidRecordError("headers", `at most ${MAX_HEADERS} headers per record, got ${names.length}`);
  }
  const out: Record<string, Bytes> = {};
  for (const name of names) {
    if (!validName(name)) {
      throw new InvalidRecordError(
        "headers",
        `header name ${
          JSON.stringify(name)
        } must be 1 to ${MAX_NAME_LENGTH} printable ASCII characters without ":" (so it can travel as a NATS header)`,
      );
    }
    if (reservedHeaderName(name)) {
      throw new InvalidRecordError(
        "headers",
        `header name ${
          JSON.stringify(name)
        } is reserved: names starting with "Acktor-" or "Nats-" belong to acktor and the NATS server`,
      );
    }
    const value = (input as Record<string, unknown>)[name];
    if (value instanceof Uint8Array) put(out, name, value);
    else if (typeof value === "string") put(out, name, utf8.encode(value));
    else {
      throw new InvalidRecordError(
        "headers",
        `header ${JSON.stringify(name)}: expected a Uint8Array or a string, got ${describe(value)}`,
      );
    }
  }
  return Object.freeze(out);
}

/** Sets a header on an object being built; `__proto__` is a valid header name, not the prototype. */
export function put(target: Record<string, Bytes>, name: string, value: Bytes): void {
  if (name === "__proto__") Object.defineProperty(target, name, { value, enumerable: true, writable: true });
  else target[name] = value;
}

/**
 * Checks a timestamp given to `send()`: whole milliseconds since the epoch, not negative.
 * Throws {@link InvalidRecordError} (field `timestamp`).
 */
export function recordTimestamp(input: unknown): number {
  if (typeof input !== "number" || !Number.isSafeInteger(input) || input < 0) {
    throw new InvalidRecordError(
      "timestamp",
      `expected a non-negative integer of milliseconds since the epoch, got ${describe(input)}`,
    );
  }
  return input;
}

/**
 * What headers add to a record's size (checked against `maxRequestSize` and the broker's
 * `maxRecordBytes`, and counted toward `batchSize` and `bufferSize`): each name's UTF-8 bytes
 * plus its value's bytes.
 */
export function headersSize(headers: RecordHeaders): number {
  let size = 0;
  for (const name in headers) size += utf8Length(name) + headers[name]!.length;
  return size;
}

/** The UTF-8 length of a string, without encoding it. */
export function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    // A surrogate pair is 4 bytes for 2 code units; any other code unit above 0x7ff is 3.
    if (c < 0x800) length += 1;
    else if (c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 2;
      i++;
    } else length += 2;
  }
  return length;
}
