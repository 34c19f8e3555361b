/**
 * Node built-in modules loaded on demand, for the few features that need a socket or zlib
 * (the Kafka wire server). The specifiers are held in constants on purpose: a bundler then
 * leaves the import alone, so a browser bundle of acktor neither contains nor fails on them,
 * while Node, Deno and Bun load them at run time.
 *
 * @module
 */
import { UnsupportedError } from "../errors.ts";

const NET = "node:net";
const ZLIB = "node:zlib";

/** `node:net`'s parts the Kafka server uses. */
export type NodeNet = typeof import("node:net");
/** `node:zlib`'s parts the Kafka server uses. */
export type NodeZlib = typeof import("node:zlib");

async function load<T>(specifier: string, feature: string): Promise<T> {
  try {
    return await import(specifier) as T;
  } catch (cause) {
    throw new UnsupportedError(
      feature,
      `${feature} needs ${specifier} (Node, Deno or Bun); this runtime could not load it: ${String(cause)}`,
    );
  }
}

/** `node:net`, or `UnsupportedError` where the runtime has none (a browser). */
export function loadNet(feature = "the Kafka wire server"): Promise<NodeNet> {
  return load<NodeNet>(NET, feature);
}

/** `node:zlib`, or `UnsupportedError` where the runtime has none (a browser). */
export function loadZlib(feature = "gzip-compressed record batches"): Promise<NodeZlib> {
  return load<NodeZlib>(ZLIB, feature);
}
