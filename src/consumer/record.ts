import type { Bytes, RecordHeaders } from "../transport/protocol.ts";

/** A record as a consumer hands it out. */
export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Bytes | null;
  readonly value: Bytes;
  /**
   * Its headers, names to bytes (a string header was sent as its UTF-8), frozen; `{}` for a
   * record without any. Bytes, as Kafka clients give them, so a binary value reads back
   * exactly: decode a text one with `new TextDecoder().decode(record.headers.name)`.
   */
  readonly headers: RecordHeaders;
  /**
   * Ms since the epoch: the timestamp it was sent with, else the producer's clock at
   * `send()` (Kafka's CreateTime); a record written without one (by a plain NATS client, say)
   * has the engine's time of storing it.
   */
  readonly timestamp: number;
  /**
   * How many times this member has handed the record out, this time included: more than 1
   * after a handler failed on it. A record redelivered after a crash starts again at 1.
   */
  readonly deliveries: number;
}

/**
 * A record as `records$` hands it out. Acknowledge it once it is processed: under
 * `after-processing` (and `manual`) only acknowledged records are committed, over the
 * acknowledged prefix of each partition, and one never acknowledged comes again to the
 * group's next reader (after a rebalance, a restart, or a new subscription).
 */
export interface ReceivedRecord extends ConsumedRecord {
  /**
   * Marks the record processed. Calling it again does nothing, and so does calling it after
   * its reader stopped: the record was handed back and comes again. Under
   * `before-processing` the record was committed before it was handed out, and `ack()`
   * changes nothing.
   */
  ack(): void;
}

/** Consecutive records of one partition, as `runBatches` hands them out. */
export interface ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly ConsumedRecord[];
}
