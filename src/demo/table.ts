/**
 * The demo's report as lines of text: what ran, the table, and what its columns mean.
 * Pure, so its width can be tested without running the demo. The default layout fits a
 * 120-column terminal; the wide one has every column, the guarantee spelled out included.
 *
 * @module
 */
import { describeCrash } from "./consume.ts";
import type { DemoRow } from "./semantics.ts";
import { type Column as DemoColumn, tableLines } from "../cli/table.ts";

/** The widest line of the default layout. */
export const DEMO_WIDTH = 120;

/** What the report says about the run besides its rows. */
export interface DemoTableOptions {
  readonly records: number;
  readonly seed: number;
  /** Consumer crashes per semantic. */
  readonly crashes: number;
  /** Fault probabilities (0 to 1) on the producer's and every consumer's connection, by name. */
  readonly faults: Readonly<Record<string, number>>;
  /** Every column in one line per row, whatever its width. */
  readonly wide?: boolean;
  /** Where it ran, when not on the embedded broker, e.g. "NATS JetStream at 127.0.0.1:4222". */
  readonly engine?: string;
  /**
   * What struck the consumers' connections, when not the producer's faults: on NATS, why
   * none were injected.
   */
  readonly consumerFaults?: string;
  /** Whether the run's times are virtual (the embedded broker's, the default) or real. */
  readonly clock?: "virtual" | "wall";
}

/** What each semantic promises, as the report states it. */
const PROMISE: Record<DemoRow["semantic"], string> = {
  "at-most-once": "none processed twice",
  "at-least-once": "none lost",
  "exactly-once": "output = input, once each",
};

type Column = DemoColumn<DemoRow>;

const count = (value: (row: DemoRow) => number) => (row: DemoRow) => String(value(row));
const verdict = (row: DemoRow): string => (row.guaranteeHeld ? `${PROMISE[row.semantic]} ✓` : "BROKEN ✗");

// Narrow: what every row sends is in the heading, the rest of the detail under the table.
const NARROW: readonly Column[] = [
  { header: "semantic", cell: (r) => r.semantic, align: "left" },
  { header: "commit", cell: (r) => r.commit, align: "left" },
  { header: "in log", cell: count((r) => r.delivered) },
  { header: "lost prod", cell: count((r) => r.lost) },
  { header: "dup prod", cell: count((r) => r.duplicated) },
  { header: "processed", cell: count((r) => r.processed) },
  { header: "lost cons", cell: count((r) => r.lostByConsumer) },
  { header: "proc twice", cell: count((r) => r.processedTwice) },
  { header: "reruns", cell: count((r) => r.handlerReruns) },
  { header: "crashes", cell: count((r) => r.crashes.length) },
];

/** Every column, as the wide layout shows them (the delivery lab's table has the same). */
export const WIDE: readonly Column[] = [
  { header: "semantic", cell: (r) => r.semantic, align: "left" },
  { header: "consumer commit", cell: (r) => r.commit, align: "left" },
  { header: "sent", cell: count((r) => r.sent) },
  { header: "in log", cell: count((r) => r.delivered) },
  { header: "lost (producer)", cell: count((r) => r.lost) },
  { header: "dup (producer)", cell: count((r) => r.duplicated) },
  { header: "reported failed", cell: count((r) => r.reportedFailed) },
  { header: "processed", cell: count((r) => r.processed) },
  { header: "lost (consumer)", cell: count((r) => r.lostByConsumer) },
  { header: "processed twice", cell: count((r) => r.processedTwice) },
  { header: "handler reruns", cell: count((r) => r.handlerReruns) },
  { header: "crashes", cell: count((r) => r.crashes.length) },
  { header: "records/s", cell: (r) => r.recordsPerSecond.toLocaleString("en-US") },
  { header: "guarantee", cell: verdict, align: "left" },
];

/** The whole report, one string per line; the default layout's lines are at most {@link DEMO_WIDTH} wide. */
export function renderDemoTable(rows: readonly DemoRow[], options: DemoTableOptions): string[] {
  const wide = options.wide ?? false;
  // The wide layout keeps one line per paragraph: it is for wide terminals and for pasting.
  const para = (text: string, hang = ""): string[] => (wide ? [text] : wrap(text, DEMO_WIDTH, hang));
  const faults = Object.entries(options.faults)
    .map(([name, p]) => `${name} ${+(p * 100).toFixed(3)}%`)
    .join(", ");
  const virtual = (options.clock ?? "virtual") === "virtual";
  const where = options.engine === undefined ? "" : `, on ${options.engine}`;
  const lines = [
    ...para(
      `acktor demo: ${options.records} records of 100 bytes per semantic into 4 partitions, seed ${options.seed}${where}`,
    ),
    ...para(
      options.consumerFaults === undefined
        ? `faults on the producer's and every consumer's connection: ${faults}`
        : `faults on the producer's connection: ${faults}; on the consumers' connections: ${options.consumerFaults}`,
    ),
    ...para(
      `${options.crashes} consumer crashes per semantic, each followed by a new consumer instance in the same group`,
    ),
    "",
    ...tableLines(wide ? WIDE : NARROW, rows),
    "",
    ...para((wide ? WIDE_LEGEND : NARROW_LEGEND) + (virtual ? VIRTUAL_CLOCK : WALL_CLOCK)),
    ...(wide ? [] : [""]),
  ];
  for (const row of rows) {
    const where = row.crashes.length === 0 ? "none" : row.crashes.map(describeCrash).join(", ");
    const simulated = `${row.simulatedMs.toLocaleString("en-US")} ms ${virtual ? "simulated" : "of real time"}`;
    if (wide) {
      lines.push(`${row.semantic}: ${row.consumers} consumer instances, crashed at: ${where}; ${simulated}`);
    } else {
      lines.push(...para(`${row.semantic}: ${verdict(row)}`, "  "));
      lines.push(...para(`  ${row.consumers} consumer instances, crashed at: ${where}`, "  "));
      const rate = `${row.recordsPerSecond.toLocaleString("en-US")} records/s`;
      lines.push(...para(`  ${simulated}, ${rate}, ${row.reportedFailed} reported failed by the producer`, "  "));
    }
    for (const failure of row.consumerFailures) lines.push(...para(`  a consumer failed by itself: ${failure}`, "  "));
  }
  return lines;
}

const NARROW_LEGEND =
  "in log, lost prod and dup prod: the input log against what was sent. processed: records whose processing took effect " +
  "(exactly-once: in the output topic, read committed). lost cons: in the log, never processed. proc twice: records " +
  "processed more than once, end to end. reruns: records handed to a handler again after a crash or an aborted " +
  "transaction. Below, per semantic: whether it kept its promise, where its consumers crashed, and records/s: the wall " +
  "clock of the whole run, producing and consuming";

const WIDE_LEGEND =
  "in log, lost and dup (producer): the input log against what was sent. processed: records whose processing took effect " +
  "(exactly-once: in the output topic, read committed). lost (consumer): in the log, never processed. processed twice: " +
  "records processed more than once, end to end. handler reruns: records handed out again after a crash or an aborted " +
  "transaction. records/s: wall clock of the whole run, producing and consuming";

const VIRTUAL_CLOCK = ", on a virtual clock.";
const WALL_CLOCK = ", in real time (the server keeps its own clock).";

/**
 * Breaks text at spaces into lines of at most `width`, continuing with the text's own indent
 * plus `hang`; a word longer than a line (a path in an error message, say) is cut, so the
 * limit always holds.
 */
export function wrap(text: string, width: number, hang = ""): string[] {
  const indent = /^ */.exec(text)![0];
  const lines: string[] = [];
  let prefix = indent;
  let line = "";
  const room = (): number => width - prefix.length;
  for (let word of text.trim().split(/ +/)) {
    if (line !== "" && line.length + 1 + word.length > room()) {
      lines.push(prefix + line);
      [prefix, line] = [indent + hang, ""];
    }
    while (word.length > room()) {
      lines.push(prefix + word.slice(0, room()));
      [word, prefix] = [word.slice(room()), indent + hang];
    }
    line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "" || lines.length === 0) lines.push(prefix + line);
  return lines;
}
