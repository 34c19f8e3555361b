/**
 * The sample inputs and events `@xstate/graph` walks each exported machine with, for
 * `test/machine-graph.test.ts`: enough of them that every state is reached and every
 * transition of the definition taken.
 */
import type { AnyMachineSnapshot, AnyStateMachine } from "xstate";
import { replicaMachine } from "../../src/broker/replica-machine.ts";
import { consumerMachine } from "../../src/consumer/machines/consumer-machine.ts";
import { DeliveryFailedError, RequestTimedOutError, UnknownTopicError } from "../../src/errors.ts";
import { batchMachine } from "../../src/producer/machines/batch-machine.ts";
import { producerMachine } from "../../src/producer/machines/producer-machine.ts";
import { requestMachine } from "../../src/producer/machines/request-machine.ts";
import { transactionMachine } from "../../src/producer/machines/transaction-machine.ts";
import { retryPolicy } from "../../src/retry/policy.ts";
import type { Model, SampleEvent } from "./graph-paths.ts";

const POLICY = retryPolicy({ maxRetries: 2, initialDelay: 1, maxDelay: 1, timeout: 1_000, strategy: "fixed" });
const BACKOFF_DONE = { type: "xstate.after.backoff.request.backoff" };
const ctx = (s: AnyMachineSnapshot) => s.context as Record<string, unknown>;

/**
 * `myTurn` is the producer's (exactly-once: no retry before every earlier batch of its
 * partition is resolved); the model makes the first retry wait for a `TURN`.
 */
const requestModel = requestMachine.provide({
  guards: { myTurn: ({ context, event }) => event.type === "TURN" || context.attempts > 1 },
});
const requestModels: Model[] = [true, false].map((awaitAck) => ({
  machine: requestModel,
  input: { batch: null, policy: POLICY, awaitAck, startedAt: 0 },
  events: [
    { type: "SENT" },
    { type: "ACK", baseOffset: 0 },
    { type: "ERROR", error: new RequestTimedOutError(1), at: 0 },
    { type: "ERROR", error: new UnknownTopicError("t"), at: 0 },
    BACKOFF_DONE,
    { type: "TURN", at: 0 },
    { type: "TURN", at: POLICY.timeout },
  ],
  key: (s) => [ctx(s).attempts, ctx(s).awaitAck],
}));

const done = (output: unknown) => ({ type: "xstate.done.actor.request", output });
const batchModels: Model[] = [{
  input: { batch: null, policy: POLICY, awaitAck: true },
  events: [
    { type: "SEAL" },
    { type: "DISPATCH", at: 0 },
    { type: "REJECT", error: new DeliveryFailedError(0, "not-retriable", null) },
    done({ status: "delivered", baseOffset: 0, attempts: 1 }),
    done({ status: "sent", attempts: 1 }),
    done({ status: "failed", error: new DeliveryFailedError(1, "not-retriable", null), attempts: 1 }),
    { type: "xstate.error.actor.request", error: new Error("crashed") },
  ],
}];

/** Every event type a machine names, without a payload (the machines that need none). */
const bare = (machine: AnyStateMachine): SampleEvent[] => machine.events.map((type: string) => ({ type }));

const consumerModels: Model[] = ["before-processing", "after-processing", "idempotent", "transactional", "manual"]
  .map((commit) => ({ input: { commit }, events: bare(consumerMachine), key: () => commit }));

const replicaModels: Model[] = [0, 5].map((lagMs) => ({
  input: { id: 1, lagMs },
  events: [
    { type: "APPENDED", leo: 1, at: 0 },
    { type: "COPY", upTo: 1, asOf: 0 },
    { type: "STOP" },
    { type: "RESUME", leo: 1, at: 0 },
    { type: "SET_LAG", lagMs: 0 },
    { type: "SET_LAG", lagMs: 5 },
  ],
  key: (s) => [ctx(s).leo, ctx(s).lagMs],
}));

/** The six exported machines, each with the models its graph is walked from. */
export const MACHINES: { id: string; machine: AnyStateMachine; models: Model[] }[] = [
  { id: "request", machine: requestMachine, models: requestModels },
  { id: "batch", machine: batchMachine, models: batchModels },
  { id: "producer", machine: producerMachine, models: [{ events: bare(producerMachine) }] },
  { id: "transaction", machine: transactionMachine, models: [{ events: bare(transactionMachine) }] },
  { id: "consumer", machine: consumerMachine, models: consumerModels },
  { id: "replica", machine: replicaMachine, models: replicaModels },
];
