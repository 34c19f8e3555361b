/**
 * `npm run demo [-- options]`: prints the delivery-semantics table, each semantic end to
 * end, producer and consumer; `npm run demo -- --help` lists the options.
 */
import process from "node:process";
import { defineCommand, readOptions } from "../cli/options.ts";
import { DEMO_CRASHES, DEMO_FAULTS, DEMO_RECORDS, runDemo } from "./semantics.ts";
import { renderDemoTable } from "./table.ts";

const command = defineCommand({
  usage: "npm run demo --",
  summary: "Each delivery semantic end to end, producer and consumer, through seeded faults and consumer crashes.",
  options: {
    records: { kind: "integer", default: DEMO_RECORDS, min: 1, help: "records sent per semantic" },
    seed: { kind: "integer", default: 7, help: "seed of the faults and the crash points" },
    crashes: { kind: "integer", default: DEMO_CRASHES, help: "consumer crashes per semantic" },
    json: { kind: "boolean", help: "one JSON object per row instead of the table" },
    wide: { kind: "boolean", help: "every column in the table, wider than 120 characters" },
  },
});

const options = readOptions(command);
const rows = await runDemo({ records: options.records, seed: options.seed, crashes: options.crashes });
if (options.json) {
  for (const row of rows) console.log(JSON.stringify(row));
} else {
  const lines = renderDemoTable(rows, {
    records: options.records,
    seed: options.seed,
    crashes: options.crashes,
    faults: DEMO_FAULTS,
    wide: options.wide,
  });
  for (const line of lines) console.log(line);
}
if (rows.some((r) => !r.guaranteeHeld)) process.exitCode = 1;
