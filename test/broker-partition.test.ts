/**
 * One partition on its own, below the broker: replication (HW, ISR, held acks), the last
 * stable offset of its transactions, retention and producer expiry, on a VirtualClock.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { Partition, type PartitionOptions } from "../src/broker/partition.ts";
import { InvalidTxnStateError, OffsetOutOfRangeError } from "../src/errors.ts";
import { sleep } from "../src/runtime/clock.ts";
import { VirtualClock } from "../src/runtime/virtual-clock.ts";
import type { RecordColumns } from "../src/transport/protocol.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

function partition(clock: VirtualClock, options: Partial<PartitionOptions> = {}, label = "t[0]"): Partition {
  return new Partition(
    { clock, replicationFactor: 1, replicaLagMs: 0, replicaLagTimeMaxMs: 100, minInsyncReplicas: 1, ...options },
    label,
  );
}

function batch(...values: string[]): RecordColumns {
  return { keys: values.map(() => null), values: values.map(enc) };
}

function committed(p: Partition): string[] {
  return p.read(0, Infinity, "read-committed").map((r) => dec(r.value));
}

function outOfRange(p: Partition, offset: number): OffsetOutOfRangeError {
  try {
    p.fetch(offset, 10, "read-uncommitted");
  } catch (error) {
    assert.instance(error, OffsetOutOfRangeError);
    return error as OffsetOutOfRangeError;
  }
  throw new Error(`a fetch from ${offset} was not out of range`);
}

test("the label names the topic and partition of OffsetOutOfRangeError; a fetch of 0 records is never out of range", () => {
  const clock = new VirtualClock();
  const labels = [["orders[12]", "orders", 12], ["plain", "plain", -1], ["x[1]y", "x[1]y", -1], [
    undefined,
    "partition",
    -1,
  ]];
  for (const [label, topic, index] of labels as [string | undefined, string, number][]) {
    const p = new Partition(
      {
        clock,
        replicationFactor: 1,
        replicaLagMs: 0,
        replicaLagTimeMaxMs: 100,
        minInsyncReplicas: 1,
        retentionBytes: 10,
      },
      label,
    );
    p.append(batch("0123456789"));
    p.append(batch("abcdefghij"));
    assert.is(p.state.logStartOffset, 1);
    const error = outOfRange(p, 0);
    assert.is(error.topic, topic);
    assert.is(error.partition, index);
    assert.match(error.message, `of ${label ?? "partition"} was deleted by retention; the log starts at 1`);
    assert.equal(p.fetch(0, 0, "read-uncommitted"), { records: [], nextOffset: 1 });
    assert.equal(p.read(1, 10, "read-uncommitted").map((r) => dec(r.value)), ["abcdefghij"]);
  }
});

test("the HW is the slowest in-sync follower's end; a laggard leaves the ISR at replicaLagTimeMaxMs and rejoins once caught up", async () => {
  const clock = new VirtualClock();
  const p = partition(clock, {
    replicationFactor: 3,
    replicaLagMs: 10,
    replicaLagTimeMaxMs: 100,
    minInsyncReplicas: 2,
  });
  p.follower(2)!.send({ type: "SET_LAG", lagMs: 30 });
  assert.is(p.follower(3), undefined);
  p.append(batch("a", "b"));
  assert.equal(p.state, { logStartOffset: 0, logEndOffset: 2, highWatermark: 0, isr: [0, 1, 2] });
  await sleep(clock, 10);
  assert.is(p.follower(1)!.getSnapshot().context.leo, 2);
  assert.is(p.highWatermark, 0, "follower 2 has not copied yet");
  await sleep(clock, 20);
  assert.is(p.highWatermark, 2);
  assert.is(clock.pending, 0, "nothing lags, so no timer is held");

  p.follower(1)!.send({ type: "STOP" });
  p.append(batch("c")); // at 30: follower 1 held everything until now
  await sleep(clock, 90);
  p.append(batch("d")); // at 120: follower 2 is behind again, but only since now
  await sleep(clock, 9);
  assert.equal(p.state.isr, [0, 1, 2], "not yet lagging for replicaLagTimeMaxMs");
  assert.is(p.highWatermark, 2);
  await sleep(clock, 1);
  assert.equal(p.state, { logStartOffset: 0, logEndOffset: 4, highWatermark: 3, isr: [0, 2] }, "only follower 1 lags");
  assert.ok(p.enoughReplicas, "2 in-sync replicas meet minInsyncReplicas 2");

  p.resume(1); // at 130: it copies up to 4 at 140
  p.resume(5); // no such follower: nothing to resume
  await sleep(clock, 5);
  p.append(batch("e")); // at 135: copied at 145
  await sleep(clock, 5);
  assert.is(p.follower(1)!.getSnapshot().context.leo, 4);
  assert.equal(p.state.isr, [0, 2], "not back before it has caught up");
  await sleep(clock, 5);
  assert.equal(p.state.isr, [0, 1, 2], "back, and listed in id order");
  await sleep(clock, 20);
  assert.equal(p.state, { logStartOffset: 0, logEndOffset: 5, highWatermark: 5, isr: [0, 1, 2] });
  assert.is(clock.pending, 0);

  p.follower(2)!.send({ type: "STOP" });
  p.follower(1)!.send({ type: "STOP" });
  p.append(batch("f"));
  await sleep(clock, 100);
  assert.equal(p.state.isr, [0]);
  assert.not.ok(p.enoughReplicas);
});

test("a stopped follower leaves the ISR on time though appends go on", async () => {
  const clock = new VirtualClock();
  const p = partition(clock, { replicationFactor: 2, replicaLagMs: 0, replicaLagTimeMaxMs: 100 });
  p.follower(1)!.send({ type: "STOP" });
  for (let i = 0; i < 4; i++) {
    p.append(batch(`r${i}`));
    await sleep(clock, 30);
  }
  assert.equal(p.state, { logStartOffset: 0, logEndOffset: 4, highWatermark: 4, isr: [0] }, "dropped at 100");
});

test("when a laggard is dropped, a follower that holds everything stays, however long ago it copied", async () => {
  const clock = new VirtualClock();
  const p = partition(clock, { replicationFactor: 3, replicaLagMs: 10, replicaLagTimeMaxMs: 100 });
  p.follower(2)!.send({ type: "STOP" });
  p.append(batch("a")); // follower 1 copies it at 10, as of 0
  await sleep(clock, 101); // follower 2 is dropped at 100
  assert.equal(p.state, { logStartOffset: 0, logEndOffset: 1, highWatermark: 1, isr: [0, 1] });
});

test("an idle follower that holds everything stays in the ISR across the next append", async () => {
  const clock = new VirtualClock();
  const p = partition(clock, { replicationFactor: 2, replicaLagMs: 50, replicaLagTimeMaxMs: 100 });
  p.append(batch("a"));
  const appends = [
    () => p.append(batch("b")),
    () => p.appendSequenced(batch("c"), 1, 0, 0, true),
    () => p.writeMarker(1, 0, "commit"),
  ];
  for (const [i, append] of appends.entries()) {
    await sleep(clock, 1000);
    assert.is(p.highWatermark, p.log.endOffset);
    append();
    await sleep(clock, 1);
    assert.equal(p.state.isr, [0, 1], `append ${i}`);
  }
  await sleep(clock, 49);
  assert.equal(p.state, { logStartOffset: 0, logEndOffset: 4, highWatermark: 4, isr: [0, 1] });
});

test("a follower that copies steadily, though never wholly caught up, stays in the ISR", async () => {
  const clock = new VirtualClock();
  const p = partition(clock, { replicationFactor: 2, replicaLagMs: 50, replicaLagTimeMaxMs: 100 });
  for (let i = 0; i < 10; i++) {
    p.append(batch(`r${i}`));
    await sleep(clock, 30);
    assert.equal(p.state.isr, [0, 1], `at ${clock.now()} ms`);
    assert.ok(p.highWatermark < p.log.endOffset, "the follower is always one append behind");
  }
});

test("held acks resolve in offset order as the HW covers them, time out, or fail once the ISR is too small", async () => {
  const clock = new VirtualClock();
  const p = partition(clock, {
    replicationFactor: 2,
    replicaLagMs: 10,
    replicaLagTimeMaxMs: 100,
    minInsyncReplicas: 2,
  });
  assert.is(await p.whenReplicated(0, 5), "replicated", "nothing to wait for");
  const results: string[] = [];
  p.append(batch("a"));
  p.append(batch("b", "c"));
  const first = p.whenReplicated(1, 1000).then((r) => results.push(`1:${r}@${clock.now()}`));
  const second = p.whenReplicated(3, 1000).then((r) => results.push(`3:${r}@${clock.now()}`));
  await Promise.all([first, second]);
  assert.equal(results, ["1:replicated@10", "3:replicated@10"]);
  assert.is(p.stats.heldAcks, 0, "released acks are let go");
  assert.is(clock.pending, 0, "released acks hold no timers");

  p.follower(1)!.send({ type: "STOP" });
  p.append(batch("d"));
  const late = p.whenReplicated(4, 1000).then((r) => `${r}@${clock.now()}`);
  assert.is(await p.whenReplicated(4, 40), "timed-out");
  assert.is(clock.now(), 50);
  assert.is(p.stats.heldAcks, 1, "the timed-out ack is no longer held");
  const later = p.whenReplicated(4, 1000).then((r) => `${r}@${clock.now()}`);
  assert.equal(
    await Promise.all([late, later]),
    ["not-enough-replicas@110", "not-enough-replicas@110"],
    "the HW moved only because the follower left the ISR; the timed-out ack took no other with it",
  );
  assert.is(p.log.endOffset, 4, "an unconfirmed write stays in the log");
});

test("the LSO is the first offset of the earliest open or unreplicated transaction, else the HW", async () => {
  const clock = new VirtualClock();
  const p = partition(clock, { replicationFactor: 2, replicaLagMs: 10 });
  p.append(batch("p0", "p1")); // offsets 0-1, not replicated yet
  p.appendSequenced(batch("x2"), 7, 0, 0, true); // producer 7 opens at 2
  assert.is(p.lastStableOffset, 0, "the HW is lower than any open transaction");
  assert.equal(p.read(0, 10, "read-uncommitted").map((r) => dec(r.value)), ["p0", "p1", "x2"]);
  await sleep(clock, 10);
  assert.is(p.highWatermark, 3);
  assert.is(p.lastStableOffset, 2);
  p.appendSequenced(batch("y3"), 8, 0, 0, true); // producer 8 opens at 3
  p.appendSequenced(batch("x4"), 7, 0, 1, true); // producer 7's second batch does not move its start
  await sleep(clock, 10);
  assert.is(p.lastStableOffset, 2);
  assert.is(p.stats.openTransactions, 2);

  p.writeMarker(8, 0, "abort"); // at 5: producer 8's ends first
  assert.is(p.lastStableOffset, 2, "producer 7 still open");
  p.writeMarker(7, 0, "commit"); // at 6
  assert.is(p.stats.openTransactions, 0);
  assert.is(p.lastStableOffset, 2, "both ended, neither marker replicated");
  assert.equal(committed(p), ["p0", "p1"]);
  await sleep(clock, 10);
  assert.is(p.lastStableOffset, 7);
  assert.equal(committed(p), ["p0", "p1", "x2", "x4"], "producer 8's aborted record is skipped");
  assert.equal(p.abortedTransactions(), [{ producerId: 8, firstOffset: 3, lastOffset: 5 }]);
});

test("an ended transaction stays unstable while the HW is at its marker, and stable once past it", async () => {
  const clock = new VirtualClock();
  const p = partition(clock, { replicationFactor: 2, replicaLagMs: 10 });
  p.appendSequenced(batch("a"), 1, 0, 0, true); // at 0
  await sleep(clock, 5);
  p.writeMarker(1, 0, "commit"); // offset 1, at 5
  p.appendSequenced(batch("b"), 2, 0, 0, true); // producer 2 opens at 2
  p.writeMarker(2, 0, "abort"); // offset 3: ended after producer 1's, but started later
  await sleep(clock, 5);
  assert.is(p.highWatermark, 1, "the follower holds offset 0 only");
  assert.is(p.lastStableOffset, 0);
  await sleep(clock, 5);
  assert.is(p.highWatermark, 4);
  assert.is(p.lastStableOffset, 4);
});

test("a marker without a transaction here changes no index; a commit is never indexed as aborted", () => {
  const clock = new VirtualClock();
  const p = partition(clock);
  p.writeMarker(3, 0, "abort");
  p.appendSequenced(batch("a"), 4, 0, 0, true);
  p.writeMarker(4, 0, "commit");
  assert.equal(p.abortedTransactions(), []);
  assert.equal(p.stats, {
    chunks: 3,
    bytes: 1,
    logStartOffset: 0,
    producers: 2,
    dedupBatches: 1,
    aborted: 0,
    openTransactions: 0,
    heldAcks: 0,
  });
  assert.equal(committed(p), ["a"]);
});

test("a non-transactional write from a producer with a transaction open here is refused, naming the partition", () => {
  const clock = new VirtualClock();
  const p = partition(clock, {}, "orders[3]");
  p.appendSequenced(batch("a"), 5, 0, 0, true);
  const verdict = p.checkSequence(5, 0, 1, 1, false);
  assert.is(verdict.kind, "error");
  const error = (verdict as { error: Error }).error;
  assert.instance(error, InvalidTxnStateError);
  assert.match(error.message, "producer 5 has a transaction open in orders[3]");
  assert.equal(p.checkSequence(5, 0, 1, 1, true), { kind: "append" });
  assert.equal(p.checkSequence(6, 0, 0, 1, false), { kind: "append" });
});

test("retention by bytes alone and by time alone; none without either, and the aborted index follows the log start", async () => {
  const clock = new VirtualClock();
  const none = partition(clock);
  const bySize = partition(clock, { retentionBytes: 15 });
  const byTime = partition(clock, { retentionMs: 100 });
  const zero = partition(clock, { retentionBytes: 0 });
  const zeroMs = partition(clock, { retentionMs: 0 });
  for (const p of [none, bySize, byTime, zero, zeroMs]) {
    p.appendSequenced(batch("0123456789"), 1, 0, 0, true);
    p.writeMarker(1, 0, "abort");
    p.append(batch("0123456789"));
  }
  assert.is(byTime.stats.aborted, 1);
  assert.equal([zero.state.logStartOffset, zero.stats.bytes], [3, 0], "retentionBytes 0 keeps nothing replicated");
  await sleep(clock, 100);
  for (const p of [none, bySize, byTime, zeroMs]) p.append(batch("0123456789"));
  assert.is(none.state.logStartOffset, 0);
  assert.is(bySize.state.logStartOffset, 3, "whole batches go while over 15 bytes: the marker with them");
  assert.is(bySize.stats.bytes, 10);
  assert.equal(bySize.abortedTransactions(), []);
  assert.is(byTime.state.logStartOffset, 0, "appended exactly retentionMs ago: kept");
  assert.is(zeroMs.state.logStartOffset, 3, "retentionMs 0 keeps nothing appended before now");
  await sleep(clock, 1);
  outOfRange(byTime, 0); // a fetch applies retention first
  assert.is(byTime.state.logStartOffset, 3);
  assert.equal(byTime.stats.aborted, 0);
  none.enforceRetention();
  assert.is(none.stats.chunks, 4);
});

test("idle producers expire unless kept or with a transaction open here; a write keeps one alive", async () => {
  const clock = new VirtualClock();
  const p = partition(clock);
  p.appendSequenced(batch("a"), 1, 0, 0, false);
  p.appendSequenced(batch("b"), 2, 0, 0, false);
  p.appendSequenced(batch("c"), 3, 0, 0, true);
  p.appendSequenced(batch("d"), 4, 0, 0, false);
  await sleep(clock, 50);
  p.appendSequenced(batch("e"), 4, 0, 1, false);
  await sleep(clock, 50);
  assert.is(p.expireProducers(100, (id) => id === 2), 1, "only producer 1");
  assert.is(p.stats.producers, 3);
  assert.is(p.expireProducers(100), 1, "producer 2 is no longer kept; 3 has its transaction open");
  p.writeMarker(3, 0, "commit");
  await sleep(clock, 50);
  assert.is(p.expireProducers(100), 1, "producer 4 last wrote 100 ms ago");
  assert.is(p.stats.producers, 1);
  assert.is(p.expireProducers(50), 1, "producer 3's marker was 50 ms ago");
});

test.run();
