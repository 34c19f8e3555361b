/**
 * The order check of the NATS transport (src/adapters/nats/partition-turns.ts), without a
 * server: publishes of one partition run one after another in sequence order, a batch that
 * skips an unacknowledged sequence is refused as retriable, and a repeat goes through.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { PartitionTurns } from "../src/adapters/nats/partition-turns.ts";
import { OutOfOrderSequenceError } from "../src/index.ts";

/** A publish that records when it starts and ends, and settles when told to. */
function gate(log: string[], name: string) {
  let settle!: (ok: boolean) => void;
  const done = new Promise<boolean>((resolve) => (settle = resolve));
  const publish = async () => {
    log.push(`${name} starts`);
    if (!(await done)) {
      log.push(`${name} fails`);
      throw new Error(`${name} lost`);
    }
    log.push(`${name} acked`);
    return name;
  };
  return { publish, settle };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

test("one publish chain per partition: the second batch starts only after the first is acknowledged", async () => {
  const turns = new PartitionTurns();
  const log: string[] = [];
  const a = gate(log, "a"), b = gate(log, "b"), other = gate(log, "other");
  const first = turns.run("p1.0.t.0", 0, 10, a.publish);
  const second = turns.run("p1.0.t.0", 10, 10, b.publish);
  const elsewhere = turns.run("p1.0.t.1", 0, 10, other.publish);
  await tick();
  assert.equal(log, ["a starts", "other starts"], "another partition does not wait");
  b.settle(true);
  a.settle(true);
  other.settle(true);
  assert.equal(await Promise.all([first, second, elsewhere]), ["a", "b", "other"]);
  assert.equal(log, ["a starts", "other starts", "a acked", "other acked", "b starts", "b acked"]);
});

test("a batch queued behind a failed one is refused as out of order, retriably, without publishing", async () => {
  const turns = new PartitionTurns();
  const log: string[] = [];
  const a = gate(log, "a"), b = gate(log, "b");
  const first = turns.run("k", 0, 5, a.publish);
  const second = turns.run("k", 5, 5, b.publish);
  a.settle(false);
  assert.match(String(await first.catch((e: unknown) => e)), /a lost/);
  const refused = await second.catch((e: unknown) => e);
  assert.instance(refused, OutOfOrderSequenceError);
  assert.ok((refused as OutOfOrderSequenceError).retriable, "the producer retries it after the earlier batch");
  assert.match((refused as Error).message, /sequence 5 is past 0/);
  assert.not.ok(log.includes("b starts"), "the later batch never went out");
  // The earlier batch again, then the later one: both go through, in order.
  const again = gate(log, "a2"), then = gate(log, "b2");
  again.settle(true);
  then.settle(true);
  assert.equal(await Promise.all([turns.run("k", 0, 5, again.publish), turns.run("k", 5, 5, then.publish)]), [
    "a2",
    "b2",
  ]);
});

test("a repeat of acknowledged sequences goes through (message ids answer it), and moves nothing back", async () => {
  const turns = new PartitionTurns();
  const ok = (name: string) => () => Promise.resolve(name);
  await turns.run("k", 0, 10, ok("first"));
  assert.is(await turns.run("k", 0, 10, ok("repeat")), "repeat");
  assert.is(await turns.run("k", 10, 1, ok("next")), "next", "the repeat did not move the next sequence back");
  const skipped = await turns.run("k", 12, 1, ok("gap")).catch((e: unknown) => e);
  assert.instance(skipped, OutOfOrderSequenceError);
});

test("a partition never seen starts at the request's own sequence", async () => {
  const turns = new PartitionTurns();
  assert.is(await turns.run("fresh", 7, 3, () => Promise.resolve("x")), "x");
  assert.instance(
    await turns.run("fresh", 11, 1, () => Promise.resolve("y")).catch((e: unknown) => e),
    OutOfOrderSequenceError,
  );
});

test.run();
