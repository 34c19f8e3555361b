/**
 * acktor on NATS JetStream, in a browser: the same exports as `index.ts`, with a
 * `connectNats` that connects over WebSocket (`ws://`, `wss://`) through
 * `@nats-io/nats-core`'s `wsconnect`, and nothing that needs a `node:*` module. package.json
 * maps `acktor/nats` here under the "browser" condition (dist/nats.browser.js).
 *
 * @module
 */
export { connectNats } from "./dial-browser.ts";
export type { NatsConnectOptions } from "./connect.ts";
export { type NatsTopicConfig, NatsTransport } from "./nats-transport.ts";
export { streamName } from "./topic-shape.ts";
export { JetStreamConsumer } from "./jetstream-consumer.ts";
export { durableName } from "./durable.ts";
export type { Framing } from "./message.ts";
export { decodeFrame, encodeFrame, type Frame } from "./frame.ts";
