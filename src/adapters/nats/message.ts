/**
 * Records in NATS messages, both ways, for both framings: the producer's publishes, the
 * offset fetch and the durable consumer all read and write them through here, so a record
 * means the same to each.
 *
 * @module
 */
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/nats-core";
import { EMPTY_HEADERS, put, reservedHeaderName } from "../../transport/headers.ts";
import type { Bytes, FetchedRecord, RecordColumns, RecordHeaders } from "../../transport/protocol.ts";
import { decodeFrame, encodeFrame, frameOffset } from "./frame.ts";

/** How records travel: one per NATS message (any NATS client can read them), or one acktor batch per message. */
export type Framing = "message" | "batch";

/** Message framing: the record's key, base64, since header values are text. */
const KEY_HEADER = "Acktor-Key";
/** Message framing: the record's timestamp, decimal ms since the epoch. */
const TIMESTAMP_HEADER = "Acktor-Timestamp";
/**
 * Message framing: a user header whose value is not plain text travels as this prefix plus
 * its name, base64. User names may not start with `Acktor-`, so it cannot collide.
 */
const BINARY_PREFIX = "Acktor-Base64-";
/** Batch framing: marks a message whose payload is an acktor frame (the value is the frame version). */
const FRAME_HEADER = "Acktor-Frame";

/**
 * A NATS message as stored: its stream sequence, payload, headers and the server's time of
 * storing it. A JetStream delivery (`JsMsg`) is one as it is; a direct get goes through
 * {@link storedMessage}, since it calls its headers `header`.
 */
export interface StoredMessage {
  readonly seq: number;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  /** The timestamp of a record written without one (by a plain NATS client, or a version-1 frame). */
  readonly time: Date;
}

/** A direct get's message as a {@link StoredMessage}. */
export function storedMessage(m: { seq: number; data: Uint8Array; header: MsgHdrs; time: Date }): StoredMessage {
  return { seq: m.seq, data: m.data, headers: m.header, time: m.time };
}

/** A payload and headers to publish. */
export interface Outgoing {
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
}

/**
 * One record as one message (message framing). The key and timestamp travel in `Acktor-`
 * headers; user headers under their own names, so a plain NATS reader sees them, with their
 * value as text when it is plain UTF-8 text the header syntax keeps intact, else base64 under
 * `Acktor-Base64-<name>`.
 */
export function recordMessage(
  key: Bytes | null,
  value: Bytes,
  headers: RecordHeaders | null | undefined,
  timestamp: number | undefined,
): Outgoing {
  if (key === null && !headers && timestamp === undefined) return { data: value, headers: undefined };
  const h = natsHeaders();
  if (key !== null) h.set(KEY_HEADER, toBase64(key));
  if (timestamp !== undefined) h.set(TIMESTAMP_HEADER, String(timestamp));
  if (headers) {
    for (const name in headers) {
      const bytes = headers[name]!;
      const text = plainText(bytes);
      if (text === null) h.set(BINARY_PREFIX + name, toBase64(bytes));
      else h.set(name, text);
    }
  }
  return { data: value, headers: h };
}

/** A batch as one message (batch framing). */
export function frameMessage(records: RecordColumns, baseSequence: number): Outgoing {
  const h = natsHeaders();
  h.set(FRAME_HEADER, "2");
  return { data: encodeFrame(records, baseSequence), headers: h };
}

/** The records a stored message holds, with their offsets: one (message framing) or the frame's (batch framing). */
export function recordsOf(message: StoredMessage, framing: Framing): FetchedRecord[] {
  if (framing === "message") return [messageRecord(message)];
  const frame = decodeFrame(message.data);
  let stored = -1;
  return frame.values.map((value, i) => {
    let timestamp = frame.timestamps[i]!;
    if (timestamp < 0) timestamp = stored < 0 ? (stored = message.time.getTime()) : stored;
    return {
      offset: frameOffset(message.seq, i),
      key: frame.keys[i] ?? null,
      value,
      headers: frame.headers[i]!,
      timestamp,
    };
  });
}

/**
 * A message-framed record. Headers of acktor's own and the server's (`Acktor-`, `Nats-`) are
 * not the user's; any other header is, so headers set by a plain NATS publisher read back too.
 */
function messageRecord(message: StoredMessage): FetchedRecord {
  const nats = message.headers;
  let key: Bytes | null = null;
  let timestamp = -1;
  let headers: Record<string, Bytes> | null = null;
  if (nats !== undefined) {
    for (const [name, values] of nats) {
      const first = values[0] ?? "";
      if (name === KEY_HEADER) key = fromBase64(first);
      else if (name === TIMESTAMP_HEADER) timestamp = Number(first);
      else if (name.startsWith(BINARY_PREFIX)) put(headers ??= {}, name.slice(BINARY_PREFIX.length), fromBase64(first));
      else if (!reservedHeaderName(name)) put(headers ??= {}, name, utf8.encode(first));
    }
  }
  return {
    offset: message.seq,
    key,
    value: message.data,
    headers: headers === null ? EMPTY_HEADERS : Object.freeze(headers),
    timestamp: Number.isSafeInteger(timestamp) && timestamp >= 0 ? timestamp : message.time.getTime(),
  };
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The value as header text, or null when it would not come back byte for byte: not UTF-8,
 * or holding a line break (the header syntax ends a value there) or leading or trailing
 * white space (the client trims values).
 */
function plainText(bytes: Bytes): string | null {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return null;
  }
  return /[\r\n]/.test(text) || text.trim() !== text ? null : text;
}

function toBase64(bytes: Bytes): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function fromBase64(text: string): Bytes {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
