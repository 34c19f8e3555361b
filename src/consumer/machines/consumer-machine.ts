import { type EventObject, type MetaObject, type NonReducibleUnknown, setup, type StateMachine } from "xstate";
import type { Checked, FlatStateSchema } from "../../machine-types.ts";
import type { CommitStrategy } from "../config.ts";

/** Events that drive a consumer's loop. */
export type ConsumerEvent =
  /** A reader (`run`, `records$`, `for await`) started the loop. */
  | { type: "START" }
  /** The member joined the group (or rejoined after its session was lost). */
  | { type: "JOINED" }
  /** A fetch returned records: the strategy decides whether they are committed or handled first. */
  | { type: "RECORDS" }
  /** A full round of fetches returned nothing new: wait `pollIntervalMs`. */
  | { type: "IDLE" }
  /** The poll interval passed. */
  | { type: "WAKE" }
  /**
   * The handler is done with the batch: whatever the strategy commits after processing is
   * due now (after-processing offsets, idempotent acks, the transaction's input offsets).
   */
  | { type: "COMMIT" }
  /** A handler failed on a unit below `maxDeliveries`: it comes again, after what was handled before it is committed. */
  | { type: "REDELIVER" }
  /** The step in hand finished: the commit landed, or the rebalance was taken in. */
  | { type: "DONE" }
  /** The transaction aborted (a handler failure, a write, a fenced commit): its batches come again. */
  | { type: "ABORTED" }
  /** A heartbeat or a fenced request says ownership or the generation changed. */
  | { type: "REBALANCE" }
  /** The member lost its membership (session expired): join afresh. */
  | { type: "REJOIN" }
  /** The reader stopped (its AbortSignal, `return()`, unsubscribe). */
  | { type: "STOP" }
  /** Something the loop cannot recover from (fenced producer, closed transport, a commit that kept failing). */
  | { type: "FAIL" }
  | { type: "CLOSE" };

/** What the machine decides by: the consumer's commit strategy. */
export interface ConsumerMachineInput {
  readonly commit: CommitStrategy;
}

/** The machine's context: its input, unchanged. */
export type ConsumerContext = ConsumerMachineInput;

/** The states of {@link consumerMachine}: a snapshot's `value` is one of them. */
export type ConsumerStateValue =
  | "idle"
  | "joining"
  | "fetching"
  | "polling"
  | "processing"
  | "committing"
  | "committing-transaction"
  | "rebalancing"
  | "failed"
  | "closed";

/**
 * The type of {@link consumerMachine}, written out because JSR wants every exported value's type
 * explicit, and checked against the machine so that it cannot fall behind it.
 */
export type ConsumerMachine = StateMachine<
  ConsumerContext,
  ConsumerEvent,
  Record<never, never>, // children
  never, // actors
  never, // actions
  // guards
  | { type: "commitsFirst"; params: unknown }
  | { type: "commitsAfter"; params: unknown }
  | { type: "transactional"; params: unknown },
  never, // delays
  ConsumerStateValue,
  string, // tags
  NonReducibleUnknown, // input: a ConsumerMachineInput, or none for after-processing
  NonReducibleUnknown, // output
  EventObject, // emitted events
  MetaObject, // state meta
  FlatStateSchema<"consumer", ConsumerStateValue>,
  MetaObject // transition meta
>;

// Between two steps the loop looks at the group: a lost session rejoins, a changed assignment
// rebalances, a stopped reader stops. It looks there only from `fetching`, and from
// `committing` when a fenced commit left it there; every other state is always left by the
// event its own step sends (or by FAIL, if that step throws).
const betweenSteps = { REBALANCE: "rebalancing", REJOIN: "joining", STOP: "idle", FAIL: "failed" } as const;

// As xstate infers it; exported below under the written-out type, which must match it exactly.
const machine = setup({
  types: {
    context: {} as ConsumerContext,
    events: {} as ConsumerEvent,
  },
  guards: {
    /** At-most-once: a batch's offsets are committed before its records are handed out. */
    commitsFirst: ({ context }) => context.commit === "before-processing",
    /** At-least-once (and idempotent output): handled records are committed (acknowledged) after. */
    commitsAfter: ({ context }) => context.commit === "after-processing" || context.commit === "idempotent",
    /** Exactly-once: the input offsets commit inside the handler's transaction. */
    transactional: ({ context }) => context.commit === "transactional",
  },
}).createMachine({
  id: "consumer",
  // The input stays optional (`unknown`), so the machine can be run alone, as after-processing.
  context: ({ input }) => ({
    commit: (input as Partial<ConsumerMachineInput> | undefined)?.commit ?? "after-processing",
  }),
  initial: "idle",
  states: {
    // close() stops the reader and waits for its loop (which ends in STOP or FAIL) before CLOSE.
    idle: { on: { START: "joining", CLOSE: "closed" } },
    joining: { on: { JOINED: "fetching", FAIL: "failed" } },
    fetching: {
      on: {
        RECORDS: [{ guard: "commitsFirst", target: "committing" }, { target: "processing" }],
        IDLE: "polling",
        ...betweenSteps,
      },
    },
    // Waiting for the poll interval, which cannot fail and ends early on a stop.
    polling: { on: { WAKE: "fetching" } },
    // Under `transactional` the handler runs inside the open transaction.
    processing: {
      on: {
        COMMIT: [
          { guard: "commitsAfter", target: "committing" },
          { guard: "transactional", target: "committing-transaction" },
          { target: "fetching" },
        ],
        REDELIVER: [{ guard: "commitsAfter", target: "committing" }, { target: "fetching" }],
        ABORTED: "fetching",
        FAIL: "failed",
      },
    },
    // A fenced commit leaves the loop here, to rebalance, rejoin or stop from.
    committing: {
      on: { DONE: [{ guard: "commitsFirst", target: "processing" }, { target: "fetching" }], ...betweenSteps },
    },
    // The input offsets join the transaction, which commits with the handler's output, or aborts.
    "committing-transaction": { on: { DONE: "fetching", ABORTED: "fetching", FAIL: "failed" } },
    rebalancing: { on: { DONE: "fetching", FAIL: "failed" } },
    failed: { on: { START: "joining", CLOSE: "closed" } },
    closed: { type: "final" },
  },
});

/**
 * A consumer's loop, one actor per consumer, started with the consumer's commit strategy
 * (`input: { commit }`, default `after-processing`). The strategy is a guard: each is a path
 * through the machine, and the consumer does the step its state names.
 *
 * - `before-processing`: `fetching → committing → processing → fetching`
 * - `after-processing` (and `idempotent`): `fetching → processing → committing → fetching`
 * - `transactional`: `fetching → processing → committing-transaction → fetching`, the
 *   handler running inside the transaction and the input offsets committing with its output
 * - `manual`: `fetching → processing → fetching`
 *
 * Around them: `idle → joining → fetching` when a reader starts, `polling` when nothing is
 * new, `rebalancing` when the group's assignment changed or a request was fenced, `joining`
 * again when the member's session was lost. A handler failure sends `REDELIVER` (what was
 * handled before it is committed first, under after-processing), an aborted transaction
 * `ABORTED`: both go back to `fetching`, which reads the unit again. `STOP` returns to `idle`
 * (the member stays in the group and a new reader may start), `FAIL` leads to `failed`,
 * from which a new reader may start again, and `CLOSE` to the final `closed`.
 */
export const consumerMachine: ConsumerMachine = machine satisfies Checked<ConsumerMachine, typeof machine>;
