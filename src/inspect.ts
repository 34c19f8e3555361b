/**
 * The `inspect` option of producers and consumers: XState's own inspection observer, handed to
 * every actor acktor starts, checked like every other option and kept from breaking delivery.
 *
 * @module
 */
import type { InspectionEvent, Observer } from "xstate";
import { ConfigError } from "./errors.ts";
import { describe, isObject } from "./validate.ts";

/**
 * An XState inspection observer: a function, or an object with a `next` function, that gets
 * every {@link InspectionEvent} (`@xstate.actor`, `@xstate.event`, `@xstate.snapshot`,
 * `@xstate.microstep`, `@xstate.action`) of the actors a producer or consumer runs. It is
 * exactly what `createActor(logic, { inspect })` takes, so any XState inspector fits, e.g.
 * `createBrowserInspector().inspect` from `@statelyai/inspect`.
 *
 * An inspector sees the events as they happen, synchronously, inside the actor's step: it
 * should be quick, and must not send events to the actors it watches. One that throws is
 * reported once (`console.warn`) and otherwise ignored; delivery goes on.
 */
export type Inspector = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

/** What is handed to `createActor`: the caller's inspector, unable to throw into an actor. */
export type GuardedInspector = (event: InspectionEvent) => void;

/** Validates an `inspect` option: undefined (or null) means none. */
export function inspectorOption(value: unknown, field = "inspect"): Inspector | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "function") return value as Inspector;
  if (isObject(value) && typeof value.next === "function") return value as Inspector;
  throw new ConfigError(
    field,
    `expected a function or an observer with a next() function (XState's inspect), got ${describe(value)}`,
  );
}

/**
 * Wraps an inspector so that a throw never reaches the actor it watches. XState calls the
 * inspector synchronously from inside the actor's step (between its transition and its
 * snapshot subscribers, and as events are queued), so a throw there would escape into
 * whatever sent the event: an ack's promise callback, a timer, the consumer loop, leaving a
 * batch half-settled or its ack unprocessed. Inspection is for looking, never for changing
 * what happens, so the error is dropped; the first one is reported (once per producer or
 * consumer, not per event, which could be thousands a second) so a broken inspector does not
 * fail silently. The inspector keeps being called: one that chokes on a single event (a
 * snapshot it cannot serialize, say) still sees the rest.
 */
export function guardInspector(inspector: Inspector | null, owner: string): GuardedInspector | null {
  if (inspector === null) return null;
  let reported = false;
  const failed = (error: unknown): void => {
    if (reported) return;
    reported = true;
    console.warn(`acktor: the ${owner}'s inspect observer threw; this and later throws are ignored:`, error);
  };
  if (typeof inspector === "function") {
    return (event) => {
      try {
        inspector(event);
      } catch (error) {
        failed(error);
      }
    };
  }
  return (event) => {
    try {
      // Called as a method: an observer object may rely on `this`.
      inspector.next!(event);
    } catch (error) {
      failed(error);
    }
  };
}
