/**
 * acktor: choose how your messages are delivered (at-most-once, at-least-once, exactly-once),
 * on the producing and the consuming side, and trust it under lost requests, lost acks,
 * dropped connections and crashed consumers.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./retry/index.ts";
export * from "./producer/index.ts";
export { createProducer } from "./producer/create.ts";
export * from "./consumer/index.ts";
export { EmbeddedBroker, type BrokerOptions, type TopicConfig } from "./broker/broker.ts";
export type { PartitionState } from "./broker/partition.ts";
export { replicaMachine, type ReplicaContext, type ReplicaEvent } from "./broker/replica-machine.ts";
export type { Transport, RequestOptions } from "./transport/transport.ts";
export type * from "./transport/protocol.ts";
export { inProcessTransport } from "./transport/in-process.ts";
export { Correlator } from "./transport/correlator.ts";
export { chaos, type ChaosOptions, type ChaosTransport, type ChaosFault, type ChaosStats } from "./transport/chaos.ts";
export { type Clock, systemClock, sleep } from "./runtime/clock.ts";
export { VirtualClock } from "./runtime/virtual-clock.ts";
