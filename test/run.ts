/**
 * Runs every `*.test.ts` file in this folder as one uvu session, under Node (`tsx`), Deno
 * (`deno run -A`) or Bun (`bun`). Deno's own `deno test` would report 0 tests for uvu files
 * and pass, so every runtime runs this file instead. Optional arguments filter files by
 * substring. (`test/browser/run.ts` runs the same files in Chromium.)
 *
 * It ends with the plain line "N passed, N failed, N skipped" and exits with 1 whenever
 * anything failed: a test, a `before` or `after` hook, a suite past its deadline, a file that
 * could not be loaded, or uvu's own error report (`helpers/session.ts` counts them). Once the
 * results are printed it exits explicitly, so a loop or timer a failed test leaked cannot
 * hold the process open.
 */
import { readdirSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { captureStdout, exitWith, openSession, runtimeName } from "./helpers/session.ts";

const dir = fileURLToPath(new URL(".", import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".test.ts") && (filters.length === 0 || filters.some((x) => f.includes(x))))
  .sort();
if (files.length === 0) throw new Error(`no test files match ${filters.join(", ")}`);

const session = await openSession();
console.log(`acktor tests on ${runtimeName()}: ${files.length} file(s)`);
for (const file of files) await session.add(file, () => import(new URL(file, import.meta.url).href));
const result = await session.run({ capture: captureStdout });
await exitWith(result, result.reasons);
