/**
 * Record batch compression: gzip only; snappy, lz4 and zstd are refused with
 * {@link UnsupportedCompressionError}. Callers may pass their own gzip functions (the Kafka
 * server passes the `node:zlib` it loaded); otherwise `node:zlib` is taken, synchronously,
 * from `process.getBuiltinModule`, which Node (22.3+), Deno and Bun provide. Nothing here
 * imports `node:zlib` statically, so a browser bundle neither contains nor fails on it.
 *
 * @module
 */
import type { NodeZlib } from "../../runtime/node-builtins.ts";
import { CorruptRecordError, UnsupportedCompressionError } from "./records-error.ts";

/** Kafka's codec numbers (attribute bits 0-2) that acktor reads and writes. */
export const NO_COMPRESSION = 0;
export const GZIP = 1;

/** A synchronous gzip or gunzip: bytes in, bytes out. */
export type ZipFunction = (bytes: Uint8Array) => Uint8Array;

let zlib: NodeZlib | null | undefined;

function builtinZlib(): NodeZlib | null {
  if (zlib === undefined) {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    zlib = (proc?.getBuiltinModule?.("node:zlib") as NodeZlib | undefined) ?? null;
  }
  return zlib;
}

function noZlib(): UnsupportedCompressionError {
  return new UnsupportedCompressionError(GZIP, "this runtime has no node:zlib: pass a gzip function, or use none");
}

/**
 * Decompresses a batch's records section. `batchAt` names the batch in errors; `maxBytes`
 * bounds the output, since a small gzip member can claim gigabytes (the built-in zlib stops
 * inflating there; a given `gunzip` is checked after the fact).
 */
export function decompress(
  codec: number,
  data: Uint8Array,
  batchAt: number,
  maxBytes: number,
  gunzip?: ZipFunction,
): Uint8Array {
  if (codec !== GZIP) throw new UnsupportedCompressionError(codec);
  let out: Uint8Array;
  try {
    if (gunzip !== undefined) out = gunzip(data);
    else {
      const z = builtinZlib();
      if (z === null) throw noZlib();
      out = z.gunzipSync(data, { maxOutputLength: maxBytes });
    }
  } catch (error) {
    if (error instanceof UnsupportedCompressionError) throw error;
    throw new CorruptRecordError(batchAt, `gzip records do not decompress (${(error as Error).message})`);
  }
  if (out.length > maxBytes) {
    throw new CorruptRecordError(
      batchAt,
      `gzip records decompress to ${out.length} bytes, over the ${maxBytes} allowed`,
    );
  }
  // A plain view, so that keys and values are plain Uint8Arrays on every runtime, not Buffers.
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Compresses a batch's records section with `codec` (gzip; anything else is refused). */
export function compress(codec: number, data: Uint8Array, gzip?: ZipFunction): Uint8Array {
  if (codec !== GZIP) throw new UnsupportedCompressionError(codec);
  let out: Uint8Array;
  if (gzip !== undefined) out = gzip(data);
  else {
    const z = builtinZlib();
    if (z === null) throw noZlib();
    out = z.gzipSync(data);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
