export { Consumer, type BatchHandler, type HandlerContext, type RecordHandler, type RunOptions } from "./consumer.ts";
export { createConsumer } from "./create.ts";
export type { CommitStrategy, ConsumerConfig, OffsetReset, ResolvedConsumerConfig } from "./config.ts";
export type { ConsumedBatch, ConsumedRecord } from "./record.ts";
export type { CommitOutcome, ConsumerOutcome } from "./outcome.ts";
export { consumerMachine, type ConsumerEvent } from "./machines/consumer-machine.ts";
