import { assign, type EventObject, type MetaObject, setup, type StateMachine } from "xstate";
import { DeliveryFailedError } from "../../errors.ts";
import { decideRetry, type RetryDecision } from "../../retry/decide.ts";
import type { RetryPolicy } from "../../retry/policy.ts";
import type { Checked, FlatStateSchema } from "../../machine-types.ts";

/** What a request actor starts from. `B` is whatever the `transmit` action needs to send. */
export interface RequestInput<B = unknown> {
  /** The payload handed to the `transmit` action on every attempt. */
  readonly batch: B;
  /** Retries allowed; at-most-once passes a policy with `maxRetries: 0`. */
  readonly policy: RetryPolicy;
  /** False for at-most-once: the request is done once written, and no ack is awaited. */
  readonly awaitAck: boolean;
  /** Clock time of the first attempt; the policy's `timeout` counts from here. */
  readonly startedAt: number;
  /** Source of randomness for backoff jitter (seeded in deterministic runs). */
  readonly random?: () => number;
}

/** A request actor's memory. */
export interface RequestContext<B = unknown> extends RequestInput<B> {
  /** Attempts started so far. */
  readonly attempts: number;
  readonly lastError: unknown;
  readonly decision: RetryDecision | null;
  /** Set once acked; -1 when the broker acked a duplicate without its offsets. */
  readonly baseOffset: number | null;
  readonly error: DeliveryFailedError | null;
}

/** Events the transport's outcome is reported with. */
export type RequestEvent =
  /** The transport has taken the request. */
  | { type: "SENT" }
  /** The broker acknowledged; the first record got `baseOffset`. */
  | { type: "ACK"; baseOffset: number }
  /** The attempt failed; `at` is the clock time, which the retry decision measures from. */
  | { type: "ERROR"; error: unknown; at: number }
  /** An earlier batch of the partition was resolved: a waiting retry may now go. */
  | { type: "TURN"; at: number };

/** How a request ended. */
export type RequestOutput =
  | { readonly status: "delivered"; readonly baseOffset: number; readonly attempts: number }
  /** At-most-once: written once, never confirmed by this actor. */
  | { readonly status: "sent"; readonly attempts: number }
  | { readonly status: "failed"; readonly error: DeliveryFailedError; readonly attempts: number };

/** The states of {@link requestMachine}: a snapshot's `value` is one of them. */
export type RequestStateValue =
  | "sending"
  | "awaiting-ack"
  | "deciding"
  | "backoff"
  | "waiting-turn"
  | "delivered"
  | "sent"
  | "failed";

/**
 * The type of {@link requestMachine}, written out because JSR wants every exported value's type
 * explicit, and checked against the machine so that it cannot fall behind it.
 */
export type RequestMachine = StateMachine<
  RequestContext,
  RequestEvent,
  Record<never, never>, // children
  never, // actors
  { type: "transmit"; params: unknown } | { type: "retrying"; params: unknown } | { type: "decide"; params: unknown }, // actions
  // guards
  | { type: "myTurn"; params: unknown }
  | { type: "expired"; params: unknown }
  | { type: "fireAndForget"; params: unknown }
  | { type: "shouldRetry"; params: unknown },
  "backoff", // delays
  RequestStateValue,
  string, // tags
  RequestInput,
  RequestOutput,
  EventObject, // emitted events
  MetaObject, // state meta
  FlatStateSchema<"request", RequestStateValue>,
  MetaObject // transition meta
>;

// As xstate infers it; exported below under the written-out type, which must match it exactly.
const machine = setup({
  types: {
    context: {} as RequestContext,
    input: {} as RequestInput,
    events: {} as RequestEvent,
    output: {} as RequestOutput,
  },
  actions: {
    transmit: () => {},
    retrying: () => {},
    decide: assign(({ context, event }) => {
      const failure = event as Extract<RequestEvent, { type: "ERROR" }>;
      return {
        lastError: failure.error,
        decision: decideRetry(
          context.policy,
          context.attempts,
          failure.at - context.startedAt,
          failure.error,
          context.random,
        ),
      };
    }),
  },
  delays: {
    // Only `deciding` leads to `backoff`, and only on a decision to retry.
    backoff: ({ context }) => (context.decision as Extract<RetryDecision, { retry: true }>).delay,
  },
  guards: {
    /**
     * Whether a retry may be sent now. Exactly-once provides it: a retried batch goes only once
     * every earlier batch of its partition is resolved, so sequences reach the broker in order.
     * Without that rule (at-least-once, or the machine alone) a retry goes when its backoff ends.
     */
    myTurn: () => true,
    // Asked on TURN only (in `waiting-turn`).
    expired: ({ context, event }) =>
      (event as Extract<RequestEvent, { type: "TURN" }>).at - context.startedAt >= context.policy.timeout,
    fireAndForget: ({ context }) => !context.awaitAck,
    // At-most-once never retries, whatever policy it was handed.
    // (`decide` always ran before `deciding` is entered.)
    shouldRetry: ({ context }) => context.awaitAck && context.decision!.retry,
  },
}).createMachine({
  id: "request",
  context: ({ input }) => ({ ...input, attempts: 0, lastError: null, decision: null, baseOffset: null, error: null }),
  initial: "sending",
  states: {
    sending: {
      entry: [assign({ attempts: ({ context }) => context.attempts + 1 }), "transmit"],
      on: {
        SENT: [{ guard: "fireAndForget", target: "sent" }, { target: "awaiting-ack" }],
        ERROR: { target: "deciding", actions: "decide" },
      },
    },
    "awaiting-ack": {
      on: {
        ACK: { target: "delivered", actions: assign({ baseOffset: ({ event }) => event.baseOffset }) },
        ERROR: { target: "deciding", actions: "decide" },
      },
    },
    // A transient state: the retry decision (which may draw jitter) is made once, then read.
    deciding: {
      always: [{ guard: "shouldRetry", target: "backoff" }, { target: "failed" }],
    },
    backoff: {
      entry: "retrying",
      after: { backoff: [{ guard: "myTurn", target: "sending" }, { target: "waiting-turn" }] },
    },
    // Backed off, but an earlier batch of the partition is still unresolved.
    "waiting-turn": {
      on: {
        TURN: [
          { guard: "expired", target: "failed", actions: assign({ decision: { retry: false, reason: "timeout" } }) },
          { guard: "myTurn", target: "sending" },
        ],
      },
    },
    delivered: { type: "final" },
    sent: { type: "final" },
    failed: {
      type: "final",
      entry: assign({
        error: ({ context }) =>
          new DeliveryFailedError(
            context.attempts,
            // At-most-once was never going to retry, whatever the policy would have said.
            // Otherwise `failed` is entered only on a decision not to retry (from `deciding`, or
            // a turn that came too late), so the decision says why.
            context.awaitAck ? (context.decision as Extract<RetryDecision, { retry: false }>).reason : "at-most-once",
            context.lastError,
          ),
      }),
    },
  },
  output: ({ context }): RequestOutput => {
    if (context.error) return { status: "failed", error: context.error, attempts: context.attempts };
    if (context.baseOffset !== null) {
      return { status: "delivered", baseOffset: context.baseOffset, attempts: context.attempts };
    }
    return { status: "sent", attempts: context.attempts };
  },
});

/**
 * One in-flight produce request, through all its attempts:
 *
 * `sending → awaiting-ack → delivered`, or on a failed attempt
 * `awaiting-ack → deciding → backoff → sending` while the retry policy allows, else `failed`.
 * Under exactly-once a retry whose partition still has an earlier unresolved batch waits in
 * `waiting-turn` until that one is resolved. At-most-once goes `sending → sent` and never
 * retries.
 *
 * The machine only decides; the producer provides `transmit` (hand the batch to the
 * transport) and `retrying` (report a retry), and reports back with events. Retries belong to
 * the request, never to single records, so a lost ack costs one resend of one batch.
 */
export const requestMachine: RequestMachine = machine satisfies Checked<RequestMachine, typeof machine>;
