/**
 * The benchmark charts (`npm run bench -- --html`), in headless Chromium: real rows from a
 * tiny benchmark run, the page rendered from them, and every chart read back through
 * Chart.js: one canvas per chart, one series per runtime (and percentile), the rows' own
 * numbers, pixels drawn, no console errors. Then rows of a Node and a Deno run combined with
 * `--from`, and row files that are not rows.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import * as assert from "uvu/assert";
import type { Browser, Page } from "playwright-core";
import { test } from "../helpers/harness.ts";
import { launchChromium, type PageLog, type Site, withPage } from "../helpers/chromium.ts";
import { type BenchRow, caseLines } from "../../benchmarks/charts.ts";
import { parseRows, readRows, RowsError } from "../../benchmarks/html.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Small enough for a few seconds per run, every case and both suites included. */
const TINY = ["--records", "2000", "--warmup", "200", "--repeat", "1", "--consumer-records", "2000"];
const dir = mkdtempSync(join(tmpdir(), "acktor-bench-charts-"));

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** `npm run bench -- ARGS`, as its script runs it. */
const bench = (args: readonly string[]): Promise<Ran> =>
  run(process.execPath, ["--expose-gc", "--import", "tsx", "benchmarks/run.ts", ...args]);

/** `npm run bench:deno -- ARGS`, with the project's own Deno. */
const benchDeno = (args: readonly string[]): Promise<Ran> =>
  run(join(ROOT, "node_modules", ".bin", "deno"), [
    "run",
    "-A",
    "--v8-flags=--expose-gc",
    "benchmarks/run.ts",
    ...args,
  ]);

const succeeded = (ran: Ran, what: string): Ran => {
  assert.is(ran.code, 0, `${what} exited with ${ran.code}: ${ran.stderr.slice(-2000)}`);
  return ran;
};

/** One Node run with --json and --html together, shared by the tests that need its rows. */
let nodeRun: Promise<{ rows: BenchRow[]; html: string; jsonl: string }> | null = null;
function nodeRows(): Promise<{ rows: BenchRow[]; html: string; jsonl: string }> {
  nodeRun ??= (async () => {
    const html = join(dir, "node.html");
    const ran = succeeded(await bench([...TINY, "--json", "--html", html]), "the Node benchmark");
    const jsonl = join(dir, "node.jsonl");
    writeFileSync(jsonl, ran.stdout);
    return { rows: parseRows(ran.stdout, "node stdout"), html: readFileSync(html, "utf8"), jsonl };
  })();
  return nodeRun;
}

let browser: Browser;
test.before(async () => {
  browser = await launchChromium();
});
test.after(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What one chart shows, read from its Chart.js instance in the page. */
interface Shown {
  readonly labels: string[][];
  readonly datasets: { label: string; data: (number | null)[] }[];
  /** Canvas pixels that are not fully transparent. */
  readonly painted: number;
  readonly area: number;
}

function readChart(page: Page, id: string): Promise<Shown | null> {
  return page.evaluate((canvasId) => {
    const canvas = document.getElementById(canvasId) as HTMLCanvasElement | null;
    type Data = { labels: string[][]; datasets: { label: string; data: (number | null)[] }[] };
    const { Chart } = globalThis as unknown as {
      Chart: { getChart(c: HTMLCanvasElement): { data: Data } | undefined };
    };
    const chart = canvas && Chart.getChart(canvas);
    if (!canvas || !chart) return null;
    const pixels = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
    return {
      labels: chart.data.labels,
      datasets: chart.data.datasets.map((d) => ({ label: d.label, data: d.data })),
      painted,
      area: canvas.width * canvas.height,
    };
  }, id);
}

type Field = keyof BenchRow & string;
interface Expected {
  readonly id: string;
  readonly rows: (row: BenchRow) => boolean;
  readonly fields: readonly [Field, string][];
}

const producer = (r: BenchRow): boolean => r.suite === "producer" && r.kind === "acktor";
const CHARTS: readonly Expected[] = [
  { id: "producer-throughput", rows: producer, fields: [["recordsPerSec", ""]] },
  { id: "producer-vs-raw", rows: producer, fields: [["ratioVsRaw", ""]] },
  { id: "producer-ack-latency", rows: producer, fields: [["ackP50Ms", " p50"], ["ackP99Ms", " p99"]] },
  { id: "producer-wire-latency", rows: producer, fields: [["wireP50Ms", " p50"], ["wireP99Ms", " p99"]] },
  {
    id: "producer-commit-latency",
    rows: (r) => producer(r) && typeof r.commitP50Ms === "number",
    fields: [["commitP50Ms", " p50"], ["commitP99Ms", " p99"]],
  },
  { id: "consumer-throughput", rows: (r) => r.suite === "consumer", fields: [["recordsPerSec", ""]] },
];

/** Opens the page and checks every chart against the rows it was made from. */
async function checkPage(html: string, rows: readonly BenchRow[], runtimes: number): Promise<void> {
  // Self-contained: Chart.js is inlined, nothing is loaded from anywhere.
  assert.not.match(html, /<script[^>]*\ssrc=/i, "no script loaded from elsewhere");
  assert.not.match(html, /<link[^>]*\shref=/i, "no stylesheet loaded from elsewhere");
  const site: Site = { "/": { type: "text/html", body: html } };
  await withPage(browser, site, "/", async (page: Page, log: PageLog) => {
    const ids = await page.$$eval("canvas", (canvases) => canvases.map((c) => c.id));
    assert.equal(ids, CHARTS.map((c) => `chart-${c.id}`), "one canvas per chart, in order");
    const series = [...new Set(rows.map((r) => r.runtime))];
    assert.is(series.length, runtimes);
    const header = await page.textContent("ul");
    for (const runtime of series) assert.ok(header?.includes(runtime), `the header names ${runtime}`);
    for (const expected of CHARTS) {
      const shown = await readChart(page, `chart-${expected.id}`);
      assert.ok(shown, `a Chart.js chart on #chart-${expected.id}`);
      const mine = rows.filter(expected.rows);
      // The axis shows each case once, as the lines of its name.
      const byLines = new Map(mine.map((r) => [JSON.stringify(caseLines(r.case)), r.case]));
      const cases = shown.labels.map((lines) => byLines.get(JSON.stringify(lines)));
      assert.equal([...cases].sort(), [...new Set(mine.map((r) => r.case))].sort(), `${expected.id}: the cases`);
      assert.equal(
        shown.datasets.map((d) => d.label),
        series.flatMap((runtime) => expected.fields.map(([, suffix]) => `${runtime.replace(/ \(.*\)$/, "")}${suffix}`)),
        `${expected.id}: one series per runtime (and percentile)`,
      );
      const datasets = series.flatMap((runtime) =>
        expected.fields.map(([field]) =>
          cases.map((name) => {
            const row = mine.find((r) => r.runtime === runtime && r.case === name);
            return row?.[field] ?? null;
          })
        )
      );
      assert.equal(shown.datasets.map((d) => d.data), datasets, `${expected.id}: the rows' numbers`);
      for (const data of datasets) assert.ok(data.some((v) => typeof v === "number"), `${expected.id}: has data`);
      assert.ok(shown.painted > shown.area * 0.02, `${expected.id}: drawn (${shown.painted} of ${shown.area} pixels)`);
    }
    assert.equal(log.errors, [], "no console errors");
  });
}

test("one Node run: --json rows and --html charts of the same numbers", { deadlineMs: 120_000 }, async () => {
  const { rows, html } = await nodeRows();
  assert.ok(rows.every((r) => r.runtime.startsWith(`node ${process.version} (v8 `)), "rows say the runtime");
  assert.ok(rows.some((r) => r.suite === "producer" && r.kind === "raw"), "the raw baseline is a row");
  await checkPage(html, rows, 1);
});

test("Node and Deno rows combined with --from: one series per runtime", { deadlineMs: 180_000 }, async () => {
  const node = await nodeRows();
  const deno = succeeded(await benchDeno([...TINY, "--json"]), "the Deno benchmark");
  const denoFile = join(dir, "deno.jsonl");
  writeFileSync(denoFile, deno.stdout);
  const html = join(dir, "combined.html");
  const ran = succeeded(await bench(["--html", html, "--from", node.jsonl, denoFile]), "--from");
  assert.match(ran.stderr, `written to ${html}`);
  const rows = [...node.rows, ...parseRows(deno.stdout, "deno stdout")];
  assert.ok(rows.some((r) => r.runtime.startsWith("deno ")), "Deno's rows say so");
  await checkPage(readFileSync(html, "utf8"), rows, 2);
});

test("the same runtime in two files stays two series, named by file", async () => {
  const { jsonl } = await nodeRows();
  const again = join(dir, "again.jsonl");
  writeFileSync(again, readFileSync(jsonl, "utf8"));
  const runtimes = [...new Set(readRows([jsonl, again]).map((r) => r.runtime))];
  assert.is(runtimes.length, 2);
  assert.is(runtimes[1], `${runtimes[0]} [again.jsonl]`);
});

test("row files that are not rows: exit code 1, the file and line named", { deadlineMs: 120_000 }, async () => {
  const good = JSON.stringify({ suite: "producer", case: "at-most-once", runtime: "node v1", recordsPerSec: 5 });
  const broken = join(dir, "broken.jsonl");
  writeFileSync(broken, `${good}\n\n{"case": "at-least-once", oops\n`);
  const html = join(dir, "never.html");
  const bad = await bench(["--html", html, "--from", broken]);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, `error: ${broken}:3: not a JSON row`);
  const missing = join(dir, "missing.jsonl");
  const gone = await bench(["--html", html, "--from", missing]);
  assert.is(gone.code, 1);
  assert.match(gone.stderr, `error: cannot read ${missing}`);
  const usage = await bench(["--from", broken]);
  assert.is(usage.code, 2, "--from without --html is a usage error");
  assert.match(usage.stderr, "--from needs --html FILE");
  assert.throws(() => readFileSync(html), "no page written");
  const nowhere = await bench(["--records", "10", "--html", join(dir, "no-such-dir", "x.html")]);
  assert.is(nowhere.code, 2, "an --html file that cannot be written stops the run before it starts");
  assert.match(nowhere.stderr, "cannot write there");

  const message = (text: string): string => {
    try {
      parseRows(text, "rows.jsonl");
    } catch (error) {
      assert.instance(error, RowsError);
      return (error as Error).message;
    }
    throw new Error(`no error for ${text}`);
  };
  assert.is(message(""), "rows.jsonl: no rows (expected the output of npm run bench -- --json)");
  assert.is(message(`${good}\n[1, 2]`), "rows.jsonl:2: expected a JSON object (one row of --json), got [1,2]");
  assert.is(
    message(JSON.stringify({ case: "x", runtime: "node v1" })),
    'rows.jsonl:1: "recordsPerSec" must be a number, got nothing',
  );
  assert.is(
    message(JSON.stringify({ case: "x", runtime: "node v1", recordsPerSec: 1, ackP50Ms: "fast" })),
    'rows.jsonl:1: "ackP50Ms" must be a number or null, got "fast"',
  );
});

test.run();
