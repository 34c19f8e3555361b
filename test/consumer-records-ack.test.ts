/**
 * `records$` follows the receiver-offset model: each record carries an `ack()`, and only
 * acknowledged records are committed (over the acknowledged prefix of each partition). A
 * pipeline that fails on a record leaves it unacknowledged: it is not committed and comes
 * again to the group's next reader, and no failure escapes as an uncaught exception.
 */
import { test, until } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { catchError, concatMap, EMPTY, from, retry, type Subscription } from "rxjs";
import { connectNats } from "../src/adapters/nats/index.ts";
import {
  atLeastOnce,
  type Consumer,
  createConsumer,
  createProducer,
  EmbeddedBroker,
  systemClock,
  VirtualClock,
} from "../src/index.ts";
import type { ConsumedRecord, ReceivedRecord } from "../src/consumer/record.ts";
import { sleep } from "../src/runtime/clock.ts";
import { dec, server, SKIP, uniqueTopic, URL } from "./helpers/nats.ts";

const id = (r: ConsumedRecord): number => Number(dec(r.value).slice(1));

/** Collects uncaught exceptions and unhandled rejections while a test runs, on Node, Bun and Deno. */
function watchUncaught(): { readonly errors: unknown[]; stop(): void } {
  const errors: unknown[] = [];
  const g = globalThis as unknown as {
    Deno?: unknown;
    addEventListener(type: string, listener: (event: Event) => void): void;
    removeEventListener(type: string, listener: (event: Event) => void): void;
  };
  if (g.Deno !== undefined) {
    const onEvent = (event: Event): void => {
      event.preventDefault();
      errors.push((event as ErrorEvent).error ?? (event as PromiseRejectionEvent).reason);
    };
    g.addEventListener("error", onEvent);
    g.addEventListener("unhandledrejection", onEvent);
    return {
      errors,
      stop: () => {
        g.removeEventListener("error", onEvent);
        g.removeEventListener("unhandledrejection", onEvent);
      },
    };
  }
  const onError = (error: unknown): void => void errors.push(error);
  process.on("uncaughtException", onError);
  process.on("unhandledRejection", onError);
  return {
    errors,
    stop: () => {
      process.off("uncaughtException", onError);
      process.off("unhandledRejection", onError);
    },
  };
}

async function filledBroker(count: number, partitions: number) {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("in", { partitions });
  const producer = broker.producer("in", { deliverySemantic: atLeastOnce() });
  for (let i = 0; i < count; i++) await producer.send(`k${i % 8}`, `r${i}`);
  await producer.close();
  return { clock, broker };
}

/**
 * A pipeline that handles each record asynchronously and acknowledges it, except the
 * records `fails` picks, on which it throws; `catchError` keeps the stream going past them.
 */
function failingPipeline(
  c: Consumer,
  handled: (r: ReceivedRecord) => Promise<void>,
  errors: unknown[],
): Subscription {
  return c.records$
    .pipe(concatMap((record) => from(handled(record)).pipe(catchError(() => EMPTY))))
    .subscribe({ error: (e: unknown) => void errors.push(e) });
}

test("records$ on the embedded broker: records a concatMap pipeline failed on are not committed, and come again to the group", async () => {
  const uncaught = watchUncaught();
  const { clock, broker } = await filledBroker(60, 2);
  const first = broker.consumer("in", { groupId: "g", pollIntervalMs: 10 });
  const second = broker.consumer("in", { groupId: "g", pollIntervalMs: 10 });
  const pipelineErrors: unknown[] = [];
  let sub: Subscription | null = null;
  try {
    const failOn = new Set([3, 10, 17, 31, 44]);
    const failed = new Map<number, number>(); // partition -> lowest offset failed on
    const seen = new Set<number>();
    sub = failingPipeline(first, async (record) => {
      await sleep(clock, 1);
      seen.add(id(record));
      if (failOn.has(id(record))) {
        failed.set(record.partition, Math.min(failed.get(record.partition) ?? Infinity, record.offset));
        throw new Error(`cannot handle r${id(record)}`);
      }
      record.ack();
    }, pipelineErrors);
    await until(clock, () => seen.size === 60, "the first reader to see every record");
    sub.unsubscribe();
    await until(clock, () => first.state === "idle", "the first reader to stop");
    await first.close();
    for (let p = 0; p < 2; p++) {
      const end = broker.partition("in", p).log.endOffset;
      // Everything before the first failure of a partition was acknowledged, so committed; nothing after it.
      assert.is(broker.committedOffset("g", "in", p) ?? 0, failed.get(p) ?? end, `partition ${p}`);
    }

    const again = new Set<number>();
    sub = failingPipeline(second, async (record) => {
      await sleep(clock, 1);
      again.add(id(record));
      record.ack();
    }, pipelineErrors);
    const committedToEnd = () =>
      [0, 1].every((p) => broker.committedOffset("g", "in", p) === broker.partition("in", p).log.endOffset);
    await until(clock, committedToEnd, "the second reader to commit everything");
    for (const r of failOn) assert.ok(again.has(r), `r${r} came again`);
    sub.unsubscribe();
    assert.equal(pipelineErrors, []);
    assert.equal(uncaught.errors, [], "no uncaught exception");
  } finally {
    sub?.unsubscribe();
    await first.close();
    await second.close();
    uncaught.stop();
  }
});

test("records$: a pipeline that errors stops the reader; the record it failed on is not committed and comes first to the next subscriber", async () => {
  const uncaught = watchUncaught();
  const { clock, broker } = await filledBroker(20, 1);
  const c = broker.consumer("in", { groupId: "g", pollIntervalMs: 10 });
  let sub: Subscription | null = null;
  try {
    const errors: unknown[] = [];
    sub = c.records$.pipe(concatMap(async (record) => {
      await sleep(clock, 1);
      if (id(record) === 7) throw new Error("r7 failed");
      record.ack();
    })).subscribe({ error: (e: unknown) => void errors.push(e) });
    await until(clock, () => errors.length === 1 && c.state === "idle", "the pipeline's error to stop the reader");
    assert.is(broker.committedOffset("g", "in", 0), 7, "committed up to the failed record, not past it");

    const again: number[] = [];
    sub = c.records$.pipe(concatMap(async (record) => {
      await sleep(clock, 1);
      again.push(id(record));
      record.ack();
    })).subscribe();
    await until(clock, () => again.length >= 13, "the rest of the partition");
    assert.equal(again, Array.from({ length: 13 }, (_, i) => 7 + i));
    sub.unsubscribe();
    await until(clock, () => c.state === "idle", "the reader to stop");
    assert.is(broker.committedOffset("g", "in", 0), 20);
    assert.equal(uncaught.errors, [], "no uncaught exception");
  } finally {
    sub?.unsubscribe();
    await c.close();
    uncaught.stop();
  }
});

test("records$: an operator that resubscribes at once after an error (retry) reads on from the failed record, not ConsumerBusyError", async () => {
  const uncaught = watchUncaught();
  const { clock, broker } = await filledBroker(20, 1);
  const c = broker.consumer("in", { groupId: "g", pollIntervalMs: 10 });
  let sub: Subscription | null = null;
  try {
    const seen: number[] = [];
    const errors: unknown[] = [];
    let failedOnce = false;
    sub = c.records$.pipe(
      concatMap(async (record) => {
        await sleep(clock, 1);
        if (id(record) === 7 && !failedOnce) {
          failedOnce = true;
          throw new Error("r7 failed once");
        }
        seen.push(id(record));
        record.ack();
      }),
      retry(1),
    ).subscribe({ error: (e: unknown) => void errors.push(e) });
    await until(clock, () => seen.length >= 20 || errors.length > 0, "every record, after one retry");
    assert.equal(errors, [], "the retry resubscribed without an error");
    assert.equal(seen, Array.from({ length: 20 }, (_, i) => i));
    sub.unsubscribe();
    await until(clock, () => c.state === "idle", "the reader to stop");
    assert.is(broker.committedOffset("g", "in", 0), 20);
    assert.equal(uncaught.errors, [], "no uncaught exception");
  } finally {
    sub?.unsubscribe();
    await c.close();
    uncaught.stop();
  }
});

test("records$: a subscriber's next that throws leaves its record uncommitted, reported, and does not crash the process", async () => {
  const uncaught = watchUncaught();
  const { clock, broker } = await filledBroker(10, 1);
  const c = broker.consumer("in", { groupId: "g", pollIntervalMs: 10 });
  let sub: Subscription | null = null;
  try {
    const reported: unknown[] = [];
    const outcomes = c.outcomes$.subscribe((o) => {
      if (o.type === "redelivered") reported.push(id(o.record));
    });
    const seen: number[] = [];
    sub = c.records$.subscribe((record) => {
      seen.push(id(record));
      if (id(record) === 4) throw new Error("r4 failed");
      record.ack();
    });
    await until(clock, () => seen.length === 10, "every record");
    sub.unsubscribe();
    await until(clock, () => c.state === "idle", "the reader to stop");
    outcomes.unsubscribe();
    assert.is(broker.committedOffset("g", "in", 0), 4, "the record next threw on is not committed");
    assert.equal(reported, [4], "the failure is reported on outcomes$");
    // A macrotask later: RxJS reports an error it could not deliver from a timer.
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(uncaught.errors, [], "no uncaught exception");
  } finally {
    sub?.unsubscribe();
    await c.close();
    uncaught.stop();
  }
});

if (SKIP) {
  console.log("SKIPPED: the NATS JetStream records$ test (ACKTOR_SKIP_ENGINES=1)");
} else {
  test("records$ on JetStream: messages a concatMap pipeline failed on are not acked, and come again to the group", async () => {
    const uncaught = watchUncaught();
    const admin = await server();
    const topic = uniqueTopic("records-ack");
    await admin.createTopic(topic, { partitions: 2, storage: "memory" });
    const producer = createProducer(admin, topic, { deliverySemantic: atLeastOnce() });
    for (let i = 0; i < 30; i++) await producer.send(`k${i % 5}`, `r${i}`);
    await producer.close();
    const nats = await connectNats({ servers: URL });
    const config = { groupId: "g", sessionTimeoutMs: 1_500, heartbeatIntervalMs: 400, pollIntervalMs: 20 };
    const first = createConsumer(nats, topic, config);
    const second = createConsumer(nats, topic, config);
    const pause = () => new Promise<void>((r) => setTimeout(r, 20));
    const pipelineErrors: unknown[] = [];
    let sub: Subscription | null = null;
    try {
      const failOn = new Set([2, 13, 27]);
      const seen = new Set<number>();
      const acked = new Set<number>();
      sub = failingPipeline(first, async (record) => {
        await pause();
        seen.add(id(record));
        if (failOn.has(id(record))) throw new Error(`cannot handle r${id(record)}`);
        acked.add(id(record));
        record.ack();
      }, pipelineErrors);
      await until(systemClock, () => seen.size === 30, "the first reader to see every record", { step: 20 });
      sub.unsubscribe();
      await first.close();
      for (const r of failOn) assert.not.ok(acked.has(r));

      const again = new Set<number>();
      sub = failingPipeline(second, async (record) => {
        await pause();
        again.add(id(record));
        acked.add(id(record));
        record.ack();
      }, pipelineErrors);
      // The first reader naks what it did not acknowledge as it leaves; what its last open pull
      // takes of that comes again after ack_wait.
      await until(systemClock, () => acked.size === 30, "every record acknowledged", { step: 20, within: 8_000 });
      for (const r of failOn) assert.ok(again.has(r), `r${r} came again`);
      for (const r of again) assert.ok(failOn.has(r), `r${r} was acknowledged, so it does not come again`);
      assert.equal(pipelineErrors, []);
      assert.equal(uncaught.errors, [], "no uncaught exception");
    } finally {
      sub?.unsubscribe();
      await first.close();
      await second.close();
      await nats.close();
      await admin.close();
      uncaught.stop();
    }
  });
}

test.run();
