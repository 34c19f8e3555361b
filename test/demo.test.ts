/**
 * The main job's table, end to end: each semantic's producer and consumer under seeded
 * faults and consumer crashes, reconciled against the log and against what was processed,
 * and the same for the same seed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type DemoRow, runDemo } from "../src/demo/semantics.ts";

const RECORDS = 10_000;
// Run once, by the first test that needs it (not at import, alongside other files' tests).
let run: Promise<DemoRow[]> | null = null;
const first = (): Promise<DemoRow[]> => (run ??= runDemo({ records: RECORDS, seed: 3 }));
const row = async (semantic: DemoRow["semantic"]): Promise<DemoRow> => {
  const found = (await first()).find((r) => r.semantic === semantic);
  assert.ok(found, `a row for ${semantic}`);
  return found;
};

test("every row adds up, the consumers met crashes and faults, and none failed by itself", async () => {
  const rows = await first();
  assert.equal(
    rows.map((r) => [r.semantic, r.commit]),
    [
      ["at-most-once", "before-processing"],
      ["at-least-once", "after-processing"],
      ["exactly-once", "transactional"],
    ],
  );
  for (const r of rows) {
    assert.is(r.sent, RECORDS);
    assert.is(r.delivered + r.lost, r.sent, `${r.semantic}: in log + lost by the producer = sent`);
    // Every record sent is processed, or lost on exactly one side.
    assert.is(
      r.processed + r.lostByConsumer + r.lost,
      r.sent,
      `${r.semantic}: processed + lost (consumer) + lost (producer) = sent`,
    );
    assert.ok(r.crashes.length >= 2, `${r.semantic}: ${r.crashes.length} consumer crashes`);
    assert.is(
      r.consumers,
      r.crashes.length + 1,
      `${r.semantic}: one new consumer instance per crash, and the last one finished`,
    );
    assert.equal(r.consumerFailures, [], `${r.semantic}: no consumer gave up by itself`);
  }
});

test("at-most-once, before-processing: no record processed twice, and the crashes did lose records", async () => {
  const r = await row("at-most-once");
  assert.is(r.processedTwice, 0, "no record processed twice");
  assert.is(r.duplicated, 0, "the producer never writes a record twice");
  assert.is(r.handlerReruns, 0, "no record handed out again");
  assert.ok(r.lost > 0, "the default faults lose records on the producer side");
  assert.ok(
    r.lostByConsumer > 0,
    "a crash after the commit, before processing, loses records (else the test could not tell)",
  );
  assert.ok(r.guaranteeHeld);
});

test("at-least-once, after-processing: no record lost end to end, and the crashes did process records twice", async () => {
  const r = await row("at-least-once");
  assert.is(r.lost, 0, "the producer loses nothing");
  assert.is(r.lostByConsumer, 0, "the consumers lose nothing");
  assert.is(r.processed, r.sent, "every record sent was processed");
  assert.ok(r.duplicated > 0, "lost acks duplicate records in the log");
  assert.ok(r.handlerReruns > 0, "a crash before the commit redelivers records");
  assert.ok(r.processedTwice >= r.duplicated, "a record in the log twice is processed twice");
  assert.ok(r.guaranteeHeld);
});

test("exactly-once, consume-transform-produce: the read-committed output is the input, once each", async () => {
  const r = await row("exactly-once");
  assert.is(r.lost, 0);
  assert.is(r.duplicated, 0, "the idempotent producer writes each record once");
  assert.is(r.processed, r.sent, "every record is in the output");
  assert.is(r.processedTwice, 0, "no record is in the output twice");
  assert.is(r.lostByConsumer, 0);
  assert.ok(r.handlerReruns > 0, "handlers did run twice (crashes, aborted transactions), so the test can tell");
  assert.ok(r.guaranteeHeld);
});

test("a seed replays the same table, and another seed gives another", async () => {
  const strip = (rows: DemoRow[]) => rows.map(({ recordsPerSecond: _, ...rest }) => rest);
  const again = await runDemo({ records: RECORDS, seed: 3 });
  assert.equal(strip(again), strip(await first()));
  const other = await runDemo({ records: RECORDS, seed: 4 });
  assert.not.equal(strip(other), strip(await first()), "the seed drives the faults and crashes");
  for (const r of other) assert.ok(r.guaranteeHeld, `${r.semantic} under seed 4`);
});

test.run();
