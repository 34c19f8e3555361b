/** What the live runs of `test/machine-graph.test.ts` share (and the consumer path tests). */
import {
  chaos,
  type ConsumerConfig,
  type EmbeddedBroker,
  GroupConsumer,
  type Producer,
  type VirtualClock,
} from "../../src/internal.ts";
import type { PathRecorder } from "./graph-paths.ts";

/** Live runs by name; each one drives real actors, observed through `recorder.inspect`. */
export type Scenarios = Record<string, (recorder: PathRecorder) => Promise<void>>;

/** A retry policy that retries at once, so that runs on a `VirtualClock` stay short. */
export const FAST = { maxRetries: 3, initialDelay: 1, maxDelay: 1, strategy: "fixed" } as const;

/** Waits for `p` and ignores how it ended: a run is judged by the transitions it took. */
export const settle = (p: Promise<unknown>): Promise<void> => p.then(() => undefined, () => undefined);

/** Sends each value (in order, with `key`) and waits until every one has settled. */
export async function sendAll(
  producer: Producer,
  values: string[],
  key: string | null = null,
): Promise<PromiseSettledResult<unknown>[]> {
  const outputs = [];
  for (const v of values) outputs.push(await producer.send(key, v));
  return Promise.allSettled(outputs.map((o) => o.wait()));
}

/** Consumer settings with a short session, so that a lost session shows within a short run. */
export const SHORT_SESSION = {
  groupId: "g",
  sessionTimeoutMs: 300,
  heartbeatIntervalMs: 100,
  requestTimeout: 50,
  pollIntervalMs: 10,
} as const;

/**
 * A consumer of topic "in" whose every offset commit is lost on the way: its first commit
 * keeps failing past the session, and the loop fails from `committing`.
 */
export function commitFailingConsumer(
  clock: VirtualClock,
  broker: EmbeddedBroker,
  inspect?: ConsumerConfig["inspect"],
): GroupConsumer {
  const net = chaos(broker.transport(), { seed: 3, clock, apis: ["offsetCommit"], dropRequest: 1 });
  return new GroupConsumer(net, "in", { ...SHORT_SESSION, clock, ...(inspect ? { inspect } : {}) });
}
