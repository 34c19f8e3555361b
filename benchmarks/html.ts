/**
 * `npm run bench -- --html FILE`: the benchmark's rows as a self-contained HTML page of
 * Chart.js charts (charts.ts says which). Chart.js's UMD build is inlined from node_modules,
 * so the page needs no network and opens from disk.
 *
 *   npm run bench -- --html out.html                       this run's rows, labelled by runtime
 *   npm run bench -- --html out.html --from a.jsonl b.jsonl  rows saved from `--json` runs,
 *                                                            one series per runtime; runs nothing
 *
 * @module
 */
import { accessSync, constants, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import process from "node:process";
import { exitWithUsageError } from "../src/cli/options.ts";
import { type BenchRow, chartSpecs, isConsumer, seriesOf } from "./charts.ts";

/** Row files that cannot be read or are not `--json` rows; the message names the file and line. */
export class RowsError extends Error {
  override name = "RowsError";
}

const OPTIONAL_NUMBERS = [
  "ratioVsRaw",
  "ackP50Ms",
  "ackP99Ms",
  "wireP50Ms",
  "wireP99Ms",
  "commitP50Ms",
  "commitP99Ms",
  "records",
  "rounds",
] as const;

/** The rows of one file of `--json` lines; blank lines are skipped, anything else must be a row. */
export function parseRows(text: string, source: string): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const at = `${source}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      const preview = line.length > 60 ? `${line.slice(0, 60)}…` : line;
      throw new RowsError(`${at}: not a JSON row (${(error as Error).message}): ${JSON.stringify(preview)}`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new RowsError(`${at}: expected a JSON object (one row of --json), got ${JSON.stringify(value)}`);
    }
    const row = value as Record<string, unknown>;
    const fail = (field: string, expected: string): never => {
      throw new RowsError(`${at}: "${field}" must be ${expected}, got ${JSON.stringify(row[field]) ?? "nothing"}`);
    };
    if (typeof row.case !== "string") fail("case", "the case's name");
    if (typeof row.runtime !== "string") fail("runtime", "the runtime's name and version");
    if (typeof row.recordsPerSec !== "number" || !Number.isFinite(row.recordsPerSec)) {
      fail("recordsPerSec", "a number");
    }
    for (const field of OPTIONAL_NUMBERS) {
      const v = row[field];
      if (v !== undefined && v !== null && (typeof v !== "number" || !Number.isFinite(v))) {
        fail(field, "a number or null");
      }
    }
    rows.push(row as unknown as BenchRow);
  }
  if (rows.length === 0) {
    throw new RowsError(`${source}: no rows (expected the output of npm run bench -- --json)`);
  }
  return rows;
}

/**
 * The rows of several files, in order. A runtime already seen in an earlier file (two runs
 * on the same Node) gets the file's name added, so each run stays its own series.
 */
export function readRows(files: readonly string[]): BenchRow[] {
  const all: BenchRow[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new RowsError(`cannot read ${file}: ${(error as Error).message}`);
    }
    const rows = parseRows(text, file);
    const clash = new Set(rows.map((r) => r.runtime).filter((r) => seen.has(r)));
    for (const row of rows) {
      all.push(clash.has(row.runtime) ? { ...row, runtime: `${row.runtime} [${basename(file)}]` } : row);
    }
    for (const row of rows) seen.add(row.runtime);
  }
  return all;
}

/**
 * `--from FILE...` taken out of the arguments (the option parser takes one value per
 * option); `from` is null without `--from`, empty if it named no file.
 */
export function takeFromFiles(argv: readonly string[]): { argv: string[]; from: string[] | null } {
  const rest: string[] = [];
  let from: string[] | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg !== "--from" && !arg.startsWith("--from=")) {
      rest.push(arg);
      continue;
    }
    from ??= [];
    if (arg !== "--from") from.push(arg.slice("--from=".length));
    while (i + 1 < argv.length && !argv[i + 1]!.startsWith("-")) from.push(argv[++i]!);
  }
  return { argv: rest, from };
}

/** Chart.js's UMD build, from the chart.js package this project installs. */
export function chartJsSource(): string {
  // The package exports only its module entries; the UMD build sits beside them in dist/.
  const entry = createRequire(import.meta.url).resolve("chart.js");
  return readFileSync(join(dirname(entry), "chart.umd.js"), "utf8");
}

const escapeHtml = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** JSON that cannot end the <script> element it sits in: every `<` escaped. */
const jsonInScript = (value: unknown): string => JSON.stringify(value).replace(/</g, "\\u003c");

/** Script text as is, if nothing in it can end or confuse the <script> element (Chart.js's build has none). */
function scriptText(source: string): string {
  if (/<\/script|<!--|<script/i.test(source)) throw new Error("script text that would end its <script> element");
  return source;
}

/** `code` spans for the backticks of captions. */
const prose = (text: string): string => escapeHtml(text).replace(/`([^`]+)`/g, "<code>$1</code>");

/** Runs in the page: number formats per unit, then one Chart per spec. */
const PAGE_SCRIPT = `
const specs = JSON.parse(document.getElementById("bench-charts").textContent);
const compact = new Intl.NumberFormat("en", { notation: "compact", maximumSignificantDigits: 3 });
const whole = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
const digits = new Intl.NumberFormat("en", { maximumSignificantDigits: 3 });
const fixed = new Intl.NumberFormat("en", { minimumFractionDigits: 3, maximumFractionDigits: 3 });
// Log axes: Chart.js's own choice of which ticks to label (1, 2, 5, 10…), in plain digits.
function logTick(v, i, ticks) {
  return Chart.Ticks.formatters.logarithmic.call(this, v, i, ticks) === "" ? "" : digits.format(v);
}
const formats = {
  "records/s": { tick: (v) => compact.format(v), tip: (v) => whole.format(v) + " records/s" },
  ms: { tick: (v) => digits.format(v), tip: (v) => digits.format(v) + " ms" },
  ratio: { tick: (v) => digits.format(v) + "×", tip: (v) => fixed.format(v) + "× raw" },
};
Chart.defaults.font.size = 13;
Chart.defaults.color = "#222";
for (const spec of specs) {
  const format = formats[spec.unit];
  const options = spec.config.options;
  const values = options.scales[options.indexAxis === "y" ? "x" : "y"];
  values.ticks = { callback: values.type === "logarithmic" ? logTick : format.tick };
  options.plugins.tooltip = {
    callbacks: {
      label: (c) => c.dataset.label + ": " + (c.raw === null ? "no sample" : format.tip(c.raw)),
    },
  };
  new Chart(document.getElementById("chart-" + spec.id), spec.config);
}
`;

const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; color: #222; margin: 0 auto; max-width: 1180px; padding: 16px 24px; }
h1 { font-size: 1.6em; margin: 0.2em 0; }
figure { margin: 20px 0 28px; border: 1px solid #ddd; border-radius: 6px; padding: 12px 16px; }
figure > div { position: relative; }
figcaption { color: #444; margin-top: 6px; }
code { font-size: 0.92em; background: #f3f3f3; padding: 0 3px; border-radius: 3px; }
ul { margin: 0.3em 0; } pre { overflow-x: auto; font-size: 12px; background: #f7f7f7; padding: 8px; }
`;

/** What the header says about one runtime's rows. */
function runtimeLine(rows: readonly BenchRow[], runtime: string): string {
  const mine = rows.filter((r) => r.runtime === runtime);
  const per = (consumer: boolean, what: string): string | null => {
    const row = mine.find((r) => isConsumer(r) === consumer);
    if (row === undefined) return null;
    const records = row.records === undefined ? "" : `${row.records.toLocaleString("en")} records`;
    const rounds = row.rounds === undefined ? "" : `, median of ${row.rounds} round${row.rounds === 1 ? "" : "s"}`;
    return `${what}: ${records}${rounds}`;
  };
  const parts = [per(false, "producer"), per(true, "consumer")].filter((p) => p !== null);
  return `${runtime}${parts.length > 0 ? ` (${parts.join("; ")})` : ""}`;
}

/** The page: a header naming the runtimes, one figure per chart, and the rows themselves. */
export function renderHtml(rows: readonly BenchRow[], chartJs: string = chartJsSource()): string {
  const specs = chartSpecs(rows);
  const runtimes = seriesOf(rows).map((s) =>
    `<li><span style="color:${s.color}">■</span> ${escapeHtml(runtimeLine(rows, s.runtime))}</li>`
  );
  const figures = specs.map((spec) =>
    [
      `<figure id="${spec.id}">`,
      `<div style="height: ${spec.height}px"><canvas id="chart-${spec.id}" role="img" aria-label="${
        escapeHtml(spec.title)
      }"></canvas></div>`,
      `<figcaption>${prose(spec.caption)}</figcaption>`,
      `</figure>`,
    ].join("\n")
  );
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>acktor benchmarks</title>",
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    "<h1>acktor benchmarks</h1>",
    "<p>Embedded broker, 100-byte records, 4 partitions; each bar is a case's median round. " +
    "Made by <code>npm run bench -- --html</code>. Runtimes:</p>",
    `<ul>${runtimes.join("")}</ul>`,
    ...figures,
    "<details><summary>The rows (<code>--json</code> lines)</summary>",
    `<pre>${escapeHtml(rows.map((r) => JSON.stringify(r)).join("\n"))}</pre>`,
    "</details>",
    `<script id="bench-charts" type="application/json">${jsonInScript(specs)}</script>`,
    `<script>${scriptText(chartJs)}</script>`,
    `<script>${PAGE_SCRIPT}</script>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

/** Stops with a usage error, before any benchmark runs, if `--html FILE` could not be written. */
export function checkHtmlTarget(file: string): void {
  try {
    accessSync(dirname(resolve(file)), constants.W_OK);
  } catch (error) {
    exitWithUsageError(`--html ${file}: cannot write there (${(error as Error).message})`);
  }
}

/** Writes the page for `rows` to `file`. */
export function writeHtml(file: string, rows: readonly BenchRow[]): void {
  writeFileSync(file, renderHtml(rows));
}

/**
 * `--html FILE --from ROWS...`: writes the charts of row files and exits; a file that cannot
 * be read or holds something other than rows stops it with exit code 1 and one line naming
 * the file (and line).
 */
export function chartFilesAndExit(from: readonly string[], html: string | null): never {
  if (from.length === 0) exitWithUsageError("--from needs at least one FILE of --json rows");
  if (html === null) exitWithUsageError("--from needs --html FILE: it charts the rows of earlier --json runs");
  try {
    writeHtml(html, readRows(from));
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  console.error(`charts of ${from.join(", ")} written to ${html}`);
  process.exit(0);
}
