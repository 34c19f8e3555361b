/**
 * The command-line options of the NATS benchmarks: `--records N`, `--repeat R`,
 * `--servers host:port` (default ACKTOR_NATS_URL, else 127.0.0.1:4222) and, for publishing,
 * `--window W` (raw publishes in flight).
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    records: { type: "string", default: "30000" },
    repeat: { type: "string", default: "3" },
    window: { type: "string", default: "256" },
    servers: { type: "string", default: process.env.ACKTOR_NATS_URL ?? "127.0.0.1:4222" },
  },
});

export const RECORDS = Number(values.records);
export const REPEAT = Number(values.repeat);
export const WINDOW = Number(values.window);
export const SERVERS = values.servers!;
