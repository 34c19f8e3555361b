/**
 * The benchmark charts as data: `--json` rows in, Chart.js configurations out (plain JSON, no
 * functions; html.ts adds the number formatting in the page). One series per runtime, so rows
 * of several runs on Node, Deno and Bun compare side by side:
 *
 * - producer records/s per case: each delivery semantic clean and under seeded faults;
 * - the same over the raw in-process baseline of the same run (`ratioVsRaw`);
 * - ack latency (first record queued → batch acked) and wire latency (dispatched → acked),
 *   p50 and p99, on a log scale since a lost ack's 20 ms timeout sits beside sub-ms medians;
 * - `commit()` latency of the transactional cases, p50 and p99, on a log scale too;
 * - consumer records/s per commit strategy and handler style.
 *
 * A chart whose rows are absent (a `--suite producer` run has no consumer rows) is left out.
 *
 * @module
 */
import type { ChartConfiguration } from "chart.js";

/** One `--json` line as the charts read it; the other fields pass through unread. */
export interface BenchRow {
  /** "consumer" on consumer rows; "producer" (or absent, in rows of older runs) otherwise. */
  readonly suite?: string;
  readonly case: string;
  /** "node v22.12.0 (v8 …)", see runtime.ts. */
  readonly runtime: string;
  readonly recordsPerSec: number;
  /** Producer rows: "raw" for the in-process baselines, "acktor" otherwise. */
  readonly kind?: string;
  /** Producer rows: the delivery semantic; null for the raw baselines. */
  readonly semantic?: string | null;
  /** Producer rows: the fault counts under injected faults, null for a clean case. */
  readonly faults?: unknown;
  readonly ratioVsRaw?: number | null;
  readonly ackP50Ms?: number | null;
  readonly ackP99Ms?: number | null;
  readonly wireP50Ms?: number | null;
  readonly wireP99Ms?: number | null;
  readonly commitP50Ms?: number | null;
  readonly commitP99Ms?: number | null;
  readonly records?: number;
  readonly rounds?: number;
  /** Producer rows: committed transactions, null for a case without transactions. */
  readonly commits?: number | null;
}

/** The numeric fields a chart may plot. */
export type Metric =
  | "recordsPerSec"
  | "ratioVsRaw"
  | "ackP50Ms"
  | "ackP99Ms"
  | "wireP50Ms"
  | "wireP99Ms"
  | "commitP50Ms"
  | "commitP99Ms";

/** How the page formats a chart's values: records/s, milliseconds, or a ratio. */
export type Unit = "records/s" | "ms" | "ratio";

export interface ChartSpec {
  /** Also the canvas's id, `chart-<id>`. */
  readonly id: string;
  readonly title: string;
  /** A sentence or two under the chart: what is measured and how to read it. */
  readonly caption: string;
  readonly unit: Unit;
  /** CSS pixels: room for every bar of a horizontal chart. */
  readonly height: number;
  readonly config: ChartConfiguration<"bar", (number | null)[], string[]>;
}

export const isConsumer = (row: BenchRow): boolean => row.suite === "consumer";
export const isRaw = (row: BenchRow): boolean =>
  !isConsumer(row) && (row.kind === undefined ? row.case.startsWith("raw ") : row.kind === "raw");
const isProducerCase = (row: BenchRow): boolean => !isConsumer(row) && !isRaw(row);
const isFaulty = (row: BenchRow): boolean => row.faults !== undefined && row.faults !== null;

/** Okabe–Ito colours, told apart with colour-blindness too; a runtime keeps its colour in every chart. */
const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];

/** `#rrggbb` at an opacity. */
function tint(hex: string, alpha: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

/**
 * The runtimes in the order their rows first appear, each with its legend label: the
 * runtime without its engine ("node v22.12.0"), unless two runtimes would share one.
 */
export function seriesOf(rows: readonly BenchRow[]): { runtime: string; label: string; color: string }[] {
  const runtimes = [...new Set(rows.map((r) => r.runtime))];
  const short = (runtime: string): string => runtime.replace(/ \(.*\)$/, "");
  return runtimes.map((runtime, i) => ({
    runtime,
    label: runtimes.filter((other) => short(other) === short(runtime)).length > 1 ? runtime : short(runtime),
    color: PALETTE[i % PALETTE.length]!,
  }));
}

/**
 * A case's name as axis lines: split at the commas outside parentheses, and before a
 * parenthesis that follows a word ("exactly-once", "(idempotent)").
 */
export function caseLines(name: string): string[] {
  const lines: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < name.length; i++) {
    if (name[i] === "(") {
      if (depth === 0 && i > start && name[i - 1] === " ") {
        lines.push(name.slice(start, i - 1));
        start = i;
      }
      depth++;
    } else if (name[i] === ")") depth--;
    else if (depth === 0 && name.startsWith(", ", i)) {
      lines.push(name.slice(start, i));
      start = i + 2;
    }
  }
  lines.push(name.slice(start));
  return lines.filter((line) => line !== "");
}

/** The case `ratioVsRaw` divides by (cases.ts). */
const BASELINE = "raw arrays (baseline)";

const SEMANTICS = ["at-most-once", "at-least-once", "exactly-once"];

/**
 * Producer cases by semantic, each clean, then under faults, then transactional; otherwise in
 * the order they first appear.
 */
function producerCases(rows: readonly BenchRow[]): string[] {
  const first = new Map<string, BenchRow>();
  for (const row of rows.filter(isProducerCase)) if (!first.has(row.case)) first.set(row.case, row);
  const rank = (row: BenchRow): number => {
    const semantic = row.semantic ?? SEMANTICS.find((s) => row.case.startsWith(s)) ?? "";
    const index = SEMANTICS.indexOf(semantic);
    const transactional = typeof row.commits === "number" || row.case.startsWith("transactional");
    return (index < 0 ? SEMANTICS.length : index) * 3 + (isFaulty(row) ? 1 : 0) + (transactional ? 2 : 0);
  };
  return [...first.values()].sort((a, b) => rank(a) - rank(b)).map((r) => r.case);
}

const casesOf = (rows: readonly BenchRow[], keep: (row: BenchRow) => boolean): string[] => [
  ...new Set(rows.filter(keep).map((r) => r.case)),
];

interface BarsOptions {
  readonly id: string;
  readonly title: string;
  readonly caption: string;
  readonly unit: Unit;
  readonly axis: string;
  readonly cases: readonly string[];
  /** Which rows the cases are looked up in (a case name means one thing per suite). */
  readonly suite: "producer" | "consumer";
  /** One dataset per runtime and metric; with two metrics the second is drawn pale. */
  readonly metrics: readonly { readonly metric: Metric; readonly suffix: string }[];
  readonly logarithmic?: boolean;
  /** Bars along the x axis, cases down the y axis: for long case names. */
  readonly horizontal?: boolean;
  /** Pale bars for the cases under faults (one metric only). */
  readonly paleFaulty?: boolean;
}

function bars(rows: readonly BenchRow[], o: BarsOptions): ChartSpec {
  const find = (runtime: string, name: string): BenchRow | undefined =>
    rows.find((r) =>
      r.runtime === runtime && r.case === name && (o.suite === "consumer" ? isConsumer(r) : isProducerCase(r))
    );
  const datasets = seriesOf(rows).flatMap(({ runtime, label, color }) =>
    o.metrics.map(({ metric, suffix }, m) => {
      const pale = o.cases.map((name) => {
        const row = find(runtime, name);
        return m > 0 || (o.paleFaulty === true && row !== undefined && isFaulty(row));
      });
      return {
        label: suffix === "" ? label : `${label} ${suffix}`,
        data: o.cases.map((name) => find(runtime, name)?.[metric] ?? null),
        backgroundColor: pale.map((p) => tint(color, p ? 0.3 : 0.85)),
        borderColor: color,
        borderWidth: pale.map((p) => (p ? 2 : 0)),
      };
    })
  );
  const maxLines = Math.max(...o.cases.map((name) => caseLines(name).length));
  return {
    id: o.id,
    title: o.title,
    caption: o.caption,
    unit: o.unit,
    height: o.horizontal ? 150 + o.cases.length * Math.max(8 + 17 * maxLines, 12 + 14 * datasets.length) : 420,
    config: {
      type: "bar",
      data: { labels: o.cases.map(caseLines), datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          title: { display: true, text: o.title, font: { size: 16 } },
          legend: { position: "top" },
        },
        ...(o.horizontal ? { indexAxis: "y" } : {}),
        scales: {
          [o.horizontal ? "y" : "x"]: { title: { display: true, text: `${o.suite} case` }, ticks: { autoSkip: false } },
          [o.horizontal ? "x" : "y"]: {
            type: o.logarithmic ? "logarithmic" : "linear",
            ...(o.logarithmic ? {} : { beginAtZero: true }),
            title: { display: true, text: o.axis },
          },
        },
      },
    },
  };
}

/** Every chart the rows have data for, in page order. */
export function chartSpecs(rows: readonly BenchRow[]): ChartSpec[] {
  const producer = producerCases(rows);
  const has = (metric: Metric, names: readonly string[]): boolean =>
    rows.some((r) => isProducerCase(r) && names.includes(r.case) && typeof r[metric] === "number");
  const baselines = seriesOf(rows).map(({ runtime, label }) => {
    const row = rows.find((r) => r.runtime === runtime && r.case === BASELINE);
    return `${label} ${
      row === undefined ? "not run" : `${Math.round(row.recordsPerSec).toLocaleString("en")} records/s`
    }`;
  }).join(", ");
  const transactional = producer.filter((name) =>
    rows.some((r) => r.case === name && typeof r.commitP50Ms === "number")
  );
  const consumer = casesOf(rows, isConsumer);
  const percentiles = (p50: Metric, p99: Metric) => [{ metric: p50, suffix: "p50" }, { metric: p99, suffix: "p99" }];
  const specs: (ChartSpec | null)[] = [
    producer.length === 0 ? null : bars(rows, {
      id: "producer-throughput",
      title: "Producer throughput per delivery semantic, with and without faults",
      caption: "records/s of `await send()` per record, then `flush()`: the median round. " +
        "Pale bars: the same semantic under seeded faults (1% of requests or acks lost).",
      unit: "records/s",
      axis: "records per second (higher is better)",
      cases: producer,
      suite: "producer",
      metrics: [{ metric: "recordsPerSec", suffix: "" }],
      paleFaulty: true,
    }),
    !has("ratioVsRaw", producer) ? null : bars(rows, {
      id: "producer-vs-raw",
      title: "acktor throughput over the raw baseline",
      caption: `records/s of each case over the same run's "${BASELINE}" (the records appended to plain ` +
        `arrays, no producer): 1 would cost nothing. Pale bars: under faults. The baseline: ${baselines}.`,
      unit: "ratio",
      axis: "× raw baseline records/s (higher is better)",
      cases: producer,
      suite: "producer",
      metrics: [{ metric: "ratioVsRaw", suffix: "" }],
      paleFaulty: true,
    }),
    !has("ackP50Ms", producer) ? null : bars(rows, {
      id: "producer-ack-latency",
      title: "Ack latency: a batch's first record queued → batch acked",
      caption: "Per batch, p50 (solid) and p99 (pale), log scale. A lost ack costs its batch the 20 ms " +
        "request timeout and a retry, hence the faulty cases' p99.",
      unit: "ms",
      axis: "milliseconds, log scale (lower is better)",
      cases: producer,
      suite: "producer",
      metrics: percentiles("ackP50Ms", "ackP99Ms"),
      logarithmic: true,
    }),
    !has("wireP50Ms", producer) ? null : bars(rows, {
      id: "producer-wire-latency",
      title: "Wire latency: batch dispatched → acked",
      caption: "Per batch, p50 (solid) and p99 (pale), log scale: the broker round trip plus any retries.",
      unit: "ms",
      axis: "milliseconds, log scale (lower is better)",
      cases: producer,
      suite: "producer",
      metrics: percentiles("wireP50Ms", "wireP99Ms"),
      logarithmic: true,
    }),
    transactional.length === 0 ? null : bars(rows, {
      id: "producer-commit-latency",
      title: "Transaction commit latency: await commit()",
      caption: "Per commit, p50 (solid) and p99 (pale), log scale: the open batches' acks, then endTxn. " +
        "With a handful of commits per run, p99 is simply the slowest.",
      unit: "ms",
      axis: "milliseconds, log scale (lower is better)",
      cases: transactional,
      suite: "producer",
      metrics: percentiles("commitP50Ms", "commitP99Ms"),
      logarithmic: true,
    }),
    consumer.length === 0 ? null : bars(rows, {
      id: "consumer-throughput",
      title: "Consumer throughput per commit strategy",
      caption: "records/s reading a pre-filled topic, per commit strategy, with a record handler (`run()`) " +
        "and a batch handler (`runBatches()`); the transform cases copy each record to a second topic.",
      unit: "records/s",
      axis: "records per second (higher is better)",
      cases: consumer,
      suite: "consumer",
      metrics: [{ metric: "recordsPerSec", suffix: "" }],
      horizontal: true,
    }),
  ];
  return specs.filter((s): s is ChartSpec => s !== null);
}
