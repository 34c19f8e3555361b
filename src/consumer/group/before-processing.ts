/**
 * At-most-once on an offset log: a batch's offsets are committed before its records are
 * handed out, so a failure afterwards loses its record but nothing is handled twice.
 *
 * @module
 */
import type { Mode } from "../consumer.ts";
import type { Fetch, StrategyHost } from "./strategy-host.ts";

/** Commits the batch's end; false (nothing to hand out) when the commit was fenced. */
export async function commitBeforeProcessing(host: StrategyHost, { cursor, next }: Fetch): Promise<boolean> {
  if (!(await host.storeOffsets([{ topic: host.topic, partition: cursor.partition, offset: next }]))) return false;
  cursor.position = cursor.processed = next;
  return true;
}

/**
 * Hands out a committed batch: a failing unit is dead-lettered, or reported `failed`; it never
 * comes again. A stopped reader (`signal` aborted) is handed nothing more: `run()` stops after
 * the record in hand, as under every strategy. The rest of the batch was committed before it
 * was handed out, so it is not read again: at-most-once allows losing it, never handling it twice.
 */
export async function processCommitted(host: StrategyHost, { units }: Fetch, mode: Mode, signal: AbortSignal) {
  const context = host.context(null, signal);
  for (const unit of units) {
    if (signal.aborted) return;
    try {
      await host.invoke(mode, unit, context);
      host.reportProcessed(unit);
    } catch (error) {
      if (host.config.deadLetterTopic !== null) await host.deadLetter(unit, error);
      else for (const record of unit) host.report({ type: "failed", record, error });
    }
  }
}
