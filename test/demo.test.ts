/** The main job's table: reconciled against the log, and the same for the same seed. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runDemo } from "../src/demo/semantics.ts";

test("each semantic keeps its promise in the demo, and a seed replays the same table", async () => {
  const strip = (rows: Awaited<ReturnType<typeof runDemo>>) => rows.map(({ recordsPerSecond: _, ...rest }) => rest);
  const first = await runDemo({ records: 10_000, seed: 3 });
  const again = await runDemo({ records: 10_000, seed: 3 });
  assert.equal(strip(first), strip(again));
  const [amo, alo] = first;
  assert.is(amo!.semantic, "at-most-once");
  assert.is(amo!.duplicated, 0);
  assert.ok(amo!.lost > 0, "the default faults lose records under at-most-once");
  assert.is(alo!.semantic, "at-least-once");
  assert.is(alo!.lost, 0);
  assert.ok(alo!.duplicated > 0, "lost acks duplicate under at-least-once");
  const eos = first[2]!;
  assert.is(eos.semantic, "exactly-once");
  assert.is(eos.lost, 0);
  assert.is(eos.duplicated, 0);
  for (const row of first) {
    assert.is(row.delivered + row.lost, row.sent);
    assert.ok(row.guaranteeHeld);
  }
});

test.run();
