/**
 * At-least-once (and `manual`) on an offset log: a unit counts as processed once the handler
 * returns (or, on `records$`, once acknowledged), and only processed offsets are committed.
 *
 * @module
 */
import type { Mode } from "../consumer.ts";
import type { Receiver } from "../receiver.ts";
import type { Fetch, StrategyHost } from "./strategy-host.ts";

/** Whether the loop should stop handing out this batch: the reader stopped, or the partition was lost. */
function interrupted(host: StrategyHost, { cursor }: Fetch, signal: AbortSignal): boolean {
  return signal.aborted || !host.owns(cursor.partition);
}

/**
 * Hands out each unit and marks it processed when the handler returns. A failure sends
 * reading back to it; so does stopping, or losing the partition, for the rest of the batch.
 * True when a unit failed below `maxDeliveries`: it comes again.
 */
export async function processThenCommit(
  host: StrategyHost,
  fetch: Fetch,
  mode: Mode,
  signal: AbortSignal,
): Promise<boolean> {
  const { cursor, next, units } = fetch;
  const seeks = cursor.seeks;
  const context = host.context(null, signal);
  for (const [i, unit] of units.entries()) {
    const first = unit[0]!.offset;
    // A seek is caught right after the handler that made it (below), so none is pending here.
    if (interrupted(host, fetch, signal)) {
      cursor.position = first;
      return false;
    }
    try {
      await host.invoke(mode, unit, context);
    } catch (error) {
      if (cursor.seeks !== seeks) return false;
      // A reader that stopped mid-record (for-await's return) interrupts it: not a failure to count.
      if (signal.aborted) {
        cursor.position = first;
        return false;
      }
      if (!(await host.failed(cursor, unit, error))) {
        cursor.position = first;
        return true;
      }
    }
    if (cursor.seeks !== seeks) return false;
    cursor.failures.delete(first);
    cursor.processed = i === units.length - 1 ? next : units[i + 1]![0]!.offset;
    host.reportProcessed(unit);
  }
  cursor.position = next;
  return false;
}

/**
 * `records$`: hands each record to the receiver with an ack that marks it processed (over
 * the acknowledged prefix, see `Cursor.handedOut`). The loop goes on fetching while acks
 * come; the receiver bounds how many are outstanding.
 */
export async function handOutForAcks(
  host: StrategyHost,
  fetch: Fetch,
  receiver: Receiver,
  signal: AbortSignal,
): Promise<void> {
  const { cursor, next, units } = fetch;
  const seeks = cursor.seeks;
  for (const [i, unit] of units.entries()) {
    const record = unit[0]!;
    // The receiver may have been waiting for room while a seek moved the cursor: leave it there.
    if (cursor.seeks !== seeks) return;
    if (interrupted(host, fetch, signal)) {
      cursor.position = record.offset;
      return;
    }
    const ack = cursor.handedOut(i === units.length - 1 ? next : units[i + 1]![0]!.offset);
    const acked = (): void => {
      ack();
      host.reportProcessed(unit);
    };
    if (!(await receiver.handOut(record, acked, signal))) {
      cursor.position = record.offset;
      return;
    }
  }
  cursor.position = next;
}
