/**
 * flush() and close() are barriers: each reports every failure since the previous barrier,
 * whenever it happened and whoever already saw it. And the producer's streams end on close().
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { lastValueFrom, toArray } from "rxjs";
import {
  AcktorError,
  atLeastOnce,
  atMostOnce,
  createProducer,
  DeliveryFailedError,
  EmbeddedBroker,
  exactlyOnce,
  type Producer,
  type RecordOutcome,
  sleep,
  UndeliveredRecordsError,
  VirtualClock,
} from "../src/internal.ts";
import { firstValue, routed } from "./helpers/routed-transport.ts";

/**
 * A producer whose batches starting with "fail" are refused for good at once, and whose
 * batches starting with "slow" are answered after 1 s of virtual time.
 */
function setup() {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t", { partitions: 2 });
  const transport = routed(broker.transport(), (request, pass) => {
    const value = firstValue(request);
    if (value.startsWith("fail")) return Promise.reject(new AcktorError("INTERNAL", `refused ${value}`));
    if (value.startsWith("slow")) return sleep(clock, 1_000).then(pass);
    return undefined;
  });
  const producer = createProducer(transport, "t", {
    clock,
    deliverySemantic: atLeastOnce({ maxRetries: 3, initialDelay: 1, maxDelay: 1, strategy: "fixed" }),
  });
  return { clock, broker, producer };
}

async function failure(promise: Promise<unknown>): Promise<UndeliveredRecordsError> {
  const error = await promise.then(
    () => assert.unreachable("expected the barrier to reject"),
    (error: unknown) => error,
  );
  assert.instance(error, UndeliveredRecordsError);
  return error as UndeliveredRecordsError;
}

const causes = (error: UndeliveredRecordsError) => error.errors.map((e) => (e.cause as Error).message).sort();

test("flush() reports a batch that failed before it was called, even if wait() and outcomes$ saw it", async () => {
  const { producer } = setup();
  try {
    const outcomes: RecordOutcome[] = [];
    producer.outcomes$.subscribe((o) => outcomes.push(o));
    const output = await producer.send("a", "fail-1");
    await output.wait().then(() => assert.unreachable("the batch must fail"), () => {});
    assert.is(outcomes[0]?.status, "failed", "outcomes$ saw it too");
    const error = await failure(producer.flush());
    assert.is(error.records, 1);
    assert.equal(causes(error), ["refused fail-1"]);
    // Reported once: the next barrier starts from here.
    await producer.flush();
  } finally {
    await producer.close().catch(() => {});
  }
});

test("at-most-once: a write whose reply came back failed is reported by the next barrier, though the batch was let go", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t", { partitions: 1 });
  const transport = routed(broker.transport(), (request) => {
    const value = firstValue(request);
    return value.startsWith("fail") ? Promise.reject(new AcktorError("INTERNAL", `refused ${value}`)) : undefined;
  });
  const producer = createProducer(transport, "t", { clock, deliverySemantic: atMostOnce() });
  try {
    const failed = await producer.send("a", "fail-1");
    const refused = await failed.wait().then(() => assert.unreachable("the write must fail"), (e: unknown) => e);
    assert.instance(refused, DeliveryFailedError);
    await (await producer.send("b", "ok-1")).wait();
    const error = await failure(producer.flush());
    assert.is(error.records, 1);
    assert.equal(causes(error), ["refused fail-1"]);
    await producer.flush(); // reported once
  } finally {
    await producer.close().catch(() => {});
  }
});

test("flush() reports a failure during it, also of a batch sent after the call", async () => {
  const { producer } = setup();
  try {
    await producer.send("a", "slow-1");
    const flushing = producer.flush();
    // Sent after flush() was called, failed long before the slow batch settles.
    await producer.send("d", "fail-2");
    const error = await failure(flushing);
    assert.equal(causes(error), ["refused fail-2"]);
  } finally {
    await producer.close().catch(() => {});
  }
});

test("close() reports failures since the last barrier, and only those", async () => {
  const { producer } = setup();
  await (await producer.send("a", "fail-1")).wait().catch(() => {});
  await failure(producer.flush());
  await (await producer.send("a", "fail-2")).wait().catch(() => {});
  await (await producer.send("d", "ok")).wait();
  const error = await failure(producer.close());
  assert.equal(causes(error), ["refused fail-2"], "fail-1 was reported by the flush before");
  assert.is(producer.lifecycle.getSnapshot().value, "closed");
});

test("barriers that overlap each report every failure since the barrier before both", async () => {
  const { producer } = setup();
  try {
    await (await producer.send("a", "fail-1")).wait().catch(() => {});
    await producer.send("d", "slow-1");
    const [first, second] = [producer.flush(), producer.flush()];
    assert.equal(causes(await failure(first)), ["refused fail-1"]);
    assert.equal(causes(await failure(second)), ["refused fail-1"]);
    await producer.flush();
  } finally {
    await producer.close().catch(() => {});
  }
});

// ---- streams end ---------------------------------------------------------------------

function plain(): { producer: Producer; broker: EmbeddedBroker } {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t", { partitions: 2 });
  return { producer: broker.producer("t", { clock }), broker };
}

/** Whether `subscribe` completes before it returns. */
function completesAtOnce(source: { subscribe(o: { complete(): void }): { unsubscribe(): void } }): boolean {
  let completed = false;
  source.subscribe({ complete: () => (completed = true) }).unsubscribe();
  return completed;
}

test("close() completes outcomes$ and batches$; a late subscriber completes at once", async () => {
  const { producer } = plain();
  const outcomes = lastValueFrom(producer.outcomes$.pipe(toArray()));
  const reports = lastValueFrom(producer.batches$.pipe(toArray()));
  for (let i = 0; i < 3; i++) await producer.send(`k${i}`, `v${i}`);
  await producer.close();
  assert.equal((await outcomes).map((o) => o.status), ["delivered", "delivered", "delivered"]);
  assert.ok((await reports).some((r) => r.type === "delivered"));
  assert.ok(completesAtOnce(producer.outcomes$), "outcomes$ after close");
  assert.ok(completesAtOnce(producer.batches$), "batches$ after close");
  assert.equal(await lastValueFrom(producer.outcomes$.pipe(toArray())), []);
});

test("a non-transactional producer's transactions$ completes with nothing", async () => {
  const { producer } = plain();
  try {
    assert.ok(completesAtOnce(producer.transactions$));
  } finally {
    await producer.close();
  }
});

test("a transactional producer's transactions$ completes on close()", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t");
  const producer = broker.producer("t", { clock, deliverySemantic: exactlyOnce({ transactionalId: "tx" }) });
  const reports = lastValueFrom(producer.transactions$.pipe(toArray()));
  await producer.transaction(async (tx) => void (await tx.send("k", "v")));
  await producer.close();
  assert.equal((await reports).map((r) => r.type), ["committed"]);
  assert.ok(completesAtOnce(producer.transactions$), "transactions$ after close");
});

test.run();
