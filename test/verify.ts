/**
 * `npm run verify -- --runs N [--records N] [--seed S] [--path P] [--semantic KIND] [--producer-only]`:
 * generated fault schedules (see `helpers/run-generator.ts`), N per semantic, each judged by
 * the shared history checker. Prints a summary: runs, records, faults injected per kind, and
 * the violations; a failing property is shrunk to a minimal schedule and printed with the
 * seed and path that replay it. Exits 1 on any violation. Runs under Node (tsx), Deno, Bun.
 */
import process from "node:process";
import fc from "fast-check";
import { runSchedule } from "./helpers/run-generator.ts";
import { emptyCounts, type FaultCounts, scheduleArbitrary, type SemanticKind, SEMANTICS } from "./helpers/schedule.ts";

function arg(name: string): string | undefined {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

const runs = Number(arg("runs") ?? 100);
const records = Number(arg("records") ?? 10_000);
const seed = arg("seed") !== undefined ? Number(arg("seed")) : Date.now() % 2 ** 31;
const path = arg("path");
const only = arg("semantic") as SemanticKind | undefined;
const producerOnly = process.argv.includes("--producer-only");
// Exactly-once: transactional members pause past their session too (see GeneratorOptions).
const verbose = process.argv.includes("--verbose");
const semantics = only ? [only] : SEMANTICS;

const totals = emptyCounts();
let done = 0;
let failed = false;
const started = performance.now();
console.log(`verify: ${runs} run(s) per semantic × ${records} records, seed ${seed}${path ? ` path ${path}` : ""}`);
for (const semantic of semantics) {
  const t0 = performance.now();
  let n = 0;
  let simulated = 0;
  const counts: FaultCounts = emptyCounts();
  const result = await fc.check(
    fc.asyncProperty(scheduleArbitrary({ records, semantic }), async (schedule) => {
      const t = performance.now();
      const run = await runSchedule(schedule, { producerOnly });
      if (verbose) {
        console.log(
          `  ${(performance.now() - t).toFixed(0)} ms ${run.violations.length} violation(s) ${
            JSON.stringify(schedule)
          }`,
        );
      }
      n++;
      simulated += run.simulatedMs;
      for (const [k, v] of Object.entries(run.faults)) counts[k as keyof FaultCounts] += v;
      if (run.violations.length > 0) throw new Error(run.violations.join("\n"));
    }),
    { numRuns: runs, seed, ...(path ? { path } : {}), endOnFailure: false },
  );
  done += n;
  for (const [k, v] of Object.entries(counts)) totals[k as keyof FaultCounts] += v;
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  const faults = Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", ");
  console.log(
    `${semantic}: ${result.numRuns} schedule(s) passed of ${runs}, ${n} run(s) in all (shrinks included), ` +
      `${seconds} s, ${(simulated / 1000).toFixed(0)} s simulated; faults: ${faults}`,
  );
  if (result.failed) {
    failed = true;
    console.log(`  VIOLATION: ACKTOR_VERIFY_SEED=${result.seed} path ${result.counterexamplePath}`);
    console.log(
      `  replay: npm run verify -- --semantic ${semantic} --records ${records} --seed ${result.seed} --path ${result.counterexamplePath}`,
    );
    console.log(`  minimal schedule: ${JSON.stringify(result.counterexample?.[0])}`);
    console.log(
      `  ${
        String(result.errorInstance instanceof Error ? result.errorInstance.message : result.errorInstance).split("\n")
          .join("\n  ")
      }`,
    );
  }
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  `verify: ${done} run(s), ${done * records} records, ${seconds} s; faults: ${
    Object.entries(totals).map(([k, v]) => `${k} ${v}`).join(", ")
  }; violations: ${failed ? "YES" : "none"}`,
);
process.exit(failed ? 1 : 0);
