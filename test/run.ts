/**
 * Runs every `*.test.ts` file in this folder as one uvu session, under Node (`tsx`), Deno
 * (`deno run -A`) or Bun (`bun`). Deno's own `deno test` would report 0 tests for uvu files
 * and pass, so every runtime runs this file instead. Optional arguments filter files by
 * substring.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const g = globalThis as unknown as {
  UVU_DEFER: number;
  UVU_INDEX: number;
  UVU_QUEUE: unknown[][];
  Deno?: { version: { deno: string } };
  Bun?: { version: string };
};
g.UVU_DEFER = 1;
g.UVU_QUEUE = [];
const { exec } = await import("uvu");

const dir = fileURLToPath(new URL(".", import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".test.ts") && (filters.length === 0 || filters.some((x) => f.includes(x))))
  .sort();
if (files.length === 0) throw new Error(`no test files match ${filters.join(", ")}`);

// Bun also sets `process.version` (to the Node release it mimics), so it is asked first.
const runtime = g.Deno ? `deno ${g.Deno.version.deno}` : g.Bun ? `bun ${g.Bun.version}` : `node ${process.version}`;
console.log(`acktor tests on ${runtime}: ${files.length} file(s)`);
for (const [i, file] of files.entries()) {
  g.UVU_INDEX = i;
  g.UVU_QUEUE.push([file]);
  await import(new URL(file, import.meta.url).href);
}
// uvu prints its totals but does not return them; read them from its output so the run ends
// with the plain "N passed, N failed" line that CI systems recognise.
let printed = "";
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  printed += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
  return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;
await exec(false);
process.stdout.write = write;
const total = Number(/Total:\s+(\d+)/.exec(printed)?.[1] ?? 0);
// deno-lint-ignore no-control-regex -- the escape is the point: it strips uvu's colour codes
const passed = Number(/Passed:\s+(\d+)/.exec(printed.replace(/\u001b\[\d+m/g, ""))?.[1] ?? 0);
console.log(`${passed} passed, ${total - passed} failed`);
if (total === 0) process.exitCode = 1;
