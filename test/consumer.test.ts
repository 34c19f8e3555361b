import { linked, test, until } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { firstValueFrom, take, tap, toArray } from "rxjs";
import {
  AcktorError,
  atLeastOnce,
  ConfigError,
  type ConsumedRecord,
  type Consumer,
  ConsumerBusyError,
  ConsumerClosedError,
  type ConsumerConfig,
  type ConsumerOutcome,
  createConsumer,
  EmbeddedBroker,
  exactlyOnce,
  InvalidTopicError,
  OffsetOutOfRangeError,
  PartitionNotOwnedError,
  PoisonRecordError,
  UnknownTopicError,
  VirtualClock,
} from "../src/index.ts";
import { sleep } from "../src/runtime/clock.ts";

const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A broker with topic `in` (4 partitions), filled with `count` records `r<i>` keyed by `k<i % 8>`. */
async function filled(count: number, partitions = 4) {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("in", { partitions });
  broker.createTopic("dlq", { partitions: 1 });
  const producer = broker.producer("in", { deliverySemantic: atLeastOnce() });
  for (let i = 0; i < count; i++) await producer.send(`k${i % 8}`, `r${i}`);
  await producer.flush();
  await producer.close();
  return { clock, broker };
}

function consumer(broker: EmbeddedBroker, config: Partial<ConsumerConfig> = {}): Consumer {
  return broker.consumer("in", { groupId: "g", pollIntervalMs: 10, ...config });
}

/** Runs `c` with `handler` until `done()` says so, then stops it; returns the outcomes seen. */
async function runUntil(
  c: Consumer,
  handler: (r: ConsumedRecord) => unknown,
  done: () => boolean,
  clock: VirtualClock,
): Promise<ConsumerOutcome[]> {
  const outcomes: ConsumerOutcome[] = [];
  const sub = c.outcomes$.subscribe((o) => outcomes.push(o));
  const stop = new AbortController();
  const running = c.run(handler, { signal: linked(stop) });
  try {
    await until(clock, done, "the consumer to finish its records");
  } finally {
    stop.abort();
    await running.catch(() => undefined);
    sub.unsubscribe();
  }
  await running;
  return outcomes;
}

const id = (r: ConsumedRecord): number => Number(dec(r.value).slice(1));

test("after-processing: every record once, offsets committed to each partition's end", async () => {
  const { clock, broker } = await filled(200);
  const c = consumer(broker);
  const seen: number[] = [];
  await runUntil(c, (r) => void seen.push(id(r)), () => seen.length >= 200, clock);
  assert.equal([...seen].sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i));
  for (let p = 0; p < 4; p++) {
    const end = broker.partition("in", p).log.endOffset;
    // A partition with no records has nothing to commit.
    assert.is(broker.committedOffset("g", "in", p), end === 0 ? null : end, `partition ${p}`);
  }
  assert.is(c.state, "idle");
  await c.close();
  assert.is(c.state, "closed");
  assert.is(broker.group("g")!.members.length, 0, "close leaves the group");
});

test("records keep per-partition offset order", async () => {
  const { clock, broker } = await filled(300);
  const c = consumer(broker, { maxPollRecords: 7 });
  const last = new Map<number, number>();
  const disorder: string[] = [];
  let n = 0;
  // Checked after the run: an assertion thrown in the handler would only redeliver the record.
  await runUntil(
    c,
    (r) => {
      if (r.offset <= (last.get(r.partition) ?? -1)) disorder.push(`${r.partition}:${r.offset}`);
      last.set(r.partition, r.offset);
      n++;
    },
    () => n >= 300,
    clock,
  );
  await c.close();
  assert.equal(disorder, [], "offset order in every partition");
  assert.is(n, 300);
});

test("a second reader is refused while one runs; a closed consumer refuses everything", async () => {
  const { broker } = await filled(10);
  const c = consumer(broker);
  const stop = new AbortController();
  const running = c.run(() => {}, { signal: linked(stop) });
  assert.throws(() => c.run(() => {}), (e: unknown) => e instanceof ConsumerBusyError);
  assert.instance(await c[Symbol.asyncIterator]().next().catch((e: unknown) => e), ConsumerBusyError);
  stop.abort();
  await running;
  await c.close();
  assert.throws(() => c.run(() => {}), (e: unknown) => e instanceof ConsumerClosedError);
  assert.throws(() => c.seek(0, 0), (e: unknown) => e instanceof ConsumerClosedError);
  try {
    await c.commit();
    assert.unreachable("commit after close");
  } catch (e) {
    assert.instance(e, ConsumerClosedError);
  }
});

test("for await: each record once; breaking out leaves the record in hand uncommitted", async () => {
  const { broker } = await filled(40, 1);
  const c = consumer(broker);
  const seen: number[] = [];
  for await (const r of c) {
    seen.push(id(r));
    if (seen.length === 25) break;
  }
  assert.equal(seen, Array.from({ length: 25 }, (_, i) => i));
  // Records 0..23 were processed; 24 was in hand when the loop broke, so it comes again.
  assert.is(broker.committedOffset("g", "in", 0), 24);
  const again: number[] = [];
  for await (const r of c) {
    again.push(id(r));
    if (again.length === 16) break;
  }
  assert.equal(again, Array.from({ length: 16 }, (_, i) => 24 + i));
  await c.close();
});

test("records$: subscribing reads, unsubscribing stops and commits what was handed out", async () => {
  const { broker } = await filled(50, 1);
  const c = consumer(broker);
  const got = await firstValueFrom(c.records$.pipe(tap((r) => r.ack()), take(30), toArray()));
  assert.equal(got.map(id), Array.from({ length: 30 }, (_, i) => i));
  // Unsubscribing stops the loop after the record in hand; wait for it to settle.
  await until(broker.clock, () => c.state === "idle", "the consumer to go idle", { step: 1 });
  assert.ok(broker.committedOffset("g", "in", 0)! >= 30);
  await c.close();
});

test("after-processing: a failing handler gets the record again, with its delivery count", async () => {
  const { clock, broker } = await filled(20, 1);
  const c = consumer(broker);
  const deliveries: [number, number][] = [];
  let failures = 0;
  const outcomes = await runUntil(
    c,
    (r) => {
      deliveries.push([id(r), r.deliveries]);
      if (id(r) === 5 && r.deliveries < 3) {
        failures++;
        throw new Error("flaky");
      }
    },
    () => deliveries.filter(([i]) => i === 19).length > 0,
    clock,
  );
  assert.is(failures, 2);
  assert.equal(
    deliveries.filter(([i]) => i === 5),
    [
      [5, 1],
      [5, 2],
      [5, 3],
    ],
  );
  assert.is(outcomes.filter((o) => o.type === "redelivered").length, 2);
  // Everything before 5 was handled once.
  for (let i = 0; i < 5; i++) assert.is(deliveries.filter(([j]) => j === i).length, 1);
  await c.close();
});

test("before-processing: a failing handler loses its record (reported), nothing comes twice", async () => {
  const { clock, broker } = await filled(20, 1);
  const c = consumer(broker, { commit: "before-processing" });
  const seen: number[] = [];
  const outcomes = await runUntil(
    c,
    (r) => {
      seen.push(id(r));
      if (id(r) === 7) throw new Error("boom");
    },
    () => seen.length >= 20,
    clock,
  );
  assert.equal(seen, Array.from({ length: 20 }, (_, i) => i));
  const failed = outcomes.filter((o) => o.type === "failed");
  assert.is(failed.length, 1);
  assert.is(failed[0]!.type === "failed" && id(failed[0]!.record), 7);
  assert.is(broker.committedOffset("g", "in", 0), 20);
  await c.close();
});

test("a poison record is dead-lettered after maxDeliveries and its partition carries on", async () => {
  const { clock, broker } = await filled(30, 1);
  const c = consumer(broker, { maxDeliveries: 3, deadLetterTopic: "dlq" });
  const handled: number[] = [];
  let attempts = 0;
  const outcomes = await runUntil(
    c,
    (r) => {
      if (id(r) === 10) {
        attempts++;
        throw new Error("poison");
      }
      handled.push(id(r));
    },
    () => handled.length >= 29,
    clock,
  );
  assert.is(attempts, 3);
  assert.equal(handled, Array.from({ length: 30 }, (_, i) => i).filter((i) => i !== 10));
  const dead = broker.read("dlq", 0);
  assert.equal(dead.map((r) => dec(r.value)), ["r10"]);
  const letter = outcomes.find((o) => o.type === "dead-lettered");
  assert.ok(letter && letter.type === "dead-lettered" && letter.deadLetterOffset === dead[0]!.offset);
  assert.is(broker.committedOffset("g", "in", 0), 30);
  await c.close();
});

test("without a dead-letter topic a poison record stops its partition with PoisonRecordError; resume() retries it", async () => {
  const { clock, broker } = await filled(40, 2);
  const c = consumer(broker, { maxDeliveries: 2 });
  let poisoned = true;
  const handled = new Set<number>();
  const poisonId = Number(dec(broker.read("in", 0)[3]!.value).slice(1));
  const stoppedAt: PoisonRecordError[] = [];
  const sub = c.outcomes$.subscribe((o) => o.type === "partition-stopped" && stoppedAt.push(o.error));
  const stop = new AbortController();
  const running = c.run(
    (r) => {
      if (id(r) === poisonId && poisoned) throw new Error("poison");
      handled.add(id(r));
    },
    { signal: linked(stop) },
  );
  const p1 = broker.read("in", 1).length;
  await until(clock, () => handled.size >= 3 + p1, "partition 1 and partition 0's first records", {
    progress: () => `${handled.size} handled`,
  });
  await sleep(clock, 200);
  assert.is(stoppedAt.length, 1);
  assert.instance(stoppedAt[0], PoisonRecordError);
  assert.is(stoppedAt[0]!.partition, 0);
  assert.is(stoppedAt[0]!.offset, 3);
  assert.is(stoppedAt[0]!.deliveries, 2);
  assert.ok(c.stoppedPartitions.has(0));
  assert.is(handled.size, 3 + p1, "partition 1 carried on; partition 0 stopped at the poison record");
  assert.is(broker.committedOffset("g", "in", 0), 3, "the poison record stays uncommitted");
  poisoned = false;
  c.resume([0]);
  await until(clock, () => handled.size >= 40, "every record after resume", {
    progress: () => `${handled.size} of 40`,
  });
  stop.abort();
  await running;
  sub.unsubscribe();
  await c.close();
});

test("runBatches: a batch at a time, per partition; a failing batch comes again whole", async () => {
  const { clock, broker } = await filled(60, 2);
  const c = consumer(broker, { maxPollRecords: 10 });
  const sizes: number[] = [];
  let failedOnce = false;
  let total = 0;
  let mixed = 0;
  const stop = new AbortController();
  const running = c.runBatches(
    (batch) => {
      if (!batch.records.every((r) => r.partition === batch.partition)) mixed++;
      if (!failedOnce) {
        failedOnce = true;
        throw new Error("first batch fails");
      }
      sizes.push(batch.records.length);
      total += batch.records.length;
    },
    { signal: linked(stop) },
  );
  await until(clock, () => total >= 60, "every record, the failed batch again", { progress: () => `${total} of 60` });
  stop.abort();
  await running;
  assert.is(total, 60, "the failed batch was redelivered, not lost or doubled");
  assert.is(mixed, 0, "no batch mixes partitions");
  assert.ok(sizes.every((s) => s <= 10));
  await c.close();
});

test("manual: nothing is committed until commit(); commit() stores processed offsets or given ones", async () => {
  const { clock, broker } = await filled(20, 1);
  const c = consumer(broker, { commit: "manual" });
  let n = 0;
  await runUntil(c, () => void n++, () => n >= 20, clock);
  assert.is(broker.committedOffset("g", "in", 0), null);
  await c.commit();
  assert.is(broker.committedOffset("g", "in", 0), 20);
  await c.commit([{ partition: 0, offset: 5 }]);
  assert.is(broker.committedOffset("g", "in", 0), 5);
  try {
    await c.commit([{ partition: 0, offset: 1_000 }]);
    assert.unreachable("beyond the log end");
  } catch (e) {
    assert.instance(e, OffsetOutOfRangeError);
    assert.match((e as Error).message, /beyond the log end 20/);
  }
  assert.is(broker.committedOffset("g", "in", 0), 5, "a refused commit stores nothing");
  await c.close();
});

test("seek, pause and resume", async () => {
  const { clock, broker } = await filled(40, 2);
  const c = consumer(broker, { commit: "manual" });
  const seen: ConsumedRecord[] = [];
  const stop = new AbortController();
  c.pause([1]);
  const running = c.run((r) => void seen.push(r), { signal: linked(stop) });
  const p0 = broker.read("in", 0).length;
  await until(clock, () => seen.length >= p0, "partition 0's records");
  await sleep(clock, 100);
  assert.ok(seen.every((r) => r.partition === 0), "partition 1 is paused");
  c.seek(0, 2);
  await sleep(clock, 100);
  assert.equal(
    seen.slice(p0).map((r) => r.offset),
    Array.from({ length: p0 - 2 }, (_, i) => i + 2),
    "partition 0 read again from offset 2",
  );
  c.resume([1]);
  await until(clock, () => seen.filter((r) => r.partition === 1).length >= 40 - p0, "partition 1 after resume");
  assert.throws(
    () => c.seek(7, 0),
    (e: unknown) => e instanceof PartitionNotOwnedError && /does not own/.test((e as Error).message),
  );
  assert.throws(() => c.seek(0, -1), (e: unknown) => e instanceof OffsetOutOfRangeError);
  stop.abort();
  await running;
  await c.close();
});

test("autoOffsetReset: latest starts at the end; a new member of a group resumes from its committed offset", async () => {
  const { clock, broker } = await filled(20, 1);
  const late = consumer(broker, { groupId: "late", autoOffsetReset: "latest" });
  const producer = broker.producer("in");
  const seen: number[] = [];
  const stop = new AbortController();
  const running = late.run((r) => void seen.push(id(r)), { signal: linked(stop) });
  await until(clock, () => late.assignment.length > 0 && late.state === "polling", "the late member to poll", {
    step: 1,
  });
  await producer.send(null, "r100");
  await producer.flush();
  await until(clock, () => seen.length >= 1, "the record sent after joining");
  stop.abort();
  await running;
  assert.equal(seen, [100]);
  await late.close();

  const first = consumer(broker);
  const halt = new AbortController();
  let n = 0;
  // Stopping from inside the handler: the record in hand finishes, the rest comes again.
  await first.run(() => void (++n === 10 && halt.abort()), { signal: linked(halt) });
  await first.close();
  const committed = broker.committedOffset("g", "in", 0)!;
  assert.is(committed, 10);
  const second = consumer(broker);
  const resumed: number[] = [];
  await runUntil(second, (r) => void resumed.push(r.offset), () => resumed.length >= 21 - committed, clock);
  assert.is(resumed[0], committed);
  await second.close();
  await producer.close();
});

test("an AbortSignal already aborted makes run() return at once, still a member", async () => {
  const { broker } = await filled(5, 1);
  const c = consumer(broker);
  await c.run(() => assert.unreachable("no record"), { signal: AbortSignal.abort() });
  assert.is(c.state, "idle");
  await c.close();
});

test("bad config and bad input get typed errors naming the problem", async () => {
  const { broker } = await filled(1, 1);
  const bad = (config: unknown, field: string) =>
    assert.throws(
      () => broker.consumer("in", config as ConsumerConfig),
      (e: unknown) => e instanceof ConfigError && e.field === field,
      field,
    );
  bad(undefined, "consumer");
  bad({}, "groupId");
  bad({ groupId: "g", commit: "sometimes" }, "commit");
  bad({ groupId: "g", isolation: "dirty" }, "isolation");
  bad({ groupId: "g", autoOffsetReset: "middle" }, "autoOffsetReset");
  bad({ groupId: "g", maxDeliveries: 0 }, "maxDeliveries");
  bad({ groupId: "g", sessionTimeoutMs: 3000, heartbeatIntervalMs: 2000 }, "heartbeatIntervalMs");
  bad({ groupId: "g", commit: "transactional" }, "producer");
  bad({ groupId: "g", commit: "transactional", producer: broker.producer("in") }, "producer");
  bad(
    { groupId: "g", producer: broker.producer("in", { deliverySemantic: exactlyOnce({ transactionalId: "x" }) }) },
    "producer",
  );
  bad({ groupId: "g", deadLetterTopic: "" }, "deadLetterTopic");
  bad({ groupId: "g", maxPollRecord: 5 }, "maxPollRecord");
  assert.throws(() => broker.consumer("nope", { groupId: "g" }), (e: unknown) => e instanceof UnknownTopicError);
  assert.throws(() => broker.consumer("bad topic!", { groupId: "g" }), (e: unknown) => e instanceof InvalidTopicError);
  // Over any transport, an unknown topic surfaces from run() as a typed error.
  const c = createConsumer(broker.transport(), "missing", { groupId: "g", clock: broker.clock });
  try {
    await c.run(() => {});
    assert.unreachable("unknown topic");
  } catch (e) {
    assert.instance(e, UnknownTopicError);
  }
  assert.is(c.state, "failed");
  await c.close();
  // An unknown dead-letter topic is found before any record is read.
  const d = consumer(broker, { deadLetterTopic: "no-such-dlq" });
  try {
    await d.run(() => {});
    assert.unreachable("unknown dlq");
  } catch (e) {
    assert.instance(e, UnknownTopicError);
    assert.match((e as Error).message, /no-such-dlq/);
  }
  await d.close();
  // An unknown group operation is refused by the broker with a typed answer.
  const answer = await broker.transport().request({ api: "syncGroup", groupId: "g" } as never, { timeoutMs: 1000 });
  assert.is((answer as { ok: boolean }).ok, false);
  assert.is((answer as unknown as { error: { code: string } }).error.code, "REQUEST_INVALID");
  assert.ok(new AcktorError("REQUEST_INVALID", "x") instanceof Error);
});

test.run();
