/**
 * acktor on NATS JetStream: `connectNats({ servers })` gives a transport that
 * `createProducer` and `createConsumer` accept unchanged.
 *
 * @module
 */
export { connectNats, type NatsConnectOptions } from "./connect.ts";
export { type NatsTopicConfig, NatsTransport, streamName } from "./nats-transport.ts";
export { durableName, JetStreamConsumer } from "./jetstream-consumer.ts";
export type { Framing } from "./message.ts";
export { decodeFrame, encodeFrame, type Frame } from "./frame.ts";
