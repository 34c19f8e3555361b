/**
 * The demo's consumer side: a consumer group reads a topic to its end through a seeded
 * chaos transport, and crashes at seeded points. Each crash kills the consumer's transport
 * (in the middle of a handler, or at a request that did or did not reach the broker), and a
 * new consumer instance joins the same group and carries on from the group's committed
 * offsets, as a restarted process would. It counts how often a handler completed each log
 * entry, which is what the demo reconciles.
 *
 * @module
 */
import { type RandomGenerator, unsafeUniformIntDistribution, xoroshiro128plus } from "pure-rand";
import type { EmbeddedBroker } from "../broker/broker.ts";
import type { CommitStrategy } from "../consumer/config.ts";
import { createConsumer } from "../consumer/create.ts";
import type { ConsumedRecord } from "../consumer/record.ts";
import type { Consumer, HandlerContext } from "../consumer/consumer.ts";
import type { Inspector } from "../inspect.ts";
import { exactlyOnce } from "../producer/config.ts";
import { createProducer } from "../producer/create.ts";
import type { VirtualClock } from "../runtime/virtual-clock.ts";
import { chaos, type ChaosOptions } from "../transport/chaos.ts";
import { CRASHED, crashingHandler, CrashingTransport } from "./crash.ts";

/** What {@link consumeWithCrashes} needs. */
export interface ConsumeOptions {
  readonly broker: EmbeddedBroker;
  readonly clock: VirtualClock;
  readonly topic: string;
  readonly partitions: number;
  readonly groupId: string;
  readonly commit: CommitStrategy;
  /** `transactional` only: the handler copies each record here, in its batch's transaction. */
  readonly outputTopic?: string;
  /** Seeds the crash points and, per consumer instance, its chaos transport. */
  readonly seed: number;
  /** Faults on every consumer instance's transport (its transactional producer's too). */
  readonly faults: Omit<ChaosOptions, "seed" | "clock">;
  /** How many consumer instances crash before one is left to finish. */
  readonly crashes: number;
  /** A window on the group (the delivery lab's): it sees everything and changes nothing. */
  readonly observe?: ConsumeObserver;
}

/** Hooks on a consumer group's run; none changes what it does. */
export interface ConsumeObserver {
  /** Handed to every consumer and producer created, as their `inspect` option. */
  readonly inspect?: Inspector;
  /** Each consumer instance, as it starts. */
  consumer?(instance: ConsumerInstance): void;
}

/** One consumer instance of the group, as a {@link ConsumeObserver} sees it. */
export interface ConsumerInstance {
  readonly consumer: Consumer;
  /** 0 for the first instance, counting the crashed ones. */
  readonly incarnation: number;
  /** The group's handler runs so far, per partition and offset (live: read, never write). */
  readonly handled: readonly Uint16Array[];
  /**
   * Crashes this instance in a handler, {@link MANUAL_CRASH_AFTER} records from now, as a
   * killed process would: the one thing an observer may do, and it changes the run. The
   * records of the batch in hand meet the commit strategy's fate (handled again, or lost),
   * and a new instance takes over. False if the instance is dead or already doomed.
   */
  crash(): boolean;
}

/** Where a consumer instance crashed: in a handler, or at a request that did or did not reach the broker. */
export type Crash = { readonly at: "handler" } | {
  readonly at: "request";
  readonly api: string;
  readonly applied: boolean;
} | {
  /** Crashed from outside, at no planned point (the lab's "crash a consumer"). */
  readonly at: "manual";
};

/** "handler", "manual", or e.g. "fetch (applied)". */
export function describeCrash(crash: Crash): string {
  return crash.at === "request" ? `${crash.api} (${crash.applied ? "applied" : "lost"})` : crash.at;
}

/** What the group did. */
export interface ConsumeResult {
  /** Per partition, per offset: how many times a handler completed that log entry. */
  readonly handled: Uint16Array[];
  /** Where each crashed instance died, in order. */
  readonly crashes: readonly Crash[];
  /** Consumer instances started, the crashed ones included. */
  readonly instances: number;
  /** Runs that ended in an error the demo did not cause: a consumer that gave up on its own. */
  readonly failures: readonly string[];
}

/**
 * A manual crash lands at the handler call this many records after it was asked for: in the
 * middle of a batch (a fetch brings up to 500), where a crash shows what the commit strategy
 * does with the records in hand. Between batches it would only catch a request.
 */
export const MANUAL_CRASH_AFTER = 50;

/** Instances after the planned crashes that may still fail before the demo gives up. */
const SPARE_INSTANCES = 20;

/**
 * Consumer settings sized for the virtual clock: a crashed member's partitions go to the
 * next instance after `sessionTimeoutMs` of simulated time, which costs no waiting.
 */
const CONSUMER = {
  maxPollRecords: 500,
  sessionTimeoutMs: 1_000,
  heartbeatIntervalMs: 300,
  pollIntervalMs: 20,
  requestTimeout: 200,
} as const;

/**
 * A well-spread seed from a run's seed and a stream number. Generators seeded with nearby
 * integers start out correlated; hashing first gives every stream its own faults and crashes.
 */
export function seedFor(seed: number, stream: number): number {
  let h = Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.floor(seed / 2 ** 32) ^ Math.imul(stream + 1, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Reads `topic` to its end with a group whose members crash at seeded points. */
export async function consumeWithCrashes(options: ConsumeOptions): Promise<ConsumeResult> {
  const { broker, clock, topic, partitions, groupId, commit, outputTopic } = options;
  if (commit === "transactional" && outputTopic === undefined) {
    throw new Error("a transactional consumer needs an output topic");
  }
  const ends = Array.from({ length: partitions }, (_, p) => broker.partition(topic, p).log.endOffset);
  const handled = ends.map((end) => new Uint16Array(end));
  // Done once the group's committed offsets cover every log entry (an empty partition has nothing to commit).
  const done = (): boolean => ends.every((end, p) => end === 0 || broker.committedOffset(groupId, topic, p) === end);

  // unsafeUniformIntDistribution advances the generator in place.
  const rng: RandomGenerator = xoroshiro128plus(seedFor(options.seed, 0));
  const draw = (min: number, max: number): number => unsafeUniformIntDistribution(min, max, rng);
  const crashes: Crash[] = [];
  const failures: string[] = [];
  const { observe } = options;
  const inspect = observe?.inspect ? { inspect: observe.inspect } : {};
  let instances = 0;
  // Planned crashes; manual ones (see ConsumerInstance.crash) come on top.
  let planned = 0;
  while (!done()) {
    const incarnation = instances++;
    if (incarnation >= options.crashes + SPARE_INSTANCES + crashes.length - planned) {
      throw new Error(`the group made no progress after ${incarnation} consumer instances (${failures.join("; ")})`);
    }
    // Instances crash until the planned crashes have happened; the next one runs to the end.
    const left = options.crashes - planned;
    const crashing = left > 0;
    // The crash point is drawn within what this instance will surely get to: at most a share
    // of the records not yet committed (it handles every one of them unless it crashes), or
    // of the fetches they need. The first crash is in a handler, so every strategy meets one
    // mid-batch; the others are in a handler or at a request (a fetch, a commit, a heartbeat,
    // a transaction step, as the draw falls), which did or did not reach the broker.
    const remaining = ends.reduce((sum, end, p) => sum + end - (broker.committedOffset(groupId, topic, p) ?? 0), 0);
    const share = Math.floor(remaining / (left + 1));
    const inHandler = crashing && (planned === 0 || draw(0, 1) === 0);
    const atRecord = inHandler ? draw(1, Math.max(1, share)) : -1;
    const atRequest = crashing && !inHandler
      ? draw(1, Math.max(1, Math.floor(share / CONSUMER.maxPollRecords)))
      : undefined;
    const applied = atRequest !== undefined && draw(0, 1) === 1;
    const wire = chaos(broker.transport(), { seed: seedFor(options.seed, incarnation + 1), clock, ...options.faults });
    const transport = new CrashingTransport(wire, atRequest === undefined ? {} : { atRequest, applied });
    // One transactional id for every instance: a new instance fences its crashed predecessor
    // and aborts whatever transaction that one left open.
    const output = commit === "transactional"
      ? createProducer(transport, outputTopic!, {
        clock,
        requestTimeout: 200,
        deliverySemantic: exactlyOnce({ transactionalId: `${groupId}-ctp`, transactionTimeoutMs: 5_000 }),
        ...inspect,
      })
      : undefined;
    const consumer = createConsumer(transport, topic, {
      groupId,
      commit,
      clock,
      ...CONSUMER,
      ...(output ? { producer: output } : {}),
      ...inspect,
    });
    // A manual crash: handler calls left before it lands (0: none asked for), and whether it did.
    let manualIn = 0;
    let manual = false;
    observe?.consumer?.({
      consumer,
      incarnation,
      handled,
      crash: () => {
        if (transport.dead || manualIn > 0) return false;
        manualIn = MANUAL_CRASH_AFTER;
        return true;
      },
    });

    const stop = new AbortController();
    const handler = crashingHandler(
      transport,
      atRecord,
      async (record: ConsumedRecord, context: HandlerContext): Promise<void> => {
        if (manualIn > 0 && --manualIn === 0) {
          manual = true;
          transport.kill();
          throw CRASHED;
        }
        if (context.tx) await context.tx.send(record.key, record.value);
        handled[record.partition]![record.offset]!++;
      },
    );
    // Stops the loop once the group's offsets cover everything; checked after each commit.
    const watch = consumer.commits$.subscribe(() => {
      if (done()) stop.abort();
    });
    try {
      await consumer.run(handler, { signal: stop.signal });
    } catch (error) {
      if (manual) {
        crashes.push({ at: "manual" });
      } else if (transport.dead) {
        planned++;
        crashes.push(inHandler ? { at: "handler" } : { at: "request", api: transport.crashedOn ?? "unknown", applied });
      } else {
        // Not a crash of ours: the consumer gave up (say, a broker out of reach for longer
        // than its retries). Reported; the process "restarts" like after a crash.
        failures.push(error instanceof Error ? error.message : String(error));
        transport.kill();
      }
    } finally {
      watch.unsubscribe();
    }
    await consumer.close();
    // A crashed producer is abandoned, as a dead process's would be; the next instance fences it.
    if (output && !transport.dead) await output.close();
  }
  return { handled, crashes, instances, failures };
}
