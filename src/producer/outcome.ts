import { type BatchError, batchError } from "../errors.ts";
import { EMPTY_HEADERS } from "../transport/headers.ts";
import type { Bytes, RecordHeaders } from "../transport/protocol.ts";
import type { Batch } from "./batch.ts";

/** Where a delivered record landed. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

interface OutcomeBase {
  readonly topic: string;
  readonly partition: number;
  readonly key: Bytes | null;
  readonly value: Bytes;
  /** The record's headers as sent (`{}` for none), so a failed record can be re-sent as it was. */
  readonly headers: RecordHeaders;
  readonly timestamp: number;
  /** Attempts made for the record's batch. */
  readonly attempts: number;
}

/** The fate of one record. Every accepted record gets exactly one. */
export type RecordOutcome =
  | (OutcomeBase & { readonly status: "delivered"; readonly offset: number })
  /** At-most-once: written once, not waited for. */
  | (OutcomeBase & { readonly status: "sent-unconfirmed" })
  | (OutcomeBase & { readonly status: "failed"; readonly error: BatchError });

/** Running totals, counted per batch. */
export interface ProducerStats {
  /** Records accepted by `send()`. */
  accepted: number;
  /** Records acknowledged by the broker. */
  delivered: number;
  /** Records written once without waiting (at-most-once). */
  sentUnconfirmed: number;
  /** Records whose batch failed. */
  failed: number;
  /** Batch attempts beyond the first. */
  retries: number;
  /** Batches settled. */
  batches: number;
}

interface ReportBase {
  readonly batchId: number;
  readonly topic: string;
  readonly partition: number;
  readonly records: number;
}

/** What happened to a batch. A batch reports `dispatched`, any number of `retry`, then one end. */
export type BatchReport =
  | (ReportBase & { readonly type: "dispatched" })
  | (ReportBase & {
    readonly type: "retry";
    readonly attempt: number;
    readonly delayMs: number;
    readonly error: unknown;
  })
  | (ReportBase & { readonly type: "delivered"; readonly baseOffset: number; readonly attempts: number })
  | (ReportBase & { readonly type: "sent-unconfirmed"; readonly attempts: number })
  | (ReportBase & { readonly type: "failed"; readonly error: BatchError; readonly attempts: number });

/**
 * Offset of record `index` of a batch based at `baseOffset`, or as listed in `offsets` when
 * the broker listed them. A duplicate older than the broker's dedup window is acknowledged
 * without its offsets (-1, Kafka's unknown offset).
 */
export function offsetOf(baseOffset: number, index: number, offsets: readonly number[] | null = null): number {
  if (offsets !== null) return offsets[index] ?? -1;
  return baseOffset < 0 ? -1 : baseOffset + index;
}

/** The outcome of record `index` of a settled batch. */
export function recordOutcome(batch: Batch, index: number): RecordOutcome {
  const result = batch.result!;
  const base = {
    topic: batch.topic,
    partition: batch.partition,
    key: batch.keys[index] ?? null,
    value: batch.values[index]!,
    headers: batch.headers?.[index] ?? EMPTY_HEADERS,
    timestamp: batch.timestamps[index]!,
    attempts: result.attempts,
  };
  switch (result.status) {
    case "delivered":
      return { ...base, status: "delivered", offset: offsetOf(result.baseOffset, index, batch.offsets) };
    case "sent":
      return { ...base, status: "sent-unconfirmed" };
    case "failed":
      return { ...base, status: "failed", error: batchError(result.error) };
  }
}

/** Every record outcome of a settled batch, built only for subscribers. */
export function recordOutcomes(batch: Batch): RecordOutcome[] {
  const out = new Array<RecordOutcome>(batch.values.length);
  for (let i = 0; i < out.length; i++) out[i] = recordOutcome(batch, i);
  return out;
}

/** The end-of-batch report for a settled batch. */
export function settledReport(batch: Batch): BatchReport {
  const result = batch.result!;
  const base = {
    batchId: batch.id,
    topic: batch.topic,
    partition: batch.partition,
    records: batch.values.length,
    attempts: result.attempts,
  };
  switch (result.status) {
    case "delivered":
      return { ...base, type: "delivered", baseOffset: result.baseOffset };
    case "sent":
      return { ...base, type: "sent-unconfirmed" };
    case "failed":
      return { ...base, type: "failed", error: batchError(result.error) };
  }
}
