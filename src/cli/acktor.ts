#!/usr/bin/env node
/**
 * The `acktor` command (`npx acktor <command>`). One command so far: `serve`.
 *
 * @module
 */
import process from "node:process";
import { ConfigError } from "../errors.ts";
import { serve } from "./serve.ts";

const USAGE = [
  "usage: npx acktor serve [--port 9092] [--host 127.0.0.1] [--topics orders:4:3,...] [--auto-create]",
  "       npx acktor serve --help",
].join("\n");

const [command, ...rest] = process.argv.slice(2);
if (command === "serve") {
  try {
    await serve(rest);
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    // A bad option is a usage error (2), like a bad flag; anything else is a failure (1).
    process.exit(error instanceof ConfigError ? 2 : 1);
  }
} else if (command === "--help" || command === "-h") {
  console.log(USAGE);
} else {
  console.error(command === undefined ? "error: no command given" : `error: unknown command "${command}"`);
  console.error(USAGE);
  process.exit(2);
}
