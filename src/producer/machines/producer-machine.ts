import { setup } from "xstate";

/** Lifecycle events of a producer. */
export type ProducerEvent = { type: "CLOSE" } | { type: "DRAINED" };

/**
 * A producer's lifecycle: `open → closing → closed`. Only `open` accepts records; `closing`
 * still delivers everything accepted before `close()`, and `closed` is final.
 */
export const producerMachine = setup({
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
