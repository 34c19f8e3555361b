/**
 * The idempotence ("dedup") table of one partition, after Kafka's ProducerStateManager
 * (KIP-98): per producer id, its epoch, the last sequence appended and the last
 * {@link DEDUP_WINDOW} batches, so that a retried batch is recognised and answered with its
 * original offsets instead of being appended twice.
 *
 * Sequences are plain non-negative integers that count records per partition from 0 in each
 * epoch; unlike Kafka's int32 they do not wrap.
 *
 * @module
 */
import {
  type AcktorError,
  InvalidProducerEpochError,
  OutOfOrderSequenceError,
  ProducerFencedError,
  UnknownProducerIdError,
} from "../errors.ts";

/** How many recent batches per producer a partition remembers: Kafka's limit of in-flight requests. */
export const DEDUP_WINDOW = 5;

/** One appended batch, as the dedup window remembers it. */
interface BatchMeta {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly baseOffset: number;
}

interface ProducerEntry {
  epoch: number;
  /** The last sequence appended in this epoch; -1 before the first. */
  lastSequence: number;
  /** The last {@link DEDUP_WINDOW} batches of this epoch, oldest first. */
  batches: BatchMeta[];
  /** When it last wrote here (a batch or its transaction's marker), on the broker's clock. */
  lastSeen: number;
}

/**
 * What to do with a batch:
 * - `append` it;
 * - answer it as a `duplicate` of an appended batch: with the original `baseOffset`, or -1
 *   when it is older than the window; `endOffset` is how far the high watermark must reach
 *   before the original is replicated, for read-committed acks;
 * - refuse it with `error`.
 */
export type SequenceVerdict =
  | { readonly kind: "append" }
  | { readonly kind: "duplicate"; readonly baseOffset: number; readonly endOffset: number }
  | { readonly kind: "error"; readonly error: AcktorError };

// The common answer allocates nothing.
const APPEND: SequenceVerdict = { kind: "append" };

/** The dedup table of one partition. */
export class ProducerStateTable {
  readonly #producers = new Map<number, ProducerEntry>();
  /** Names the partition in error messages. */
  readonly #label: string;

  constructor(label: string) {
    this.#label = label;
  }

  /**
   * Decides whether a batch of `count` (≥ 1) records from `producerId` at `epoch`, starting at
   * `baseSequence`, is appended, answered as a duplicate, or refused. Changes nothing.
   */
  check(
    producerId: number,
    epoch: number,
    baseSequence: number,
    count: number,
    transactional: boolean,
  ): SequenceVerdict {
    const entry = this.#producers.get(producerId);
    if (entry === undefined) {
      // Sequences start at 0: a later one means the broker lost (or never had) this
      // producer's state, and a gap cannot be told from a duplicate.
      if (baseSequence !== 0) {
        return refuse(
          new UnknownProducerIdError(
            `${this.#who(producerId, epoch)}: no state for this producer, and sequence ${baseSequence} is not 0`,
          ),
        );
      }
      return APPEND;
    }
    if (epoch < entry.epoch) {
      const message = `${this.#who(producerId, epoch)}: epoch is older than the current ${entry.epoch}`;
      return refuse(transactional ? new ProducerFencedError(message) : new InvalidProducerEpochError(message));
    }
    if (epoch > entry.epoch) {
      if (baseSequence !== 0) {
        return refuse(
          new OutOfOrderSequenceError(
            `${this.#who(producerId, epoch)}: a new epoch must start at sequence 0, not ${baseSequence}`,
          ),
        );
      }
      return APPEND;
    }
    const lastSeq = baseSequence + count - 1;
    const { batches } = entry;
    for (const batch of batches) {
      if (batch.firstSeq === baseSequence && batch.lastSeq === lastSeq) {
        return { kind: "duplicate", baseOffset: batch.baseOffset, endOffset: batch.baseOffset + count };
      }
    }
    // Only a batch wholly before the window is a duplicate we cannot place. One that overlaps
    // the window without matching a batch has other boundaries than the one appended, so it
    // is not a retry of it.
    const oldest = batches[0];
    if (oldest !== undefined && lastSeq < oldest.firstSeq) {
      const newest = batches[batches.length - 1]!;
      return { kind: "duplicate", baseOffset: -1, endOffset: newest.baseOffset + newest.lastSeq - newest.firstSeq + 1 };
    }
    if (baseSequence !== entry.lastSequence + 1) {
      const expected = entry.lastSequence + 1;
      return refuse(
        new OutOfOrderSequenceError(
          `${this.#who(producerId, epoch)}: sequence ${baseSequence} is out of order; expected ${expected}`,
        ),
      );
    }
    return APPEND;
  }

  /** Records a batch that {@link check} allowed, once it is appended at `baseOffset`. */
  record(
    producerId: number,
    epoch: number,
    baseSequence: number,
    count: number,
    baseOffset: number,
    now = 0,
  ): void {
    let entry = this.#producers.get(producerId);
    if (entry === undefined) {
      entry = fresh(epoch, now);
      this.#producers.set(producerId, entry);
    } else if (entry.epoch !== epoch) {
      reset(entry, epoch);
    }
    entry.lastSeen = now;
    const lastSeq = baseSequence + count - 1;
    entry.batches.push({ firstSeq: baseSequence, lastSeq, baseOffset });
    if (entry.batches.length > DEDUP_WINDOW) entry.batches.shift();
    entry.lastSequence = lastSeq;
  }

  /**
   * A control marker written at the coordinator's `epoch`. A newer epoch (the coordinator
   * fenced the producer, or aborted its timed-out transaction) becomes the partition's, so
   * the older one is refused here too, and sequences restart at 0, as in Kafka.
   */
  onMarker(producerId: number, epoch: number, now = 0): void {
    const entry = this.#producers.get(producerId);
    if (entry === undefined) {
      this.#producers.set(producerId, fresh(epoch, now));
      return;
    }
    if (epoch > entry.epoch) reset(entry, epoch);
    entry.lastSeen = now;
  }

  /**
   * Forgets producers that last wrote at or before `before` (Kafka's `producer.id.expiration.ms`),
   * except those `keep` names (a transaction open here, or a transactional id the coordinator
   * still holds). An expired producer that writes again
   * with a sequence other than 0 gets `UnknownProducerIdError`, as in Kafka. Returns how many
   * were forgotten.
   */
  expire(before: number, keep: (producerId: number) => boolean): number {
    let expired = 0;
    for (const [producerId, entry] of this.#producers) {
      if (entry.lastSeen <= before && !keep(producerId)) {
        this.#producers.delete(producerId);
        expired++;
      }
    }
    return expired;
  }

  /** Producers in the table. */
  get size(): number {
    return this.#producers.size;
  }

  /** Batches remembered over all producers (each at most {@link DEDUP_WINDOW}). */
  get batches(): number {
    let n = 0;
    for (const entry of this.#producers.values()) n += entry.batches.length;
    return n;
  }

  // Built only for an error: the accepting path allocates no string.
  #who(producerId: number, epoch: number): string {
    return `producer ${producerId} (epoch ${epoch}) in ${this.#label}`;
  }

  /** The epoch this partition knows for `producerId`, if any. */
  epochOf(producerId: number): number | undefined {
    return this.#producers.get(producerId)?.epoch;
  }
}

/** A producer's entry before its first batch of `epoch`. */
function fresh(epoch: number, now: number): ProducerEntry {
  return { epoch, lastSequence: -1, batches: [], lastSeen: now };
}

function reset(entry: ProducerEntry, epoch: number): void {
  entry.epoch = epoch;
  entry.lastSequence = -1;
  entry.batches = [];
}

function refuse(error: AcktorError): SequenceVerdict {
  return { kind: "error", error };
}
