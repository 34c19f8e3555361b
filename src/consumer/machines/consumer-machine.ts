import {
  type EventObject,
  type MachineContext,
  type MetaObject,
  type NonReducibleUnknown,
  setup,
  type StateMachine,
} from "xstate";
import type { Checked, FlatStateSchema } from "../../machine-types.ts";

/** Events that drive a consumer's loop. */
export type ConsumerEvent =
  /** A reader (`run`, `records$`, `for await`) started the loop. */
  | { type: "START" }
  /** The member joined the group (or rejoined after its session was lost). */
  | { type: "JOINED" }
  /** A fetch returned records. */
  | { type: "RECORDS" }
  /** A full round of fetches returned nothing new: wait `pollIntervalMs`. */
  | { type: "IDLE" }
  /** The poll interval passed. */
  | { type: "WAKE" }
  /** The batch was handled and its commit (after-processing, before-processing) is due. */
  | { type: "COMMIT" }
  /** The commit landed, or the batch needed none. */
  | { type: "DONE" }
  /** A heartbeat or a fenced request says ownership or the generation changed. */
  | { type: "REBALANCE" }
  /** The member lost its membership (session expired): join afresh. */
  | { type: "REJOIN" }
  /** The reader stopped (its AbortSignal, `return()`, unsubscribe). */
  | { type: "STOP" }
  /** Something the loop cannot recover from (fenced producer, closed transport). */
  | { type: "FAIL" }
  | { type: "CLOSE" };

/** The states of {@link consumerMachine}: a snapshot's `value` is one of them. */
export type ConsumerStateValue =
  | "idle"
  | "joining"
  | "fetching"
  | "polling"
  | "processing"
  | "committing"
  | "rebalancing"
  | "failed"
  | "closed";

/**
 * The type of {@link consumerMachine}, written out because JSR wants every exported value's type
 * explicit, and checked against the machine so that it cannot fall behind it.
 */
export type ConsumerMachine = StateMachine<
  MachineContext, // context: none
  ConsumerEvent,
  Record<never, never>, // children
  never, // actors
  never, // actions
  never, // guards
  never, // delays
  ConsumerStateValue,
  string, // tags
  NonReducibleUnknown, // input
  NonReducibleUnknown, // output
  EventObject, // emitted events
  MetaObject, // state meta
  FlatStateSchema<"consumer", ConsumerStateValue>,
  MetaObject // transition meta
>;

// What may interrupt any working state: the loop checks for these between steps.
const interrupts = { REBALANCE: "rebalancing", REJOIN: "joining", STOP: "idle", FAIL: "failed" } as const;

// As xstate infers it; exported below under the written-out type, which must match it exactly.
const machine = setup({
  types: { events: {} as ConsumerEvent },
}).createMachine({
  id: "consumer",
  initial: "idle",
  on: { CLOSE: ".closed" },
  states: {
    idle: { on: { START: "joining" } },
    joining: { on: { JOINED: "fetching", STOP: "idle", FAIL: "failed" } },
    fetching: { on: { RECORDS: "processing", IDLE: "polling", ...interrupts } },
    polling: { on: { WAKE: "fetching", ...interrupts } },
    processing: { on: { COMMIT: "committing", DONE: "fetching", ...interrupts } },
    committing: { on: { DONE: "fetching", ...interrupts } },
    rebalancing: { on: { DONE: "fetching", ...interrupts } },
    failed: { on: { START: "joining" } },
    closed: { type: "final" },
  },
});

/**
 * A consumer's loop, one actor per consumer:
 *
 * `idle → joining → fetching → processing → committing → fetching …`, with `polling` when
 * nothing is new, `rebalancing` when the group's assignment changed, and `joining` again
 * when the member's session was lost. `STOP` returns to `idle` (the member stays in the
 * group and a new reader may start), `FAIL` leads to `failed`, from which a new reader may
 * start again, and `CLOSE` to the final `closed`. The consumer sends every event; the states
 * are for inspection and for tests that check which transitions a fault causes.
 */
export const consumerMachine: ConsumerMachine = machine satisfies Checked<ConsumerMachine, typeof machine>;
