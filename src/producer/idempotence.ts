import { AcktorError, OutOfOrderSequenceError, UnknownProducerIdError } from "../errors.ts";
import type { Clock } from "../runtime/clock.ts";
import type { Batch } from "./batch.ts";
import type { PartitionSequence } from "./sequencing.ts";

/** What the exactly-once side needs from its producer. */
export interface SequencerHost {
  readonly clock: Clock;
  /** The producer id and epoch the producer holds. */
  identity(): { producerId: number; epoch: number };
  /** Set for a transactional producer, which cannot repair a sequence gap. */
  readonly transactionalId: string | null;
  /** Asks the broker for a new epoch of `producerId`, moving on from `epoch`. */
  newEpoch(producerId: number, epoch: number): Promise<number>;
  /** The partition may dispatch again. */
  resume(partition: number): void;
}

/**
 * The exactly-once rules around a produce request, over each partition's
 * {@link PartitionSequence}: what identifies a write, what a sequence error means, when a
 * partition moves to a new epoch, and when waiting retries look again for their turn.
 */
export class Sequencer {
  readonly #host: SequencerHost;

  constructor(host: SequencerHost) {
    this.#host = host;
  }

  /** The identity and sequence fields of an exactly-once produce request. */
  fields(batch: Batch, sequence: PartitionSequence) {
    const { transactionalId } = this.#host;
    return {
      producerId: this.#host.identity().producerId,
      epoch: sequence.epoch,
      baseSequence: batch.baseSequence,
      ...(transactionalId ? { transactionalId } : {}),
    };
  }

  /**
   * Reads a sequence error in context. For a batch behind an unresolved one it only means the
   * earlier batch has not landed yet: retry in turn. For the oldest unresolved batch it is a
   * real gap (an earlier batch failed for good, or the broker lost the producer's state):
   * an idempotent producer moves the partition to a new epoch and renumbers, which is safe
   * because the broker appends in order, so nothing from here on was appended; a
   * transactional producer cannot, and the transaction must abort.
   */
  judge(batch: Batch, sequence: PartitionSequence, error: AcktorError): AcktorError {
    if (!(error instanceof OutOfOrderSequenceError) && !(error instanceof UnknownProducerIdError)) return error;
    if (!sequence.isHead(batch)) return new OutOfOrderSequenceError(error.message);
    if (this.#host.transactionalId) {
      return new AcktorError(error.code, `${error.message}; a transaction cannot recover from a sequence gap`);
    }
    sequence.requestBump();
    this.#bumpIfQuiet(sequence, batch.partition);
    return new OutOfOrderSequenceError(`${error.message}; moving partition ${batch.partition} to a new epoch`);
  }

  /** A request of the partition was answered. */
  answered(sequence: PartitionSequence, partition: number): void {
    sequence.outstanding--;
    this.#bumpIfQuiet(sequence, partition);
  }

  /**
   * Has every batch of the partition that waits for its turn check its `myTurn` guard again.
   * Called on every settle and epoch change, so no single missed hand-off can leave a retry
   * waiting forever; a batch not waiting ignores the event.
   */
  recheckTurns(sequence: PartitionSequence): void {
    const at = this.#host.clock.now();
    // A copy: a batch that fails on its turn settles, and leaves the list, at once.
    for (const batch of [...sequence.unresolved]) batch.request?.send({ type: "TURN", at });
  }

  /** Moves a partition to a new epoch once no answer from the old one can arrive. */
  #bumpIfQuiet(sequence: PartitionSequence, partition: number): void {
    if (!sequence.takeBump()) return;
    // If no new epoch can be had, the batches go on under the old one; their own retry
    // policies bound how long they keep trying.
    const resume = (epoch: number) => {
      sequence.rebase(epoch);
      this.recheckTurns(sequence);
      this.#host.resume(partition);
    };
    this.#host.newEpoch(this.#host.identity().producerId, sequence.epoch).then(resume, () => resume(sequence.epoch));
  }
}
