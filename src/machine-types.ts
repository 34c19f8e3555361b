/**
 * Helpers to write out the types of the exported state machines. JSR wants every exported
 * value's type explicit ("no slow types"), and `setup().createMachine()` infers a type from
 * the whole machine config; each machine's type is therefore written out as a
 * `StateMachine<...>` and checked with {@link Checked} to be exactly the inferred one.
 *
 * @module
 */
import type { AnyStateMachine, StateMachine } from "xstate";

/**
 * A state without child states, as a machine's state schema (`StateSchemaFrom`) records it:
 * the schema keeps only each state's `id` and `states`.
 */
export type AtomicState = Record<never, never>;

/** The state schema of a machine whose states `S` are all atomic. */
export type FlatStateSchema<Id extends string, S extends string> = {
  id: Id;
  states: { readonly [K in S]: AtomicState };
};

type TypeArguments<M extends AnyStateMachine> = M extends StateMachine<
  infer TContext,
  infer TEvent,
  infer TChildren,
  infer TActor,
  infer TAction,
  infer TGuard,
  infer TDelay,
  infer TStateValue,
  infer TTag,
  infer TInput,
  infer TOutput,
  infer TEmitted,
  infer TStateMeta,
  infer TStateSchema,
  infer TTransitionMeta
> ? [
    TContext,
    TEvent,
    TChildren,
    TActor,
    TAction,
    TGuard,
    TDelay,
    TStateValue,
    TTag,
    TInput,
    TOutput,
    TEmitted,
    TStateMeta,
    TStateSchema,
    TTransitionMeta,
  ]
  : never;

// Identical, not merely mutually assignable: `readonly`, optionality and `any` count.
type Identical<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/**
 * `Written` when the machine type written out by hand has exactly the type arguments the
 * compiler infers for the machine, else a type naming both, so that
 * `machine satisfies Checked<Written, typeof machine>` stops compiling when a machine
 * changes and its public type does not.
 *
 * Each type argument is compared on its own: comparing the two `StateMachine` types directly
 * would skip the arguments the class does not use in a measurable way (the state schema).
 */
export type Checked<Written extends AnyStateMachine, Inferred extends AnyStateMachine> =
  Identical<TypeArguments<Written>, TypeArguments<Inferred>> extends true ? Written
    : {
      "the written-out machine type differs from the inferred one": {
        written: TypeArguments<Written>;
        inferred: TypeArguments<Inferred>;
      };
    };
