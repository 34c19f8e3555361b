/**
 * The Kafka server's seeded fault layer, between the sockets and the broker. A request is
 * always applied; then its answer may be lost (the client waits out its request timeout and
 * retries) or the connection dropped instead of answering (the client reconnects and
 * retries). Both leave the client unsure whether the broker applied the request, the case
 * that idempotent producers and transactional commits exist for.
 *
 * @module
 */
import { ConfigError } from "../../errors.ts";
import { seededRng } from "../../transport/chaos.ts";
import { checkOptions, describe } from "../../validate.ts";

/** Fault probabilities, each in [0, 1], default 0. */
export interface ServerChaosOptions {
  /** Seeds the PRNG: same seed and same request order, same faults. */
  readonly seed: number;
  /** The request is applied, its response never sent. */
  readonly dropResponse?: number;
  /** The request is applied, then the connection is closed instead of answering. */
  readonly disconnect?: number;
  /** Kafka API keys subject to faults (e.g. `[0]` for Produce only); default every API but ApiVersions. */
  readonly apiKeys?: readonly number[];
}

/** Faults injected so far. */
export interface ServerChaosStats {
  readonly dropResponse: number;
  readonly disconnect: number;
}

/** What happens to one answer. */
export type ChaosVerdict = "answer" | "drop-response" | "disconnect";

const API_VERSIONS = 18;

/** Draws a verdict per request: always two draws, so one request's luck never shifts another's. */
export class ServerChaos {
  readonly #options: ServerChaosOptions;
  readonly #next: () => number;
  readonly #stats = { dropResponse: 0, disconnect: 0 };

  constructor(options: ServerChaosOptions) {
    checkOptions(options, ["seed", "dropResponse", "disconnect", "apiKeys"], "chaos");
    if (typeof options.seed !== "number" || !Number.isSafeInteger(options.seed)) {
      throw new ConfigError("chaos.seed", `expected a safe integer, got ${describe(options.seed)}`);
    }
    for (const key of ["dropResponse", "disconnect"] as const) {
      const p = options[key];
      if (p !== undefined && (typeof p !== "number" || !(p >= 0 && p <= 1))) {
        throw new ConfigError(`chaos.${key}`, `expected a probability in [0, 1], got ${describe(p)}`);
      }
    }
    if (options.apiKeys !== undefined && !Array.isArray(options.apiKeys)) {
      throw new ConfigError("chaos.apiKeys", `expected an array of API keys, got ${describe(options.apiKeys)}`);
    }
    this.#options = options;
    const rng = seededRng(options.seed);
    this.#next = () => (rng.unsafeNext() >>> 0) / 2 ** 32;
  }

  /** The verdict for one request of `apiKey`. */
  verdict(apiKey: number): ChaosVerdict {
    const { apiKeys, dropResponse = 0, disconnect = 0 } = this.#options;
    if (apiKeys === undefined ? apiKey === API_VERSIONS : !apiKeys.includes(apiKey)) return "answer";
    const uDrop = this.#next();
    const uDisconnect = this.#next();
    if (uDisconnect < disconnect) {
      this.#stats.disconnect++;
      return "disconnect";
    }
    if (uDrop < dropResponse) {
      this.#stats.dropResponse++;
      return "drop-response";
    }
    return "answer";
  }

  get stats(): ServerChaosStats {
    return { ...this.#stats };
  }
}
