import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { type AnyActorRef, createActor, waitFor } from "xstate";
import { getAdjacencyMap, getShortestPaths } from "xstate/graph";
import { replicaMachine } from "../src/broker/replica-machine.ts";
import {
  DeliveryFailedError,
  DisconnectedError,
  NotLeaderError,
  RecordTooLargeError,
  RequestTimedOutError,
  UnknownTopicError,
} from "../src/errors.ts";
import { batchMachine } from "../src/producer/machines/batch-machine.ts";
import { producerMachine } from "../src/producer/machines/producer-machine.ts";
import {
  type RequestEvent,
  type RequestInput,
  requestMachine,
  type RequestOutput,
} from "../src/producer/machines/request-machine.ts";
import { backoffDelays } from "../src/retry/backoff.ts";
import { type RetryPolicy, retryPolicy } from "../src/retry/policy.ts";
import { sleep } from "../src/runtime/clock.ts";
import { VirtualClock } from "../src/runtime/virtual-clock.ts";

// ---- helpers -------------------------------------------------------------------------

/** The policy the producer uses for at-most-once: one attempt, never a retry. */
const AT_MOST_ONCE: RetryPolicy = retryPolicy({
  maxRetries: 0,
  initialDelay: 0,
  maxDelay: 0,
  timeout: Number.MAX_SAFE_INTEGER,
});
/** Exponential from 10 ms: 10, 100, 1000, ... */
const EXPONENTIAL = retryPolicy({
  maxRetries: 3,
  initialDelay: 10,
  maxDelay: 100_000,
  timeout: 1_000_000,
  strategy: "exponential",
});

/** The delayed event that ends `backoff` (xstate's name for `after: { backoff: ... }`). */
const BACKOFF_DONE = { type: "xstate.after.backoff.request.backoff" } as unknown as RequestEvent;

interface Calls {
  /** Clock time of every `transmit`, with the attempt number it saw. */
  transmits: { at: number; attempt: number }[];
  /** Clock time of every `retrying`, with the delay decided. */
  retries: { at: number; delay: number; attempts: number }[];
}

function recordingRequestMachine(clock: VirtualClock, calls: Calls) {
  return requestMachine.provide({
    actions: {
      transmit: ({ context }) => {
        calls.transmits.push({ at: clock.now(), attempt: context.attempts });
      },
      retrying: ({ context }) => {
        calls.retries.push({
          at: clock.now(),
          delay: context.decision?.retry ? context.decision.delay : -1,
          attempts: context.attempts,
        });
      },
    },
  });
}

function startRequest(input: Partial<RequestInput> = {}) {
  const clock = new VirtualClock();
  const calls: Calls = { transmits: [], retries: [] };
  const actor = createActor(recordingRequestMachine(clock, calls), {
    input: { batch: "payload", policy: EXPONENTIAL, awaitAck: true, startedAt: 0, ...input },
    clock,
  }).start();
  return { clock, calls, actor };
}

type RequestActor = ReturnType<typeof startRequest>["actor"];

function failedOutput(actor: RequestActor): Extract<RequestOutput, { status: "failed" }> {
  const snapshot = actor.getSnapshot();
  assert.is(snapshot.status, "done");
  assert.is(snapshot.value, "failed");
  const output = snapshot.output!;
  assert.is(output.status, "failed");
  const failed = output as Extract<RequestOutput, { status: "failed" }>;
  assert.instance(failed.error, DeliveryFailedError);
  assert.is(failed.error.code, "RETRIES_EXHAUSTED");
  return failed;
}

const retriable = (): RequestTimedOutError => new RequestTimedOutError(100);

// ---- requestMachine ------------------------------------------------------------------

test("request: sending → SENT → awaiting-ack → ACK → delivered", () => {
  const { actor, calls } = startRequest();
  assert.is(actor.getSnapshot().value, "sending");
  assert.is(actor.getSnapshot().context.attempts, 1);
  assert.equal(calls.transmits, [{ at: 0, attempt: 1 }], "transmit runs on entering sending");
  actor.send({ type: "SENT" });
  assert.is(actor.getSnapshot().value, "awaiting-ack");
  actor.send({ type: "SENT" }); // a second SENT changes nothing
  assert.is(actor.getSnapshot().value, "awaiting-ack");
  actor.send({ type: "ACK", baseOffset: 42 });
  const snapshot = actor.getSnapshot();
  assert.is(snapshot.value, "delivered");
  assert.is(snapshot.status, "done");
  assert.equal(snapshot.output, { status: "delivered", baseOffset: 42, attempts: 1 });
  assert.is(calls.transmits.length, 1);
  assert.is(calls.retries.length, 0);
});

test("request: an ACK for offset 0 is a delivery (not mistaken for 'no offset')", () => {
  const { actor } = startRequest();
  actor.send({ type: "SENT" });
  actor.send({ type: "ACK", baseOffset: 0 });
  assert.equal(actor.getSnapshot().output, { status: "delivered", baseOffset: 0, attempts: 1 });
});

test("request: a retriable error backs off on the clock, then sends again as attempt 2", async () => {
  const { actor, calls, clock } = startRequest();
  actor.send({ type: "SENT" });
  const error = retriable();
  actor.send({ type: "ERROR", error, at: clock.now() });
  let snapshot = actor.getSnapshot();
  assert.is(snapshot.value, "backoff");
  assert.equal(snapshot.context.decision, { retry: true, delay: 10 });
  assert.is(snapshot.context.lastError, error);
  assert.equal(calls.retries, [{ at: 0, delay: 10, attempts: 1 }]);
  assert.is(calls.transmits.length, 1, "no resend during the backoff");

  await sleep(clock, 9);
  assert.is(actor.getSnapshot().value, "backoff");
  await waitFor(actor, (s) => s.matches("sending"));
  assert.is(clock.now(), 10);
  snapshot = actor.getSnapshot();
  assert.is(snapshot.context.attempts, 2);
  assert.equal(calls.transmits, [
    { at: 0, attempt: 1 },
    { at: 10, attempt: 2 },
  ]);

  actor.send({ type: "SENT" });
  actor.send({ type: "ACK", baseOffset: 7 });
  assert.equal(actor.getSnapshot().output, { status: "delivered", baseOffset: 7, attempts: 2 });
});

test("request: an error while sending (before SENT) is retried like one while awaiting the ack", async () => {
  const { actor, calls, clock } = startRequest();
  actor.send({ type: "ERROR", error: new DisconnectedError(), at: 0 });
  assert.is(actor.getSnapshot().value, "backoff");
  await waitFor(actor, (s) => s.matches("sending"));
  assert.is(calls.transmits.length, 2);
  assert.is(clock.now(), 10);
});

test("request: a non-retriable error fails at once with reason not-retriable and the cause", () => {
  for (const error of [new UnknownTopicError("t"), new RecordTooLargeError(10, 5), new Error("plain")]) {
    const { actor, calls } = startRequest();
    actor.send({ type: "SENT" });
    actor.send({ type: "ERROR", error, at: 0 });
    const output = failedOutput(actor);
    assert.is(output.attempts, 1);
    assert.is(output.error.reason, "not-retriable");
    assert.is(output.error.cause, error);
    assert.is(output.error.attempts, 1);
    assert.is(calls.transmits.length, 1);
    assert.is(calls.retries.length, 0);
  }
});

test("request: backoff delays follow the policy (exponential 10 → 10, 100, 1000) and maxRetries ends with max-retries", async () => {
  const { actor, calls, clock } = startRequest({ policy: EXPONENTIAL });
  const errors: unknown[] = [];
  for (let attempt = 1; attempt <= EXPONENTIAL.maxRetries + 1; attempt++) {
    await waitFor(actor, (s) => s.matches("sending") && s.context.attempts === attempt);
    actor.send({ type: "SENT" });
    const error = attempt % 2 === 0 ? new NotLeaderError("moved") : retriable();
    errors.push(error);
    actor.send({ type: "ERROR", error, at: clock.now() });
  }
  const output = failedOutput(actor);
  assert.is(output.error.reason, "max-retries");
  assert.is(output.attempts, EXPONENTIAL.maxRetries + 1);
  assert.is(output.error.attempts, 4);
  assert.is(output.error.cause, errors[3], "the cause is the last error");

  assert.equal(backoffDelays(EXPONENTIAL), [10, 100, 1000]);
  assert.equal(
    calls.retries.map((r) => r.delay),
    [10, 100, 1000],
  );
  assert.equal(
    calls.transmits.map((t) => t.at),
    [0, 10, 110, 1110],
    "each attempt starts exactly one backoff after the previous failure",
  );
  assert.equal(
    calls.transmits.map((t) => t.attempt),
    [1, 2, 3, 4],
  );
});

test("request: with maxRetries 0 the first retriable failure is final (max-retries)", () => {
  const { actor, calls } = startRequest({ policy: retryPolicy({ maxRetries: 0 }) });
  actor.send({ type: "SENT" });
  actor.send({ type: "ERROR", error: retriable(), at: 0 });
  const output = failedOutput(actor);
  assert.is(output.error.reason, "max-retries");
  assert.is(output.attempts, 1);
  assert.is(calls.retries.length, 0);
});

test("request: the policy timeout, counted from startedAt, stops retries with reason timeout", async () => {
  // Delays 10, 100: after a failure at t=10 the next attempt would start at 110 >= 50.
  const policy = retryPolicy({
    maxRetries: 10,
    initialDelay: 10,
    maxDelay: 10_000,
    timeout: 50,
    strategy: "exponential",
  });
  const { actor, calls, clock } = startRequest({ policy });
  actor.send({ type: "SENT" });
  actor.send({ type: "ERROR", error: retriable(), at: clock.now() });
  await waitFor(actor, (s) => s.matches("sending"));
  assert.is(clock.now(), 10);
  actor.send({ type: "SENT" });
  actor.send({ type: "ERROR", error: retriable(), at: clock.now() });
  const output = failedOutput(actor);
  assert.is(output.error.reason, "timeout");
  assert.is(output.attempts, 2);
  assert.is(calls.transmits.length, 2);

  // The same failure, but the request only started at t=1000: elapsed is measured from startedAt.
  const late = startRequest({ policy, startedAt: 1000 });
  late.actor.send({ type: "ERROR", error: retriable(), at: 1000 });
  assert.is(late.actor.getSnapshot().value, "backoff");
  const tooLate = startRequest({ policy, startedAt: 1000 });
  tooLate.actor.send({ type: "ERROR", error: retriable(), at: 1045 });
  assert.is(failedOutput(tooLate.actor).error.reason, "timeout");
});

test("request: at-most-once (awaitAck false) ends in sent on SENT, and never backs off", async () => {
  const { actor, calls, clock } = startRequest({ awaitAck: false, policy: AT_MOST_ONCE });
  actor.send({ type: "SENT" });
  const snapshot = actor.getSnapshot();
  assert.is(snapshot.value, "sent");
  assert.is(snapshot.status, "done");
  assert.equal(snapshot.output, { status: "sent", attempts: 1 });
  // Late answers change nothing.
  actor.send({ type: "ACK", baseOffset: 3 });
  actor.send({ type: "ERROR", error: retriable(), at: 0 });
  assert.equal(actor.getSnapshot().output, { status: "sent", attempts: 1 });
  await sleep(clock, 1000);
  assert.is(calls.transmits.length, 1);
  assert.is(calls.retries.length, 0);

  // A failure to even hand it over fails it, without a second transmit.
  const failing = startRequest({ awaitAck: false, policy: AT_MOST_ONCE });
  failing.actor.send({ type: "ERROR", error: retriable(), at: 0 });
  assert.is(failedOutput(failing.actor).attempts, 1);
  assert.is(failedOutput(failing.actor).error.reason, "at-most-once", "not the policy's max-retries");
  await sleep(failing.clock, 1000);
  assert.is(failing.calls.transmits.length, 1);
});

test("request: events that do not apply are ignored; a final state stays final", async () => {
  const { actor, calls, clock } = startRequest();
  actor.send({ type: "SENT" });
  actor.send({ type: "ERROR", error: retriable(), at: 0 });
  // During the backoff a late answer of the failed attempt is not taken as a delivery.
  actor.send({ type: "ACK", baseOffset: 5 });
  actor.send({ type: "ERROR", error: retriable(), at: 1 });
  assert.is(actor.getSnapshot().value, "backoff");
  assert.is(actor.getSnapshot().context.attempts, 1);
  await waitFor(actor, (s) => s.matches("sending"));
  actor.send({ type: "SENT" });
  actor.send({ type: "ACK", baseOffset: 9 });
  const output = actor.getSnapshot().output;
  actor.send({ type: "ERROR", error: new UnknownTopicError("x"), at: clock.now() });
  actor.send({ type: "ACK", baseOffset: 1 });
  assert.equal(actor.getSnapshot().output, output);
  assert.equal(output, { status: "delivered", baseOffset: 9, attempts: 2 });
  assert.is(calls.transmits.length, 2);
});

// ---- requestMachine as a graph -------------------------------------------------------

const GRAPH_EVENTS: RequestEvent[] = [
  { type: "SENT" },
  { type: "ACK", baseOffset: 0 },
  { type: "ERROR", error: new RequestTimedOutError(1), at: 0 },
  { type: "ERROR", error: new UnknownTopicError("t"), at: 0 },
  BACKOFF_DONE,
];
const FINAL = new Set(["delivered", "sent", "failed"]);

type RequestSnapshot = ReturnType<RequestActor["getSnapshot"]>;
const serialize = (s: RequestSnapshot): string => JSON.stringify([s.value, s.context.attempts]);

function requestGraph(input: RequestInput) {
  const adjacency = getAdjacencyMap(requestMachine, {
    input,
    events: GRAPH_EVENTS,
    serializeState: serialize,
    limit: 10_000,
  });
  const states = Object.entries(adjacency).map(([key, { state, transitions }]) => ({
    key,
    state,
    next: (Object.values(transitions) as { state: RequestSnapshot }[]).map((t) => serialize(t.state)),
  }));
  // Which states can still reach a final state: a backwards fixpoint.
  const canFinish = new Set(states.filter((s) => FINAL.has(String(s.state.value))).map((s) => s.key));
  for (let changed = true; changed;) {
    changed = false;
    for (const s of states) {
      if (!canFinish.has(s.key) && s.next.some((n) => canFinish.has(n))) {
        canFinish.add(s.key);
        changed = true;
      }
    }
  }
  return { states, canFinish };
}

test("graph: at-most-once (awaitAck false, the producer's policy) never reaches backoff or a second attempt", () => {
  const { states, canFinish } = requestGraph({ batch: null, policy: AT_MOST_ONCE, awaitAck: false, startedAt: 0 });
  const values = states.map((s) => String(s.state.value));
  assert.ok(values.includes("sent"));
  assert.ok(values.includes("failed"));
  assert.not.ok(values.includes("backoff"), "backoff reachable under at-most-once");
  assert.not.ok(values.includes("delivered"), "at-most-once never claims a delivery");
  assert.ok(states.every((s) => s.state.context.attempts === 1), "only one attempt is ever made");
  for (const s of states) assert.ok(canFinish.has(s.key), `${s.key} cannot reach a final state`);
});

// At-most-once never retries by the machine's own rule, not only because the producer hands
// it a maxRetries-0 policy: an ERROR while still `sending` must not lead to a second transmit.
test("graph: awaitAck false never reaches backoff, whatever the retry policy", () => {
  const { states } = requestGraph({
    batch: null,
    policy: retryPolicy({ maxRetries: 3, initialDelay: 1 }),
    awaitAck: false,
    startedAt: 0,
  });
  const values = states.map((s) => String(s.state.value));
  assert.not.ok(
    values.includes("backoff"),
    `backoff reachable with awaitAck false: ${JSON.stringify(states.map((s) => s.key))}`,
  );
  assert.ok(states.every((s) => s.state.context.attempts === 1), "at-most-once transmitted more than once");
});

test("graph: at-least-once can reach every outcome, bounds attempts by maxRetries + 1, and every state can finish", () => {
  const policy = retryPolicy({ maxRetries: 2, initialDelay: 1, maxDelay: 10, timeout: 1_000_000, strategy: "fixed" });
  const input: RequestInput = { batch: null, policy, awaitAck: true, startedAt: 0 };
  const { states, canFinish } = requestGraph(input);
  const values = new Set(states.map((s) => String(s.state.value)));
  for (const v of ["sending", "awaiting-ack", "backoff", "delivered", "failed"]) {
    assert.ok(values.has(v), `${v} unreachable`);
  }
  assert.not.ok(values.has("sent"), "at-least-once never ends unconfirmed");
  assert.not.ok(values.has("deciding"), "deciding is transient and never rests");
  assert.is(Math.max(...states.map((s) => s.state.context.attempts)), policy.maxRetries + 1);
  for (const s of states) assert.ok(canFinish.has(s.key), `${s.key} cannot reach a final state`);
  for (const s of states.filter((x) => x.state.value === "failed")) {
    const output = s.state.output as Extract<RequestOutput, { status: "failed" }>;
    assert.instance(output.error, DeliveryFailedError);
    if (output.error.reason === "max-retries") assert.is(output.attempts, policy.maxRetries + 1);
  }
  for (const s of states.filter((x) => x.state.value === "backoff")) {
    assert.ok(s.state.context.attempts <= policy.maxRetries);
  }

  // The shortest way to a delivery is one attempt, SENT then ACK.
  const paths = getShortestPaths(requestMachine, {
    input,
    events: GRAPH_EVENTS,
    serializeState: serialize,
    toState: (s) => s.value === "delivered",
  });
  const shortest = paths
    .map((p) => p.steps.map((step): string => step.event.type).filter((type) => type !== "xstate.init"))
    .sort((a, b) => a.length - b.length)[0];
  assert.equal(shortest, ["SENT", "ACK"]);
});

test("property: random event sequences: at-most-once transmits once and never backs off; at-least-once stays within maxRetries", async () => {
  type Step = "SENT" | "ACK" | "RETRIABLE" | "FATAL" | "WAIT";
  const step = fc.constantFrom<Step>("SENT", "ACK", "RETRIABLE", "FATAL", "WAIT");
  await fc.assert(
    fc.asyncProperty(
      fc.boolean(),
      fc.integer({ min: 0, max: 3 }),
      fc.array(step, { maxLength: 25 }),
      async (awaitAck, maxRetries, steps) => {
        const policy = awaitAck
          ? retryPolicy({ maxRetries, initialDelay: 5, maxDelay: 5, timeout: 1_000_000, strategy: "fixed" })
          : AT_MOST_ONCE;
        const { actor, calls, clock } = startRequest({ awaitAck, policy });
        const seen = new Set<string>();
        actor.subscribe((s) => seen.add(String(s.value)));
        seen.add(String(actor.getSnapshot().value));
        for (const s of steps) {
          switch (s) {
            case "SENT":
              actor.send({ type: "SENT" });
              break;
            case "ACK":
              actor.send({ type: "ACK", baseOffset: 1 });
              break;
            case "RETRIABLE":
              actor.send({ type: "ERROR", error: retriable(), at: clock.now() });
              break;
            case "FATAL":
              actor.send({ type: "ERROR", error: new UnknownTopicError("t"), at: clock.now() });
              break;
            case "WAIT":
              await sleep(clock, 10);
              break;
          }
        }
        await sleep(clock, 10);
        const snapshot = actor.getSnapshot();
        assert.is(snapshot.context.attempts, calls.transmits.length, "one transmit per attempt");
        if (!awaitAck) {
          assert.not.ok(seen.has("backoff"));
          assert.not.ok(seen.has("delivered"));
          assert.is(calls.transmits.length, 1);
        } else {
          assert.ok(calls.transmits.length <= maxRetries + 1);
          assert.is(calls.retries.length, calls.transmits.length - 1, "every resend was reported as a retry");
        }
        if (snapshot.status === "done") assert.ok(FINAL.has(String(snapshot.value)));
      },
    ),
    { numRuns: 300 },
  );
});

// ---- batchMachine --------------------------------------------------------------------

function startBatch(input: { awaitAck?: boolean; policy?: RetryPolicy } = {}) {
  const clock = new VirtualClock();
  const calls: Calls = { transmits: [], retries: [] };
  const settled: (RequestOutput | null)[] = [];
  const machine = batchMachine.provide({
    actors: { request: recordingRequestMachine(clock, calls) },
    actions: { settled: ({ context }) => settled.push(context.result) },
  });
  const actor = createActor(machine, {
    input: { batch: { id: 1 }, policy: input.policy ?? EXPONENTIAL, awaitAck: input.awaitAck ?? true },
    clock,
  }).start();
  const child = (): AnyActorRef => {
    const ref = (actor.getSnapshot().children as Record<string, AnyActorRef | undefined>)["request"];
    assert.ok(ref, "no request child");
    return ref!;
  };
  return { actor, clock, calls, settled, child };
}

test("batch: open → SEAL → sealed → DISPATCH → in-flight → delivered, settled once with the result", () => {
  const { actor, calls, settled, child } = startBatch();
  assert.is(actor.getSnapshot().value, "open");
  actor.send({ type: "DISPATCH", at: 5 }); // not before it is sealed
  assert.is(actor.getSnapshot().value, "open");
  assert.is(calls.transmits.length, 0);
  actor.send({ type: "SEAL" });
  assert.is(actor.getSnapshot().value, "sealed");
  actor.send({ type: "SEAL" });
  assert.is(actor.getSnapshot().value, "sealed");
  assert.is(Object.keys(actor.getSnapshot().children).length, 0, "no request before dispatch");

  actor.send({ type: "DISPATCH", at: 0 });
  assert.is(actor.getSnapshot().value, "in-flight");
  const request = child();
  assert.is(request.getSnapshot().value, "sending");
  assert.equal(request.getSnapshot().context.batch, { id: 1 }, "the batch is handed to the request");
  assert.is(calls.transmits.length, 1);

  request.send({ type: "SENT" });
  assert.is(actor.getSnapshot().value, "in-flight");
  request.send({ type: "ACK", baseOffset: 12 });
  const snapshot = actor.getSnapshot();
  assert.is(snapshot.value, "delivered");
  assert.is(snapshot.status, "done");
  assert.equal(snapshot.context.result, { status: "delivered", baseOffset: 12, attempts: 1 });
  assert.equal(settled, [{ status: "delivered", baseOffset: 12, attempts: 1 }]);
  actor.send({ type: "SEAL" });
  actor.send({ type: "DISPATCH", at: 1 });
  assert.is(settled.length, 1, "settled exactly once");
});

test("batch: the exported machine runs its own request child, no provided actor needed", () => {
  const actor = createActor(batchMachine, {
    input: { batch: null, policy: retryPolicy({ maxRetries: 0 }), awaitAck: true },
  }).start();
  try {
    actor.send({ type: "SEAL" });
    actor.send({ type: "DISPATCH", at: 0 });
    assert.is(actor.getSnapshot().value, "in-flight");
    const request = actor.getSnapshot().children.request!;
    assert.is(request.getSnapshot().value, "sending");
    request.send({ type: "SENT" });
    request.send({ type: "ACK", baseOffset: 4 });
    assert.equal(actor.getSnapshot().context.result, { status: "delivered", baseOffset: 4, attempts: 1 });
  } finally {
    actor.stop();
  }
});

test("batch: a failed request ends the batch in failed, settled once with the DeliveryFailedError", () => {
  const { actor, settled, child } = startBatch();
  actor.send({ type: "SEAL" });
  actor.send({ type: "DISPATCH", at: 0 });
  const cause = new RecordTooLargeError(100, 10);
  child().send({ type: "ERROR", error: cause, at: 0 });
  assert.is(actor.getSnapshot().value, "failed");
  assert.is(settled.length, 1);
  const result = settled[0] as Extract<RequestOutput, { status: "failed" }>;
  assert.is(result.status, "failed");
  assert.instance(result.error, DeliveryFailedError);
  assert.is(result.error.reason, "not-retriable");
  assert.is(result.error.cause, cause);
});

test("batch: at-most-once ends in sent, settled once", () => {
  const { actor, calls, settled, child } = startBatch({ awaitAck: false, policy: AT_MOST_ONCE });
  actor.send({ type: "SEAL" });
  actor.send({ type: "DISPATCH", at: 0 });
  child().send({ type: "SENT" });
  assert.is(actor.getSnapshot().value, "sent");
  assert.equal(settled, [{ status: "sent", attempts: 1 }]);
  assert.is(calls.transmits.length, 1);
});

test("batch: retries run inside the request child, and the policy timeout counts from DISPATCH's at", async () => {
  const policy = retryPolicy({ maxRetries: 5, initialDelay: 10, maxDelay: 10, timeout: 50, strategy: "fixed" });
  const { actor, clock, calls, settled, child } = startBatch({ policy });
  await sleep(clock, 1000);
  actor.send({ type: "SEAL" });
  actor.send({ type: "DISPATCH", at: clock.now() });
  assert.is(child().getSnapshot().context.startedAt, 1000);
  // 0 ms into the request: retried (it would be a timeout if counted from 0).
  child().send({ type: "ERROR", error: retriable(), at: clock.now() });
  assert.is(actor.getSnapshot().value, "in-flight");
  await waitFor(child(), (s) => s.matches("sending") && s.context.attempts === 2);
  assert.is(clock.now(), 1010);
  assert.is(settled.length, 0, "a retry does not settle the batch");
  child().send({ type: "SENT" });
  child().send({ type: "ACK", baseOffset: 3 });
  assert.equal(settled, [{ status: "delivered", baseOffset: 3, attempts: 2 }]);
  assert.is(calls.retries.length, 1);
});

// ---- producerMachine -----------------------------------------------------------------

test("producer lifecycle: open → CLOSE → closing → DRAINED → closed (final); other events are ignored", () => {
  const actor = createActor(producerMachine).start();
  assert.is(actor.getSnapshot().value, "open");
  actor.send({ type: "DRAINED" });
  assert.is(actor.getSnapshot().value, "open", "DRAINED before CLOSE is ignored");
  actor.send({ type: "CLOSE" });
  assert.is(actor.getSnapshot().value, "closing");
  actor.send({ type: "CLOSE" });
  assert.is(actor.getSnapshot().value, "closing");
  assert.is(actor.getSnapshot().status, "active");
  actor.send({ type: "DRAINED" });
  assert.is(actor.getSnapshot().value, "closed");
  assert.is(actor.getSnapshot().status, "done");
  actor.send({ type: "CLOSE" });
  actor.send({ type: "DRAINED" });
  assert.is(actor.getSnapshot().value, "closed");
});

// ---- replicaMachine ------------------------------------------------------------------

function startReplica(lagMs: number) {
  const clock = new VirtualClock();
  const copies: { at: number; leo: number; asOf: number }[] = [];
  const actor = createActor(
    replicaMachine.provide({ actions: { copied: (_, params) => copies.push({ at: clock.now(), ...params }) } }),
    { input: { id: 1, lagMs }, clock },
  ).start();
  return { clock, copies, actor };
}

test("replica: APPENDED is copied after the lag, and copied reports the leader's end", async () => {
  const { clock, copies, actor } = startReplica(50);
  assert.equal(actor.getSnapshot().context, { id: 1, leo: 0, lagMs: 50 });
  actor.send({ type: "APPENDED", leo: 3, at: 0 });
  assert.equal(copies, []);
  assert.is(actor.getSnapshot().context.leo, 0);
  await sleep(clock, 49);
  assert.equal(copies, []);
  await sleep(clock, 1);
  assert.equal(copies, [{ at: 50, leo: 3, asOf: 0 }]);
  assert.is(actor.getSnapshot().context.leo, 3);

  actor.send({ type: "APPENDED", leo: 5, at: 50 });
  await sleep(clock, 20);
  actor.send({ type: "APPENDED", leo: 9, at: 70 });
  await sleep(clock, 100);
  assert.equal(copies.slice(1), [
    { at: 100, leo: 5, asOf: 50 },
    { at: 120, leo: 9, asOf: 70 },
  ]);
});

test("replica: with zero lag the copy is immediate", () => {
  const { copies, actor } = startReplica(0);
  actor.send({ type: "APPENDED", leo: 2, at: 0 });
  assert.equal(copies, [{ at: 0, leo: 2, asOf: 0 }]);
  assert.is(actor.getSnapshot().context.leo, 2);
});

test("replica: STOP ignores appends and loses copies under way; RESUME catches up after the lag", async () => {
  const { clock, copies, actor } = startReplica(50);
  actor.send({ type: "APPENDED", leo: 1, at: 0 });
  await sleep(clock, 10);
  actor.send({ type: "STOP" });
  assert.is(actor.getSnapshot().value, "stopped");
  actor.send({ type: "APPENDED", leo: 4, at: 10 });
  await sleep(clock, 200);
  assert.equal(copies, [], "a stopped replica copies nothing, not even the fetch under way");
  assert.is(actor.getSnapshot().context.leo, 0);

  actor.send({ type: "RESUME", leo: 4, at: clock.now() });
  assert.is(actor.getSnapshot().value, "following");
  await sleep(clock, 49);
  assert.equal(copies, []);
  await sleep(clock, 1);
  assert.equal(copies, [{ at: 260, leo: 4, asOf: 210 }]);
  assert.is(actor.getSnapshot().context.leo, 4);
});

test("replica: SET_LAG changes the lag (in any state); an older copy never moves leo back", async () => {
  const { clock, copies, actor } = startReplica(50);
  actor.send({ type: "APPENDED", leo: 1, at: 0 });
  actor.send({ type: "SET_LAG", lagMs: 10 });
  assert.is(actor.getSnapshot().context.lagMs, 10);
  actor.send({ type: "APPENDED", leo: 2, at: 0 });
  await sleep(clock, 100);
  // The faster copy of 2 lands at 10; the older copy of 1 at 50 is ignored.
  assert.equal(copies, [{ at: 10, leo: 2, asOf: 0 }]);
  assert.is(actor.getSnapshot().context.leo, 2);

  actor.send({ type: "STOP" });
  actor.send({ type: "SET_LAG", lagMs: 0 });
  assert.is(actor.getSnapshot().context.lagMs, 0);
  actor.send({ type: "RESUME", leo: 6, at: clock.now() });
  assert.equal(copies[1], { at: 100, leo: 6, asOf: 100 }, "zero lag after resume copies at once");
});

test.run();
