/**
 * acktor on NATS JetStream: `connectNats({ servers })` gives a transport that
 * `createProducer` and `createConsumer` accept unchanged. This entry serves Node, Deno and
 * Bun (TCP or WebSocket addresses); browsers get `browser.ts` (WebSocket only) through
 * package.json's "browser" condition, with the same exports.
 *
 * @module
 */
export { connectNats } from "./dial-node.ts";
export type { NatsConnectOptions } from "./connect.ts";
export { type NatsTopicConfig, NatsTransport } from "./nats-transport.ts";
export { streamName } from "./topic-shape.ts";
export { JetStreamConsumer } from "./jetstream-consumer.ts";
export { durableName } from "./durable.ts";
export type { Framing } from "./message.ts";
export { decodeFrame, encodeFrame, type Frame } from "./frame.ts";
