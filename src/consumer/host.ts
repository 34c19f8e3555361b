/**
 * The consumer-engine seam. Most transports carry the group protocol (join, fetch by
 * offset, commit offsets), and a {@link GroupConsumer} runs on them. An engine whose
 * delivery model is acknowledgements rather than offsets (NATS JetStream: durable consumers,
 * AckWait, MaxDeliver) is a `ConsumerHost` and builds its own {@link Consumer}, with the
 * same reading API and commit strategies mapped onto its acks.
 *
 * @module
 */
import type { Transport } from "../transport/transport.ts";
import type { ConsumerConfig } from "./config.ts";
import type { Consumer } from "./consumer.ts";

/** A transport that makes its own consumers. */
export interface ConsumerHost extends Transport {
  createConsumer(topic: string, config: ConsumerConfig): Consumer;
}

/** True for a transport that makes its own consumers. */
export function isConsumerHost(transport: Transport): transport is ConsumerHost {
  return typeof (transport as Partial<ConsumerHost>).createConsumer === "function";
}
