import {
  type EventObject,
  type MachineContext,
  type MetaObject,
  type NonReducibleUnknown,
  setup,
  type StateMachine,
} from "xstate";
import type { Checked, FlatStateSchema } from "../../machine-types.ts";

/** Lifecycle events of a producer. */
export type ProducerEvent = { type: "CLOSE" } | { type: "DRAINED" };

/** The states of {@link producerMachine}: a snapshot's `value` is one of them. */
export type ProducerStateValue = "open" | "closing" | "closed";

/**
 * The type of {@link producerMachine}, written out because JSR wants every exported value's type
 * explicit, and checked against the machine so that it cannot fall behind it.
 */
export type ProducerMachine = StateMachine<
  MachineContext, // context: none
  ProducerEvent,
  Record<never, never>, // children
  never, // actors
  never, // actions
  never, // guards
  never, // delays
  ProducerStateValue,
  string, // tags
  NonReducibleUnknown, // input
  NonReducibleUnknown, // output
  EventObject, // emitted events
  MetaObject, // state meta
  FlatStateSchema<"producer", ProducerStateValue>,
  MetaObject // transition meta
>;

// As xstate infers it; exported below under the written-out type, which must match it exactly.
const machine = setup({
  types: { events: {} as ProducerEvent },
}).createMachine({
  id: "producer",
  initial: "open",
  states: {
    open: { on: { CLOSE: "closing" } },
    closing: { on: { DRAINED: "closed" } },
    closed: { type: "final" },
  },
});

/**
 * A producer's lifecycle: `open → closing → closed`. Only `open` accepts records; `closing`
 * still delivers everything accepted before `close()`, and `closed` is final.
 */
export const producerMachine: ProducerMachine = machine satisfies Checked<ProducerMachine, typeof machine>;
