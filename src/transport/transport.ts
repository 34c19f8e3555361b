/**
 * The seam between clients and any broker. A producer or consumer only ever calls
 * {@link Transport.request}; the embedded broker, a network connection, the chaos layer and
 * engine adapters all implement this one interface.
 *
 * @module
 */
import type { Request, ResponseFor } from "./protocol.ts";

/** Per-request options. */
export interface RequestOptions {
  /**
   * How long to wait for the response. When it passes, the request rejects with
   * `RequestTimedOutError`; the broker may still have applied it.
   */
  readonly timeoutMs: number;
}

/**
 * An asynchronous request/response channel to a broker.
 *
 * `request` resolves with the broker's answer, which may itself be a typed error
 * (`ok: false`). It rejects only when the transport cannot tell what happened:
 * `RequestTimedOutError` (no answer in time), `DisconnectedError` (the connection dropped
 * while the request was out) or `TransportClosedError`. The first two are retriable, and in
 * both cases the broker may or may not have applied the request: that ambiguity is what
 * delivery semantics are about.
 */
export interface Transport {
  request<R extends Request>(request: R, options: RequestOptions): Promise<ResponseFor<R>>;
  /** Rejects outstanding requests with `TransportClosedError` and refuses new ones. */
  close(): Promise<void>;
}
