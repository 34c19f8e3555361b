/**
 * acktor on NATS JetStream: `connectNats({ servers })` gives a transport that
 * `createProducer` accepts unchanged.
 *
 * @module
 */
export { connectNats, type NatsConnectOptions } from "./connect.ts";
export { NatsTransport, type Framing, type NatsTopicConfig, streamName } from "./nats-transport.ts";
export { decodeFrame, encodeFrame, type Frame } from "./frame.ts";
