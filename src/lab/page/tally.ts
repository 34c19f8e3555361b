/**
 * Live counts read from the broker while a run goes on: the input log as it grows (records
 * in it, extra copies), and, once consumers run, what their handlers did to it. The
 * arithmetic is the demo's (`reconcile.ts`), applied to what exists so far, so every count
 * ends where the reconciliation table does; "lost" counts only what is already committed and
 * was never processed, which is what losing a record means while a run is still going.
 *
 * @module
 */
import type { DemoRun } from "../../demo/semantics.ts";
import { idOf } from "../../demo/reconcile.ts";

/** Consumer-side counts so far. */
export interface ConsumerTally {
  /** Distinct records processed (exactly-once: in the read-committed output). */
  readonly processed: number;
  /** Records committed past and never processed. */
  readonly lost: number;
  /** Records processed more than once. */
  readonly processedTwice: number;
  /** Handler runs beyond the first per log entry. */
  readonly handlerReruns: number;
  /** Handler runs in all. */
  readonly handled: number;
}

/** One run's input log, read as it grows, and its output topic, read committed. */
export class LogTally {
  /** Distinct records in the log. */
  inLog = 0;
  /** Copies beyond the first. */
  duplicated = 0;
  readonly #run: DemoRun;
  readonly #records: number;
  /** Per partition, the record id at each offset. */
  readonly #ids: number[][];
  readonly #copies: Uint16Array;
  readonly #effects: Uint16Array;
  readonly #output: Uint16Array;
  readonly #outputNext: number[];
  readonly #seen: Uint8Array;

  constructor(run: DemoRun, records: number) {
    this.#run = run;
    this.#records = records;
    this.#ids = Array.from({ length: run.partitions }, () => []);
    this.#copies = new Uint16Array(records);
    this.#effects = new Uint16Array(records);
    this.#output = new Uint16Array(records);
    this.#outputNext = new Array<number>(run.partitions).fill(0);
    this.#seen = new Uint8Array(records);
  }

  /** Records not in the log (final once the producer is done: nothing else writes it). */
  get lost(): number {
    return this.#records - this.inLog;
  }

  /** Reads what the log gained since the last call. */
  readLog(): void {
    const { broker, topic } = this.#run;
    this.#ids.forEach((ids, p) => {
      for (const record of broker.read(topic, p, { offset: ids.length, isolation: "read-uncommitted" })) {
        const id = idOf(record.value);
        ids[record.offset] = id;
        if (++this.#copies[id]! === 1) this.inLog++;
        else this.duplicated++;
      }
    });
  }

  /**
   * The consumer side so far, from the handlers' runs per log entry (`handled`), the group's
   * committed offsets, and for `transactional` the output read committed.
   */
  consumers(handled: readonly Uint16Array[], transactional: boolean): ConsumerTally {
    const { broker, groupId, topic } = this.#run;
    let handlerReruns = 0;
    let total = 0;
    const effects = transactional ? this.#readOutput() : this.#effects.fill(0);
    this.#ids.forEach((ids, p) => {
      const runs = handled[p]!;
      for (let offset = 0; offset < runs.length; offset++) {
        const n = runs[offset]!;
        total += n;
        if (n > 1) handlerReruns += n - 1;
        if (!transactional) effects[ids[offset]!]! += n;
      }
    });
    let processed = 0;
    let processedTwice = 0;
    for (let id = 0; id < this.#records; id++) {
      const e = effects[id]!;
      if (e > 0) processed++;
      if (e > 1) processedTwice++;
    }
    let lost = 0;
    this.#seen.fill(0);
    this.#ids.forEach((ids, p) => {
      const committed = Math.min(broker.committedOffset(groupId, topic, p) ?? 0, ids.length);
      for (let offset = 0; offset < committed; offset++) {
        const id = ids[offset]!;
        if (effects[id] === 0 && this.#seen[id] === 0) {
          this.#seen[id] = 1;
          lost++;
        }
      }
    });
    return { processed, lost, processedTwice, handlerReruns, handled: total };
  }

  /** Copies of each record in the output so far, read committed (aborted ones never show). */
  #readOutput(): Uint16Array {
    const { broker, outputTopic } = this.#run;
    this.#outputNext.forEach((next, p) => {
      for (const record of broker.read(outputTopic, p, { offset: next, isolation: "read-committed" })) {
        this.#output[idOf(record.value)]!++;
        this.#outputNext[p] = record.offset + 1;
      }
    });
    return this.#output;
  }
}
