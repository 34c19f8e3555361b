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
 * One batch for one partition. Records travel as two parallel arrays (keys and values), so
 * the hot path allocates no object per record.
 */
export interface ProduceRequest {
  readonly api: "produce";
  readonly topic: string;
  readonly partition: number;
  /** When the broker may acknowledge. */
  readonly isolation: Isolation;
  /** How long the broker may hold a `read-committed` ack before answering `REQUEST_TIMED_OUT`. */
  readonly timeoutMs: number;
  readonly keys: readonly (Bytes | null)[];
  readonly values: readonly Bytes[];
}

/** The offset given to the batch's first record; record `i` has offset `baseOffset + i`. */
export type ProduceResponse = Result<{ readonly baseOffset: number }>;

/** Reads a partition's log from `offset`. */
export interface FetchRequest {
  readonly api: "fetch";
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly maxRecords: number;
  readonly isolation: Isolation;
}

/** One record as a reader sees it. */
export interface FetchedRecord {
  readonly offset: number;
  readonly key: Bytes | null;
  readonly value: Bytes;
}

/** Records from the requested offset, and where to continue. */
export type FetchResponse = Result<{
  readonly records: FetchedRecord[];
  /** The offset to fetch next. */
  readonly nextOffset: number;
  readonly highWatermark: number;
  readonly logEndOffset: number;
}>;

/** Asks for a topic's shape. */
export interface MetadataRequest {
  readonly api: "metadata";
  readonly topic: string;
}

/** A topic's partition count. */
export type MetadataResponse = Result<{ readonly topic: string; readonly partitions: number }>;

/** Every request a broker answers. */
export type Request = ProduceRequest | FetchRequest | MetadataRequest;

/** The response type that answers request type `R`. */
export type ResponseFor<R extends Request> = R extends ProduceRequest
  ? ProduceResponse
  : R extends FetchRequest
    ? FetchResponse
    : R extends MetadataRequest
      ? MetadataResponse
      : never;

/** Anything that answers requests: the embedded broker, or a server behind a network transport. */
export interface RequestHandler {
  handle<R extends Request>(request: R): Promise<ResponseFor<R>>;
}
