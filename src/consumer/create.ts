import type { Transport } from "../transport/transport.ts";
import type { ConsumerConfig } from "./config.ts";
import type { Consumer } from "./consumer.ts";
import { GroupConsumer } from "./group-consumer.ts";
import { isConsumerHost } from "./host.ts";

/**
 * A consumer of `topic` over any transport: the embedded broker's, a chaos-wrapped one, or
 * an engine adapter's (which may build its own kind, see `ConsumerHost`). The caller keeps
 * ownership of the transport.
 */
export function createConsumer(transport: Transport, topic: string, config: ConsumerConfig): Consumer {
  return isConsumerHost(transport)
    ? transport.createConsumer(topic, config)
    : new GroupConsumer(transport, topic, config);
}
