import type { Bytes } from "../transport/protocol.ts";

/** A record as a consumer hands it out. */
export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Bytes | null;
  readonly value: Bytes;
  /**
   * How many times this member has handed the record out, this time included: more than 1
   * after a handler failed on it. A record redelivered after a crash starts again at 1.
   */
  readonly deliveries: number;
}

/** Consecutive records of one partition, as `runBatches` hands them out. */
export interface ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly ConsumedRecord[];
}
