/** What a live actor went through, for tests that pin a machine's path. */
import type { Consumer } from "../../src/index.ts";

/** The distinct states a consumer's actor goes through from now on, in order, until `stop()`. */
export function statePath(c: Consumer): { readonly path: string[]; stop(): void } {
  const path: string[] = [];
  const sub = c.actor.subscribe((s) => {
    const value = s.value as string;
    if (path.at(-1) !== value) path.push(value);
  });
  return { path, stop: () => sub.unsubscribe() };
}
