/**
 * A seeded, deterministic fault layer for any {@link Transport}: it loses requests, loses
 * answers, retransmits requests, adds latency and drops the connection, each with a
 * configured probability. Delivery semantics only mean something under these failures, so
 * every guarantee acktor makes is tested through this layer.
 *
 * Runs replay exactly: fault decisions come from a seeded PRNG, drawn in the order requests
 * arrive, and all timing goes through a {@link Clock}. With a `VirtualClock` and the
 * same seed, the same request sequence meets the same faults at the same virtual times.
 *
 * @module
 */
import { EventEmitter } from "eventemitter3";
import { type RandomGenerator, xoroshiro128plus } from "pure-rand";
import { ConfigError, DisconnectedError, TransportClosedError } from "../errors.ts";
import { type Clock, systemClock } from "../runtime/clock.ts";
import { checkOptions, describe, isClock, isObject, rejectUnknownKeys } from "../validate.ts";
import { Correlator } from "./correlator.ts";
import type { Request, ResponseFor } from "./protocol.ts";
import type { RequestOptions, Transport } from "./transport.ts";

/** The kinds of request the broker answers; {@link ChaosOptions.apis} picks among them. */
export type ChaosApi = Request["api"];

/** Extra latency before a request is forwarded. */
export interface ChaosDelay {
  /** Chance in [0, 1] that a request is delayed. */
  readonly probability: number;
  /** A delayed request waits a whole number of ms drawn uniformly from [0, floor(maxMs)]. */
  readonly maxMs: number;
}

/**
 * How often each fault strikes. Every probability is a number in [0, 1] and defaults to 0, so
 * `chaos(t, { seed })` is a transparent layer.
 *
 * When several faults are drawn for one request they combine as on a real wire: the request
 * is delayed first; then it is either lost (`dropRequest`, which overrides
 * `duplicateRequest` and `dropResponse`, since nothing reached the broker) or delivered,
 * possibly twice and possibly with its answer lost; finally the connection may drop
 * (`disconnect`), which rejects the request with `DisconnectedError` whatever else happened.
 */
export interface ChaosOptions {
  /** Seeds the PRNG: an integer (safe-integer range; all 64 bits of it count). */
  readonly seed: number;
  /**
   * The request never reaches the broker; the caller gets `RequestTimedOutError` once its
   * `timeoutMs` has passed. Models a lost packet: the request was certainly not applied.
   */
  readonly dropRequest?: number;
  /**
   * The broker applies the request but its answer is lost; the caller gets
   * `RequestTimedOutError` at its original deadline. This is the ambiguous case that makes
   * at-least-once producers write duplicates.
   */
  readonly dropResponse?: number;
  /**
   * The broker receives the request twice, the copy right after the original; the caller
   * gets the first answer to arrive and the other is discarded. Models a network
   * retransmission, which only idempotent producers survive without duplicates.
   */
  readonly duplicateRequest?: number;
  /** Extra latency before forwarding; a delayed request can be overtaken by later ones. */
  readonly delay?: ChaosDelay;
  /**
   * The connection drops just after the request is forwarded: it and every other request
   * outstanding through this layer reject at once with `DisconnectedError`; their late
   * answers are discarded, and delayed requests not yet forwarded are lost.
   */
  readonly disconnect?: number;
  /**
   * For this many ms after any disconnect, new requests (of every api) reject at once with
   * `DisconnectedError` without reaching the broker. Default 0.
   */
  readonly reconnectMs?: number;
  /** Times timeouts, delays and reconnects. Default {@link systemClock}; tests use a `VirtualClock`. */
  readonly clock?: Clock;
  /**
   * Which request kinds are subject to faults; default all. Other kinds pass straight
   * through (though a disconnect still fails them, as it would on a shared connection).
   */
  readonly apis?: ReadonlyArray<ChaosApi>;
}

/** The settings that {@link ChaosTransport.configure} may change while the layer runs. */
export type ChaosUpdate = Partial<Omit<ChaosOptions, "seed" | "clock">>;

/** Which fault struck. */
export type ChaosFaultKind = "drop-request" | "drop-response" | "duplicate-request" | "delay" | "disconnect";

/**
 * One fault that struck one request, emitted synchronously as it takes effect: `delay` when
 * the request arrives, the others when the request is forwarded (for an undelayed request,
 * the same moment). A delayed request that a disconnect or `close()` loses before it is
 * forwarded therefore reports only its `delay`, and every `drop-response` or
 * `duplicate-request` names a request the broker really received.
 */
export interface ChaosFault {
  readonly kind: ChaosFaultKind;
  /** The request as the caller passed it (same reference), so tests can match it. */
  readonly request: Request;
  /** For `delay`: how long the request was held, in ms. */
  readonly delayMs?: number;
}

/** Live counters, updated as faults take effect (so they match the `fault` events). */
export interface ChaosStats {
  /** Every request passed to `request()` before `close()`, whether subject to faults or not. */
  readonly requests: number;
  readonly droppedRequests: number;
  readonly droppedResponses: number;
  readonly duplicatedRequests: number;
  readonly delayedRequests: number;
  /** Connection drops, both drawn ones and those forced by {@link ChaosTransport.disconnectNow}. */
  readonly disconnects: number;
}

/** A {@link Transport} with faults injected, and the means to observe and steer them. */
export interface ChaosTransport extends Transport {
  /** Live counters; the same object throughout, so copy it to keep a snapshot. */
  readonly stats: ChaosStats;
  /** Emits `fault` for every drawn fault that takes effect (see {@link ChaosFault}). */
  readonly events: EventEmitter<{ fault: [ChaosFault] }>;
  /**
   * Changes fault settings for requests arriving from now on, e.g. to heal the network for
   * the rest of a test. Validated like {@link chaos}'s options and applied all or nothing; a
   * key given as `undefined` is left unchanged. Requests already decided keep their faults.
   *
   * @throws {@link ConfigError} naming the offending field.
   */
  configure(update: ChaosUpdate): void;
  /** Drops the connection now, exactly as a drawn `disconnect` does (no `fault` event). */
  disconnectNow(): void;
  /**
   * Rejects every outstanding request with `TransportClosedError`, loses delayed ones not yet
   * forwarded, refuses new ones, and closes the inner transport.
   */
  close(): Promise<void>;
}

interface Settings {
  dropRequest: number;
  dropResponse: number;
  duplicateRequest: number;
  delayProbability: number;
  delayMaxMs: number;
  disconnect: number;
  reconnectMs: number;
  /** Indexed by api: whether that kind of request is subject to faults. */
  subject: Record<ChaosApi, boolean>;
}

// A Record over ChaosApi, so adding a request kind to the protocol fails to compile here
// until it is listed.
const ALL_APIS: Record<ChaosApi, true> = {
  produce: true,
  fetch: true,
  metadata: true,
  initProducerId: true,
  addPartitionsToTxn: true,
  txnOffsetCommit: true,
  endTxn: true,
  offsetFetch: true,
  joinGroup: true,
  heartbeat: true,
  leaveGroup: true,
  offsetCommit: true,
};
const API_NAMES = Object.keys(ALL_APIS) as ChaosApi[];
const PROBABILITY_KEYS = ["dropRequest", "dropResponse", "duplicateRequest", "disconnect"] as const;
const UPDATE_KEYS: readonly string[] = [...PROBABILITY_KEYS, "delay", "reconnectMs", "apis"];
const OPTION_KEYS: readonly string[] = ["seed", "clock", ...UPDATE_KEYS];

// Faults decided for one request, as bit flags so the decision is one small integer.
const DROP_REQUEST = 1;
const DROP_RESPONSE = 2;
const DUPLICATE = 4;
const DISCONNECT = 8;

const TWO_POW_32 = 2 ** 32;
// xoroshiro128+ seeded from a small integer starts in a low-entropy state whose first outputs
// barely differ between neighbouring seeds (the very first is just `~seed`); discarding a
// few lets it mix before any decision depends on it.
const WARM_UP_DRAWS = 16;

/**
 * Wraps `transport` in a seeded fault layer.
 *
 * Every request subject to faults draws exactly six values from the PRNG when it arrives (one
 * per fault kind, plus the delay amount), whether or not any fault fires, so one request's
 * luck never shifts another's and the probabilities can change mid-run without reshuffling
 * the stream. Requests not subject to faults, and those refused while closed or
 * reconnecting, draw nothing. Hence: same seed + same sequence of requests (and, with
 * `reconnectMs`, the same clock) => the same faults.
 *
 * Every request goes through the layer's own correlator with the caller's `timeoutMs` (and is
 * forwarded with the same options), which gives lost requests and answers their deadline and
 * lets a disconnect fail everything outstanding at once.
 *
 * @throws {@link ConfigError} naming the field (e.g. `chaos.dropResponse`) when an option is
 *   unknown or of the wrong type or range.
 */
export function chaos(transport: Transport, options: ChaosOptions): ChaosTransport {
  checkOptions(options, OPTION_KEYS, "chaos");
  const seed: unknown = options.seed;
  if (typeof seed !== "number" || !Number.isSafeInteger(seed)) {
    throw new ConfigError("chaos.seed", `expected a (safe) integer, got ${describe(seed)}`);
  }
  const clockOption: unknown = options.clock;
  if (clockOption !== undefined && !isClock(clockOption)) {
    throw new ConfigError(
      "chaos.clock",
      `expected a Clock (now, setTimeout, clearTimeout), got ${describe(clockOption)}`,
    );
  }
  const clock: Clock = clockOption ?? systemClock;
  const settings: Settings = {
    dropRequest: 0,
    dropResponse: 0,
    duplicateRequest: 0,
    delayProbability: 0,
    delayMaxMs: 0,
    disconnect: 0,
    reconnectMs: 0,
    subject: { ...ALL_APIS },
  };
  Object.assign(settings, parseUpdate(options));

  const rng = seededRng(seed);
  const draw = (): number => (rng.unsafeNext() >>> 0) / TWO_POW_32;

  const correlator = new Correlator<unknown>(clock);
  const events = new EventEmitter<{ fault: [ChaosFault] }>();
  const stats = {
    requests: 0,
    droppedRequests: 0,
    droppedResponses: 0,
    duplicatedRequests: 0,
    delayedRequests: 0,
    disconnects: 0,
  };
  // Delay timers not yet fired: a disconnect or close loses these requests, so their
  // timers are cancelled rather than left to forward onto a connection that is gone.
  const delayed = new Set<unknown>();
  let reconnectUntil = -Infinity;
  let closed = false;
  let closing: Promise<void> | undefined;

  const ignore = (): void => {};

  function dropConnection(): void {
    stats.disconnects++;
    for (const handle of delayed) clock.clearTimeout(handle);
    delayed.clear();
    if (settings.reconnectMs > 0) reconnectUntil = clock.now() + settings.reconnectMs;
    correlator.failAll(new DisconnectedError());
  }

  function forward(id: number, request: Request, options: RequestOptions, faults: number): void {
    if (faults === 0) {
      transport.request(request, options).then(
        (answer) => correlator.settle(id, answer),
        (error: unknown) => correlator.fail(id, error),
      );
      return;
    }
    if (faults & DROP_REQUEST) {
      stats.droppedRequests++;
      events.emit("fault", { kind: "drop-request", request });
    } else {
      if (faults & DUPLICATE) {
        stats.duplicatedRequests++;
        events.emit("fault", { kind: "duplicate-request", request });
      }
      let onAnswer: (answer: unknown) => void;
      if (faults & DROP_RESPONSE) {
        stats.droppedResponses++;
        events.emit("fault", { kind: "drop-response", request });
        // Only answers are lost: an inner transport failure is not an answer, and passing it
        // on keeps the inner transport's own errors visible.
        onAnswer = ignore;
      } else {
        onAnswer = (answer) => correlator.settle(id, answer);
      }
      const onError = (error: unknown): void => correlator.fail(id, error);
      transport.request(request, options).then(onAnswer, onError);
      // Both copies share the caller's slot in the correlator, so whichever answer comes first
      // wins and the other is discarded as late, as with a retransmission on a real wire.
      if (faults & DUPLICATE) transport.request(request, options).then(onAnswer, onError);
    }
    if (faults & DISCONNECT) {
      events.emit("fault", { kind: "disconnect", request });
      dropConnection();
    }
  }

  const layer: ChaosTransport = {
    stats,
    events,

    request<R extends Request>(request: R, options: RequestOptions): Promise<ResponseFor<R>> {
      if (closed) return Promise.reject(new TransportClosedError());
      stats.requests++;
      if (reconnectUntil !== -Infinity) {
        if (clock.now() < reconnectUntil) {
          return Promise.reject(new DisconnectedError("the connection to the broker is down (reconnecting)"));
        }
        reconnectUntil = -Infinity;
      }
      const { id, response } = correlator.open(options.timeoutMs);
      const s = settings;
      if (!s.subject[request.api]) {
        forward(id, request, options, 0);
        return response as Promise<ResponseFor<R>>;
      }
      // Always six draws, in a fixed order, whatever fires: see the guarantee on chaos().
      const uDropRequest = draw();
      const uDropResponse = draw();
      const uDuplicate = draw();
      const uDelay = draw();
      const uDelayMs = draw();
      const uDisconnect = draw();
      let faults = 0;
      if (uDropRequest < s.dropRequest) faults |= DROP_REQUEST;
      if (uDropResponse < s.dropResponse) faults |= DROP_RESPONSE;
      if (uDuplicate < s.duplicateRequest) faults |= DUPLICATE;
      if (uDisconnect < s.disconnect) faults |= DISCONNECT;
      if (uDelay < s.delayProbability) {
        const maxMs = Math.floor(s.delayMaxMs);
        const delayMs = Math.floor(uDelayMs * (maxMs + 1));
        stats.delayedRequests++;
        events.emit("fault", { kind: "delay", request, delayMs });
        const handle: unknown = clock.setTimeout(() => {
          delayed.delete(handle);
          // Forwarded even if the caller has timed out meanwhile: a request late on the wire
          // still reaches the broker, which is exactly what makes a timeout ambiguous.
          forward(id, request, options, faults);
        }, delayMs);
        delayed.add(handle);
      } else {
        forward(id, request, options, faults);
      }
      return response as Promise<ResponseFor<R>>;
    },

    configure(update: ChaosUpdate): void {
      if (!isObject(update)) throw new ConfigError("chaos", `expected an object, got ${describe(update)}`);
      rejectUnknownKeys(update, UPDATE_KEYS, "chaos", " (seed and clock are fixed at creation)");
      // parseUpdate validates everything before anything is assigned: all or nothing.
      Object.assign(settings, parseUpdate(update));
    },

    disconnectNow(): void {
      if (!closed) dropConnection();
    },

    close(): Promise<void> {
      if (!closing) {
        closed = true;
        for (const handle of delayed) clock.clearTimeout(handle);
        delayed.clear();
        correlator.failAll(new TransportClosedError());
        closing = transport.close();
      }
      return closing;
    },
  };
  return layer;
}

/** Validates the fault settings in `input`, returning only those given (not `undefined`). */
function parseUpdate(input: ChaosUpdate): Partial<Settings> {
  const out: Partial<Settings> = {};
  for (const key of PROBABILITY_KEYS) {
    const value: unknown = input[key];
    if (value === undefined) continue;
    out[key] = probability(value, `chaos.${key}`);
  }
  const delay: unknown = input.delay;
  if (delay !== undefined) {
    if (!isObject(delay)) {
      throw new ConfigError("chaos.delay", `expected { probability, maxMs }, got ${describe(delay)}`);
    }
    rejectUnknownKeys(delay, ["probability", "maxMs"], "chaos.delay");
    out.delayProbability = probability(delay.probability, "chaos.delay.probability");
    out.delayMaxMs = milliseconds(delay.maxMs, "chaos.delay.maxMs");
  }
  if (input.reconnectMs !== undefined) out.reconnectMs = milliseconds(input.reconnectMs, "chaos.reconnectMs");
  const apis: unknown = input.apis;
  if (apis !== undefined) {
    if (!Array.isArray(apis)) {
      throw new ConfigError("chaos.apis", `expected an array of api names, got ${describe(apis)}`);
    }
    const subject = Object.fromEntries(API_NAMES.map((api) => [api, false])) as Record<ChaosApi, boolean>;
    apis.forEach((api: unknown, i) => {
      if (typeof api !== "string" || !Object.hasOwn(ALL_APIS, api)) {
        throw new ConfigError(
          `chaos.apis[${i}]`,
          `expected one of ${API_NAMES.map((a) => `"${a}"`).join(", ")}, got ${describe(api)}`,
        );
      }
      subject[api as ChaosApi] = true;
    });
    out.subject = subject;
  }
  return out;
}

function probability(value: unknown, field: string): number {
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw new ConfigError(field, `expected a probability in [0, 1], got ${describe(value)}`);
  }
  return value;
}

function milliseconds(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(field, `expected a finite number of ms >= 0, got ${describe(value)}`);
  }
  return value;
}

/**
 * xoroshiro128+ seeded from all 64 bits of a safe integer (pure-rand's own seeding keeps only
 * the low 32, so 1 and 2**32 + 1 would replay the same faults), then warmed up.
 */
export function seededRng(seed: number): RandomGenerator {
  const lo = seed | 0;
  const hi = Math.floor(seed / TWO_POW_32) | 0;
  // The same layout as xoroshiro128plus(lo), with the high word mixed into the two words that
  // are otherwise constant; s00 = ~lo and s11 = lo can never both be 0, so the state is never
  // all zero (xoroshiro's one forbidden state).
  const rng = xoroshiro128plus.fromState([-1 ^ hi, ~lo, lo, hi]);
  for (let i = 0; i < WARM_UP_DRAWS; i++) rng.unsafeNext();
  return rng;
}
