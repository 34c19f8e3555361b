/**
 * At-least-once (and `manual`) on an offset log: a unit counts as processed once the handler
 * returns (or, on `records$`, once acknowledged), and only processed offsets are committed.
 *
 * @module
 */
import type { Mode } from "../consumer.ts";
import type { Receiver } from "../receiver.ts";
import type { Fetch, StrategyHost } from "./strategy-host.ts";

/** Whether the loop should stop handing out this batch: stopped, the partition lost, or sought elsewhere. */
function interrupted(host: StrategyHost, { cursor }: Fetch, seeks: number, signal: AbortSignal): boolean {
  return signal.aborted || !host.owns(cursor.partition) || cursor.seeks !== seeks;
}

/**
 * Hands out each unit and marks it processed when the handler returns. A failure sends
 * reading back to it; so does stopping, or losing the partition, for the rest of the batch.
 * Returns the first failure below `maxDeliveries` (the unit comes again), if any.
 */
export async function processThenCommit(
  host: StrategyHost,
  fetch: Fetch,
  mode: Mode,
  signal: AbortSignal,
): Promise<{ redeliver: boolean }> {
  const { cursor, next, units } = fetch;
  const seeks = cursor.seeks;
  const context = host.context(null, signal);
  for (const [i, unit] of units.entries()) {
    const first = unit[0]!.offset;
    if (interrupted(host, fetch, seeks, signal)) {
      if (cursor.seeks === seeks) cursor.position = first;
      return { redeliver: false };
    }
    try {
      await host.invoke(mode, unit, context);
    } catch (error) {
      if (cursor.seeks !== seeks) return { redeliver: false };
      // A reader that stopped mid-record (for-await's return) interrupts it: not a failure to count.
      if (signal.aborted) {
        cursor.position = first;
        return { redeliver: false };
      }
      if (!(await host.failed(cursor, unit, error))) {
        cursor.position = first;
        return { redeliver: true };
      }
    }
    if (cursor.seeks !== seeks) return { redeliver: false };
    if (cursor.failures.size > 0) cursor.failures.delete(first);
    cursor.processed = i === units.length - 1 ? next : units[i + 1]![0]!.offset;
    host.reportProcessed(unit);
  }
  cursor.position = next;
  return { redeliver: false };
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
    if (interrupted(host, fetch, seeks, signal)) {
      if (cursor.seeks === seeks) cursor.position = record.offset;
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
