/**
 * Property-based fault schedules: fast-check generates whole runs (topic shape, producer
 * config, a fault schedule, replica stops, transactions with aborts, timeouts and a zombie,
 * consumer crashes), each played on a `VirtualClock` and judged by the shared history checker
 * with its semantic's invariant, producer side and end to end (see `helpers/run-generator.ts`).
 *
 * Size: `ACKTOR_VERIFY_RUNS` (default 20) schedules per semantic of `ACKTOR_VERIFY_RECORDS`
 * (default 10,000) records each: about 60-70 s per runtime here. The CI size, 100 per
 * semantic, takes about 4-5 minutes on Node (raise `ACKTOR_SUITE_DEADLINE_MS` for it).
 * A failure prints `ACKTOR_VERIFY_SEED=<seed>` and fast-check's path; set both
 * (`ACKTOR_VERIFY_SEED`, `ACKTOR_VERIFY_PATH`) to replay the shrunk schedule.
 */
import process from "node:process";
import fc from "fast-check";
import * as assert from "uvu/assert";
import { test } from "./helpers/harness.ts";
import { runSchedule, type Schedule, scheduleArbitrary, SEMANTICS } from "./helpers/run-generator.ts";

const env = (name: string): string | undefined => process.env[name];
const RUNS = Number(env("ACKTOR_VERIFY_RUNS") ?? 20);
const RECORDS = Number(env("ACKTOR_VERIFY_RECORDS") ?? 10_000);
const SEED = env("ACKTOR_VERIFY_SEED") !== undefined ? Number(env("ACKTOR_VERIFY_SEED")) : Date.now() % 2 ** 31;
const PATH = env("ACKTOR_VERIFY_PATH");

for (const semantic of SEMANTICS) {
  test(
    `${RUNS} generated fault schedules of ${RECORDS} records keep the ${semantic} invariant, producer side and end to end`,
    { deadlineMs: Math.max(60_000, RUNS * (RECORDS / 10_000) * 8_000), seed: SEED },
    async () => {
      const result = await fc.check(
        fc.asyncProperty(scheduleArbitrary({ records: RECORDS, semantic }), async (schedule) => {
          const run = await runSchedule(schedule);
          if (run.violations.length > 0) throw new Error(run.violations.join("\n"));
        }),
        { numRuns: RUNS, seed: SEED, ...(PATH ? { path: PATH } : {}), endOnFailure: false },
      );
      if (result.failed) {
        assert.unreachable(
          `ACKTOR_VERIFY_SEED=${result.seed} ACKTOR_VERIFY_PATH=${result.counterexamplePath} ` +
            `(fc.assert(..., { seed: ${result.seed}, path: "${result.counterexamplePath}" }))\n` +
            `minimal schedule: ${JSON.stringify(result.counterexample?.[0])}\n` +
            String(result.errorInstance instanceof Error ? result.errorInstance.message : result.errorInstance),
        );
      }
      assert.is(result.numRuns, RUNS);
    },
  );
}

test("shrinking: a deliberately wrong invariant fails and shrinks to a minimal schedule", {
  deadlineMs: 120_000,
}, async () => {
  // "At-least-once never duplicates" is false: a lost ack or a retransmission makes a copy.
  // The property must fail, and shrink to one partition, one fault kind, no replica stops.
  const wrong = (r: { duplicated: readonly number[] }) =>
    r.duplicated.length > 0 ? ["duplicated (wrong invariant)"] : [];
  const result = await fc.check(
    fc.asyncProperty(
      scheduleArbitrary({ records: 300, semantic: "at-least-once", consumers: false }),
      async (schedule) => {
        const run = await runSchedule(schedule, { extra: [wrong as never] });
        if (run.violations.length > 0) throw new Error(run.violations.join("\n"));
      },
    ),
    { numRuns: 200, seed: 42 },
  );
  assert.ok(result.failed, "the wrong invariant must be caught");
  const s = result.counterexample![0] as Schedule;
  const kinds = [s.faults.dropRequest, s.faults.dropResponse, s.faults.duplicateRequest, s.faults.disconnect]
    .filter((x) => x > 0).length;
  const detail = JSON.stringify(s);
  assert.is(s.topic.partitions, 1, detail);
  assert.is(s.replicaStops.length, 0, detail);
  assert.is(s.faults.delay.probability, 0, detail);
  assert.is(kinds, 1, `one fault kind is enough: ${detail}`);
  assert.ok(result.numShrinks > 0, "it shrank");
});

test.run();
