/**
 * From a request frame to a response frame: the header, the API's table at the request's
 * version, its handler, and the response in the same version. ApiVersions is answered here,
 * including KIP-511's fallback: a client that asks in a version this server does not know
 * gets a v0 answer with UNSUPPORTED_VERSION and the version ranges, and retries with one it
 * can use.
 *
 * @module
 */
import {
  API_VERSIONS_KEY,
  decodeRequestHeader,
  peekApiKeyAndVersion,
  peekCorrelationId,
  responseHeaderVersion,
  writeResponseHeader,
} from "../codec/headers.ts";
import { decodeMessage, encodeMessage } from "../codec/message-codec.ts";
import { Reader } from "../codec/reader.ts";
import type { MessageSpec } from "../codec/schema.ts";
import { Writer } from "../codec/writer.ts";
import { KafkaErrorCode as K } from "../error-codes.ts";
import type { RequestContext } from "../handlers/context.ts";
import { apiVersions } from "../messages/api-versions.ts";
import { apiVersionsBody, SERVED_APIS } from "./apis.ts";
import type { Connection, FrameOutcome } from "./connection.ts";
import type { ServerChaos } from "./server-chaos.ts";

/** The parts of a request context that are the same for every request. */
export type ServerContext = Omit<RequestContext, "version" | "clientId" | "peer">;

/** Turns request frames into response frames. */
export class Router {
  readonly #server: ServerContext;
  readonly #log: (line: string) => void;
  readonly #chaos: () => ServerChaos | null;

  constructor(server: ServerContext, log: (line: string) => void, chaos: () => ServerChaos | null) {
    this.#server = server;
    this.#log = log;
    this.#chaos = chaos;
  }

  /** Decodes and applies one request; throws (closing the connection) for a malformed one. */
  handle(frame: Uint8Array, connection: Connection): FrameOutcome {
    const { apiKey, apiVersion } = peekApiKeyAndVersion(frame);
    const verdict = this.#chaos()?.verdict(apiKey) ?? "answer";
    if (apiKey === API_VERSIONS_KEY && apiVersion > apiVersions.valid.max) {
      // KIP-511: the header may be of a layout we do not know; only its correlation id counts.
      const body = apiVersionsBody(K.UNSUPPORTED_VERSION);
      return { response: frameOf(apiVersions, 0, peekCorrelationId(frame)!, body), verdict };
    }
    const api = apiKey === API_VERSIONS_KEY ? null : SERVED_APIS.get(apiKey);
    const spec = api === null ? apiVersions : api?.spec;
    if (spec === undefined || apiVersion < spec.valid.min || apiVersion > spec.valid.max) {
      this.#log(
        `acktor kafka server: ${connection.peer} asked for API ${apiKey} v${apiVersion}, which this server does not serve: answered UNSUPPORTED_VERSION`,
      );
      return { response: unsupported(peekCorrelationId(frame)!), verdict };
    }
    const flexible = apiVersion >= spec.flexibleFrom;
    const reader = new Reader(frame);
    const header = decodeRequestHeader(reader, () => flexible ? 2 : 1);
    const request = decodeMessage(spec.request, apiVersion, flexible, reader);
    if (api === null || api === undefined) {
      return { response: frameOf(spec, apiVersion, header.correlationId, apiVersionsBody(K.NONE)), verdict };
    }
    const context: RequestContext = {
      ...this.#server,
      version: apiVersion,
      clientId: header.clientId,
      peer: connection.peer,
    };
    const answer = api.handle(request as never, context);
    const encode = (body: object | null) =>
      body === null ? null : frameOf(spec, apiVersion, header.correlationId, body);
    return { response: answer instanceof Promise ? answer.then(encode) : encode(answer), verdict };
  }
}

/** A response frame: size prefix, header, body. */
function frameOf(spec: MessageSpec, version: number, correlationId: number, body: object): Uint8Array {
  const flexible = version >= spec.flexibleFrom;
  const writer = new Writer(512);
  const size = writer.reserveInt32();
  writeResponseHeader(writer, correlationId, responseHeaderVersion(spec.apiKey, flexible) === 1);
  encodeMessage(spec.response, version, flexible, body as Record<string, unknown>, writer);
  const bytes = writer.finish();
  writer.patchInt32(size, bytes.length - 4);
  return bytes;
}

/**
 * The answer to an API or version this server does not serve: the correlation id and
 * UNSUPPORTED_VERSION, where almost every response's v0 puts its first error code. A client
 * that negotiated through ApiVersions never gets it.
 */
function unsupported(correlationId: number): Uint8Array {
  const writer = new Writer(16);
  writer.int32(10);
  writer.int32(correlationId);
  writer.int16(K.UNSUPPORTED_VERSION);
  writer.int32(0);
  return writer.finish();
}
