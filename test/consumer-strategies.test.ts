/**
 * The group consumer's commit strategies, one path at a time, on the embedded broker and a
 * VirtualClock: small runs (a few dozen records in batches of a few), each judged by the
 * shared history checker where the claim is a delivery guarantee, and by the outcomes,
 * offsets and dead letters where it is the strategy's bookkeeping. Quick enough to be, with
 * `consumer-strategies-tx.test.ts`, the mutation run's test filter for `src/consumer/group/`.
 */
import { linked, test, until } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import {
  type ConsumerOutcome,
  createConsumer,
  type EmbeddedBroker,
  IllegalGenerationError,
  PoisonRecordError,
  RequestTimedOutError,
} from "../src/index.ts";
import type { Request } from "../src/internal.ts";
import { assertHolds, atLeastOnce as noLoss, atMostOnce, idOf } from "./helpers/history.ts";
import { routed } from "./helpers/routed-transport.ts";
import {
  assertCommitsAdvance,
  consumerOf,
  count,
  dec,
  failing,
  fencingCommit,
  filled,
  ids,
  ofType,
  runUntil,
  settled,
  stopAndResume,
} from "./helpers/strategy-runs.ts";

test("before-processing: each batch is committed before it is handed out; a failed record is reported, never read again", async () => {
  const setup = await filled("before-processing", 40);
  const { broker, clock, history } = setup;
  let early = 0;
  const outcomes = await runUntil(consumerOf(setup, "before-processing"), clock, (r) => {
    history.read(idOf(r.value), r.partition, r.offset);
    // The batch's end is committed already: at least this record's offset + 1.
    if ((broker.committedOffset("g", "in", r.partition) ?? -1) <= r.offset) early++;
    if (failing(idOf(r.value))) throw new Error("handler failed");
  }, () => settled(setup));
  const report = history.check();
  assertHolds(report, atMostOnce);
  assert.is(early, 0, "no record was handed out before its offset was committed");
  assert.equal(report.lost, [], "with no crash, before-processing hands out every record once");
  const wantFailed = Array.from({ length: 40 }, (_, i) => i).filter(failing);
  assert.equal(ids(ofType(outcomes, "failed")), wantFailed, "each failed record reported failed, once");
  assert.equal(ofType(outcomes, "redelivered"), [], "at-most-once never redelivers");
  assert.equal(ids(ofType(outcomes, "processed")), Array.from({ length: 40 }, (_, i) => i).filter((i) => !failing(i)));
  const commits = ofType(outcomes, "committed");
  assert.ok(commits.length >= 8 && commits.every((c) => !c.transactional), "one direct commit per batch of 5");
  assertCommitsAdvance(outcomes);
  assert.is(count(setup.events, "COMMIT"), count(setup.events, "RECORDS"), "each batch processed after its commit");
});

test("before-processing with a dead-letter topic: a failed record is moved there once, headers and timestamp kept", async () => {
  const setup = await filled("before-processing dlq", 20);
  const { broker, clock } = setup;
  const outcomes = await runUntil(consumerOf(setup, "before-processing", { deadLetterTopic: "dlq" }), clock, (r) => {
    if (failing(idOf(r.value))) throw new Error(`bad ${dec(r.value)}`);
  }, () => settled(setup) && broker.read("dlq", 0).length >= 3);
  const dead = broker.read("dlq", 0);
  assert.equal(dead.map((r) => idOf(r.value)).sort((a, b) => a - b), [3, 10, 17]);
  for (const r of dead) {
    assert.is(dec(r.headers.n!), `${idOf(r.value)}`, "the header travels with the record");
    assert.is(r.timestamp, 1000 + idOf(r.value), "so does the timestamp");
  }
  const lettered = ofType(outcomes, "dead-lettered");
  assert.equal(ids(lettered), [3, 10, 17]);
  assert.equal(lettered.map((o) => o.deadLetterOffset).sort(), [0, 1, 2]);
  assert.ok(lettered.every((o) => (o.error as Error).message === `bad r${idOf(o.record.value)}`));
  assert.equal(ofType(outcomes, "failed"), [], "dead-lettered, not failed");
  assert.is(clock.pending, 0, "closing the consumer closed its dead-letter producer: no timer left");
});

test("before-processing: a stopped reader is handed nothing more; the committed rest of its batch is not read again", async () => {
  const setup = await filled("before-processing stop", 20);
  const { broker, clock, history } = setup;
  const first = consumerOf(setup, "before-processing", { maxPollRecords: 20 });
  const stop = new AbortController();
  const seen: number[] = [];
  await first.run((r) => {
    history.read(idOf(r.value), r.partition, r.offset);
    seen.push(r.offset);
    if (seen.length === 2) stop.abort();
  }, { signal: linked(stop) });
  await first.close();
  assert.is(seen.length, 2, "the handler ran for the record in hand, no more");
  await runUntil(consumerOf(setup, "before-processing"), clock, (r) => {
    history.read(idOf(r.value), r.partition, r.offset);
  }, () => settled(setup) && clock.now() > 1_000);
  assertHolds(history.check(), atMostOnce);
  assert.ok(
    history.check().lost.length > 0,
    "the rest of the first batch was committed and is lost (the test can tell)",
  );
  assert.ok(broker.committedOffset("g", "in", 0) !== null);
});

test("before-processing: a fenced commit hands nothing out; the member catches up and reads that batch after all, once", async () => {
  const setup = await filled("before-processing fenced", 20);
  const { clock, history } = setup;
  const c = createConsumer(fencingCommit(setup.broker, 1), "in", {
    groupId: "g",
    commit: "before-processing",
    clock,
    pollIntervalMs: 10,
    maxPollRecords: 5,
  });
  const outcomes = await runUntil(
    c,
    clock,
    (r) => void history.read(idOf(r.value), r.partition, r.offset),
    () => settled(setup),
  );
  const report = history.check();
  assertHolds(report, atMostOnce);
  assert.equal(report.lost, [], "the refused batch is read again (its commit never landed), once");
  assert.equal(ofType(outcomes, "failed"), []);
});

test("after-processing: a failed record comes again (delivery 2) before the records after it; nothing lost, nothing else twice", async () => {
  const setup = await filled("after-processing", 40);
  const { clock, history } = setup;
  const deliveries = new Map<number, number[]>();
  const order: number[][] = [[], []];
  const outcomes = await runUntil(consumerOf(setup, "after-processing"), clock, (r) => {
    const id = idOf(r.value);
    deliveries.set(id, [...(deliveries.get(id) ?? []), r.deliveries]);
    if (failing(id) && r.deliveries === 1) throw new Error("first delivery fails");
    history.read(id, r.partition, r.offset);
    order[r.partition]!.push(r.offset);
  }, () => settled(setup));
  const report = history.check();
  assertHolds(report, noLoss(), atMostOnce);
  for (const [p, offsets] of order.entries()) {
    assert.equal(offsets, [...offsets].sort((a, b) => a - b), `partition ${p} handled in offset order`);
  }
  for (const [id, seen] of deliveries) assert.equal(seen, failing(id) ? [1, 2] : [1], `deliveries of r${id}`);
  assert.equal(ids(ofType(outcomes, "redelivered")), Array.from({ length: 40 }, (_, i) => i).filter(failing));
  assert.equal(ids(ofType(outcomes, "processed")), Array.from({ length: 40 }, (_, i) => i));
  assert.is(count(setup.events, "REDELIVER"), 6, "the loop's machine heard of each failed batch");
  assertCommitsAdvance(outcomes);
  for (const commit of ofType(outcomes, "committed")) {
    assert.not.ok(commit.transactional);
    for (const { partition, offset } of commit.offsets) assert.ok(offset <= setup.ends[partition]!);
  }
});

test("after-processing: a poison record stops only its partition (PoisonRecordError at maxDeliveries); the rest is committed", async () => {
  const setup = await filled("after-processing poison", 20);
  const { broker, clock } = setup;
  const poison = broker.read("in", 0)[2]!;
  const c = consumerOf(setup, "after-processing", { maxDeliveries: 3 });
  let tries = 0;
  const outcomes = await runUntil(c, clock, (r) => {
    if (r.partition === 0 && r.offset === poison.offset) {
      tries++;
      throw new Error("poison");
    }
  }, () => c.stoppedPartitions.size > 0 && broker.committedOffset("g", "in", 1) === setup.ends[1]);
  assert.is(tries, 3, "handed out maxDeliveries times");
  const stopped = c.stoppedPartitions.get(0);
  assert.instance(stopped, PoisonRecordError);
  assert.is(stopped!.partition, 0);
  assert.is(stopped!.offset, poison.offset);
  assert.is(stopped!.deliveries, 3);
  assert.is(broker.committedOffset("g", "in", 0), poison.offset, "committed up to the poison record");
  assert.is(ofType(outcomes, "redelivered").length, 2);
  assert.equal(ofType(outcomes, "partition-stopped").map((o) => [o.partition, o.error]), [[0, stopped]]);
});

test("after-processing with a dead-letter topic: a poison record is moved there at maxDeliveries and its partition carries on", async () => {
  const setup = await filled("after-processing dlq", 20);
  const { broker, clock, history } = setup;
  const poison = idOf(broker.read("in", 1)[1]!.value);
  const outcomes = await runUntil(
    consumerOf(setup, "after-processing", { maxDeliveries: 2, deadLetterTopic: "dlq" }),
    clock,
    (r) => {
      if (idOf(r.value) === poison) throw new Error("poison");
      history.read(idOf(r.value), r.partition, r.offset);
    },
    () => settled(setup),
  );
  const dead = broker.read("dlq", 0);
  assert.equal(dead.map((r) => idOf(r.value)), [poison]);
  assert.equal(ids(ofType(outcomes, "dead-lettered")), [poison]);
  const report = history.check();
  assert.equal(report.lost, [poison], "everything else handled");
  assertHolds(report, atMostOnce);
});

test("after-processing runBatches: a failed batch comes again whole; a later one is not handed out before it", async () => {
  const setup = await filled("after-processing batches", 20);
  const { clock, history } = setup;
  const c = consumerOf(setup, "after-processing");
  const batches: string[] = [];
  let failedOnce = false;
  const stop = new AbortController();
  const running = c.runBatches(({ partition, records }) => {
    batches.push(`${partition}:${records.map((r) => `${r.offset}/${r.deliveries}`).join(",")}`);
    assert.ok(records.every((r) => r.partition === partition && r.topic === "in"));
    if (!failedOnce && partition === 1 && records[0]!.offset === 5) {
      failedOnce = true;
      throw new Error("batch fails");
    }
    for (const r of records) history.read(idOf(r.value), r.partition, r.offset);
  }, { signal: linked(stop) });
  try {
    await until(clock, () => settled(setup), "the batches to be committed", { within: 60_000 });
  } finally {
    stop.abort();
    await running;
    await c.close();
  }
  const one = batches.filter((b) => b.startsWith("1:"));
  const at = one.findIndex((b) => b.startsWith("1:5/1"));
  assert.ok(at >= 0, "the batch from offset 5 was handed out");
  assert.ok(one[at + 1]!.startsWith("1:5/2,6/1"), `it came again whole, next (${one[at + 1]})`);
  assertHolds(history.check(), noLoss(), atMostOnce);
});

for (const throwing of [false, true]) {
  const then = throwing ? "then fails" : "then returns";
  test(`after-processing: a handler that seeks (and ${then}) moves reading at once; the rest of its batch is not handed out`, async () => {
    const setup = await filled(`after-processing seek, ${then}`, 20);
    const { broker, clock } = setup;
    const c = consumerOf(setup, "after-processing", { maxPollRecords: 20 });
    const offsets: number[] = [];
    const end = setup.ends[1]!;
    const outcomes = await runUntil(c, clock, (r) => {
      if (r.partition !== 1) return;
      offsets.push(r.offset);
      if (r.offset === 1 && offsets.length === 2) {
        c.seek(1, end - 2);
        if (throwing) throw new Error("failing after the seek does not count");
      }
    }, () => broker.committedOffset("g", "in", 1) === end && offsets.at(-1) === end - 1);
    assert.equal(offsets, [0, 1, end - 2, end - 1]);
    assert.equal(ofType(outcomes, "redelivered"), [], "no failure counted against the sought-away record");
    assert.is(count(setup.events, "REDELIVER"), 0, "nor does the loop's machine hear of one");
    const commits = ofType(outcomes, "committed").flatMap((o) => o.offsets).filter((o) => o.partition === 1);
    assert.ok(
      commits.every((o) => o.offset >= end - 2),
      `nothing committed below the seek (${commits.map((o) => o.offset)})`,
    );
  });
}

/** A transport that loses the response to the first produce request to `dlq`: the record was stored, its ack never comes. */
function losingFirstDeadLetterAck(broker: EmbeddedBroker) {
  let lost = false;
  return routed(broker.transport(), (request: Request, pass) => {
    if (request.api !== "produce" || request.topic !== "dlq" || lost) return undefined;
    lost = true;
    return pass().then(() => Promise.reject(new RequestTimedOutError(100)));
  });
}

test("dead letters: a dead-letter write whose ack was lost is retried without writing the record twice", async () => {
  const setup = await filled("dead letter retried", 10);
  const { broker, clock } = setup;
  const c = createConsumer(losingFirstDeadLetterAck(broker), "in", {
    groupId: "g",
    commit: "before-processing",
    deadLetterTopic: "dlq",
    clock,
    pollIntervalMs: 10,
    maxPollRecords: 5,
    requestTimeout: 100,
  });
  const outcomes = await runUntil(c, clock, (r) => {
    if (idOf(r.value) === 3) throw new Error("poison");
  }, () => settled(setup) && broker.read("dlq", 0).length > 0);
  assert.equal(broker.read("dlq", 0).map((r) => idOf(r.value)), [3], "one copy");
  assert.equal(ofType(outcomes, "dead-lettered").map((o) => o.deadLetterOffset), [0]);
});

test("manual: commit() stores processed offsets or given ones; a fenced commit() raises", async () => {
  const setup = await filled("manual", 10);
  const { broker, clock } = setup;
  const c = createConsumer(fencingCommit(broker, 2), "in", {
    groupId: "g",
    commit: "manual",
    clock,
    pollIntervalMs: 10,
    maxPollRecords: 5,
  });
  const commits: ConsumerOutcome[] = [];
  const sub = c.commits$.subscribe((o) => commits.push(o));
  const stop = new AbortController();
  let handled = 0;
  const running = c.run(() => void handled++, { signal: linked(stop) });
  try {
    await until(clock, () => handled === 10, "every record handled");
    assert.is(broker.committedOffset("g", "in", 0), null, "nothing committed before commit()");
    await c.commit();
    assert.equal([0, 1].map((p) => broker.committedOffset("g", "in", p)), setup.ends);
    const refused = await c.commit([{ partition: 0, offset: 1 }]).then(() => null, (error: unknown) => error);
    assert.instance(refused, IllegalGenerationError, "a fenced commit() raises");
    await c.commit([{ partition: 0, offset: 1 }]);
    assert.is(broker.committedOffset("g", "in", 0), 1);
    assert.is(commits.length, 2, "one committed outcome per stored commit");
  } finally {
    stop.abort();
    await running;
    sub.unsubscribe();
    await c.close();
  }
});

test("after-processing records$: only the acknowledged prefix is committed; the unacknowledged record comes first to the next reader", async () => {
  const setup = await filled("records$", 20);
  const { broker, clock, history } = setup;
  const held = { partition: 1, offset: 2 };
  const acks: string[] = [];
  const acked: string[] = [];
  const read = async (skipHeld: boolean, done: () => boolean): Promise<number[]> => {
    const c = consumerOf(setup, "after-processing");
    const firsts: number[] = [];
    const processed = c.outcomes$.subscribe((o) =>
      o.type === "processed" && acked.push(`${o.record.partition}:${o.record.offset}`)
    );
    const sub = c.records$.subscribe((r) => {
      if (r.partition === 1) firsts.push(r.offset);
      if (skipHeld && r.partition === held.partition && r.offset === held.offset) return;
      history.read(idOf(r.value), r.partition, r.offset);
      acks.push(`${r.partition}:${r.offset}`);
      r.ack();
    });
    try {
      await until(clock, done, "the reader to get its records", { within: 60_000 });
    } finally {
      sub.unsubscribe();
      processed.unsubscribe();
      await c.close();
    }
    return firsts;
  };
  await read(true, () => broker.committedOffset("g", "in", 0) === setup.ends[0] && clock.now() > 500);
  assert.is(
    broker.committedOffset("g", "in", 1),
    held.offset,
    "committed up to the unacknowledged record, not past it",
  );
  const again = await read(false, () => settled(setup));
  assert.is(again[0], held.offset, "the next reader starts at the unacknowledged record");
  assert.equal(acked, acks, "each ack reported the record processed, in order");
  assertHolds(history.check(), noLoss());
});

test("after-processing records$: a member that loses a partition while its reader is busy hands out none of its records after that", async () => {
  const setup = await filled("records$ rebalance", 40);
  const { broker, clock, history } = setup;
  const violations: string[] = [];
  const fromOne: number[] = [];
  const reader = () => {
    const consumer = consumerOf(setup, "after-processing", { sessionTimeoutMs: 300, heartbeatIntervalMs: 50 });
    const sub = consumer.records$.subscribe((r) => {
      const owner = broker.group("g")!.members.find((m) => m.owned.includes(r.partition))?.memberId;
      if (owner !== consumer.memberId) {
        violations.push(`${consumer.memberId} got ${r.partition}@${r.offset}, owned by ${owner}`);
      }
      if (r.partition === 1) fromOne.push(r.offset);
      // Acks come later (virtual time), so the reader is full and the loop waits for room mid-batch.
      clock.setTimeout(() => {
        history.read(idOf(r.value), r.partition, r.offset);
        r.ack();
      }, 20);
    });
    return { consumer, sub };
  };
  const first = reader();
  let second: ReturnType<typeof reader> | null = null;
  try {
    await until(clock, () => fromOne.length >= 3, "the first reader to be under way in partition 1");
    second = reader();
    await until(clock, () => settled(setup), "the group to settle", { within: 60_000 });
  } finally {
    for (const r of [first, second]) {
      r?.sub.unsubscribe();
      await r?.consumer.close();
    }
  }
  assert.equal(violations, [], "no record handed out by a member that did not own its partition");
  assertHolds(history.check(), noLoss());
});

for (const throwing of [false, true]) {
  const how = throwing ? "throws as it stops" : "stops";
  test(`after-processing: a handler that ${how} ends the run after that record; the next run starts there, nothing counted failed`, async () => {
    const setup = await filled(`after-processing stop ${how}`, 20);
    const { first, later, committed, outcomes } = await stopAndResume(setup, "after-processing", 3, throwing);
    assert.is(first.length, 3, "nothing handed out after the stop");
    const stoppedAt = first[2]!;
    const done = throwing ? stoppedAt.offset : stoppedAt.offset + 1;
    assert.is(committed[stoppedAt.partition], done, "what was handled is committed, no more");
    const resumed = later.find((r) => r.partition === stoppedAt.partition)!;
    assert.is(resumed.offset, done, "the next run reads on from the first record not handled");
    assert.is(resumed.deliveries, 1, "an interrupted delivery is not counted as a failed one");
    assert.equal(ofType(outcomes, "redelivered"), []);
    assert.is(count(setup.events, "REDELIVER"), 0, "the loop's machine heard of no failure either");
    for (const r of [...first.slice(0, throwing ? 2 : 3), ...later]) {
      setup.history.read(idOf(r.value), r.partition, r.offset);
    }
    assertHolds(setup.history.check(), noLoss(), atMostOnce);
  });
}

test.run();
