/**
 * Producer throughput and ack latency on the embedded broker, per delivery semantic, clean
 * and under seeded faults, against a raw in-process baseline.
 *
 *   npm run bench [-- --records N] [--warmup N] [--seed N] [--only TEXT] [--json]
 *   npx deno run -A benchmarks/run.ts [same options]
 *
 * Each case sends N 100-byte keyless records with `await producer.send(null, value)` in a
 * loop, then `await producer.flush()`; records/s is N over that wall time. Every case first
 * runs a warm-up pass (on its own broker, not counted) so the JIT has compiled the hot path.
 * Latency is per batch, see latency.ts. Delivered/lost/duplicated come from reading the
 * broker log back afterwards, see records.ts.
 *
 * @module
 */
import { cpus } from "node:os";
import { CASES, type CaseResult, PARTITIONS, RETRY, runCase, SHARED_CONFIG } from "./cases.ts";
import { makeRecords, RECORD_BYTES } from "./records.ts";
import { type Column, formatFixed, formatInteger, renderTable } from "./table.ts";

interface Options {
  records: number;
  warmup: number;
  seed: number;
  json: boolean;
  only: string | null;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { records: 1_000_000, warmup: -1, seed: 42, json: false, only: null };
  const integer = (flag: string, raw: string | undefined, min: number): number => {
    const value = Number(raw);
    if (raw === undefined || !Number.isSafeInteger(value) || value < min) throw new Error(`${flag} expects an integer >= ${min}, got ${raw}`);
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const next = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case "--records":
        options.records = integer(flag, next(), 1);
        break;
      case "--warmup":
        options.warmup = integer(flag, next(), 0);
        break;
      case "--seed":
        options.seed = integer(flag, next(), 0);
        break;
      case "--only":
        options.only = next() ?? null;
        break;
      case "--json":
        options.json = true;
        break;
      case "--help":
      case "-h":
        console.log("usage: run.ts [--records N] [--warmup N] [--seed N] [--only TEXT] [--json]");
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${arg}`);
    }
  }
  // A fifth of the run is plenty for V8 to optimise the per-record path (it is hot after a
  // few thousand calls) and keeps the whole default run near half a minute.
  if (options.warmup < 0) options.warmup = Math.min(options.records, Math.max(10_000, Math.floor(options.records / 5)));
  return options;
}

function runtime(): string {
  const deno = (globalThis as { Deno?: { version: { deno: string; v8: string } } }).Deno;
  if (deno) return `deno ${deno.version.deno} (v8 ${deno.version.v8})`;
  return `node ${process.version} (v8 ${process.versions.v8})`;
}

function machine(): string {
  const list = cpus();
  return `${list.length} CPU(s), ${list[0]?.model.trim() ?? "unknown model"}`;
}

const options = parseArgs(process.argv.slice(2));
const cases = CASES.filter((c) => options.only === null || c.name.includes(options.only));
if (cases.length === 0) throw new Error(`no case matches --only ${options.only}`);

const configText = {
  records: options.records,
  warmupRecords: options.warmup,
  recordBytes: RECORD_BYTES,
  key: null,
  topic: { partitions: PARTITIONS, replicationFactor: 1 },
  broker: "EmbeddedBroker, real clock",
  producer: { ...SHARED_CONFIG, partitioner: "sticky", isolation: "read-uncommitted", bufferSize: "32 MiB (default)" },
  atLeastOnceRetry: RETRY,
  chaosSeed: options.seed,
};
const log = options.json ? console.error : console.log;
log(`acktor producer benchmark on ${runtime()}, ${machine()}`);
log(`config: ${JSON.stringify(configText)}`);

const values = makeRecords(Math.max(options.records, options.warmup));
const results: CaseResult[] = [];
for (const spec of cases) {
  if (options.warmup > 0) await runCase(spec, values, options.warmup, options.seed + 1);
  const result = await runCase(spec, values, options.records, options.seed);
  results.push(result);
  if (!options.json) log(`  ${result.case}: ${formatInteger(result.recordsPerSec)} records/s`);
}

const baseline = results.find((r) => r.case === CASES[0]!.name) ?? null;
const byName = (name: string): CaseResult | undefined => results.find((r) => r.case === name);
const clean = byName("at-least-once");
const lossy = byName("at-least-once, 1% acks lost");
const faultRatio = clean && lossy ? lossy.recordsPerSec / clean.recordsPerSec : null;
const ratioVsRaw = (r: CaseResult): number | null => (baseline ? r.recordsPerSec / baseline.recordsPerSec : null);

if (options.json) {
  for (const r of results) {
    console.log(
      JSON.stringify({
        ...r,
        runtime: runtime(),
        ratioVsRaw: ratioVsRaw(r),
        ...(r === lossy ? { ratioVsFaultFree: faultRatio } : {}),
      }),
    );
  }
} else {
  const columns: Column<CaseResult>[] = [
    { header: "case", cell: (r) => r.case, align: "left" },
    { header: "records/s", cell: (r) => formatInteger(r.recordsPerSec) },
    { header: "vs raw", cell: (r) => formatFixed(ratioVsRaw(r), 3) },
    { header: "ack p50 ms", cell: (r) => formatFixed(r.ackP50Ms, 2) },
    { header: "ack p99 ms", cell: (r) => formatFixed(r.ackP99Ms, 2) },
    { header: "wire p50 ms", cell: (r) => formatFixed(r.wireP50Ms, 2) },
    { header: "wire p99 ms", cell: (r) => formatFixed(r.wireP99Ms, 2) },
    { header: "batches", cell: (r) => (r.batches ? formatInteger(r.batches) : "-") },
    { header: "retries", cell: (r) => formatInteger(r.retries) },
    { header: "delivered", cell: (r) => formatInteger(r.delivered) },
    { header: "lost", cell: (r) => formatInteger(r.lost) },
    { header: "duplicated", cell: (r) => formatInteger(r.duplicated) },
  ];
  log("");
  log(renderTable(columns, results));
  log("");
  log("ack = first record of a batch enqueued -> batch acked; wire = batch dispatched -> acked (per batch, see benchmarks/latency.ts).");
  log("at-most-once acks are the broker's reply as seen by wait(); batches with no positive reply have no sample.");
  if (faultRatio !== null) log(`at-least-once 1% acks lost / at-least-once clean: ${faultRatio.toFixed(3)}`);
  const unknown = results.reduce((n, r) => n + r.unknown, 0);
  if (unknown > 0) log(`WARNING: ${unknown} record(s) in the logs were never sent`);

  // The project's targets (set for a 2-core machine), reported, never steered toward.
  const amo = byName("at-most-once");
  const checks: [string, boolean | null][] = [
    [">= 2,000,000 records/s at-most-once", amo ? amo.recordsPerSec >= 2_000_000 : null],
    [">= 1,500,000 records/s at-least-once", clean ? clean.recordsPerSec >= 1_500_000 : null],
    [">= 0.8x fault-free at-least-once with 1% acks lost", faultRatio === null ? null : faultRatio >= 0.8],
  ];
  log("");
  for (const [target, met] of checks) if (met !== null) log(`target ${target}: ${met ? "met" : "NOT met"}`);
}
