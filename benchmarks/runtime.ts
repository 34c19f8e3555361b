/**
 * What a benchmark ran on, for its report header and to label its `--json` rows (and so the
 * series of the charts, see charts.ts): the runtime with its version and engine, and the CPUs.
 *
 * @module
 */
import { cpus } from "node:os";
import process from "node:process";

/** "node v22.12.0 (v8 12.4.254.21-node.21)", "deno 2.9.6 (v8 …)", "bun 1.4.5 (JavaScriptCore)". */
export function runtime(): string {
  const deno = (globalThis as { Deno?: { version: { deno: string; v8: string } } }).Deno;
  if (deno) return `deno ${deno.version.deno} (v8 ${deno.version.v8})`;
  // Bun sets process.version to the Node release it emulates, so it is asked first.
  const bun = (process.versions as { bun?: string }).bun;
  if (bun !== undefined) return `bun ${bun} (JavaScriptCore)`;
  return `node ${process.version} (v8 ${process.versions.v8})`;
}

/** "2 CPU(s), AMD EPYC 7B13". */
export function machine(): string {
  const list = cpus();
  return `${list.length} CPU(s), ${list[0]?.model.trim() ?? "unknown model"}`;
}
