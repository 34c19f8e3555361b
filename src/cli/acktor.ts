#!/usr/bin/env node
/**
 * The `acktor` command (`npx acktor <command>`). One command so far: `serve`.
 *
 * @module
 */
import process from "node:process";
import { serve } from "./serve.ts";

const [command, ...rest] = process.argv.slice(2);
if (command === "serve") {
  try {
    await serve(rest);
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
} else {
  console.log(
    command === undefined || command === "--help" || command === "-h" ? "" : `error: unknown command "${command}"\n`,
  );
  console.log("usage: npx acktor serve [--port 9092] [--host 127.0.0.1] [--topics orders:4:3,...] [--auto-create]");
  console.log("       npx acktor serve --help");
  process.exit(command === undefined || command === "--help" || command === "-h" ? 0 : 2);
}
