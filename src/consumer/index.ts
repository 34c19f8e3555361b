export { Consumer, type BatchHandler, type HandlerContext, type OutputContext, type RecordHandler, type RunOptions } from "./consumer.ts";
export { GroupConsumer } from "./group-consumer.ts";
export { type ConsumerHost, isConsumerHost } from "./host.ts";
export { createConsumer } from "./create.ts";
export type { CommitStrategy, ConsumerConfig, OffsetReset, ResolvedConsumerConfig } from "./config.ts";
export type { ConsumedBatch, ConsumedRecord } from "./record.ts";
export type { CommitOutcome, ConsumerOutcome } from "./outcome.ts";
export { consumerMachine, type ConsumerEvent } from "./machines/consumer-machine.ts";
