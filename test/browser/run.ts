/**
 * The browser as a runtime (`npm run test:browser`). Optional arguments filter files by
 * substring, as for `test/run.ts`.
 *
 * 1. The suite itself, in headless Chromium: every `test/*.test.ts` file is bundled for the
 *    browser into one page (one esbuild pass; `import()` keeps each file lazy, so they load in
 *    order as on Node), and runs there as one uvu session, counted by the same code as
 *    `test/run.ts` (`helpers/session.ts`). A file that reaches a Node built-in (a NATS
 *    transport, a child process, the file system) cannot be bundled for a browser: it is
 *    skipped, and the built-in it needs is printed. The run fails if one of {@link ESSENTIAL}
 *    is skipped, fails or runs no test. The page's console is streamed to stdout, stack
 *    positions mapped back to the sources; an uncaught error in the page is a failure, and a
 *    page that does not finish within `ACKTOR_BROWSER_DEADLINE_MS` (10 minutes) is closed
 *    and fails the run. The page sees the `ACKTOR_*` environment variables.
 * 2. The browser-driving tests, `test/browser/*.test.ts`, on Node, as `test/run.ts` runs the
 *    suite: NATS over WebSocket, the lab page, the benchmark charts.
 *
 * It ends with the plain line "N passed, N failed, N skipped" over both, and exits with 1
 * whenever anything failed.
 */
import { readdirSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import {
  bundleManyForBrowser,
  launchChromium,
  modulePage,
  ORIGIN,
  stackMapper,
  withPage,
} from "../helpers/chromium.ts";
import {
  captureStdout,
  closingLine,
  exitWith,
  openSession,
  runtimeName,
  type SessionResult,
  type Tally,
} from "../helpers/session.ts";

/** The semantics suite's essentials: the browser run fails unless each of them runs and passes. */
const ESSENTIAL = [
  // at-most-once and at-least-once through chaos, reconciled against the broker's log
  "semantics.test.ts",
  // exactly-once through chaos
  "exactly-once.test.ts",
  // consumer groups: the consumer side and the broker's coordinator
  "consumer-groups.test.ts",
  "groups-broker.test.ts",
  // transactions: the producer side and the broker's coordinator
  "transactions.test.ts",
  "transactions-broker.test.ts",
];

/** Files that bundle for the browser but test something a page does not have, with the reason. */
const NOT_IN_A_PAGE: Record<string, string> = {};

const DEADLINE_MS = Number(process.env.ACKTOR_BROWSER_DEADLINE_MS ?? 600_000);
/** The page must ask for its files this soon after it loads, or it is taken to be broken. */
const START_MS = 30_000;

const testDir = fileURLToPath(new URL("..", import.meta.url));
const filters = process.argv.slice(2);
const testFiles = (url: URL): string[] =>
  readdirSync(fileURLToPath(url))
    .filter((f) => f.endsWith(".test.ts") && (filters.length === 0 || filters.some((x) => f.includes(x))))
    .sort();
const suiteFiles = testFiles(new URL("..", import.meta.url));
const drivingFiles = testFiles(new URL(".", import.meta.url));
if (suiteFiles.length + drivingFiles.length === 0) throw new Error(`no test files match ${filters.join(", ")}`);

const total: Tally = { passed: 0, failed: 0, skipped: 0 };
const reasons: string[] = [];
const add = (where: string, t: Tally, why: readonly string[]): void => {
  total.passed += t.passed;
  total.failed += t.failed;
  total.skipped += t.skipped;
  reasons.push(...why.map((r) => `${where}: ${r}`));
  console.log(`${where}: ${closingLine(t).trimEnd()}`);
};

if (suiteFiles.length > 0) {
  const { result, failures } = await runInChromium(suiteFiles);
  const counted = result ?? { passed: 0, failed: 0, skipped: 0, reasons: [] };
  add("chromium", { ...counted, failed: counted.failed + failures.length }, [...counted.reasons, ...failures]);
}

if (drivingFiles.length > 0) {
  const session = await openSession();
  console.log(
    `${suiteFiles.length > 0 ? "\n" : ""}acktor browser tests on ${runtimeName()}: ${drivingFiles.length} file(s)`,
  );
  for (const file of drivingFiles) await session.add(file, () => import(new URL(file, import.meta.url).href));
  const result = await session.run({ capture: captureStdout });
  add("test/browser", result, result.reasons);
}

await exitWith(total, reasons);

/**
 * Runs `files` in one Chromium page. `failures` are failures outside the session's count: a
 * skipped or idle essential file, an uncaught page error, a crash, a page past its deadline.
 */
async function runInChromium(files: string[]): Promise<{ result: SessionResult | null; failures: string[] }> {
  const failures: string[] = [];
  const entry = [
    `import { runInPage } from "./browser/page.ts";`,
    `runInPage({`,
    ...files.map((f) => `  ${JSON.stringify(f)}: () => import(${JSON.stringify(`./${f}`)}),`),
    `});`,
  ].join("\n");
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith("ACKTOR_")));
  const bundle = await bundleManyForBrowser(entry, testDir, { env });

  const skipped = new Map<string, string>();
  for (const file of files) {
    const nodeOnly = bundle.nodeOnly.get(`./${file}`);
    if (nodeOnly !== undefined) skipped.set(file, `imports ${nodeOnly.module} (from ${nodeOnly.importer})`);
    else if (NOT_IN_A_PAGE[file] !== undefined) skipped.set(file, NOT_IN_A_PAGE[file]);
  }
  if (skipped.size > 0) {
    console.log(`skipped in the browser: ${skipped.size} file(s)`);
    for (const [file, why] of skipped) console.log(`  ${file}: ${why}`);
  }
  if (filters.length === 0) {
    for (const file of ESSENTIAL.filter((f) => !files.includes(f))) failures.push(`${file} is essential, but missing`);
  }
  for (const file of ESSENTIAL.filter((f) => skipped.has(f))) {
    failures.push(`${file} is essential, but skipped: ${skipped.get(file)}`);
  }
  const runnable = files.filter((f) => !skipped.has(f));
  if (runnable.length === 0) return { result: null, failures };

  const map = stackMapper(bundle.sourceMap, `${ORIGIN}/main.js`);
  // deno-lint-ignore no-control-regex -- the escape is the point: uvu colours its output in a page
  const plain = (text: string) => process.stdout.isTTY ? text : text.replace(/\u001b\[\d+m/g, "");
  const out = (text: string) => void process.stdout.write(map(plain(text)));

  const browser = await launchChromium();
  let result: SessionResult | null = null;
  try {
    console.log(`acktor tests on chromium ${browser.version()}: ${runnable.length} file(s)`);
    let finish!: (outcome: SessionResult | string) => void;
    const finished = new Promise<SessionResult | string>((resolve) => (finish = resolve));
    let started = false;
    const bridge = async (page: Page): Promise<void> => {
      page.on("console", (message) => {
        const type = message.type();
        out(`${type === "log" ? "" : `console.${type}: `}${message.text()}\n`);
      });
      page.on("pageerror", (error) => {
        failures.push(`uncaught in the page: ${map(error.message)}`);
        out(`  FAIL uncaught in the page\n    ${(error.stack ?? error.message).split("\n").join("\n    ")}\n`);
      });
      page.on("crash", () => finish("the page crashed"));
      await page.exposeFunction("acktorFiles", () => {
        started = true;
        return runnable;
      });
      await page.exposeFunction("acktorWrite", out);
      await page.exposeFunction("acktorDone", finish);
      await page.exposeFunction("acktorFailed", (error: string) => finish(`the page runner failed: ${map(error)}`));
    };
    const site = { ...modulePage(bundle.script, "acktor tests"), "/favicon.ico": { type: "image/x-icon", body: "" } };
    const outcome = await withPage(browser, site, "/", async () => {
      const timers: ReturnType<typeof setTimeout>[] = [];
      const deadline = new Promise<string>((resolve) => {
        timers.push(
          setTimeout(() => resolve(`the page did not finish within ${DEADLINE_MS} ms (wall clock)`), DEADLINE_MS),
        );
        timers.push(
          setTimeout(() => started || resolve(`the page did not start its run within ${START_MS} ms`), START_MS),
        );
      });
      try {
        return await Promise.race([finished, deadline]);
      } finally {
        for (const timer of timers) clearTimeout(timer);
      }
    }, { beforeLoad: bridge });
    if (typeof outcome === "string") {
      failures.push(outcome);
      out(`  FAIL ${outcome}\n`);
    } else {
      result = outcome;
      for (const file of ESSENTIAL.filter((f) => runnable.includes(f))) {
        if ((outcome.files[file]?.passed ?? 0) === 0) failures.push(`${file} is essential, but ran no test`);
      }
    }
  } finally {
    await browser.close();
  }
  return { result, failures };
}
