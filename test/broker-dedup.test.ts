/** A partition's dedup table (ProducerStateTable) on its own: each verdict, its window, markers and expiry. */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { DEDUP_WINDOW, ProducerStateTable, type SequenceVerdict } from "../src/broker/producer-state.ts";
import {
  InvalidProducerEpochError,
  OutOfOrderSequenceError,
  ProducerFencedError,
  UnknownProducerIdError,
} from "../src/errors.ts";

/** The error of a refusing verdict, checked to be of `type` and to say `message`. */
function refusal(verdict: SequenceVerdict, type: new (message: string) => Error, message: string): void {
  if (verdict.kind !== "error") assert.unreachable(`expected a refusal, got ${JSON.stringify(verdict)}`);
  else {
    assert.instance(verdict.error, type);
    assert.is(verdict.error.message, message);
  }
}

const APPEND = { kind: "append" };

test("a producer it has no state for starts at sequence 0, else UNKNOWN_PRODUCER_ID naming producer, epoch and partition", () => {
  const table = new ProducerStateTable("t[1]");
  assert.equal(table.check(4, 2, 0, 3, false), APPEND);
  refusal(
    table.check(4, 2, 3, 1, false),
    UnknownProducerIdError,
    "producer 4 (epoch 2) in t[1]: no state for this producer, and sequence 3 is not 0",
  );
  assert.is(table.size, 0, "check changes nothing");
});

test("an older epoch is fenced for a transactional producer and INVALID_PRODUCER_EPOCH for an idempotent one", () => {
  const table = new ProducerStateTable("t[0]");
  table.record(1, 3, 0, 2, 0);
  const message = "producer 1 (epoch 2) in t[0]: epoch is older than the current 3";
  refusal(table.check(1, 2, 2, 1, true), ProducerFencedError, message);
  refusal(table.check(1, 2, 2, 1, false), InvalidProducerEpochError, message);
});

test("a newer epoch must start at sequence 0; recording it resets the sequences and the window", () => {
  const table = new ProducerStateTable("t[0]");
  table.record(1, 0, 0, 2, 0);
  table.record(1, 0, 2, 2, 2);
  refusal(
    table.check(1, 1, 4, 1, false),
    OutOfOrderSequenceError,
    "producer 1 (epoch 1) in t[0]: a new epoch must start at sequence 0, not 4",
  );
  assert.equal(table.check(1, 1, 0, 1, false), APPEND);
  table.record(1, 1, 0, 1, 10);
  assert.is(table.epochOf(1), 1);
  assert.is(table.batches, 1, "the old epoch's batches are gone");
  assert.equal(table.check(1, 1, 0, 1, false), { kind: "duplicate", baseOffset: 10, endOffset: 11 });
  assert.equal(table.check(1, 1, 1, 4, false), APPEND, "the sequence continues from the new epoch's");
});

test("a retry of any of the last 5 batches is a duplicate with its offsets; an older one has baseOffset -1", () => {
  const table = new ProducerStateTable("t[0]");
  // Batches of 2 records: sequences 0-1, 2-3, … 10-11, at offsets 100, 110, … 150.
  for (let i = 0; i <= DEDUP_WINDOW; i++) table.record(7, 0, 2 * i, 2, 100 + 10 * i);
  assert.is(table.batches, DEDUP_WINDOW);
  for (let i = 1; i <= DEDUP_WINDOW; i++) {
    assert.equal(table.check(7, 0, 2 * i, 2, false), {
      kind: "duplicate",
      baseOffset: 100 + 10 * i,
      endOffset: 102 + 10 * i,
    });
  }
  // Wholly before the window (which starts at sequence 2): placed by the newest batch's end.
  assert.equal(table.check(7, 0, 0, 2, false), { kind: "duplicate", baseOffset: -1, endOffset: 152 });
  assert.equal(table.check(7, 0, 1, 1, false), { kind: "duplicate", baseOffset: -1, endOffset: 152 });
  // Overlapping the window with other boundaries: not a retry, and not next either.
  refusal(
    table.check(7, 0, 1, 2, false),
    OutOfOrderSequenceError,
    "producer 7 (epoch 0) in t[0]: sequence 1 is out of order; expected 12",
  );
  refusal(
    table.check(7, 0, 4, 1, false),
    OutOfOrderSequenceError,
    "producer 7 (epoch 0) in t[0]: sequence 4 is out of order; expected 12",
  );
  refusal(
    table.check(7, 0, 13, 1, false),
    OutOfOrderSequenceError,
    "producer 7 (epoch 0) in t[0]: sequence 13 is out of order; expected 12",
  );
  refusal(
    table.check(7, 0, 3, 1, false),
    OutOfOrderSequenceError,
    "producer 7 (epoch 0) in t[0]: sequence 3 is out of order; expected 12",
  );
  assert.equal(table.check(7, 0, 12, 1, false), APPEND);
});

test("a marker at a newer epoch becomes the partition's and restarts sequences; at the same epoch it changes none", () => {
  const table = new ProducerStateTable("t[0]");
  table.onMarker(2, 5, 1);
  assert.is(table.epochOf(2), 5, "a marker for a producer with no state here records its epoch");
  assert.equal(table.check(2, 5, 0, 1, true), APPEND);
  refusal(
    table.check(2, 4, 0, 1, true),
    ProducerFencedError,
    "producer 2 (epoch 4) in t[0]: epoch is older than the current 5",
  );
  table.record(2, 5, 0, 3, 0);
  table.onMarker(2, 5, 2);
  assert.equal(table.check(2, 5, 3, 1, true), APPEND, "same epoch: the sequence goes on");
  table.onMarker(2, 4, 3);
  assert.is(table.epochOf(2), 5, "an older marker epoch changes nothing");
  table.onMarker(2, 6, 4);
  assert.is(table.epochOf(2), 6);
  assert.is(table.batches, 0);
  assert.equal(table.check(2, 6, 0, 1, true), APPEND);
  refusal(
    table.check(2, 6, 3, 1, true),
    OutOfOrderSequenceError,
    "producer 2 (epoch 6) in t[0]: sequence 3 is out of order; expected 0",
  );
  assert.is(table.epochOf(3), undefined);
});

test("producers that last wrote at or before the cutoff expire, unless kept; markers count as writes", () => {
  const table = new ProducerStateTable("t[0]");
  table.record(1, 0, 0, 1, 0, 10);
  table.record(2, 0, 0, 1, 1, 10);
  table.record(3, 0, 0, 1, 2, 10);
  table.record(3, 0, 1, 1, 3, 30);
  table.onMarker(4, 0, 20);
  assert.equal([table.size, table.batches], [4, 4]);
  assert.is(table.expire(9, () => false), 0);
  assert.is(table.expire(10, (id) => id === 2), 1);
  assert.equal([table.epochOf(1), table.epochOf(2)], [undefined, 0]);
  assert.is(table.expire(20, () => false), 2, "producer 2 (10) and producer 4's marker (20)");
  assert.equal([table.size, table.batches], [1, 2]);
  assert.is(table.expire(29, () => false), 0, "producer 3 wrote again at 30");
});

test.run();
