import {
  assign,
  type EventObject,
  type MetaObject,
  type NonReducibleUnknown,
  raise,
  setup,
  type StateMachine,
} from "xstate";
import type { Checked, FlatStateSchema } from "../machine-types.ts";

/** Events a follower replica reacts to. */
export type ReplicaEvent =
  /** The leader's log grew to `leo` at time `at`. */
  | { type: "APPENDED"; leo: number; at: number }
  /** The replica's fetch of everything up to `upTo` (the leader's end at time `asOf`) has arrived. */
  | { type: "COPY"; upTo: number; asOf: number }
  | { type: "STOP" }
  /** Restart following; the replica catches up to `leo` after its lag. */
  | { type: "RESUME"; leo: number; at: number }
  | { type: "SET_LAG"; lagMs: number };

/** What a replica knows: how far it has copied, and its replication lag. */
export interface ReplicaContext {
  readonly id: number;
  readonly leo: number;
  readonly lagMs: number;
}

/** The states of {@link replicaMachine}: a snapshot's `value` is one of them. */
export type ReplicaStateValue = "following" | "stopped";

/**
 * The type of {@link replicaMachine}, written out because JSR wants every exported value's type
 * explicit, and checked against the machine so that it cannot fall behind it.
 */
export type ReplicaMachine = StateMachine<
  ReplicaContext,
  ReplicaEvent,
  Record<never, never>, // children
  never, // actors
  { type: "copied"; params: { leo: number; asOf: number } }, // actions
  { type: "instant"; params: unknown }, // guards
  "lag", // delays
  ReplicaStateValue,
  string, // tags
  { id: number; lagMs: number }, // input
  NonReducibleUnknown, // output
  EventObject, // emitted events
  MetaObject, // state meta
  FlatStateSchema<"replica", ReplicaStateValue>,
  MetaObject // transition meta
>;

// As xstate infers it; exported below under the written-out type, which must match it exactly.
const machine = setup({
  types: {
    context: {} as ReplicaContext,
    input: {} as { id: number; lagMs: number },
    events: {} as ReplicaEvent,
  },
  actions: {
    copied: (_, _params: { leo: number; asOf: number }) => {},
  },
  delays: {
    lag: ({ context }) => context.lagMs,
  },
  guards: {
    instant: ({ context }) => context.lagMs === 0,
  },
}).createMachine({
  id: "replica",
  context: ({ input }) => ({ id: input.id, leo: 0, lagMs: input.lagMs }),
  initial: "following",
  on: {
    SET_LAG: { actions: assign({ lagMs: ({ event }) => event.lagMs }) },
  },
  states: {
    following: {
      on: {
        APPENDED: [
          // A zero lag copies in the same step, so a read-committed ack costs no extra turn.
          {
            guard: "instant",
            actions: [
              assign({ leo: ({ context, event }) => Math.max(context.leo, event.leo) }),
              { type: "copied", params: ({ event }) => ({ leo: event.leo, asOf: event.at }) },
            ],
          },
          {
            actions: raise(({ event }) => ({ type: "COPY" as const, upTo: event.leo, asOf: event.at }), {
              delay: "lag",
            }),
          },
        ],
        COPY: {
          guard: ({ context, event }) => event.upTo > context.leo,
          actions: [
            assign({ leo: ({ event }) => event.upTo }),
            { type: "copied", params: ({ event }) => ({ leo: event.upTo, asOf: event.asOf }) },
          ],
        },
        STOP: "stopped",
      },
    },
    stopped: {
      // Fetches that were under way when it stopped are lost with it.
      on: {
        RESUME: {
          target: "following",
          actions: raise(({ event }) => ({ type: "APPENDED" as const, leo: event.leo, at: event.at })),
        },
      },
    },
  },
});

/**
 * A follower replica. It copies the leader's log `lagMs` after each append; a stopped replica
 * copies nothing and so falls out of the in-sync set once the partition notices. The
 * partition provides `copied`, which is how it learns a replica's progress.
 */
export const replicaMachine: ReplicaMachine = machine satisfies Checked<ReplicaMachine, typeof machine>;
