/**
 * `npm run demo [-- --json] [--records N] [--seed N]`: prints the delivery-semantics table.
 */
import { DEMO_FAULTS, type DemoRow, runDemo } from "./semantics.ts";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} needs a whole number, got ${process.argv[i + 1]}`);
  return value;
}

const PROMISE: Record<DemoRow["semantic"], string> = {
  "at-most-once": "no duplicates",
  "at-least-once": "no loss",
  "exactly-once": "no loss, no duplicates",
};

const records = option("--records", 100_000);
const seed = option("--seed", 7);
const rows = await runDemo({ records, seed });

if (process.argv.includes("--json")) {
  for (const row of rows) console.log(JSON.stringify(row));
} else {
  const columns: [string, (r: DemoRow) => string][] = [
    ["semantic", (r) => r.semantic],
    ["sent", (r) => String(r.sent)],
    ["delivered", (r) => String(r.delivered)],
    ["lost", (r) => String(r.lost)],
    ["duplicated", (r) => String(r.duplicated)],
    ["reported failed", (r) => String(r.reportedFailed)],
    ["records/s", (r) => r.recordsPerSecond.toLocaleString("en-US")],
    ["guarantee", (r) => (r.guaranteeHeld ? `${PROMISE[r.semantic]} ✓` : "BROKEN ✗")],
  ];
  const widths = columns.map(([head, cell]) => Math.max(head.length, ...rows.map((r) => cell(r).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  console.log(`acktor demo: ${records} records of 100 bytes, 4 partitions, seed ${seed}, faults ${JSON.stringify(DEMO_FAULTS)}`);
  console.log(line(columns.map(([head]) => head)));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const row of rows) console.log(line(columns.map(([, cell]) => cell(row))));
}
if (rows.some((r) => !r.guaranteeHeld)) process.exitCode = 1;
