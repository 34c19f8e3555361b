import type { Transport } from "../transport/transport.ts";
import type { ProducerConfig } from "./config.ts";
import { Producer } from "./producer.ts";

/**
 * A producer for `topic` over any transport: the embedded broker's, a chaos-wrapped one, or
 * an engine adapter's. The caller keeps ownership of the transport.
 */
export function createProducer(transport: Transport, topic: string, config: ProducerConfig = {}): Producer {
  return new Producer(transport, topic, config);
}
