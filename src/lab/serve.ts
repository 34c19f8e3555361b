/**
 * `npm run lab [-- --port N --host H]`: serves the delivery lab with esbuild's dev server and
 * prints its URL. The page runs acktor itself (embedded broker, chaos, virtual clock); this
 * process only builds and serves it, rebuilding on each page load, and runs until
 * interrupted.
 *
 * @module
 */
import process from "node:process";
import { context } from "esbuild";
import { defineCommand, exitWithUsageError, readOptions } from "../cli/options.ts";
import { PAGE_DIR, pageBuildOptions } from "./build.ts";

const command = defineCommand({
  usage: "npm run lab --",
  summary: "The delivery lab: each semantic side by side in a web page, live, through seeded faults and crashes.",
  options: {
    port: { kind: "integer", default: 8000, help: "port to serve on (0: any free port)" },
    host: { kind: "string", default: "127.0.0.1", help: "address to listen on (0.0.0.0: every interface)" },
  },
});

const options = readOptions(command);
if (options.port > 65_535) exitWithUsageError(`--port must be at most 65535, got ${options.port}`);
const ctx = await context(pageBuildOptions());
let served;
try {
  served = await ctx.serve({ servedir: PAGE_DIR, port: options.port, host: options.host });
} catch (error) {
  await ctx.dispose();
  console.error(`error: cannot serve on ${options.host}:${options.port}: ${(error as Error).message}`);
  process.exit(1);
}
const host = served.hosts[0] ?? options.host;
console.log(`acktor delivery lab: http://${host.includes(":") ? `[${host}]` : host}:${served.port}/`);
console.log("Ctrl-C to stop");

const stop = async () => {
  await ctx.dispose();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
