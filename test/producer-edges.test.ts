/**
 * Promises kept at the producer's edge: the README's retry policy retries a lost ack, errors
 * carry their real type and reason, and a transport that throws fails a batch, not the process.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { firstValueFrom } from "rxjs";
import { createActor, waitFor } from "xstate";
import {
  AcktorError,
  atLeastOnce,
  atMostOnce,
  chaos,
  createProducer,
  DeliveryFailedError,
  EmbeddedBroker,
  exactlyOnce,
  type RecordOutcome,
  UndeliveredRecordsError,
  VirtualClock,
} from "../src/internal.ts";
import { batchMachine } from "../src/producer/machines/batch-machine.ts";
import { requestMachine } from "../src/producer/machines/request-machine.ts";
import { retryPolicy } from "../src/retry/policy.ts";
import { firstValue, routed } from "./helpers/routed-transport.ts";

function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.unreachable("expected a rejection"),
    (error: unknown) => error,
  );
}

test("the README's Producing example delivers through one lost ack, in 2 attempts", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("greetings", { partitions: 4, replicationFactor: 3 });
  const net = chaos(broker.transport(), { seed: 1, clock, dropResponse: 1, apis: ["produce"] });
  // Exactly one ack is lost.
  net.events.on("fault", () => net.configure({ dropResponse: 0 }));
  const producer = createProducer(net, "greetings", {
    clock,
    deliverySemantic: atLeastOnce({
      maxRetries: 5,
      initialDelay: 10,
      maxDelay: 2000,
      timeout: 10_000,
      strategy: "exponential",
    }),
    isolation: "read-committed",
  });
  try {
    const output = await producer.send("Hello", "acktor!");
    const { partition } = await output.wait();
    const outcome = await firstValueFrom(output.outcome$);
    assert.is(outcome.status, "delivered");
    assert.is(outcome.attempts, 2);
    assert.is(net.stats.droppedResponses, 1);
    assert.ok(clock.now() < 10_000, "delivered within the policy's timeout");
    // At-least-once: the lost ack's write is in the log too.
    assert.is(broker.read("greetings", partition).length, 2);
    await producer.flush();
  } finally {
    await producer.close().catch(() => {});
  }
});

test("an at-most-once record whose one attempt failed is not 'retries exhausted'", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t");
  const net = chaos(broker.transport(), { seed: 1, clock, dropRequest: 1, apis: ["produce"] });
  const producer = createProducer(net, "t", { clock, requestTimeout: 50, deliverySemantic: atMostOnce() });
  try {
    const error = await rejection((await producer.send(null, "v")).wait());
    assert.instance(error, DeliveryFailedError);
    const failed = error as DeliveryFailedError;
    assert.is(failed.reason, "at-most-once");
    assert.is(failed.attempts, 1);
    assert.not.match(failed.message, /retr/i);
    assert.match(failed.message, /at-most-once/);
  } finally {
    await producer.close().catch(() => {});
  }
});

test("a transport whose request() throws fails that batch with a typed error; others go on", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t", { partitions: 2 });
  const bug = new TypeError("cannot encode this batch");
  const transport = routed(broker.transport(), (request) => {
    if (firstValue(request).startsWith("boom")) throw bug;
    return undefined;
  });
  const producer = createProducer(transport, "t", {
    clock,
    deliverySemantic: atLeastOnce({ maxRetries: 3, initialDelay: 1, maxDelay: 1, strategy: "fixed" }),
  });
  try {
    const outcomes: RecordOutcome[] = [];
    producer.outcomes$.subscribe((o) => outcomes.push(o));
    // Keys "a" and "d" land on different partitions.
    const boom = await producer.send("a", "boom");
    const fine = await producer.send("d", "fine");
    const error = await rejection(boom.wait());
    assert.instance(error, DeliveryFailedError);
    const cause = (error as DeliveryFailedError).cause;
    assert.instance(cause, AcktorError);
    assert.match((cause as AcktorError).message, /cannot encode this batch/);
    assert.is((cause as AcktorError).cause, bug);
    assert.is((error as DeliveryFailedError).attempts, 1, "a throw is not retried");
    assert.is((await fine.wait()).offset, 0);
    const flushed = await rejection(producer.flush());
    assert.instance(flushed, UndeliveredRecordsError);
    assert.is((flushed as UndeliveredRecordsError).errors[0], error);
    assert.equal(outcomes.map((o) => o.status).sort(), ["delivered", "failed"]);
    // The producer keeps working.
    assert.is((await (await producer.send("d", "later")).wait()).offset, 1);
  } finally {
    await producer.close().catch(() => {});
  }
});

test("a batch whose request actor crashes settles as failed instead of hanging", async ({ signal }) => {
  const crash = new Error("a provided action threw");
  const machine = batchMachine.provide({
    actors: {
      request: requestMachine.provide({
        actions: {
          transmit: () => {
            throw crash;
          },
        },
      }),
    },
  });
  const actor = createActor(machine, { input: { batch: null, policy: retryPolicy(), awaitAck: true } }).start();
  try {
    actor.send({ type: "SEAL" });
    actor.send({ type: "DISPATCH", at: 0 });
    const { result } = (await waitFor(actor, (s) => s.status === "done", { signal })).context;
    assert.is(result?.status, "failed");
    const error = result?.status === "failed" ? result.error : undefined;
    assert.instance(error, DeliveryFailedError);
    assert.is((error!.cause as AcktorError).cause, crash);
  } finally {
    actor.stop();
  }
});

test("batches$ reports dispatched before a batch's end, under every semantic (at-most-once ends at once)", async () => {
  for (const deliverySemantic of [atMostOnce(), atLeastOnce(), exactlyOnce()]) {
    const broker = new EmbeddedBroker({ clock: new VirtualClock() });
    broker.createTopic("t", { partitions: 1 });
    const producer = broker.producer("t", { deliverySemantic });
    const types: string[] = [];
    producer.batches$.subscribe((report) => types.push(report.type));
    try {
      await (await producer.send("k", "v")).wait();
      await producer.flush();
      assert.equal(types, ["dispatched", deliverySemantic.kind === "at-most-once" ? "sent-unconfirmed" : "delivered"]);
    } finally {
      await producer.close();
    }
  }
});

test.run();
