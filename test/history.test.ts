/**
 * The history checker can fail: hand-made histories with one duplicate, one loss, one
 * reorder or one phantom are each reported, and each invariant flags exactly what it should.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import {
  assertHolds,
  atLeastOnce,
  atMostOnce,
  exactlyOnce,
  History,
  idOf,
  lossesReported,
  orderKept,
  reportsMatchLog,
} from "./helpers/history.ts";

/** Records 0..5 sent to partition 0 by one producer, all reported delivered at offset = id. */
function sent(label: string): History {
  const history = new History(label);
  for (let i = 0; i < 6; i++) history.send(i, { key: "k", value: `r${i}`, partition: 0 });
  return history;
}

function deliveredInOrder(history: History, ids: readonly number[]): History {
  ids.forEach((id, offset) => history.read(id, 0, offset));
  return history;
}

/** Which invariants flag the report, by name. */
function flaggedBy(history: History): string[] {
  const report = history.check();
  const invariants = {
    atMostOnce,
    atLeastOnce: atLeastOnce(),
    atLeastOnceExhausted: atLeastOnce({ policyLasts: false }),
    exactlyOnce,
  };
  return Object.entries(invariants).flatMap(([name, check]) => (check(report).length > 0 ? [name] : []));
}

test("a clean history: nothing reported, every invariant holds", () => {
  const history = deliveredInOrder(sent("clean"), [0, 1, 2, 3, 4, 5]);
  for (let i = 0; i < 6; i++) history.outcome(i, { topic: "t", partition: 0, offset: i });
  const report = history.check();
  assert.equal(
    [report.lost, report.duplicated, report.reordered, report.phantom, report.misplaced, report.sharedSlot],
    [[], [], [], [], [], []],
  );
  assert.is(report.extraCopies, 0);
  assert.equal(flaggedBy(history), []);
  assertHolds(report, exactlyOnce, reportsMatchLog, lossesReported);
});

test("a duplicate: reported, flagged by at-most-once and exactly-once, not by at-least-once", () => {
  const history = deliveredInOrder(sent("seed dup"), [0, 1, 2, 3, 2, 4, 5]);
  const report = history.check();
  assert.equal(report.duplicated, [2]);
  assert.is(report.extraCopies, 1);
  assert.is(report.copies(2), 2);
  assert.equal(report.reordered, [], "a later copy of an earlier record is not a reorder");
  assert.equal(report.lost, []);
  assert.equal(flaggedBy(history), ["atMostOnce", "exactlyOnce"]);
});

test("a loss: reported, flagged by at-least-once and exactly-once, not by at-most-once", () => {
  const history = deliveredInOrder(sent("seed loss"), [0, 1, 2, 4, 5]);
  history.outcome(3, { topic: "t", partition: 0, offset: 3 });
  const report = history.check();
  assert.equal(report.lost, [3]);
  assert.equal(report.deliveredButLost, [3]);
  assert.equal(report.lostUnreported, [3]);
  assert.equal(report.misplaced, [3], "offset 3 holds r4, not r3");
  assert.equal(flaggedBy(history), ["atLeastOnce", "atLeastOnceExhausted", "exactlyOnce"]);
  assert.equal(lossesReported(report).length, 1);
});

test("a loss reported as failed: only a lasting policy's at-least-once and exactly-once flag it", () => {
  const history = deliveredInOrder(sent("seed failed"), [0, 1, 2, 4, 5]);
  history.outcome(3, new Error("max-retries"));
  history.outcome(5, { status: "failed" });
  const report = history.check();
  assert.equal(report.lost, [3]);
  assert.equal(report.deliveredButLost, []);
  assert.equal(report.failed, [3, 5]);
  assert.equal(report.failedButRead, [5]);
  assert.equal(report.lostUnreported, []);
  assert.equal(lossesReported(report), []);
  assert.equal(flaggedBy(history), ["atLeastOnce", "exactlyOnce"]);
});

test("a reorder: the record ahead of an earlier-sent one is reported, and only exactly-once flags it", () => {
  const history = deliveredInOrder(sent("seed reorder"), [0, 1, 4, 2, 3, 5]);
  const report = history.check();
  assert.equal(report.reordered, [4]);
  assert.equal([report.lost, report.duplicated], [[], []]);
  assert.equal(flaggedBy(history), ["exactlyOnce"]);
  assert.equal(orderKept(report).length, 1);
});

test("order is judged per partition and per producer", () => {
  const history = new History("seed partitions");
  history.send(0, { partition: 0 }).send(1, { partition: 1 }).send(2, { partition: 0 }).send(3, { partition: 1 });
  history.send(10, { producer: "b" }).send(11, { producer: "b" });
  history.read(1, 1, 0).read(3, 1, 1).read(0, 0, 5).read(11, 0, 6).read(2, 0, 7).read(10, 0, 8);
  const report = history.check();
  assert.equal(report.reordered, [11], "only b's records are out of order with each other");
});

test("a phantom: reported and flagged by every invariant", () => {
  const history = deliveredInOrder(sent("seed phantom"), [0, 1, 2, 3, 4, 5, 99]);
  history.read(idOf("garbage"), 0, 7);
  const report = history.check();
  assert.equal(report.phantom.length, 2);
  assert.ok(report.phantom.includes(99));
  assert.equal([report.lost, report.duplicated, report.reordered], [[], [], []]);
  assert.equal(flaggedBy(history), ["atMostOnce", "atLeastOnce", "atLeastOnceExhausted", "exactlyOnce"]);
});

test("reports that disagree with the log: a shared slot and a misrouted record", () => {
  const history = deliveredInOrder(sent("seed slots"), [0, 1, 2, 3, 4]);
  history.read(5, 1, 0);
  history.outcome(0, { topic: "t", partition: 0, offset: 0 });
  history.outcome(1, { status: "delivered", partition: 0, offset: 0 });
  const report = history.check();
  assert.equal(report.sharedSlot, [0, 1]);
  assert.equal(report.misplaced, [1]);
  assert.equal(report.misrouted, [5]);
  assert.equal(reportsMatchLog(report).length, 3);
});

test("a violation names the label and example ids, and assertHolds fails with it", () => {
  const history = new History("seed 4242, cut after r3");
  for (let i = 0; i < 20; i++) history.send(i);
  history.read(0, 0, 0);
  const report = history.check();
  const [line] = exactlyOnce(report);
  assert.match(line!, "[seed 4242, cut after r3] lost: 19 record(s), e.g. r1, r2, r3, r4, r5, …");
  const failure = (() => {
    try {
      assertHolds(report, atMostOnce, exactlyOnce);
    } catch (error) {
      return error;
    }
  })();
  assert.instance(failure, Error, "assertHolds throws when an invariant is broken");
  assert.match((failure as Error).message, /seed 4242.*lost: 19/);
  assertHolds(report, atMostOnce);
});

test.run();
