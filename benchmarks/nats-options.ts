/**
 * The options both NATS benchmarks take, as data for the shared parser (src/cli/options.ts);
 * nats.ts adds `--window`.
 *
 * @module
 */
import process from "node:process";
import type { OptionSpecs } from "../src/cli/options.ts";

/** `--records`, `--repeat` and `--servers`, with the same defaults in both benchmarks. */
export const NATS_OPTIONS = {
  records: { kind: "integer", default: 30_000, min: 1, help: "records per pass" },
  repeat: { kind: "integer", default: 3, min: 1, help: "interleaved rounds; each row is its median round" },
  servers: {
    kind: "string",
    default: process.env.ACKTOR_NATS_URL ?? "127.0.0.1:4222",
    help: "the NATS server, host:port; ACKTOR_NATS_URL, if set, is the default",
  },
} as const satisfies OptionSpecs;
