/**
 * Kafka's request and response headers. Request header v1 is apiKey, apiVersion,
 * correlationId and a nullable clientId (an int16-length string even in v2); v2 adds a
 * tagged-fields section. Response header v0 is the correlationId; v1 adds a tagged-fields
 * section. Flexible API versions use the newer header, except that an ApiVersions response
 * always has v0, so that a client that does not yet know the broker's versions can read it.
 *
 * @module
 */
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";
import { KafkaProtocolError } from "./protocol-error.ts";

/** ApiVersions' API key: the one API whose response header never changes. */
export const API_VERSIONS_KEY = 18;

/** A decoded request header. */
export interface RequestHeader {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

/** Request header version for an API version: 2 for flexible versions (ApiVersions v3+ included), else 1. */
export function requestHeaderVersion(flexible: boolean): 1 | 2 {
  return flexible ? 2 : 1;
}

/** Response header version: 1 for flexible versions, except ApiVersions, whose response header is always 0. */
export function responseHeaderVersion(apiKey: number, flexible: boolean): 0 | 1 {
  return flexible && apiKey !== API_VERSIONS_KEY ? 1 : 0;
}

/**
 * Reads a request header. `headerVersionFor` tells the header version (1 or 2; 0 has no
 * clientId) from the API key and version read first, since only those decide it. Unknown
 * tagged fields of a v2 header are skipped.
 */
export function decodeRequestHeader(
  reader: Reader,
  headerVersionFor: (apiKey: number, apiVersion: number) => number,
): RequestHeader {
  const apiKey = reader.int16();
  const apiVersion = reader.int16();
  const correlationId = reader.int32();
  const headerVersion = headerVersionFor(apiKey, apiVersion);
  const clientId = headerVersion >= 1 ? reader.string(true) : null;
  if (headerVersion >= 2) skipTaggedFields(reader);
  return { apiKey, apiVersion, correlationId, clientId };
}

/** Writes a request header (what a client sends; the tests and any client side use it). */
export function writeRequestHeader(writer: Writer, header: RequestHeader, headerVersion: number): void {
  writer.int16(header.apiKey);
  writer.int16(header.apiVersion);
  writer.int32(header.correlationId);
  if (headerVersion >= 1) writer.string(header.clientId);
  if (headerVersion >= 2) writer.uvarint(0);
}

/** Writes a response header: the correlation id, and an empty tagged-fields section when `flexibleHeader` (v1). */
export function writeResponseHeader(writer: Writer, correlationId: number, flexibleHeader: boolean): void {
  writer.int32(correlationId);
  if (flexibleHeader) writer.uvarint(0);
}

/** Reads a response header of version 0 or 1 and returns its correlation id. */
export function decodeResponseHeader(reader: Reader, flexibleHeader: boolean): number {
  const correlationId = reader.int32();
  if (flexibleHeader) skipTaggedFields(reader);
  return correlationId;
}

/**
 * The API key and version of a request frame (the bytes after its size prefix), read from
 * its first four bytes without a {@link Reader}: enough to route it or refuse its version.
 */
export function peekApiKeyAndVersion(frame: Uint8Array): { apiKey: number; apiVersion: number } {
  if (frame.length < 4) {
    throw new KafkaProtocolError(`a request of ${frame.length} bytes has no room for its header`, 0);
  }
  return {
    apiKey: ((frame[0]! << 24) >> 16) | frame[1]!,
    apiVersion: ((frame[2]! << 24) >> 16) | frame[3]!,
  };
}

/** The correlation id of a request frame (bytes 4 to 8), or null when the frame is too short to hold one. */
export function peekCorrelationId(frame: Uint8Array): number | null {
  if (frame.length < 8) return null;
  return (frame[4]! << 24) | (frame[5]! << 16) | (frame[6]! << 8) | frame[7]!;
}

/** Skips a tagged-fields section: a count, then per field its tag, size and bytes. */
function skipTaggedFields(reader: Reader): void {
  const count = reader.uvarint();
  for (let i = 0; i < count; i++) {
    reader.uvarint();
    reader.skip(reader.uvarint());
  }
}
