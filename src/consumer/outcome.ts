import type { PoisonRecordError } from "../errors.ts";
import type { PartitionOffset } from "../transport/protocol.ts";
import type { ConsumedRecord } from "./record.ts";

/**
 * What happened to what a consumer read, as `consumer.outcomes$` reports it:
 * - `assigned` / `revoked`: the group gave this member partitions, or took them away.
 * - `processed`: a handler finished with a record (reported only while someone listens; under
 *   `transactional`, only once its transaction committed).
 * - `committed`: the group's offsets were committed (`transactional` says whether by a transaction).
 * - `redelivered`: a handler failed on a record, which will be handed out again.
 * - `dead-lettered`: a record reached `maxDeliveries` and was written to the dead-letter topic.
 * - `failed`: under `before-processing`, a handler failed on a record whose offset was
 *   already committed: at-most-once, so it is not handed out again.
 * - `partition-stopped`: a poison record stopped its partition (no dead-letter topic).
 * - `exhausted`: the engine stopped redelivering a record after `maxDeliveries` (NATS
 *   JetStream's max-deliveries advisory, heard by every member of the group, crashes
 *   included); it stays in the stream at `offset` (of the frame's first record, in batch
 *   framing). `partition` is -1 if the record could no longer be read.
 * - `offset-reset`: the position `from` was deleted by retention (an offset log's
 *   OFFSET_OUT_OF_RANGE), so reading moved `to` the log start or end, per `autoOffsetReset`.
 */
export type ConsumerOutcome =
  | { readonly type: "assigned"; readonly partitions: readonly number[]; readonly generation: number }
  | { readonly type: "revoked"; readonly partitions: readonly number[]; readonly generation: number }
  | { readonly type: "processed"; readonly record: ConsumedRecord }
  | CommitOutcome
  | { readonly type: "redelivered"; readonly record: ConsumedRecord; readonly error: unknown }
  | {
    readonly type: "dead-lettered";
    readonly record: ConsumedRecord;
    readonly error: unknown;
    readonly deadLetterOffset: number;
  }
  | { readonly type: "failed"; readonly record: ConsumedRecord; readonly error: unknown }
  | { readonly type: "partition-stopped"; readonly partition: number; readonly error: PoisonRecordError }
  | { readonly type: "exhausted"; readonly partition: number; readonly offset: number; readonly deliveries: number }
  | { readonly type: "offset-reset"; readonly partition: number; readonly from: number; readonly to: number };

/** Offsets the group committed: by a transaction, or directly. */
export interface CommitOutcome {
  readonly type: "committed";
  readonly offsets: readonly PartitionOffset[];
  readonly transactional: boolean;
}
