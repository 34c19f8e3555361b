import type { Transport } from "../transport/transport.ts";
import type { ConsumerConfig } from "./config.ts";
import { Consumer } from "./consumer.ts";

/**
 * A consumer-group member for `topic` over any transport: the embedded broker's, a
 * chaos-wrapped one, or an engine adapter's. The caller keeps ownership of the transport.
 */
export function createConsumer(transport: Transport, topic: string, config: ConsumerConfig): Consumer {
  return new Consumer(transport, topic, config);
}
