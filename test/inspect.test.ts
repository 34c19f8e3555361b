/**
 * The `inspect` option (issue 15, inspectable actors): XState's inspection observer reaches
 * every actor a producer or consumer starts, the request actor of a batch included, is
 * validated like every other option, and cannot break delivery by throwing.
 */
import { linked, test, until } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import {
  atLeastOnce,
  chaos,
  ConfigError,
  type ConsumedRecord,
  type ConsumerConfig,
  createProducer,
  EmbeddedBroker,
  exactlyOnce,
  type InspectionEvent,
  type Inspector,
  type ProducerConfig,
  RequestTimedOutError,
  VirtualClock,
} from "../src/index.ts";

type SnapshotEvent = Extract<InspectionEvent, { type: "@xstate.snapshot" }>;

/** The `@xstate.snapshot` events of the machine with this id (`request`, `batch`, `producer`, …). */
function snapshotsOf(events: readonly InspectionEvent[], machineId: string): SnapshotEvent[] {
  return events.filter((e): e is SnapshotEvent =>
    e.type === "@xstate.snapshot" &&
    (e.snapshot as { machine?: { id?: string } }).machine?.id === machineId
  );
}

const valueOf = (e: SnapshotEvent): unknown => (e.snapshot as { value?: unknown }).value;
const contextOf = <C>(e: SnapshotEvent): C => (e.snapshot as unknown as { context: C }).context;

/** `states` with consecutive repeats collapsed: a self-transition or a context-only change is one step. */
function steps(states: readonly unknown[]): unknown[] {
  return states.filter((s, i) => i === 0 || s !== states[i - 1]);
}

function rejection(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return assert.unreachable("expected a throw");
}

/** Replaces `console.warn` while `body` runs; returns what it was called with. */
async function capturingWarnings(body: () => Promise<void>): Promise<unknown[][]> {
  const warn = console.warn;
  const calls: unknown[][] = [];
  console.warn = (...args: unknown[]) => void calls.push(args);
  try {
    await body();
  } finally {
    console.warn = warn;
  }
  return calls;
}

test("a batch's request actor is inspected through its batch: a lost response, a retry, delivered", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t");
  // Every produce response is lost until the request decides to retry; then the network heals.
  const net = chaos(broker.transport(), { seed: 11, clock, dropResponse: 1, apis: ["produce"] });
  const events: InspectionEvent[] = [];
  const producer = createProducer(net, "t", {
    clock,
    requestTimeout: 50,
    deliverySemantic: atLeastOnce({ maxRetries: 3, initialDelay: 10, maxDelay: 10, strategy: "fixed" }),
    inspect: (event) => void events.push(event),
  });
  producer.batches$.subscribe((report) => {
    if (report.type === "retry") net.configure({ dropResponse: 0 });
  });
  const output = await producer.send("k", "v");
  const { offset } = await output.wait();
  await producer.close();

  // The first attempt was written and its ack lost, so at-least-once wrote it twice.
  assert.is(net.stats.droppedResponses, 1);
  assert.is(broker.read("t", 0).length, 2);
  assert.is(offset, 1, "acked by the second attempt");

  const requests = snapshotsOf(events, "request");
  assert.equal(requests.map(valueOf), [
    "sending", // invoked by the batch: attempt 1 goes out
    "awaiting-ack", // the transport has it
    "backoff", // its response never came: timed out, decided to retry (`deciding` is transient)
    "sending", // the backoff delay is over
    "awaiting-ack", // attempt 2 on the wire
    "delivered", // acked
  ]);
  assert.equal(requests.map((e) => contextOf<{ attempts: number }>(e).attempts), [1, 1, 1, 2, 2, 2]);
  assert.equal(requests.map((e) => e.event.type), [
    "xstate.init",
    "SENT",
    "ERROR",
    "xstate.after.backoff.request.backoff",
    "SENT",
    "ACK",
  ]);
  assert.instance(requests[2]!.event.error, RequestTimedOutError);
  assert.is(clock.now() >= 50 + 10, true, "the retry waited for the timeout and the backoff");
  // Its first state is seen too, as the request actor starts.
  const started = events.filter((e) => e.type === "@xstate.actor" && e.actorRef === requests[0]!.actorRef);
  assert.is(started.length, 1, "the request actor's start is inspected");

  const batches = snapshotsOf(events, "batch");
  assert.equal(steps(batches.map(valueOf)), ["open", "sealed", "in-flight", "delivered"]);
  // One actor system: the request actor reports under its batch's root.
  assert.equal([...new Set([...batches, ...requests].map((e) => e.rootId))].length, 1);

  // The lifecycle is a root of its own, inspected by the same observer.
  const lifecycle = snapshotsOf(events, "producer");
  assert.equal(lifecycle.map(valueOf), ["open", "closing", "closed"]);
  assert.is.not(lifecycle[0]!.rootId, batches[0]!.rootId);
});

test("a consumer's loop actor is inspected: an observer object sees it join, fetch, process, commit, close", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("in", { partitions: 1 });
  const producer = broker.producer("in");
  for (let i = 0; i < 3; i++) await producer.send(null, `r${i}`);
  await producer.close();

  // An observer object whose next() needs `this`: it must be called as a method.
  const observer = {
    events: [] as InspectionEvent[],
    next(event: InspectionEvent) {
      this.events.push(event);
    },
  };
  const consumer = broker.consumer("in", { groupId: "g", pollIntervalMs: 10, inspect: observer });
  const seen: string[] = [];
  const stop = new AbortController();
  const running = consumer.run((r: ConsumedRecord) => void seen.push(new TextDecoder().decode(r.value)), {
    signal: linked(stop),
  });
  await until(clock, () => seen.length >= 3, "three records");
  stop.abort();
  await running;
  await consumer.close();
  assert.equal(seen, ["r0", "r1", "r2"]);

  const loop = snapshotsOf(observer.events, "consumer");
  assert.ok(loop.length > 0, "the loop's snapshots reach the observer");
  assert.ok(loop.every((e) => e.actorRef === consumer.actor), "all of them the consumer's actor");
  const states = steps(loop.map(valueOf));
  assert.equal(states.slice(0, 8), [
    "idle",
    "joining", // run() started it
    "fetching",
    "rebalancing", // the group handed this member its partition
    "fetching",
    "processing", // the three records, one fetch
    "committing", // after-processing: their offsets
    "fetching",
  ]);
  assert.equal(states.slice(-2), ["idle", "closed"], "stopped, then closed");
});

test("a transactional producer's transaction actor is inspected through commit and abort", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("out", { partitions: 2 });
  const events: InspectionEvent[] = [];
  const producer = broker.producer("out", {
    deliverySemantic: exactlyOnce({ transactionalId: "tx-inspect" }),
    inspect: (event) => void events.push(event),
  });
  await producer.transaction(async (tx) => {
    await tx.send("a", "1");
    await tx.send("b", "2");
  });
  await producer
    .transaction(async (tx) => {
      await tx.send("c", "3");
      throw new Error("changed my mind");
    })
    .catch(() => undefined);
  await producer.close();

  const txn = snapshotsOf(events, "transaction");
  assert.equal(steps(txn.map(valueOf)), [
    "initializing",
    "ready", // producer id and epoch obtained
    "in-transaction",
    "committing",
    "ready",
    "in-transaction",
    "aborting",
    "ready",
  ]);
  assert.ok(txn.every((e) => e.actorRef === producer.transactionActor), "the producer's transaction actor");
  // The transaction's batches are inspected as well, each delivered.
  const delivered = snapshotsOf(events, "batch").filter((e) => valueOf(e) === "delivered");
  assert.is(delivered.length >= 2, true, "at least one batch per transaction");
  assert.is(
    broker.read("out", 0, { isolation: "read-committed" }).length +
      broker.read("out", 1, { isolation: "read-committed" }).length,
    2,
  );
});

test("a bad inspect is a ConfigError naming inspect, on producers and consumers", () => {
  const broker = new EmbeddedBroker({ clock: new VirtualClock() });
  broker.createTopic("t");
  const bad: unknown[] = [42, "console.log", true, {}, { next: "x" }, [() => {}], { complete() {} }];
  for (const inspect of bad) {
    const p = rejection(() => broker.producer("t", { inspect } as unknown as ProducerConfig));
    assert.instance(p, ConfigError, `producer, inspect ${String(inspect)}`);
    assert.is((p as ConfigError).field, "inspect");
    const c = rejection(() => broker.consumer("t", { groupId: "g", inspect } as unknown as ConsumerConfig));
    assert.instance(c, ConfigError, `consumer, inspect ${String(inspect)}`);
    assert.is((c as ConfigError).field, "inspect");
  }
  // A misspelt key is not silently "no inspector".
  const misspelt = rejection(() => broker.producer("t", { inspector: () => {} } as unknown as ProducerConfig));
  assert.is((misspelt as ConfigError).field, "inspector");
  // Unset, a function and an observer are all fine; unset leaves the resolved config without one.
  assert.is(broker.producer("t").config.inspect, null);
  const fn: Inspector = () => {};
  assert.is(broker.producer("t", { inspect: fn }).config.inspect, fn);
  assert.ok(broker.consumer("t", { groupId: "g", inspect: { next: () => {} } }).config.inspect);
});

test("an inspector that throws on every event loses no record and fails none; it is reported once", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t", { partitions: 3 });
  let calls = 0;
  const inspect = (): void => {
    calls++;
    throw new Error("inspector bug");
  };
  const net = chaos(broker.transport(), { seed: 5, clock, dropResponse: 0.2, apis: ["produce"] });
  const seen = new Set<string>();
  const warnings = await capturingWarnings(async () => {
    const producer = createProducer(net, "t", {
      clock,
      requestTimeout: 20,
      batchSize: 200,
      partitioner: "round-robin",
      deliverySemantic: exactlyOnce({ retry: { maxRetries: 100, initialDelay: 1, maxDelay: 5, strategy: "fixed" } }),
      inspect,
    });
    const outputs = [];
    for (let i = 0; i < 200; i++) outputs.push(await producer.send(null, `r${i}`));
    await producer.flush();
    const waits = await Promise.allSettled(outputs.map((o) => o.wait()));
    assert.equal(waits.filter((w) => w.status === "rejected").length, 0, "no wait() failed");
    assert.is(producer.stats.delivered, 200);
    assert.is(producer.stats.failed, 0);
    assert.ok(producer.stats.retries > 0, "lost responses made batches retry");
    await producer.close();
    assert.is(producer.lifecycle.getSnapshot().value, "closed");

    const consumer = broker.consumer("t", { groupId: "g", pollIntervalMs: 10, inspect: { next: inspect } });
    const stop = new AbortController();
    const running = consumer.run((r) => void seen.add(new TextDecoder().decode(r.value)), { signal: linked(stop) });
    await until(clock, () => seen.size >= 200, "every record consumed");
    stop.abort();
    await running;
    await consumer.close();
  });

  const log = [0, 1, 2].flatMap((p) => broker.read("t", p).map((r) => new TextDecoder().decode(r.value)));
  assert.is(log.length, 200, "exactly-once: every record once in the log");
  assert.equal(new Set(log), new Set(Array.from({ length: 200 }, (_, i) => `r${i}`)));
  assert.is(seen.size, 200, "and every one consumed");
  assert.ok(calls > 100, `the inspector really was called (${calls} times)`);
  assert.is(warnings.length, 2, "one warning for the producer, one for the consumer, not one per event");
  assert.match(String(warnings[0]![0]), /producer of "t"/);
  assert.match(String(warnings[1]![0]), /consumer of "t"/);
  assert.is((warnings[0]![1] as Error).message, "inspector bug");
});

test("an inspector throwing mid-delivery, on acks alone, costs no ack", { deadlineMs: 15_000 }, async () => {
  // XState tells the inspector of an event before queueing it: a throw there, unguarded, would
  // drop the ACK and leave its batch waiting for ever.
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t");
  let acks = 0;
  const inspect: Inspector = (event) => {
    if (event.type === "@xstate.event" && event.event.type === "ACK") {
      acks++;
      throw new Error("no acks, please");
    }
  };
  const warnings = await capturingWarnings(async () => {
    const producer = broker.producer("t", { batchSize: 100, inspect });
    const outputs = [];
    for (let i = 0; i < 50; i++) outputs.push(await producer.send(null, `r${i}`));
    const offsets = await Promise.all(outputs.map(async (o) => (await o.wait()).offset));
    assert.equal(offsets, Array.from({ length: 50 }, (_, i) => i));
    await producer.close();
  });
  assert.ok(acks >= 2, `several batches were acked (${acks})`);
  assert.is(warnings.length, 1);
});

test.run();
