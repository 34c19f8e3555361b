/**
 * Property-based fault schedules: fast-check generates whole runs (topic shape, producer
 * config, a fault schedule, replica stops, transactions with aborts, timeouts and a zombie,
 * a consumer group whose members join, leave, crash and pause), each played on a
 * `VirtualClock` and judged by the shared history checker with its semantic's invariant,
 * producer side and end to end, and by the commit referee for zombie generations (see
 * `helpers/run-generator.ts`).
 *
 * Size: `ACKTOR_VERIFY_RUNS` (default 100) schedules per semantic of `ACKTOR_VERIFY_RECORDS`
 * (default 10,000) records each, the same on every runtime: about 50 s of CPU for all three
 * on Node here (the README's "Generated fault schedules" has the measurements). Each semantic
 * is a suite of its own, so each gets the session's suite deadline.
 * A failure prints `ACKTOR_VERIFY_SEED=<seed>` and fast-check's path; set both
 * (`ACKTOR_VERIFY_SEED`, `ACKTOR_VERIFY_PATH`) to replay the shrunk schedule.
 */
import process from "node:process";
import fc from "fast-check";
import * as assert from "uvu/assert";
import { suite, test } from "./helpers/harness.ts";
import type { Invariant } from "./helpers/history.ts";
import { runSchedule } from "./helpers/run-generator.ts";
import { type Schedule, scheduleArbitrary, SEMANTICS } from "./helpers/schedule.ts";

const env = (name: string): string | undefined => process.env[name];
const RUNS = Number(env("ACKTOR_VERIFY_RUNS") ?? 100);
const RECORDS = Number(env("ACKTOR_VERIFY_RECORDS") ?? 10_000);
const SEED = env("ACKTOR_VERIFY_SEED") !== undefined ? Number(env("ACKTOR_VERIFY_SEED")) : Date.now() % 2 ** 31;
const PATH = env("ACKTOR_VERIFY_PATH");

for (const semantic of SEMANTICS) {
  const t = suite(semantic);
  t(
    `${RUNS} generated fault schedules of ${RECORDS} records keep the ${semantic} invariant, producer side and end to end`,
    { deadlineMs: Math.max(60_000, RUNS * (RECORDS / 10_000) * 2_500), seed: SEED },
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
  t.run();
}

/** A wrong invariant, checked on purpose: the property must fail, and shrink. */
async function shrunk(
  semantic: Schedule["semantic"],
  consumers: boolean,
  wrong: { producer?: Invariant; handled?: Invariant },
): Promise<Schedule> {
  const result = await fc.check(
    fc.asyncProperty(scheduleArbitrary({ records: 300, semantic, consumers }), async (schedule) => {
      const run = await runSchedule(schedule, {
        extra: wrong.producer ? [wrong.producer] : [],
        extraHandled: wrong.handled ? [wrong.handled] : [],
      });
      if (run.violations.length > 0) throw new Error(run.violations.join("\n"));
    }),
    { numRuns: 200, seed: 42 },
  );
  assert.ok(result.failed, "the wrong invariant must be caught");
  assert.ok(result.numShrinks > 0, "it shrank");
  return result.counterexample![0];
}

const duplicated = (what: string): Invariant => (r) => r.duplicated.length > 0 ? [`duplicated (${what})`] : [];

test("shrinking: a wrong producer invariant fails and shrinks to a minimal schedule", {
  deadlineMs: 120_000,
}, async () => {
  // "At-least-once never duplicates" is false: a lost ack or a retransmission makes a copy.
  // The property must fail, and shrink to one partition, one fault kind, no replica stops.
  const s = await shrunk("at-least-once", false, { producer: duplicated("wrong invariant") });
  const kinds = [s.faults.dropRequest, s.faults.dropResponse, s.faults.duplicateRequest, s.faults.disconnect]
    .filter((x) => x > 0).length;
  const detail = JSON.stringify(s);
  assert.is(s.topic.partitions, 1, detail);
  assert.is(s.replicaStops.length, 0, detail);
  assert.is(s.faults.delay.probability, 0, detail);
  assert.is(kinds, 1, `one fault kind is enough: ${detail}`);
});

test("shrinking: a wrong group invariant fails and shrinks to one member and one cause", {
  deadlineMs: 120_000,
}, async () => {
  // "A transactional group's handlers never see a record twice" is false: a member that
  // crashes, pauses past its session or leaves mid-transaction has its records handled again
  // (the output still holds each once). An idempotent producer writes no duplicates, so the
  // cause must be the group's: one step or one fault kind on its transports.
  const s = await shrunk("exactly-once", true, { handled: duplicated("wrong group invariant") });
  const group = s.consumer!;
  const detail = JSON.stringify(s);
  const faultKinds = [group.faults.dropRequest, group.faults.dropResponse, group.faults.disconnect]
    .filter((x) => x > 0).length;
  assert.is(s.transactions, null, detail);
  assert.is(s.topic.partitions, 1, detail);
  assert.is(group.members, 1, detail);
  assert.is(group.steps.length + faultKinds, 1, `one cause is enough: ${detail}`);
  assert.is(s.replicaStops.length, 0, detail);
});

test.run();
