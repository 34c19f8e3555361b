/**
 * The transactional commit strategy, and a partition moved to another member mid-batch under
 * both after-processing and transactional: the second half of `consumer-strategies.test.ts`
 * (same helpers, same small runs on a VirtualClock).
 */
import { linked, test, until } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { type Consumer, createProducer, exactlyOnce, ProducerFencedError } from "../src/index.ts";
import { assertHolds, atLeastOnce as noLoss, exactlyOnce as onceEach, idOf } from "./helpers/history.ts";
import { sleep } from "../src/runtime/clock.ts";
import {
  consumerOf,
  count,
  failing,
  filled,
  ids,
  ofType,
  readOutput,
  runUntil,
  settled,
  stopAndResume,
} from "./helpers/strategy-runs.ts";

test("transactional: failed units abort and come again; the output holds each input once, in order, committed with its offsets", async () => {
  const setup = await filled("transactional", 30);
  const { clock } = setup;
  const tries = new Map<number, number>();
  const outcomes = await runUntil(consumerOf(setup, "transactional"), clock, async (r, tx) => {
    const id = idOf(r.value);
    tries.set(id, (tries.get(id) ?? 0) + 1);
    await tx!.send(r.value);
    if (failing(id) && r.deliveries === 1) throw new Error("fails once");
  }, () => settled(setup));
  assertHolds(readOutput(setup).check(), onceEach);
  assert.ok([...tries.values()].some((n) => n > 1), "aborted transactions did run handlers twice (the test can tell)");
  const commits = ofType(outcomes, "committed");
  assert.ok(commits.length > 0 && commits.every((c) => c.transactional));
  assert.equal(
    ids(ofType(outcomes, "processed")),
    Array.from({ length: 30 }, (_, i) => i),
    "processed once each, on commit",
  );
  assert.equal(ids(ofType(outcomes, "redelivered")), Array.from({ length: 30 }, (_, i) => i).filter(failing));
  assert.is(count(setup.events, "ABORTED"), ids(ofType(outcomes, "redelivered")).length, "one abort per failure");
  assert.is(count(setup.events, "COMMIT"), commits.length, "a COMMIT step per committed transaction");
});

test("transactional with a dead-letter topic: a poison record is dead-lettered at maxDeliveries and its transaction commits the rest", async () => {
  const setup = await filled("transactional dlq", 12);
  const { broker, clock } = setup;
  const poison = idOf(broker.read("in", 0)[1]!.value);
  const outcomes = await runUntil(
    consumerOf(setup, "transactional", { maxDeliveries: 2, deadLetterTopic: "dlq" }),
    clock,
    async (r, tx) => {
      if (idOf(r.value) === poison) throw new Error("poison");
      await tx!.send(r.value);
    },
    () => settled(setup),
  );
  assert.equal(broker.read("dlq", 0).map((r) => idOf(r.value)), [poison]);
  assert.equal(ids(ofType(outcomes, "dead-lettered")), [poison]);
  const out = [0, 1].flatMap((p) => broker.read("out", p, { isolation: "read-committed" }).map((r) => idOf(r.value)));
  assert.equal(out.sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i).filter((i) => i !== poison));
  assert.not.ok(
    ids(ofType(outcomes, "processed")).includes(poison),
    "a dead-lettered record is not reported processed",
  );
});

test("transactional: a transaction the coordinator timed out aborts; its batch comes again, the output once each", async () => {
  const setup = await filled("transactional timed out", 12);
  const { broker, clock } = setup;
  const producer = createProducer(broker.transport(), "out", {
    clock,
    deliverySemantic: exactlyOnce({ transactionalId: "t", transactionTimeoutMs: 100 }),
  });
  let slow = true;
  const outcomes = await runUntil(consumerOf(setup, "transactional", { producer }), clock, async (r, tx) => {
    await tx!.send(r.value);
    if (slow) {
      // The first handler outlasts the transaction timeout: the coordinator aborts its transaction.
      slow = false;
      await sleep(clock, 1_000);
    }
  }, () => settled(setup));
  await producer.close();
  assertHolds(readOutput(setup).check(), onceEach);
  assert.ok(count(setup.events, "ABORTED") >= 1, "the loop's machine heard of the abort");
  assert.equal(ofType(outcomes, "redelivered"), [], "the handler did not fail: nothing counted against the records");
});

test("transactional: a producer fenced by a newer one with its transactional id makes run() reject with ProducerFencedError", async () => {
  const setup = await filled("transactional fenced producer", 12);
  const { broker } = setup;
  const c = consumerOf(setup, "transactional");
  let usurped = false;
  const failure = await c.run(async (r, { tx }) => {
    await tx!.send(r.key, r.value);
    if (usurped) return;
    usurped = true;
    // A newer instance with the same transactional id takes over: this transaction cannot commit.
    const usurper = broker.producer("out", { deliverySemantic: exactlyOnce({ transactionalId: "t" }) });
    await usurper.transaction(async () => {});
    await usurper.close();
  }, { signal: linked() }).then(() => null, (error: unknown) => error);
  await c.close();
  assert.instance(failure, ProducerFencedError);
  assert.equal([0, 1].map((p) => broker.committedOffset("g", "in", p)), [null, null], "no offsets committed");
});

test("transactional: a stop mid-transaction aborts it; the next run handles the whole batch again, the output once each", async () => {
  const setup = await filled("transactional stop", 20);
  const { first, later, committed } = await stopAndResume(setup, "transactional", 3, false);
  assert.is(first.length, 3);
  assert.equal(committed, [null, null], "the aborted transaction committed no offsets");
  assert.is(later.find((r) => r.partition === first[0]!.partition)!.offset, 0, "the batch comes again whole");
  assertHolds(readOutput(setup).check(), onceEach);
});

for (const commit of ["after-processing", "transactional"] as const) {
  test(`${commit}: a member that loses a partition mid-batch hands out none of its records after that; nothing lost`, async () => {
    const setup = await filled(`${commit} rebalance`, 40);
    const { broker, clock, history } = setup;
    const violations: string[] = [];
    const handled: number[] = [];
    const member = (): { running: Promise<void>; stop: AbortController; consumer: Consumer } => {
      const consumer = consumerOf(setup, commit, {
        maxPollRecords: 20,
        sessionTimeoutMs: 300,
        heartbeatIntervalMs: 50,
        ...(commit === "transactional"
          ? {
            producer: broker.producer("out", {
              deliverySemantic: exactlyOnce({ transactionalId: `t-${commit}-${handled.length}` }),
            }),
          }
          : {}),
      });
      const stop = new AbortController();
      const running = consumer.run(async (r, { tx }) => {
        const owner = broker.group("g")!.members.find((m) => m.owned.includes(r.partition))?.memberId;
        if (owner !== consumer.memberId) {
          violations.push(`${consumer.memberId} read ${r.partition}@${r.offset} owned by ${owner}`);
        }
        await tx?.send(r.key, r.value);
        // Handling takes (virtual) time, so heartbeats and the rebalance happen mid-batch.
        await sleep(clock, 20);
        if (tx === null) history.read(idOf(r.value), r.partition, r.offset);
        handled.push(r.partition);
      }, { signal: linked(stop) });
      return { running, stop, consumer };
    };
    const first = member();
    // The second member joins while the first is mid-batch in partition 1, which the group then gives it.
    await until(clock, () => handled.filter((p) => p === 1).length >= 3, "the first member to be under way");
    const second = member();
    try {
      await until(clock, () => settled(setup), "the group to settle", { within: 60_000 });
    } finally {
      for (const m of [first, second]) {
        m.stop.abort();
        await m.running;
        await m.consumer.close();
      }
    }
    assert.equal(violations, [], "no record handed out by a member that did not own its partition");
    if (commit === "transactional") assertHolds(readOutput(setup).check(), onceEach);
    else assertHolds(history.check(), noLoss());
  });
}

test.run();
