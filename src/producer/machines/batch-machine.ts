import {
  type ActorRefFromLogic,
  assign,
  type EventObject,
  type MetaObject,
  type NonReducibleUnknown,
  setup,
  type StateMachine,
} from "xstate";
import { DeliveryFailedError, transportThrew } from "../../errors.ts";
import type { Checked, FlatStateSchema } from "../../machine-types.ts";
import { type RequestInput, type RequestMachine, requestMachine, type RequestOutput } from "./request-machine.ts";

/** What a batch actor starts from: everything its request actor needs but the start time. */
export type BatchInput<B = unknown> = Omit<RequestInput<B>, "startedAt">;

/** A batch actor's memory. */
export type BatchContext<B = unknown> = BatchInput<B> & {
  /** Clock time of the dispatch, the start of the retry policy's `timeout`. */
  readonly dispatchedAt: number;
  /** How the request ended, once it has. */
  readonly result: RequestOutput | null;
};

/** Events the producer drives a batch with. Records are never events: they go into plain arrays. */
export type BatchEvent =
  /** Full, lingered long enough, or flushed: no more records go in. */
  | { type: "SEAL" }
  /** An in-flight slot is free: send it. `at` is the clock time. */
  | { type: "DISPATCH"; at: number }
  /**
   * The batch can never be sent (its partition could not join the transaction): it fails
   * without an attempt, so nothing waits on it forever.
   */
  | { type: "REJECT"; error: DeliveryFailedError };

/** The states of {@link batchMachine}: a snapshot's `value` is one of them. */
export type BatchStateValue = "open" | "sealed" | "in-flight" | "delivered" | "sent" | "failed";

/**
 * The type of {@link batchMachine}, written out because JSR wants every exported value's type
 * explicit, and checked against the machine so that it cannot fall behind it.
 */
export type BatchMachine = StateMachine<
  BatchContext,
  BatchEvent,
  // xstate names children only from a machine's top-level `invoke`; this one invokes in a
  // state, so any child id maps to the request actor.
  Record<string, ActorRefFromLogic<RequestMachine> | undefined>,
  { src: "request"; logic: RequestMachine; id: string | undefined }, // actors
  { type: "settled"; params: unknown }, // actions
  never, // guards
  never, // delays
  BatchStateValue,
  string, // tags
  BatchInput,
  NonReducibleUnknown, // output
  EventObject, // emitted events
  MetaObject, // state meta
  FlatStateSchema<"batch", BatchStateValue>,
  MetaObject // transition meta
>;

// As xstate infers it; exported below under the written-out type, which must match it exactly.
const machine = setup({
  types: {
    context: {} as BatchContext,
    input: {} as BatchInput,
    events: {} as BatchEvent,
  },
  actors: { request: requestMachine },
  actions: {
    settled: () => {},
  },
}).createMachine({
  id: "batch",
  context: ({ input }) => ({ ...input, dispatchedAt: 0, result: null }),
  initial: "open",
  states: {
    open: { on: { SEAL: "sealed" } },
    sealed: {
      on: {
        DISPATCH: { target: "in-flight", actions: assign({ dispatchedAt: ({ event }) => event.at }) },
        REJECT: {
          target: "failed",
          actions: assign({ result: ({ event }) => ({ status: "failed" as const, error: event.error, attempts: 0 }) }),
        },
      },
    },
    "in-flight": {
      invoke: {
        id: "request",
        src: "request",
        input: ({ context }) => ({
          batch: context.batch,
          policy: context.policy,
          awaitAck: context.awaitAck,
          startedAt: context.dispatchedAt,
          ...(context.random ? { random: context.random } : {}),
        }),
        onDone: [
          {
            guard: ({ event }) => event.output.status === "delivered",
            target: "delivered",
            actions: assign({ result: ({ event }) => event.output }),
          },
          {
            guard: ({ event }) => event.output.status === "sent",
            target: "sent",
            actions: assign({ result: ({ event }) => event.output }),
          },
          { target: "failed", actions: assign({ result: ({ event }) => event.output }) },
        ],
        // A request actor that crashed (a provided action threw) must still settle its batch,
        // or everything waiting on it (flush, the in-flight slot, the buffer) would wait forever.
        onError: {
          target: "failed",
          actions: assign({
            result: ({ event }) => ({
              status: "failed" as const,
              error: new DeliveryFailedError(1, "not-retriable", transportThrew(event.error)),
              attempts: 1,
            }),
          }),
        },
      },
    },
    delivered: { type: "final", entry: "settled" },
    sent: { type: "final", entry: "settled" },
    failed: { type: "final", entry: "settled" },
  },
});

/**
 * One batch of records for one partition:
 *
 * `open → sealed → in-flight → delivered | failed`, `sealed → failed` when it can never be
 * sent, and for at-most-once `in-flight → sent`
 * (written, unconfirmed). While in flight it runs a {@link requestMachine} child, which owns
 * every attempt and retry; the batch only learns the final result.
 *
 * The producer provides `settled`, which releases the batch's in-flight slot and buffer space
 * and reports its outcome.
 */
export const batchMachine: BatchMachine = machine satisfies Checked<BatchMachine, typeof machine>;
