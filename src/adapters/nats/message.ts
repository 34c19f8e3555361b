/**
 * Records in NATS messages, both ways, for both framings: the producer's publishes, the
 * offset fetch and the durable consumer all read and write them through here, so a record
 * means the same to each.
 *
 * @module
 */
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import type { Bytes, FetchedRecord } from "../../transport/protocol.ts";
import { decodeFrame, encodeFrame, frameOffset } from "./frame.ts";

/** How records travel: one per NATS message (any NATS client can read them), or one acktor batch per message. */
export type Framing = "message" | "batch";

/** Message framing: the record's key, base64, since header values are text. */
const KEY_HEADER = "Acktor-Key";
/** Batch framing: marks a message whose payload is an acktor frame. */
const FRAME_HEADER = "Acktor-Frame";

/** A NATS message as stored: its stream sequence, payload and headers. */
export interface StoredMessage {
  readonly seq: number;
  readonly data: Uint8Array;
  readonly header?: { get(key: string): string } | undefined;
}

/** A payload and headers to publish. */
export interface Outgoing {
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
}

/** One record as one message (message framing). */
export function recordMessage(key: Bytes | null, value: Bytes): Outgoing {
  if (key === null) return { data: value, headers: undefined };
  const h = natsHeaders();
  h.set(KEY_HEADER, toBase64(key));
  return { data: value, headers: h };
}

/** A batch as one message (batch framing). */
export function frameMessage(
  keys: readonly (Bytes | null)[],
  values: readonly Bytes[],
  baseSequence: number,
): Outgoing {
  const h = natsHeaders();
  h.set(FRAME_HEADER, "1");
  return { data: encodeFrame(keys, values, baseSequence), headers: h };
}

/** The records a stored message holds, with their offsets: one (message framing) or the frame's (batch framing). */
export function recordsOf(message: StoredMessage, framing: Framing): FetchedRecord[] {
  if (framing === "message") {
    const key = message.header?.get(KEY_HEADER);
    return [{ offset: message.seq, key: key ? fromBase64(key) : null, value: message.data }];
  }
  const frame = decodeFrame(message.data);
  return frame.values.map((value, i) => ({ offset: frameOffset(message.seq, i), key: frame.keys[i] ?? null, value }));
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
