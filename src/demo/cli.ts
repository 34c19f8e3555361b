/**
 * `npm run demo [-- --json] [--records N] [--seed N] [--crashes N]`: prints the
 * delivery-semantics table, each semantic end to end, producer and consumer.
 */
import { describeCrash } from "./consume.ts";
import { DEMO_CRASHES, DEMO_FAULTS, DEMO_RECORDS, type DemoRow, runDemo } from "./semantics.ts";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} needs a whole number, got ${process.argv[i + 1]}`);
  return value;
}

const PROMISE: Record<DemoRow["semantic"], string> = {
  "at-most-once": "none processed twice",
  "at-least-once": "none lost",
  "exactly-once": "output = input, once each",
};

const records = option("--records", DEMO_RECORDS);
const seed = option("--seed", 7);
const crashes = option("--crashes", DEMO_CRASHES);
const rows = await runDemo({ records, seed, crashes });

if (process.argv.includes("--json")) {
  for (const row of rows) console.log(JSON.stringify(row));
} else {
  const columns: [string, (r: DemoRow) => string][] = [
    ["semantic", (r) => r.semantic],
    ["consumer commit", (r) => r.commit],
    ["sent", (r) => String(r.sent)],
    ["in log", (r) => String(r.delivered)],
    ["lost (producer)", (r) => String(r.lost)],
    ["dup (producer)", (r) => String(r.duplicated)],
    ["reported failed", (r) => String(r.reportedFailed)],
    ["processed", (r) => String(r.processed)],
    ["lost (consumer)", (r) => String(r.lostByConsumer)],
    ["processed twice", (r) => String(r.processedTwice)],
    ["handler reruns", (r) => String(r.handlerReruns)],
    ["crashes", (r) => String(r.crashes.length)],
    ["records/s", (r) => r.recordsPerSecond.toLocaleString("en-US")],
    ["guarantee", (r) => (r.guaranteeHeld ? `${PROMISE[r.semantic]} ✓` : "BROKEN ✗")],
  ];
  const widths = columns.map(([head, cell]) => Math.max(head.length, ...rows.map((r) => cell(r).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  console.log(`acktor demo: ${records} records of 100 bytes, 4 partitions, seed ${seed}, faults ${JSON.stringify(DEMO_FAULTS)} on the producer and every consumer,`);
  console.log(`${crashes} consumer crashes per semantic, each followed by a new consumer in the same group`);
  console.log("");
  console.log(line(columns.map(([head]) => head)));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const row of rows) console.log(line(columns.map(([, cell]) => cell(row))));
  console.log("");
  console.log("in log, lost and dup (producer): the input log against what was sent. processed: records whose processing took effect");
  console.log("(exactly-once: in the output topic, read committed). lost (consumer): in the log, never processed. processed twice:");
  console.log("records processed more than once, end to end. handler reruns: records handed out again after a crash or an aborted");
  console.log("transaction. records/s: wall clock of the whole run, producing and consuming, on a virtual clock.");
  for (const row of rows) {
    const where = row.crashes.length === 0 ? "none" : row.crashes.map(describeCrash).join(", ");
    console.log(`${row.semantic}: ${row.consumers} consumer instances, crashed at: ${where}; ${row.simulatedMs.toLocaleString("en-US")} ms simulated`);
    for (const failure of row.consumerFailures) console.log(`  a consumer failed by itself: ${failure}`);
  }
}
if (rows.some((r) => !r.guaranteeHeld)) process.exitCode = 1;
