import {
  type EventObject,
  type MachineContext,
  type MetaObject,
  type NonReducibleUnknown,
  setup,
  type StateMachine,
} from "xstate";
import type { Checked, FlatStateSchema } from "../../machine-types.ts";

/** Events that drive a transactional producer. */
export type TransactionEvent =
  /** The producer id and epoch arrived. */
  | { type: "READY" }
  | { type: "BEGIN" }
  | { type: "COMMIT" }
  | { type: "ABORT" }
  /** The coordinator wrote the commit markers. */
  | { type: "COMMITTED" }
  /** The coordinator wrote the abort markers (and the producer holds a usable epoch again). */
  | { type: "ABORTED" }
  /** A write or commit failed in a way that only an abort can clean up. */
  | { type: "ABORTABLE" }
  /** A newer producer took over the transactional id. */
  | { type: "FENCED" }
  /** Anything else the producer cannot recover from. */
  | { type: "FATAL" };

/** The states of {@link transactionMachine}: a snapshot's `value` is one of them. */
export type TransactionStateValue =
  | "initializing"
  | "ready"
  | "in-transaction"
  | "committing"
  | "abortable"
  | "aborting"
  | "fenced"
  | "failed";

/**
 * The type of {@link transactionMachine}, written out because JSR wants every exported value's type
 * explicit, and checked against the machine so that it cannot fall behind it.
 */
export type TransactionMachine = StateMachine<
  MachineContext, // context: none
  TransactionEvent,
  Record<never, never>, // children
  never, // actors
  never, // actions
  never, // guards
  never, // delays
  TransactionStateValue,
  string, // tags
  NonReducibleUnknown, // input
  NonReducibleUnknown, // output
  EventObject, // emitted events
  MetaObject, // state meta
  FlatStateSchema<"transaction", TransactionStateValue>,
  MetaObject // transition meta
>;

// As xstate infers it; exported below under the written-out type, which must match it exactly.
const machine = setup({
  types: { events: {} as TransactionEvent },
}).createMachine({
  id: "transaction",
  initial: "initializing",
  // FENCED and FATAL only where the producer can meet them: a newer producer is noticed by a
  // request of an open transaction (a write, a partition joining, offsets, the commit or the
  // abort), and only a failed abort leaves nothing to fall back on. Before the first
  // transaction and between transactions nothing is sent that could be fenced: a fenced
  // initProducerId rejects the call that needed it, and the producer stays where it was.
  states: {
    initializing: { on: { READY: "ready" } },
    ready: { on: { BEGIN: "in-transaction" } },
    "in-transaction": {
      on: { COMMIT: "committing", ABORT: "aborting", ABORTABLE: "abortable", FENCED: "fenced" },
    },
    committing: { on: { COMMITTED: "ready", ABORTABLE: "abortable", FENCED: "fenced" } },
    abortable: { on: { ABORT: "aborting", FENCED: "fenced" } },
    aborting: { on: { ABORTED: "ready", FENCED: "fenced", FATAL: "failed" } },
    fenced: { type: "final" },
    failed: { type: "final" },
  },
});

/**
 * A transactional producer's lifecycle:
 *
 * `initializing → ready → in-transaction → committing | aborting → ready`;
 * a failed write or commit leads to `abortable`, from which only `ABORT` leads on;
 * `fenced` (a newer producer holds the id, met by any request of an open transaction) and
 * `failed` (an abort that failed) are final.
 *
 * Misuse, such as beginning while a transaction is open or committing, is refused before it
 * reaches the machine, with an error naming the state: the machine never gets stuck.
 */
export const transactionMachine: TransactionMachine = machine satisfies Checked<TransactionMachine, typeof machine>;
