/** The exactly-once additions to the machines, driven directly as actors. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createActor } from "xstate";
import { getShortestPaths } from "xstate/graph";
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

test("transaction machine: fenced and failed are final from any state", () => {
  for (const ending of ["FENCED", "FATAL"] as const) {
    for (const prefix of [[], ["READY"], ["READY", "BEGIN"], ["READY", "BEGIN", "COMMIT"]] as const) {
      const actor = createActor(transactionMachine).start();
      for (const type of prefix) actor.send({ type });
      actor.send({ type: ending });
      assert.is(actor.getSnapshot().status, "done");
      assert.is(actor.getSnapshot().value, ending === "FENCED" ? "fenced" : "failed");
    }
  }
});

test("transaction machine graph: every state reaches ready again or a final state", () => {
  const paths = getShortestPaths(transactionMachine, {
    events: ["READY", "BEGIN", "COMMIT", "ABORT", "COMMITTED", "ABORTED", "ABORTABLE", "FENCED", "FATAL"].map((type) =>
      ({ type }) as TransactionEvent
    ),
  });
  const reached = new Set(paths.map((p) => String(p.state.value)));
  assert.equal(
    [...reached].sort(),
    ["aborting", "abortable", "committing", "failed", "fenced", "in-transaction", "initializing", "ready"].sort(),
  );
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

test("request machine: a turn that comes after the policy timeout fails the batch instead of sending", () => {
  const machine = requestMachine.provide({ guards: { myTurn: () => false } });
  const policy = retryPolicy({ maxRetries: 5, initialDelay: 0, maxDelay: 0, timeout: 100, strategy: "fixed" });
  const actor = createActor(machine, {
    clock: new VirtualClock(),
    input: { batch: null, policy, awaitAck: true, startedAt: 0 },
  }).start();
  actor.send({ type: "SENT" });
  actor.send({ type: "ERROR", error: new OutOfOrderSequenceError("x"), at: 0 });
  return new Promise<void>((resolve) =>
    setTimeout(() => {
      assert.is(actor.getSnapshot().value, "waiting-turn");
      actor.send({ type: "TURN", at: 150 });
      assert.is(actor.getSnapshot().value, "failed");
      const output = actor.getSnapshot().output;
      assert.is(output?.status === "failed" && output.error.reason, "timeout");
      resolve();
    }, 5)
  );
});

test.run();
