/**
 * The wire protocol between clients and a broker: plain, serialisable data only, so that an
 * in-process call, a network connection and an engine adapter can all carry it. Broker
 * errors are answers (`ok: false`), not exceptions; only the transport itself throws.
 *
 * @module
 */
import type { WireError } from "../errors.ts";

/** Record keys and values as they travel: bytes. */
export type Bytes = Uint8Array;

/**
 * A record's headers as they travel and as readers get them: names to bytes (a string value
 * given to `send()` travels as its UTF-8). Readers get a frozen object; a record without
 * headers has an empty one.
 */
export type RecordHeaders = Readonly<Record<string, Bytes>>;

/**
 * Records as parallel arrays, one slot per record, so a batch allocates no object per record.
 * `headers` and `timestamps` may be absent: then no record has headers, and the broker stamps
 * each record with its append time.
 */
export interface RecordColumns {
  readonly keys: readonly (Bytes | null)[];
  readonly values: readonly Bytes[];
  /** Record `i`'s headers, or null for none; absent (or null) when no record of the batch has any. */
  readonly headers?: readonly (RecordHeaders | null)[] | null | undefined;
  /** Record `i`'s timestamp, in ms since the epoch (the producer's CreateTime). */
  readonly timestamps?: readonly number[] | undefined;
  /**
   * The records already laid out as the embedded broker's log stores them, which the log then
   * keeps without copying; `keys` and `values` are empty when it is set. Only the Kafka wire
   * server fills it (it decodes a record batch straight into this layout); other engines
   * never receive it.
   */
  readonly packed?: PackedRecords | undefined;
}

/**
 * Records in one buffer: every record's key bytes then value bytes, back to back. Record
 * `i`'s key is `data[bounds[2i] .. bounds[2i+1])` (null when `nullKeys[i]` is 1), its value
 * `data[bounds[2i+1] .. bounds[2i+2])`.
 */
export interface PackedRecords {
  readonly count: number;
  readonly data: Uint8Array;
  readonly bounds: Uint32Array;
  /** Which records have a null key (not an empty one); null when none has. */
  readonly nullKeys: Uint8Array | null;
}

/**
 * When the broker acknowledges a write.
 * - `read-uncommitted`: after the leader's append.
 * - `read-committed`: once every in-sync replica has the write (the high watermark covers it).
 *
 * On fetch, `read-committed` returns only what is replicated and not part of an open or
 * aborted transaction.
 */
export type Isolation = "read-uncommitted" | "read-committed";

/** A broker's answer: a success with its fields, or a typed error. */
export type Result<T extends object> = ({ readonly ok: true } & T) | { readonly ok: false; readonly error: WireError };

/**
 * One batch for one partition. Records travel as parallel arrays ({@link RecordColumns}), so
 * the hot path allocates no object per record.
 */
export interface ProduceRequest extends RecordColumns {
  readonly api: "produce";
  readonly topic: string;
  readonly partition: number;
  /** When the broker may acknowledge. */
  readonly isolation: Isolation;
  /** How long the broker may hold a `read-committed` ack before answering `REQUEST_TIMED_OUT`. */
  readonly timeoutMs: number;
  /**
   * Idempotent and transactional writes: the producer's identity and the sequence number of
   * the batch's first record in this partition. The broker appends a batch only if its
   * sequence follows the last one it appended for this producer and epoch.
   */
  readonly producerId?: number;
  readonly epoch?: number;
  readonly baseSequence?: number;
  /** Set when the batch belongs to a transaction; its partition must have been added to it. */
  readonly transactionalId?: string;
  /**
   * False for at-most-once: the producer never retries, so the write need not be confirmed,
   * and an engine may skip its acknowledgement (answering with `baseOffset` -1). The embedded
   * broker confirms all the same, for `wait()`.
   */
  readonly ack?: boolean;
}

/**
 * The offset given to the batch's first record; record `i` has offset `baseOffset + i`, or
 * `offsets[i]` when the broker lists them (an engine whose offsets need not be consecutive
 * within a batch). `duplicate` says the broker had already appended this batch (a retry whose
 * first ack was lost) and answers with the original offsets; a duplicate older than the
 * broker's window has `baseOffset` -1 (unknown).
 */
export type ProduceResponse = Result<
  { readonly baseOffset: number; readonly offsets?: readonly number[]; readonly duplicate?: boolean }
>;

/**
 * Reads a partition's log from `offset`. A consumer-group member may name itself with
 * `groupId`, `memberId` and `generation` (all three or none): the broker then serves only a
 * partition the member owns, so a zombie cannot read what its successor is reading.
 */
export interface FetchRequest {
  readonly api: "fetch";
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly maxRecords: number;
  readonly isolation: Isolation;
  readonly groupId?: string;
  readonly memberId?: string;
  readonly generation?: number;
}

/** One record as a reader sees it. */
export interface FetchedRecord {
  readonly offset: number;
  readonly key: Bytes | null;
  readonly value: Bytes;
  /** Its headers; `{}` for a record without any. */
  readonly headers: RecordHeaders;
  /** Ms since the epoch: the producer's (CreateTime), or the engine's append time for a record sent without one. */
  readonly timestamp: number;
}

/** Records from the requested offset, and where to continue. */
export type FetchResponse = Result<{
  readonly records: FetchedRecord[];
  /** The offset to fetch next. */
  readonly nextOffset: number;
  readonly highWatermark: number;
  readonly logEndOffset: number;
  /** The first offset of the earliest open transaction, or the HW if none is open. */
  readonly lastStableOffset: number;
}>;

/** Asks for a topic's shape. */
export interface MetadataRequest {
  readonly api: "metadata";
  readonly topic: string;
}

/** A topic's partition count. */
export type MetadataResponse = Result<{ readonly topic: string; readonly partitions: number }>;

/**
 * Gets a producer id and epoch. With a `transactionalId` it returns that id's producer id
 * with the epoch bumped, which fences every older holder of the id and aborts its open
 * transaction. Without one it returns a new producer id at epoch 0, or, when `producerId`
 * and `epoch` are given, the same producer id with the next epoch (sequences restart at 0).
 */
export interface InitProducerIdRequest {
  readonly api: "initProducerId";
  readonly transactionalId?: string;
  /**
   * Identifies the producer instance. A repeat from the instance that already holds the
   * transactional id (a retried or duplicated request) returns the current epoch instead of
   * bumping it, so a producer never fences itself; any other instance bumps and fences.
   */
  readonly instanceId?: string;
  /** How long a transaction may stay open before the coordinator aborts it. */
  readonly transactionTimeoutMs?: number;
  readonly producerId?: number;
  readonly epoch?: number;
}

export type InitProducerIdResponse = Result<{ readonly producerId: number; readonly epoch: number }>;

/** The identity every transactional request carries; the coordinator fences older epochs. */
export interface TransactionalIdentity {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly epoch: number;
}

/** A topic partition. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** Adds partitions to the open transaction (starting it), before the first write to each. */
export interface AddPartitionsToTxnRequest extends TransactionalIdentity {
  readonly api: "addPartitionsToTxn";
  readonly partitions: readonly TopicPartition[];
}

/** A consumer group's position in one partition: the next offset to read. */
export interface PartitionOffset extends TopicPartition {
  readonly offset: number;
}

/**
 * Makes a consumer group's offsets part of the transaction: they are committed with it, or
 * dropped if it aborts. `generation`, when given, must match the group's (KIP-447 fencing).
 */
export interface TxnOffsetCommitRequest extends TransactionalIdentity {
  readonly api: "txnOffsetCommit";
  readonly groupId: string;
  readonly offsets: readonly PartitionOffset[];
  readonly generation?: number;
}

/** Commits or aborts the open transaction: markers go into every partition it touched. */
export interface EndTxnRequest extends TransactionalIdentity {
  readonly api: "endTxn";
  readonly commit: boolean;
}

/** Reads a consumer group's committed offset for one partition. */
export interface OffsetFetchRequest extends TopicPartition {
  readonly api: "offsetFetch";
  readonly groupId: string;
  /**
   * Refuse with `UnstableOffsetCommitError` (retriable) while an open transaction holds the
   * group's offset for the partition (Kafka's `require_stable`, KIP-447): a read-committed
   * member must not start from an offset that a pending commit is about to move.
   */
  readonly requireStable?: boolean;
}

/** `offset` is null when the group has committed nothing for the partition. */
export type OffsetFetchResponse = Result<{ readonly offset: number | null }>;

/** Who a consumer-group request comes from: a member, and the group generation it last learned. */
export interface GroupMemberIdentity {
  readonly groupId: string;
  readonly memberId: string;
  readonly generation: number;
}

/**
 * Joins a consumer group that reads `topic` (every member of a group reads the same topic).
 * Without `memberId` the broker makes the member and names it; with one, a current member
 * renews its session (an unknown id is refused: a removed member must join afresh). Joining
 * starts a new generation and the broker recomputes who should own which partition.
 */
export interface JoinGroupRequest {
  readonly api: "joinGroup";
  readonly groupId: string;
  readonly memberId?: string;
  /**
   * Identifies the consumer instance. A repeated join from an instance that is already a
   * member (a retry whose answer was lost) renews that member rather than adding a second,
   * which would hold a share of the partitions until its session expired.
   */
  readonly instanceId?: string;
  readonly topic: string;
  /** A member silent for this long is removed and its partitions released. */
  readonly sessionTimeoutMs: number;
}

/**
 * The member's id, the group's generation and the partitions the member owns now. It may own
 * fewer than its share until their previous owners release them; later heartbeats hand them over.
 */
export type JoinGroupResponse = Result<
  { readonly memberId: string; readonly generation: number; readonly assignment: number[] }
>;

/**
 * Keeps a member's session alive and brings its ownership up to date: partitions it must give
 * up are released by this very request, and partitions released to it are granted. Its
 * `generation` may be older than the group's (that is how a member learns of a rebalance),
 * but not newer.
 */
export interface HeartbeatRequest extends GroupMemberIdentity {
  readonly api: "heartbeat";
}

/** The group's generation and the partitions the member owns from now on. */
export type HeartbeatResponse = Result<{ readonly generation: number; readonly assignment: number[] }>;

/** Leaves a consumer group; the member's partitions are released at once. */
export interface LeaveGroupRequest {
  readonly api: "leaveGroup";
  readonly groupId: string;
  readonly memberId: string;
}

/**
 * Commits a group's offsets outside any transaction. Only a member that owns every partition
 * named, at the group's current generation, may commit them; all are checked before any is stored.
 */
export interface OffsetCommitRequest extends GroupMemberIdentity {
  readonly api: "offsetCommit";
  readonly offsets: readonly PartitionOffset[];
}

/** An answer that carries nothing but success. */
export type Ack = Result<Record<never, never>>;

/** Every request a broker answers. */
export type Request =
  | ProduceRequest
  | FetchRequest
  | MetadataRequest
  | InitProducerIdRequest
  | AddPartitionsToTxnRequest
  | TxnOffsetCommitRequest
  | EndTxnRequest
  | OffsetFetchRequest
  | JoinGroupRequest
  | HeartbeatRequest
  | LeaveGroupRequest
  | OffsetCommitRequest;

/** The response type that answers request type `R`. */
export type ResponseFor<R extends Request> = R extends ProduceRequest ? ProduceResponse
  : R extends FetchRequest ? FetchResponse
  : R extends MetadataRequest ? MetadataResponse
  : R extends InitProducerIdRequest ? InitProducerIdResponse
  : R extends OffsetFetchRequest ? OffsetFetchResponse
  : R extends JoinGroupRequest ? JoinGroupResponse
  : R extends HeartbeatRequest ? HeartbeatResponse
  : R extends
    AddPartitionsToTxnRequest | TxnOffsetCommitRequest | EndTxnRequest | LeaveGroupRequest | OffsetCommitRequest ? Ack
  : never;

/** Anything that answers requests: the embedded broker, or a server behind a network transport. */
export interface RequestHandler {
  handle<R extends Request>(request: R): Promise<ResponseFor<R>>;
}
