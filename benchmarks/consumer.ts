/**
 * Consumer throughput on the embedded broker, per commit strategy and handler style; run by
 * `npm run bench` after the producer benchmark (see run.ts for the options).
 *
 * Each pass fills a fresh broker's 4-partition topic with N 100-byte keyless records (not
 * timed), then one consumer in a fresh group reads them all; records/s is N over the time
 * from `run()`/`runBatches()` to the loop having stopped after the last record, its commits
 * done. Every case runs one warm-up pass, then interleaved rounds, reported by their median
 * (see rounds.ts). Overheads are paired per-round ratios to the no-commits case with the same
 * handler style.
 *
 * @module
 */
import {
  CONSUMER_CASES,
  CONSUMER_CONFIG,
  type ConsumerCase,
  type ConsumerCaseResult,
  consumerViolations,
  FILL_CHUNK,
  runConsumerCase,
} from "./consumer-cases.ts";
import { PARTITIONS, RETRY, SHARED_CONFIG, TRANSACTIONAL_ID } from "./cases.ts";
import type { BenchRow } from "./charts.ts";
import { RECORD_BYTES } from "./records.ts";
import { interleavedRounds, pairedRatio, type Ratio, ratioText, summarise, type Summary } from "./rounds.ts";
import { type Column, formatFixed, formatInteger, formatMillions, renderTable } from "./table.ts";

export interface ConsumerBenchOptions {
  /** Records per measured pass. */
  readonly records: number;
  /** Records per warm-up pass (one per case); 0 for none. */
  readonly warmup: number;
  readonly repeat: number;
  readonly json: boolean;
  /** Runs only the cases whose name contains this. */
  readonly only: string | null;
  /** At least max(records, warmup) values from `makeRecords`. */
  readonly values: readonly Uint8Array[];
  /** Where the report goes (stdout, or stderr when stdout takes JSON lines). */
  readonly log: (line: string) => void;
  /** Tags JSON lines, e.g. "node v20.20.2 (v8 …)". */
  readonly runtime: string;
  /** CPUs, for the header. */
  readonly machine: string;
}

/** Which cases match `only`; none means the consumer benchmark has nothing to run. */
export function consumerCases(only: string | null): readonly ConsumerCase[] {
  return CONSUMER_CASES.filter((c) => only === null || c.name.includes(only));
}

type Row = Summary<ConsumerCaseResult>;

/** What {@link runConsumerBenchmark} found: the passes that broke a guarantee, and the rows as `--json` prints them. */
export interface ConsumerBenchResult {
  readonly violations: string[];
  readonly rows: BenchRow[];
}

/** Runs the consumer cases and prints their table (or JSON lines). */
export async function runConsumerBenchmark(options: ConsumerBenchOptions): Promise<ConsumerBenchResult> {
  const { log, values } = options;
  const cases = consumerCases(options.only);
  if (cases.length === 0) return { violations: [], rows: [] };
  log("");
  log(`acktor consumer benchmark on ${options.runtime}, ${options.machine}`);
  log(
    `${
      formatInteger(options.records)
    } records of ${RECORD_BYTES} bytes pre-filled in ${PARTITIONS} partitions, one consumer, embedded broker, real clock`,
  );
  log(
    `config: ${
      JSON.stringify({
        consumer: { ...CONSUMER_CONFIG, requestTimeout: "30000 (default)" },
        fill: { chunkRecords: FILL_CHUNK, key: null, replicationFactor: 1 },
        transformProducer: {
          ...SHARED_CONFIG,
          deliverySemantic: "exactlyOnce (idempotent; transactional case: transactionalId " + TRANSACTIONAL_ID + ")",
          retry: RETRY,
        },
        warmupRecords: options.warmup,
        rounds: options.repeat,
      })
    }`,
  );
  if (options.warmup > 0) { for (const spec of cases) await runConsumerCase(spec, values, options.warmup); }
  const rounds = await interleavedRounds(
    cases,
    options.repeat,
    (spec) => runConsumerCase(spec, values, options.records),
    (round, r) =>
      console.error(`  round ${round + 1}/${options.repeat}: ${r.case}: ${formatInteger(r.recordsPerSec)} records/s`),
  );

  const violations = cases.flatMap((spec, i) =>
    rounds[i]!.flatMap((r, round) => {
      const problems = consumerViolations(r);
      return problems.length === 0 ? [] : [`${spec.name}, round ${round + 1}: ${problems.join(", ")}`];
    })
  );
  const rows: Row[] = rounds.map((passes) => summarise(passes));
  const passesOf = (
    spec: ConsumerCase | undefined,
  ): ConsumerCaseResult[] | undefined => (spec ? rounds[cases.indexOf(spec)] : undefined);
  const find = (commit: string, transform: string, mode: string): ConsumerCase | undefined =>
    cases.find((c) => c.commit === commit && c.transform === transform && c.mode === mode);
  const ratio = (top: ConsumerCase | undefined, bottom: ConsumerCase | undefined): Ratio | null => {
    const a = passesOf(top);
    const b = passesOf(bottom);
    return a && b && top !== bottom ? pairedRatio(a, b) : null;
  };
  // Commit overhead: against the no-commits case of the same handler style.
  const vsNoCommits = (spec: ConsumerCase): Ratio | null => ratio(spec, find("manual", "none", spec.mode));
  // Handler style: runBatches() against run() with the same strategy.
  const vsRun = (
    spec: ConsumerCase,
  ): Ratio | null => (spec.mode === "runBatches" ? ratio(spec, find(spec.commit, spec.transform, "run")) : null);
  const specOf = (row: Row): ConsumerCase => cases.find((c) => c.name === row.case)!;

  const jsonRows = rows.map((row) => {
    const spec = specOf(row);
    return {
      suite: "consumer",
      ...row,
      runtime: options.runtime,
      ratioVsNoCommits: vsNoCommits(spec)?.median ?? null,
      ratioVsRun: vsRun(spec)?.median ?? null,
      ratioVsTransformWithoutTransactions: spec.transform === "transactional"
        ? (ratio(spec, find("manual", "idempotent", spec.mode))?.median ?? null)
        : null,
    };
  });
  if (options.json) {
    for (const row of jsonRows) console.log(JSON.stringify(row));
  } else {
    const ratioCell = (r: Ratio | null): string => formatFixed(r?.median ?? null, 3);
    const columns: Column<Row>[] = [
      { header: "consumer case", cell: (r) => r.case, align: "left" },
      { header: "records/s", cell: (r) => formatInteger(r.recordsPerSec) },
      {
        header: "min..max",
        cell: (r) => `${formatMillions(r.minRecordsPerSec)}..${formatMillions(r.maxRecordsPerSec)}M`,
      },
      { header: "vs no commits", cell: (r) => ratioCell(vsNoCommits(specOf(r))) },
      { header: "vs run()", cell: (r) => ratioCell(vsRun(specOf(r))) },
      { header: "fetches", cell: (r) => formatInteger(r.fetches) },
      { header: "offset commits", cell: (r) => formatInteger(r.offsetCommits) },
      { header: "transactions", cell: (r) => (r.transactions === null ? "-" : formatInteger(r.transactions)) },
      { header: "requests", cell: (r) => formatInteger(r.requests) },
      { header: "check", cell: (r) => (consumerViolations(r).length === 0 ? "ok" : "FAILED"), align: "left" },
    ];
    log("");
    log(renderTable(columns, rows));
    log("");
    log(`records/s and the counts come from each case's median round of ${options.repeat}; min..max spans all rounds.`);
    log(
      "vs no commits: paired per-round ratio to the no-commits case with the same handler (run() or runBatches()); vs run(): to the same case with run().",
    );
    log(
      "transform: the handler sends each record to an output topic (await send() per record) through an idempotent producer; without",
    );
    log(
      "  transactions nothing is committed and timing includes the final flush(); transactional: each fetched batch is one transaction.",
    );
    log(
      "no commits (manual) hands records out through after-processing's loop (per record: ownership checks, processed offset, failure",
    );
    log(
      "  count); before-processing's loop does less per record, so its ratio can sit at or above 1 with run(): compare after-processing.",
    );
    log(
      "check: every record handled once, the group's offsets at the end (committing cases), the output once each (read-committed when transactional).",
    );
    const lines = (["run", "runBatches"] as const).flatMap((mode) => {
      const txn = find("transactional", "transactional", mode);
      const plain = find("manual", "idempotent", mode);
      const r = ratio(txn, plain);
      return r
        ? [
          `the cost of transactions, ${mode}(): transactional / transform without transactions (paired per round): ${
            ratioText(r)
          }`,
        ]
        : [];
    });
    if (lines.length > 0) log("");
    for (const line of lines) log(line);
    log("");
    if (violations.length === 0) {
      log(
        `consumer check: every record handled once, committed and copied once, in all ${
          rows.length * options.repeat
        } passes: OK`,
      );
    } else {
      log(`consumer check: FAILED in ${violations.length} passes:`);
      for (const v of violations) log(`  ${v}`);
    }
  }
  return { violations, rows: jsonRows };
}
