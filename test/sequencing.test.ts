/**
 * `PartitionSequence` alone: the exactly-once bookkeeping of one partition (sequence numbers,
 * turns, the dedup window and epoch bumps), driven directly with real batches. The producer
 * tests reach it only through timing-dependent schedules; these pin each rule by itself.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { Batch } from "../src/producer/batch.ts";
import { DEDUP_WINDOW, PartitionSequence } from "../src/producer/sequencing.ts";

let nextId = 0;
function batch(records: number): Batch {
  const b = new Batch(nextId++, "t", 0);
  for (let i = 0; i < records; i++) b.push(null, new Uint8Array([i]), null, 0);
  return b;
}

/** Batches of these record counts, assigned to `seq` in order. */
function assigned(seq: PartitionSequence, ...counts: [number, number, number]): [Batch, Batch, Batch] {
  const [a, b, c] = counts.map((n) => batch(n));
  for (const x of [a!, b!, c!]) seq.assign(x);
  return [a!, b!, c!];
}

test("sequencing: the dedup window is Kafka's five batches", () => {
  assert.is(DEDUP_WINDOW, 5);
});

test("sequencing: assign gives consecutive sequences by record count, keeps the epoch", () => {
  const seq = new PartitionSequence(7);
  assert.is(seq.epoch, 7);
  const [a, b, c] = assigned(seq, 3, 2, 1);
  assert.equal([a.baseSequence, b.baseSequence, c.baseSequence], [0, 3, 5]);
  assert.equal(seq.unresolved, [a, b, c]);
  assert.is(seq.outstanding, 0);
});

test("sequencing: only the oldest unresolved batch has its turn, and it passes on resolve", () => {
  const seq = new PartitionSequence(0);
  const [a, b, c] = assigned(seq, 1, 1, 1);
  assert.ok(seq.isTurn(a));
  assert.ok(seq.isHead(a));
  // A later batch may not retry out of turn while an earlier one is unresolved.
  assert.not.ok(seq.isTurn(b));
  assert.not.ok(seq.isTurn(c));
  assert.not.ok(seq.isHead(b));
  // Resolving a batch in the middle does not hand the turn to its successor.
  seq.resolve(b);
  assert.equal(seq.unresolved, [a, c]);
  assert.not.ok(seq.isTurn(c));
  seq.resolve(a);
  assert.ok(seq.isTurn(c));
  assert.ok(seq.isHead(c));
  // A batch that is not (or no longer) unresolved never has the turn.
  assert.not.ok(seq.isTurn(a));
  assert.not.ok(seq.isHead(a));
  seq.resolve(a); // forgetting twice is harmless
  assert.equal(seq.unresolved, [c]);
  seq.resolve(c);
  assert.equal(seq.unresolved, []);
  assert.not.ok(seq.isTurn(c));
});

test("sequencing: nothing new is dispatched while a retry is pending, until it resolves", () => {
  const seq = new PartitionSequence(0);
  assert.ok(seq.open);
  const a = batch(1);
  const b = batch(1);
  seq.assign(a);
  seq.assign(b);
  assert.ok(seq.open);
  seq.retrying(b);
  assert.not.ok(seq.open);
  seq.resolve(a);
  assert.not.ok(seq.open, "b still waits to retry");
  seq.resolve(b);
  assert.ok(seq.open);
});

test("sequencing: at most DEDUP_WINDOW batches past the oldest unresolved one", () => {
  const seq = new PartitionSequence(0);
  const batches: Batch[] = [];
  for (let i = 0; i < DEDUP_WINDOW; i++) {
    assert.ok(seq.open, `open before batch ${i}`);
    const b = batch(1);
    seq.assign(b);
    batches.push(b);
  }
  assert.not.ok(seq.open, "the window is full");
  // Resolving a later batch does not move the window: the oldest still pins it.
  seq.resolve(batches[DEDUP_WINDOW - 1]!);
  assert.not.ok(seq.open);
  // Resolving the oldest moves it by one.
  seq.resolve(batches[0]!);
  assert.ok(seq.open);
  const next = batch(1);
  seq.assign(next);
  assert.not.ok(seq.open, "window full again: batches 1..5 dispatched");
  seq.resolve(batches[1]!);
  assert.ok(seq.open);
});

test("sequencing: a bump waits for outstanding requests, is taken once, and blocks sending", () => {
  const seq = new PartitionSequence(1);
  const a = batch(2);
  const b = batch(3);
  seq.assign(a);
  seq.assign(b);
  assert.not.ok(seq.bumping);
  assert.not.ok(seq.takeBump(), "no bump requested");
  seq.outstanding = 1;
  seq.requestBump();
  assert.ok(seq.bumping);
  assert.not.ok(seq.open, "nothing new while bumping");
  assert.not.ok(seq.isTurn(a), "no retry while bumping");
  assert.ok(seq.isHead(a), "the head is still the head");
  assert.not.ok(seq.takeBump(), "a request is outstanding");
  seq.outstanding = 0;
  seq.requestBump(); // asking again changes nothing
  assert.ok(seq.takeBump());
  assert.ok(seq.bumping);
  assert.not.ok(seq.takeBump(), "taken once");
  seq.requestBump(); // already asking: stays asking
  assert.not.ok(seq.takeBump());
  assert.not.ok(seq.open);

  seq.resolve(a);
  seq.rebase(2);
  assert.is(seq.epoch, 2);
  assert.not.ok(seq.bumping);
  assert.ok(seq.open);
  assert.ok(seq.isTurn(b));
  assert.is(b.baseSequence, 0, "renumbered from 0");
  const c = batch(1);
  seq.assign(c);
  assert.is(c.baseSequence, 3, "new batches follow the renumbered ones");
});

test("sequencing: rebase renumbers every unresolved batch in order", () => {
  const seq = new PartitionSequence(0);
  const [a, b, c, d] = [batch(4), batch(1), batch(2), batch(5)];
  for (const x of [a, b, c, d]) seq.assign(x);
  assert.equal([a, b, c, d].map((x) => x.baseSequence), [0, 4, 5, 7]);
  seq.resolve(a);
  seq.requestBump();
  assert.ok(seq.takeBump());
  seq.rebase(9);
  assert.equal([b, c, d].map((x) => x.baseSequence), [0, 1, 3]);
  const e = batch(1);
  seq.assign(e);
  assert.is(e.baseSequence, 8);
  assert.ok(seq.isTurn(b));
});

test.run();
