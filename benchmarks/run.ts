/**
 * Producer throughput and ack latency on the embedded broker, per delivery semantic, clean
 * and under seeded faults, against a raw in-process baseline.
 *
 *   npm run bench [-- --records N] [--warmup N] [--repeat R] [--seed N] [--only TEXT] [--json]
 *   npx deno run -A benchmarks/run.ts [same options]
 *
 * Each case sends N 100-byte keyless records with `await producer.send(null, value)` in a
 * loop, then `await producer.flush()`; records/s is N over that wall time. Latency is per
 * batch, see latency.ts. Delivered/lost/duplicated come from reading the broker log back
 * afterwards, see records.ts. Every pass uses a fresh broker and producer.
 *
 * Order of work: one warm-up pass per case (not counted), then `--repeat` rounds, each
 * running every case once. A case's reported row is its median-throughput round (all its
 * fields from that one round), with the min and max beside it. Why: one pass takes well
 * under a second, and on a small VM successive passes of the same code differ by ±20% (GC
 * scavenges, JIT tiering of code that runs once per batch, neighbours); interleaving the
 * rounds keeps a case that runs early from always meeting colder code than one that runs
 * late, and the median is robust to one disturbed round without favouring the luckiest.
 *
 * @module
 */
import { cpus } from "node:os";
import { CASES, type CaseResult, PARTITIONS, RETRY, runCase, SHARED_CONFIG } from "./cases.ts";
import { makeRecords, RECORD_BYTES } from "./records.ts";
import { type Column, formatFixed, formatInteger, formatMillions, renderTable } from "./table.ts";

interface Options {
  records: number;
  warmup: number;
  repeat: number;
  seed: number;
  json: boolean;
  only: string | null;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { records: 1_000_000, warmup: -1, repeat: 5, seed: 42, json: false, only: null };
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
      case "--repeat":
        options.repeat = integer(flag, next(), 1);
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
        console.log("usage: run.ts [--records N] [--warmup N] [--repeat R] [--seed N] [--only TEXT] [--json]");
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${arg}`);
    }
  }
  // A full-size pass by default: the per-record path is hot after a few thousand sends, but
  // the per-batch path (actors, transport, broker) runs only ~760 times per million records
  // and is still being tiered up after a shorter warm-up.
  if (options.warmup < 0) options.warmup = options.records;
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
  rounds: options.repeat,
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
if (options.warmup > 0) {
  // A different seed, so the warm-up does not rehearse the exact faults of the measured runs.
  for (const spec of cases) await runCase(spec, values, options.warmup, options.seed + 1);
}
const rounds: CaseResult[][] = cases.map(() => []);
for (let round = 0; round < options.repeat; round++) {
  for (const [i, spec] of cases.entries()) {
    // Only when the runtime exposes it (node --expose-gc, deno --v8-flags=--expose-gc): each
    // pass then starts on a heap free of the previous pass's million records.
    (globalThis as { gc?: () => void }).gc?.();
    const result = await runCase(spec, values, options.records, options.seed);
    rounds[i]!.push(result);
    // Progress on stderr, so stdout holds only the report (or the JSON lines).
    console.error(`  round ${round + 1}/${options.repeat}: ${result.case}: ${formatInteger(result.recordsPerSec)} records/s`);
  }
}

/** A case's reported row: its median-throughput round, plus the spread over all rounds. */
interface Row extends CaseResult {
  readonly minRecordsPerSec: number;
  readonly maxRecordsPerSec: number;
  readonly rounds: number;
}
const results: Row[] = rounds.map((all) => {
  const sorted = [...all].sort((a, b) => a.recordsPerSec - b.recordsPerSec);
  // The lower median for an even count: never the better of two middle rounds.
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return { ...median, minRecordsPerSec: sorted[0]!.recordsPerSec, maxRecordsPerSec: sorted[sorted.length - 1]!.recordsPerSec, rounds: all.length };
});

const baseline = results.find((r) => r.case === CASES[0]!.name) ?? null;
const byName = (name: string): Row | undefined => results.find((r) => r.case === name);
const clean = byName("at-least-once");
const lossy = byName("at-least-once, 1% acks lost");
// Paired by round: the two cases run back to back in each round, so a slow spell of the
// machine hits both. The median of the per-round ratios is steadier than a ratio of medians.
const faultRatio = ((): number | null => {
  const c = rounds[cases.findIndex((s) => s.name === clean?.case)];
  const l = rounds[cases.findIndex((s) => s.name === lossy?.case)];
  if (!c || !l) return null;
  const ratios = c.map((r, i) => l[i]!.recordsPerSec / r.recordsPerSec).sort((a, b) => a - b);
  return ratios[Math.floor((ratios.length - 1) / 2)]!;
})();
const ratioVsRaw = (r: Row): number | null => (baseline ? r.recordsPerSec / baseline.recordsPerSec : null);

if (options.json) {
  for (const r of results) {
    console.log(
      JSON.stringify({
        ...r,
        runtime: runtime(),
        ratioVsRaw: ratioVsRaw(r),
        // Set on the lossy at-least-once row only; null elsewhere so every line has the same fields.
        ratioVsFaultFree: r === lossy ? faultRatio : null,
      }),
    );
  }
} else {
  const columns: Column<Row>[] = [
    { header: "case", cell: (r) => r.case, align: "left" },
    { header: "records/s", cell: (r) => formatInteger(r.recordsPerSec) },
    { header: "min..max", cell: (r) => `${formatMillions(r.minRecordsPerSec)}..${formatMillions(r.maxRecordsPerSec)}M` },
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
  log(`records/s and every other column come from each case's median round of ${options.repeat}; min..max spans all rounds.`);
  log("raw arrays + await/record: the baseline's appends plus one awaited resolved promise per record, the floor of any `await send()` loop.");
  log("ack = first record of a batch enqueued -> batch acked; wire = batch dispatched -> acked (per batch, see benchmarks/latency.ts).");
  log("at-most-once acks are the broker's reply as seen by wait(); batches with no positive reply have no sample.");
  if (faultRatio !== null) {
    log(`at-least-once 1% acks lost / at-least-once clean (median of per-round ratios): ${faultRatio.toFixed(3)}`);
    // Worth saying next to the numbers: it explains the lossy case's p99.
    log("note: a lost ack costs its batch the 20 ms request timeout plus a retry, hence the lossy case's p99.");
  }
  const unknown = results.reduce((n, r) => n + r.unknown, 0);
  if (unknown > 0) log(`WARNING: ${unknown} record(s) in the logs were never sent`);

  // The project's targets (set for a 2-core machine), reported, never steered toward.
  // Judged on the median; whether every round met it is said too, since rounds are noisy.
  const amo = byName("at-most-once");
  const throughput = (row: Row | undefined, min: number, label: string): string | null => {
    if (!row) return null;
    const verdict = row.recordsPerSec < min ? "NOT met" : row.minRecordsPerSec >= min ? "met in every round" : "met by the median, not in every round";
    return `target >= ${formatInteger(min)} records/s ${label}: ${verdict} (median ${formatInteger(row.recordsPerSec)})`;
  };
  const targets = [
    throughput(amo, 2_000_000, "at-most-once"),
    throughput(clean, 1_500_000, "at-least-once"),
    faultRatio === null ? null : `target >= 0.8x fault-free at-least-once with 1% acks lost: ${faultRatio >= 0.8 ? "met" : "NOT met"} (${faultRatio.toFixed(3)})`,
  ];
  log("");
  for (const line of targets) if (line !== null) log(line);
}
