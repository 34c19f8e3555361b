/** The exactly-once additions to the machines, driven directly as actors. */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { createActor } from "xstate";
import { getAdjacencyMap } from "xstate/graph";
import {
  OutOfOrderSequenceError,
  requestMachine,
  retryPolicy,
  type TransactionEvent,
  transactionMachine,
  VirtualClock,
} from "../src/index.ts";

test("transaction machine: ready → in-transaction → committing → ready, and aborting back to ready", () => {
  const actor = createActor(transactionMachine).start();
  const path = [String(actor.getSnapshot().value)];
  actor.subscribe((s) => path.push(String(s.value)));
  for (const type of ["READY", "BEGIN", "COMMIT", "COMMITTED", "BEGIN", "ABORT", "ABORTED"] as const) {
    actor.send({ type });
  }
  assert.equal(path, [
    "initializing",
    "ready",
    "in-transaction",
    "committing",
    "ready",
    "in-transaction",
    "aborting",
    "ready",
  ]);
});

test("transaction machine: a failed write makes the transaction abortable, and only ABORT leads on", () => {
  const actor = createActor(transactionMachine).start();
  for (const type of ["READY", "BEGIN", "ABORTABLE"] as const) actor.send({ type });
  assert.is(actor.getSnapshot().value, "abortable");
  assert.not.ok(actor.getSnapshot().can({ type: "COMMIT" }));
  assert.not.ok(actor.getSnapshot().can({ type: "BEGIN" }));
  actor.send({ type: "ABORT" });
  actor.send({ type: "ABORTED" });
  assert.is(actor.getSnapshot().value, "ready");
});

test("transaction machine: misuse is not a transition, so it can be refused before it happens", () => {
  const actor = createActor(transactionMachine).start();
  actor.send({ type: "READY" });
  const refused: TransactionEvent["type"][] = ["COMMIT", "ABORT", "COMMITTED"];
  for (const type of refused) assert.not.ok(actor.getSnapshot().can({ type } as TransactionEvent), type);
  actor.send({ type: "BEGIN" });
  assert.not.ok(actor.getSnapshot().can({ type: "BEGIN" }), "no second transaction while one is open");
  actor.send({ type: "COMMIT" });
  assert.not.ok(actor.getSnapshot().can({ type: "BEGIN" }), "no new transaction while committing");
  assert.not.ok(actor.getSnapshot().can({ type: "ABORT" }), "no abort while committing");
});

test("transaction machine: a newer producer fences any open transaction, a failed abort is fatal; both are final", () => {
  const open = { "in-transaction": ["BEGIN"], committing: ["BEGIN", "COMMIT"], abortable: ["BEGIN", "ABORTABLE"] };
  const states = { ...open, aborting: ["BEGIN", "ABORT"] } as Record<string, TransactionEvent["type"][]>;
  for (const [state, path] of Object.entries(states)) {
    for (const ending of ["FENCED", "FATAL"] as const) {
      const actor = createActor(transactionMachine).start();
      for (const type of ["READY", ...path] as const) actor.send({ type });
      assert.is(actor.getSnapshot().value, state);
      actor.send({ type: ending });
      // A fatal error is met only by an abort that failed: nowhere else is there nothing left to try.
      const ends = ending === "FENCED" || state === "aborting";
      assert.is(
        actor.getSnapshot().value,
        ends ? (ending === "FENCED" ? "fenced" : "failed") : state,
        `${ending} in ${state}`,
      );
      assert.is(actor.getSnapshot().status, ends ? "done" : "active", `${ending} in ${state}`);
    }
  }
  // Before a transaction nothing the producer sends can be fenced or fail fatally.
  for (const prefix of [[], ["READY"]] as const) {
    for (const ending of ["FENCED", "FATAL"] as const) {
      const actor = createActor(transactionMachine).start();
      for (const type of prefix) actor.send({ type });
      assert.not.ok(actor.getSnapshot().can({ type: ending }), `${ending} after ${prefix.join(", ") || "nothing"}`);
    }
  }
});

// Not a replay of the machine's table: a liveness property computed over the graph the
// machine generates. Every state reachable by any event sequence must be able to get back to
// `ready` *without* FENCED or FATAL (which end everything from anywhere, and would make the
// check hold trivially). A state with no way back (an `aborting` that ABORTED no longer
// leaves, say) would strand the producer, and fails here.
test("transaction machine graph: every reachable state can get back to ready without fencing or a fatal error", () => {
  const events = ["READY", "BEGIN", "COMMIT", "ABORT", "COMMITTED", "ABORTED", "ABORTABLE", "FENCED", "FATAL"];
  const graph = (only: string[]) =>
    getAdjacencyMap(transactionMachine, { events: only.map((type) => ({ type }) as TransactionEvent) });
  const keyOf = (value: unknown): string => JSON.stringify(value);
  const all = graph(events);
  const reachable = Object.values(all).map(({ state }) => keyOf(state.value));
  assert.ok(reachable.length >= 6, `the graph was explored (${reachable.join(", ")})`);
  const edges = Object.values(graph(events.filter((e) => e !== "FENCED" && e !== "FATAL"))).map((
    { state, transitions },
  ) => ({
    from: keyOf(state.value),
    final: state.status === "done",
    to: Object.values(transitions).map((t) => keyOf((t as { state: { value: unknown } }).state.value)),
  }));
  const canReady = new Set([keyOf("ready")]);
  for (let changed = true; changed;) {
    changed = false;
    for (const e of edges) {
      if (!canReady.has(e.from) && e.to.some((t) => canReady.has(t))) {
        canReady.add(e.from);
        changed = true;
      }
    }
  }
  const stranded = reachable.filter((v) => !canReady.has(v) && !['"fenced"', '"failed"'].includes(v));
  assert.equal(stranded, [], "states with no way back to ready");
});

test("request machine: a retry that is not its turn waits in waiting-turn until TURN", async () => {
  const clock = new VirtualClock();
  let turn = false;
  const sent: number[] = [];
  const machine = requestMachine.provide({
    actions: { transmit: ({ context }) => void sent.push(context.attempts) },
    guards: { myTurn: () => turn },
  });
  const policy = retryPolicy({ maxRetries: 5, initialDelay: 10, maxDelay: 10, timeout: 1000, strategy: "fixed" });
  const actor = createActor(machine, { clock, input: { batch: null, policy, awaitAck: true, startedAt: 0 } }).start();
  actor.send({ type: "SENT" });
  actor.send({ type: "ERROR", error: new OutOfOrderSequenceError("earlier batch pending"), at: 0 });
  assert.is(actor.getSnapshot().value, "backoff");
  await new Promise<void>((resolve) => clock.setTimeout(resolve, 20));
  assert.is(actor.getSnapshot().value, "waiting-turn");
  actor.send({ type: "TURN", at: clock.now() });
  assert.is(actor.getSnapshot().value, "waiting-turn", "still not its turn");
  turn = true;
  actor.send({ type: "TURN", at: clock.now() });
  assert.is(actor.getSnapshot().value, "sending");
  assert.equal(sent, [1, 2]);
});

test("request machine: a turn that comes after the policy timeout fails the batch instead of sending", async () => {
  const machine = requestMachine.provide({ guards: { myTurn: () => false } });
  const clock = new VirtualClock();
  const policy = retryPolicy({ maxRetries: 5, initialDelay: 0, maxDelay: 0, timeout: 100, strategy: "fixed" });
  const actor = createActor(machine, {
    clock,
    input: { batch: null, policy, awaitAck: true, startedAt: 0 },
  }).start();
  actor.send({ type: "SENT" });
  actor.send({ type: "ERROR", error: new OutOfOrderSequenceError("x"), at: 0 });
  // The zero backoff runs on the virtual clock; assertions stay in the test body, not in a timer.
  await new Promise<void>((resolve) => clock.setTimeout(resolve, 5));
  assert.is(actor.getSnapshot().value, "waiting-turn");
  actor.send({ type: "TURN", at: 150 });
  assert.is(actor.getSnapshot().value, "failed");
  const output = actor.getSnapshot().output;
  assert.is(output?.status === "failed" && output.error.reason, "timeout");
  assert.equal(actor.getSnapshot().context.decision, { retry: false, reason: "timeout" }, "the decision is no retry");
});

test("request machine: the timeout of a turn counts from the request's start, not from clock zero", async () => {
  let turn = false;
  const machine = requestMachine.provide({ guards: { myTurn: () => turn } });
  const clock = new VirtualClock();
  const policy = retryPolicy({ maxRetries: 5, initialDelay: 0, maxDelay: 0, timeout: 100, strategy: "fixed" });
  // Started at 1000: a turn at 1050 is 50 ms in, within the timeout, and its retry goes.
  const actor = createActor(machine, { clock, input: { batch: null, policy, awaitAck: true, startedAt: 1000 } })
    .start();
  actor.send({ type: "SENT" });
  actor.send({ type: "ERROR", error: new OutOfOrderSequenceError("x"), at: 1000 });
  await new Promise<void>((resolve) => clock.setTimeout(resolve, 5));
  assert.is(actor.getSnapshot().value, "waiting-turn");
  turn = true;
  actor.send({ type: "TURN", at: 1050 });
  assert.is(actor.getSnapshot().value, "sending");
  assert.is(actor.getSnapshot().context.attempts, 2);
});

test.run();
