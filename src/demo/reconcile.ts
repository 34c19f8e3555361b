/**
 * The demo's arithmetic, the same on every engine: what the input log holds against what was
 * sent (producer side), and what processing took effect against the log (consumer side).
 *
 * @module
 */

/** One entry of the input log: which record it carries, and where. */
export interface LogEntry {
  readonly id: number;
  readonly partition: number;
  readonly offset: number;
}

/** What {@link reconcile} is fed. */
export interface Evidence {
  /** Records sent, with ids 0 … records - 1. */
  readonly records: number;
  /** Every entry of the input log, duplicates included. */
  readonly log: Iterable<LogEntry>;
  /** How many times a handler completed the log entry at (partition, offset). */
  readonly runs: (partition: number, offset: number) => number;
  /**
   * Exactly-once only: the record ids in the output topic, read back committed. Processing
   * took effect there, not in a handler run (an aborted or repeated run leaves no copy).
   * Null: every handler run took effect.
   */
  readonly output: Iterable<number> | null;
}

/** The reconciled counts; their meaning is the {@link DemoRow} fields of the same names. */
export interface Tally {
  readonly delivered: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly processed: number;
  readonly lostByConsumer: number;
  readonly processedTwice: number;
  readonly handlerReruns: number;
}

/** Counts, per record id, copies in the log and effects of processing, and sums them up. */
export function reconcile({ records, log, runs, output }: Evidence): Tally {
  const copies = new Uint32Array(records);
  const effects = new Uint32Array(records);
  let handlerReruns = 0;
  for (const entry of log) {
    copies[entry.id]!++;
    const n = runs(entry.partition, entry.offset);
    handlerReruns += Math.max(0, n - 1);
    if (output === null) effects[entry.id]! += n;
  }
  if (output !== null) { for (const id of output) effects[id]!++; }
  let delivered = 0;
  let duplicated = 0;
  let processed = 0;
  let lostByConsumer = 0;
  let processedTwice = 0;
  for (let id = 0; id < records; id++) {
    const n = copies[id]!;
    if (n > 0) delivered++;
    if (n > 1) duplicated += n - 1;
    const e = effects[id]!;
    if (e > 0) processed++;
    else if (n > 0) lostByConsumer++;
    if (e > 1) processedTwice++;
  }
  return { delivered, lost: records - delivered, duplicated, processed, lostByConsumer, processedTwice, handlerReruns };
}

/** Record `i` carries `i` in its value's first 4 bytes, so reconciling is exact and cheap. */
export function idOf(value: Uint8Array): number {
  return new DataView(value.buffer, value.byteOffset).getUint32(0);
}

/** The value of record `i`: 100 bytes, `i` in the first 4. */
export function valueOf(i: number): Uint8Array {
  const value = new Uint8Array(100);
  new DataView(value.buffer).setUint32(0, i);
  return value;
}

/** Whether a semantic kept its promise end to end: nothing processed twice, nothing lost, or both. */
export function guaranteeHeld(kind: "at-most-once" | "at-least-once" | "exactly-once", tally: Tally, records: number) {
  return {
    "at-most-once": tally.processedTwice === 0,
    "at-least-once": tally.processed === records,
    "exactly-once": tally.processed === records && tally.processedTwice === 0,
  }[kind];
}
