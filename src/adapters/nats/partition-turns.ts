/**
 * The order check that JetStream lacks: Kafka's broker refuses an idempotent producer's batch
 * whose first sequence does not follow the last one it appended, so a batch written after a
 * lost one never lands ahead of it. JetStream has no such check (message ids only drop
 * repeats), and two publishes in flight to one partition can land out of order: the first one
 * lost with a killed leader or a dropped connection, the second one stored by the next leader,
 * or resent by the client after it reconnects.
 *
 * So the transport enforces the rule itself, per producer id, epoch, topic and partition: one
 * publish chain at a time; a batch whose first sequence is past the next expected one is
 * refused with `OutOfOrderSequenceError` (retriable: the producer resends it after the earlier
 * batch, or moves to a new epoch when the earlier one failed for good); a batch at or before
 * it is published (a repeat is dropped by its message ids and answered with the original
 * offsets). The producer is the only writer of its own sequences, so checking on its side of
 * the connection is as good as on the server's.
 *
 * @module
 */
import { OutOfOrderSequenceError } from "../../errors.ts";

/** Partitions remembered; the least recently used is forgotten past this. */
const REMEMBERED = 4_096;

interface Turn {
  /** The sequence after the last one acknowledged. */
  next: number;
  /** The chain of publishes: each waits for the one before it. */
  tail: Promise<unknown>;
}

export class PartitionTurns {
  readonly #turns = new Map<string, Turn>();

  /**
   * Runs `publish` (which writes `count` records from `baseSequence` and resolves once all are
   * acknowledged) after every earlier publish of the same partition has settled, if
   * `baseSequence` does not skip past an unacknowledged sequence.
   *
   * A forgotten partition (never seen, or evicted) starts at the request's own sequence.
   */
  run<T>(key: string, baseSequence: number, count: number, publish: () => Promise<T>): Promise<T> {
    let turn = this.#turns.get(key);
    if (turn === undefined) {
      turn = { next: baseSequence, tail: Promise.resolve() };
      if (this.#turns.size >= REMEMBERED) this.#turns.delete(this.#turns.keys().next().value!);
    } else {
      this.#turns.delete(key);
    }
    // Most recently used last, so eviction takes the longest idle partition.
    this.#turns.set(key, turn);
    const current = turn;
    const result = current.tail.then(async () => {
      if (baseSequence > current.next) {
        throw new OutOfOrderSequenceError(
          `sequence ${baseSequence} is past ${current.next}, the next one this partition expects: an earlier batch has not landed`,
        );
      }
      const value = await publish();
      current.next = Math.max(current.next, baseSequence + count);
      return value;
    });
    current.tail = result.catch(() => {});
    return result;
  }
}
