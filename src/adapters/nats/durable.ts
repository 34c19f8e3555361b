/**
 * A consumer group on JetStream is one durable pull consumer on the topic's stream, with
 * explicit acks: `ack_wait` is the group's session timeout (what a silent member held comes
 * again after it) and `max_deliver` its `maxDeliveries`. Members create it or bring its
 * settings up to date as they join.
 *
 * @module
 */
import { AckPolicy, type Consumer as DurableConsumer, DeliverPolicy } from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import type { ResolvedConsumerConfig } from "../../consumer/config.ts";
import type { JetStreamAccess } from "./jetstream-access.ts";
import { nameOf } from "./nats-errors.ts";

/** The durable consumer's name for a group: injective, and free of what JetStream names may not hold. */
export function durableName(groupId: string): string {
  return groupId.replace(/[^A-Za-z0-9-]/g, (c) => `_${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
}

/** The group's durable consumer on `stream`, created or updated to `config`; NATS errors are thrown as they come. */
export async function durableConsumer(
  access: JetStreamAccess,
  stream: string,
  durable: string,
  config: ResolvedConsumerConfig,
): Promise<DurableConsumer> {
  const jsm = access.jsm();
  const wanted = { ack_wait: nanos(config.sessionTimeoutMs), max_deliver: config.maxDeliveries };
  const existing = await jsm.consumers.info(stream, durable).catch((error: unknown) => {
    if (nameOf(error) === "ConsumerNotFoundError") return null;
    throw error;
  });
  if (existing === null) {
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: config.autoOffsetReset === "earliest" ? DeliverPolicy.All : DeliverPolicy.New,
      ...wanted,
    });
  } else if (existing.config.ack_wait !== wanted.ack_wait || existing.config.max_deliver !== wanted.max_deliver) {
    await jsm.consumers.update(stream, durable, wanted);
  }
  return await access.js().consumers.get(stream, durable);
}
