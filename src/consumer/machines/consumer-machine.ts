import { setup } from "xstate";

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
// What may interrupt any working state: the loop checks for these between steps.
const interrupts = { REBALANCE: "rebalancing", REJOIN: "joining", STOP: "idle", FAIL: "failed" } as const;

export const consumerMachine = setup({
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
