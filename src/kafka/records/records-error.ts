/**
 * Errors of Kafka record batch decoding: a batch that cannot be read as Kafka's format v2,
 * and one compressed with a codec acktor does not read.
 *
 * @module
 */
import { AcktorError } from "../../errors.ts";

/**
 * A record batch that is not a well-formed Kafka v2 batch: wrong magic, CRC-32C mismatch,
 * truncated, or with lengths and counts that disagree. Kafka answers these with
 * `CORRUPT_MESSAGE` (or `INVALID_RECORD`); retrying the same bytes cannot help.
 */
export class CorruptRecordError extends AcktorError {
  override readonly name: string = "CorruptRecordError";
  /** Where the offending batch starts in the decoded bytes. */
  readonly batchOffset: number;
  constructor(batchOffset: number, problem: string) {
    super("RECORD_INVALID", `record batch at byte ${batchOffset}: ${problem}`);
    this.batchOffset = batchOffset;
  }
}

const CODEC_NAMES: readonly string[] = ["none", "gzip", "snappy", "lz4", "zstd"];

/** The name Kafka gives compression codec `codec` (attribute bits 0-2). */
export function codecName(codec: number): string {
  return CODEC_NAMES[codec] ?? "unknown";
}

/** A batch compressed with a codec acktor cannot decompress (snappy, lz4, zstd). */
export class UnsupportedCompressionError extends AcktorError {
  override readonly name: string = "UnsupportedCompressionError";
  /** The codec number from the batch's attributes. */
  readonly codec: number;
  constructor(codec: number, reason = "is not supported: use none or gzip") {
    super("UNSUPPORTED", `compression codec ${codecName(codec)} (${codec}) ${reason}`);
    this.codec = codec;
  }
}
