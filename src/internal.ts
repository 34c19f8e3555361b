/**
 * `acktor/internal`: what adapter authors and acktor's own tests build on, beside the public
 * surface in `acktor`. It is documented but carries no semver promise: a minor release may
 * change it.
 *
 * - the request/response protocol every transport carries (`Request`, `Response` and the
 *   per-API shapes), and the errors' wire form;
 * - `inProcessTransport` and `Correlator`, the pieces to write a transport from;
 * - `ConsumerHost`, the seam through which an engine builds its own consumers;
 * - the retry decision, Kafka's murmur2 and the clock helpers the engines share.
 *
 * @module
 */
export * from "./index.ts";
export type * from "./transport/protocol.ts";
export { errorFromWire, errorToWire, isRetriable, type WireError } from "./errors.ts";
export { inProcessTransport } from "./transport/in-process.ts";
export { Correlator } from "./transport/correlator.ts";
export { type ConsumerHost, isConsumerHost } from "./consumer/host.ts";
export { decideRetry, type RetryDecision } from "./retry/decide.ts";
export { murmur2, toPositive } from "./producer/murmur2.ts";
export { defer, sleep } from "./runtime/clock.ts";
