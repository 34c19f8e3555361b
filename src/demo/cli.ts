/**
 * `npm run demo [-- options]`: prints the delivery-semantics table, each semantic end to
 * end, producer and consumer; `npm run demo -- --help` lists the options. With `--nats URL`
 * it runs on that NATS JetStream server instead of the embedded broker.
 */
import process from "node:process";
import { defineCommand, readOptions } from "../cli/options.ts";
import { NATS_CONSUMER_FAULTS, NATS_DEMO_RECORDS, runNatsDemo } from "./nats.ts";
import { DEMO_CRASHES, DEMO_FAULTS, DEMO_RECORDS, type DemoRow, runDemo } from "./semantics.ts";
import { renderDemoTable } from "./table.ts";

const command = defineCommand({
  usage: "npm run demo --",
  summary: "Each delivery semantic end to end, producer and consumer, through seeded faults and consumer crashes.",
  options: {
    records: {
      kind: "integer",
      default: null,
      min: 1,
      help: "records sent per semantic",
      defaultHelp: `${DEMO_RECORDS}, or ${NATS_DEMO_RECORDS} with --nats, which runs in real time`,
    },
    seed: { kind: "integer", default: 7, help: "seed of the faults and the crash points" },
    crashes: { kind: "integer", default: DEMO_CRASHES, help: "consumer crashes per semantic" },
    nats: {
      kind: "string",
      default: null,
      help: "run on this NATS JetStream server (host:port or nats://host:port), in fresh topics deleted at the end",
    },
    json: { kind: "boolean", help: "one JSON object per row instead of the table" },
    wide: { kind: "boolean", help: "every column in the table, wider than 120 characters" },
  },
});

const options = readOptions(command);
const records = options.records ?? (options.nats === null ? DEMO_RECORDS : NATS_DEMO_RECORDS);
const settings = { records, seed: options.seed, crashes: options.crashes };
let rows: DemoRow[];
try {
  rows = options.nats === null ? await runDemo(settings) : await runNatsDemo({ ...settings, servers: options.nats });
} catch (error) {
  // Most likely a server that is not there or has no JetStream: one line, not a stack trace.
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
if (options.json) {
  for (const row of rows) console.log(JSON.stringify(row));
} else {
  const lines = renderDemoTable(rows, {
    ...settings,
    faults: DEMO_FAULTS,
    wide: options.wide,
    ...(options.nats === null ? {} : {
      engine: `NATS JetStream at ${options.nats}`,
      consumerFaults: NATS_CONSUMER_FAULTS,
      clock: "wall" as const,
    }),
  });
  for (const line of lines) console.log(line);
}
if (rows.some((r) => !r.guaranteeHeld)) process.exitCode = 1;
