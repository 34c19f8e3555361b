/**
 * Exactly-once consume-transform-produce on an offset log: the handler's sends and the input
 * offsets of every batch commit in one transaction of the configured producer, or none of
 * it does and every batch is read again.
 *
 * @module
 */
import { TransactionAbortedError, TransactionTimedOutError } from "../../errors.ts";
import type { Mode } from "../consumer.ts";
import type { ConsumedRecord } from "../record.ts";
import type { Fetch, StrategyHost } from "./strategy-host.ts";

/** Thrown inside a transaction to abort it when the loop must stop or lost the partition; never escapes. */
const INTERRUPTED = Symbol("interrupted");

/**
 * Runs the batches in one transaction. `committing` is called once every unit was handled,
 * just before the input offsets join the transaction and it commits. True once it committed.
 */
export async function processInTransaction(
  host: StrategyHost,
  batches: Fetch[],
  mode: Mode,
  signal: AbortSignal,
  committing: () => void,
): Promise<boolean> {
  const producer = host.config.producer!;
  const generation = host.generation();
  const offsets = batches.map(({ cursor, next }) => ({ topic: host.topic, partition: cursor.partition, offset: next }));
  const handled: ConsumedRecord[][] = [];
  /** A unit failed below `maxDeliveries`: the transaction aborts so that it comes again. */
  let failed = false;
  try {
    await producer.transaction(async (tx) => {
      const context = host.context(tx, signal);
      for (const { cursor, units } of batches) {
        for (const unit of units) {
          if (signal.aborted || !host.owns(cursor.partition)) throw INTERRUPTED;
          try {
            await host.invoke(mode, unit, context);
          } catch (error) {
            if (!(await host.failed(cursor, unit, error))) {
              failed = true;
              throw error;
            }
            continue;
          }
          handled.push(unit);
        }
      }
      committing();
      // The generation the batches were fetched in: if the group rebalanced since, the
      // coordinator refuses the offsets and the transaction aborts (KIP-447).
      await tx.sendOffsets(host.config.groupId, offsets, generation);
    });
  } catch (error) {
    // Nothing of the transaction is visible: read the batches again, here or at the next owner.
    for (const { cursor, units } of batches) cursor.position = units[0]![0]!.offset;
    if (failed || error === INTERRUPTED) return false;
    if (host.fenced(error)) return false;
    // The transaction could not commit (a write failed, or it timed out): the batches come again.
    if (error instanceof TransactionAbortedError || error instanceof TransactionTimedOutError) return false;
    throw error;
  }
  for (const { cursor, next, units } of batches) {
    cursor.position = cursor.processed = cursor.committed = next;
    for (const unit of units) cursor.failures.delete(unit[0]!.offset);
  }
  for (const unit of handled) host.reportProcessed(unit);
  host.committed(offsets, true);
  return true;
}
