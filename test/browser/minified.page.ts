/** The page of minified.test.ts: each exported error class, and the name an instance of it carries. */
import * as acktor from "../../src/index.ts";

const names: string[][] = [];
for (const [exported, value] of Object.entries(acktor)) {
  if (typeof value !== "function" || !(value.prototype instanceof Error)) continue;
  // Any arguments do: only the name is read, and no constructor validates its own.
  const error = new (value as unknown as new (...args: unknown[]) => Error)("x", "y", 1, 2);
  names.push([exported, error.name]);
}
(globalThis as unknown as { errorNames: string[][] }).errorNames = names;
