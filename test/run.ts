/**
 * Runs every `*.test.ts` file in this folder as one uvu session, under Node (`tsx`), Deno
 * (`deno run -A`) or Bun (`bun`). Deno's own `deno test` would report 0 tests for uvu files
 * and pass, so every runtime runs this file instead. Optional arguments filter files by
 * substring.
 *
 * It ends with the plain line "N passed, N failed, N skipped" and exits with 1 whenever
 * anything failed: a test, a `before` or `after` hook (uvu swallows a throwing `before` and
 * would let an `after` end the run), a suite past its deadline, or uvu's own error report. It
 * counts from what each suite's runner returns, not from uvu's printed totals. Once the
 * results are printed it exits explicitly, so a loop or timer a failed test leaked cannot
 * hold the process open.
 */
import { readdirSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** What one uvu suite's runner returns: its error report (or `true`), ran, skipped, total. */
type SuiteResult = [errors: string | true, passed: number, skipped: number, total: number];
type Runner = () => Promise<SuiteResult>;

const g = globalThis as unknown as {
  UVU_DEFER: number;
  UVU_INDEX: number;
  UVU_QUEUE: unknown[][];
  ACKTOR_HOOK_FAILURES?: { suite: string; hook: string; error: unknown }[];
  Deno?: { version: { deno: string } };
  Bun?: { version: string };
};
g.UVU_DEFER = 1;
g.UVU_QUEUE = [];
const hookFailures = (g.ACKTOR_HOOK_FAILURES ??= []);
const { exec } = await import("uvu");

/** A whole file's suites get this long (wall clock) before the run moves on without them. */
const SUITE_DEADLINE_MS = Number(process.env.ACKTOR_SUITE_DEADLINE_MS ?? 300_000);

const dir = fileURLToPath(new URL(".", import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".test.ts") && (filters.length === 0 || filters.some((x) => f.includes(x))))
  .sort();
if (files.length === 0) throw new Error(`no test files match ${filters.join(", ")}`);

// Bun also sets `process.version` (to the Node release it mimics), so it is asked first.
const runtime = g.Deno ? `deno ${g.Deno.version.deno}` : g.Bun ? `bun ${g.Bun.version}` : `node ${process.version}`;
console.log(`acktor tests on ${runtime}: ${files.length} file(s)`);
for (const [i, file] of files.entries()) {
  g.UVU_INDEX = i;
  g.UVU_QUEUE.push([file]);
  await import(new URL(file, import.meta.url).href);
}

const tally = { passed: 0, failed: 0, skipped: 0, suites: 0 };
const describe = (error: unknown): string =>
  error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
const report = (file: string, what: string, detail: string): string =>
  `  FAIL ${file}: ${what}\n    ${detail.split("\n").join("\n    ")}\n`;

/** Runs one suite, counting its results and turning every silent failure into a reported one. */
async function guarded(file: string, run: Runner): Promise<SuiteResult> {
  const hooksBefore = hookFailures.length;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"expired">((
    resolve,
  ) => (timer = setTimeout(() => resolve("expired"), SUITE_DEADLINE_MS)));
  let result: SuiteResult;
  try {
    const settled = await Promise.race([run(), expired]);
    result = settled === "expired"
      ? [report(file, `a suite did not finish within ${SUITE_DEADLINE_MS} ms (wall clock)`, "abandoned"), 0, 0, 1]
      : settled;
  } catch (error) {
    // An `after` hook threw (uvu's runner rethrows it from its `finally`): the counts are gone.
    result = [report(file, "a suite's runner threw (an `after` hook?)", describe(error)), 0, 0, 1];
  } finally {
    clearTimeout(timer);
  }
  let [errors, passed, skipped, total] = result;
  let failed = total - passed;
  const hooks = hookFailures.slice(hooksBefore);
  let extra = "";
  for (const h of hooks) {
    extra += report(file, `${h.suite ? `suite "${h.suite}": ` : ""}the \`${h.hook}\` hook threw`, describe(h.error));
    // A throwing `before` already counts every test of the suite as failed; an `after` counts itself.
    if (h.hook === "after") failed++;
  }
  if (errors === true && failed > 0 && hooks.length === 0) {
    // uvu's runner swallows a throwing `before` hook: the tests did not run and nothing says why.
    extra += report(file, `${failed} test(s) did not run`, "a `before` hook threw; uvu does not report its error");
  }
  if (extra) errors = (errors === true ? "" : errors) + extra;
  tally.passed += passed;
  tally.failed += failed;
  tally.skipped += skipped;
  tally.suites++;
  // uvu adds `total` to its own "Total" and sets its exit code only for a string report.
  return [errors, passed, skipped, Math.max(total, passed + failed)];
}

for (const group of g.UVU_QUEUE) {
  const file = String(group[0]);
  for (let i = 1; i < group.length; i++) {
    const run = group[i] as Runner;
    group[i] = () => guarded(file, run);
  }
}

// uvu prints its totals through process.stdout; keep a copy to cross-check them.
let printed = "";
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  printed += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
  return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;
let crashed: unknown = null;
try {
  await exec(false);
} catch (error) {
  crashed = error;
} finally {
  process.stdout.write = write;
}
// deno-lint-ignore no-control-regex -- the escape is the point: it strips uvu's colour codes
const plain = printed.replace(/\u001b\[\d+m/g, "");
const uvuTotal = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? Number.NaN);
const uvuPassed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? Number.NaN);
const reasons: string[] = [];
if (crashed !== null) reasons.push(`uvu's exec threw: ${describe(crashed)}`);
if (tally.failed > 0) reasons.push(`${tally.failed} failed`);
if (tally.passed + tally.failed === 0) reasons.push("no test ran");
if (/ FAIL /.test(plain)) reasons.push("uvu reported failures");
// (Where uvu writes through console.log rather than process.stdout, nothing was captured.)
if (!Number.isNaN(uvuTotal) && !(uvuTotal === uvuPassed + tally.failed && uvuPassed === tally.passed)) {
  reasons.push(`uvu's totals (${uvuTotal} total, ${uvuPassed} passed) disagree with the runners' counts`);
}
if (hookFailures.length > 0 && tally.failed === 0) reasons.push("a hook failed");
const code = reasons.length > 0 ? 1 : 0;
if (code !== 0) console.error(`failing the run: ${reasons.join("; ")}`);
const closing = `${tally.passed} passed, ${tally.failed} failed, ${tally.skipped} skipped\n`;
// Exit explicitly once the closing line is out: a leaked loop or timer must not keep the run alive.
await new Promise<void>((resolve) => {
  const fallback = setTimeout(resolve, 2_000);
  process.stdout.write(closing, () => {
    clearTimeout(fallback);
    resolve();
  });
});
process.exit(code);
