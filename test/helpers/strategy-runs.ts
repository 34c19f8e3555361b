/**
 * What the commit-strategy tests (`consumer-strategies*.test.ts`) share: a small filled topic
 * on a VirtualClock with its input history, consumers whose loop events are recorded, runs
 * until a condition holds, and transports that fence a commit.
 */
import { linked, until } from "./harness.ts";
import * as assert from "uvu/assert";
import {
  atLeastOnce,
  type CommitStrategy,
  type ConsumedRecord,
  type Consumer,
  type ConsumerConfig,
  type ConsumerOutcome,
  EmbeddedBroker,
  exactlyOnce,
  VirtualClock,
} from "../../src/index.ts";
import type { Request } from "../../src/internal.ts";
import type { InspectionEvent } from "xstate";
import { History, idOf } from "./history.ts";
import { routed } from "./routed-transport.ts";

const PARTITIONS = 2;
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

export interface Setup {
  readonly broker: EmbeddedBroker;
  readonly clock: VirtualClock;
  /** The input history: every record sent, with its partition. */
  readonly history: History;
  /** Per partition, the log end once filled. */
  readonly ends: number[];
  /** The events the consumers' loop machines received, in order (via `inspect`). */
  readonly events: string[];
}

/** Topic `in` of two partitions holding `count` records `r<i>` (each with a header and a timestamp), plus `dlq` and `out`. */
export async function filled(label: string, count: number): Promise<Setup> {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("in", { partitions: PARTITIONS });
  broker.createTopic("dlq", { partitions: 1 });
  broker.createTopic("out", { partitions: PARTITIONS });
  const producer = broker.producer("in", { deliverySemantic: atLeastOnce() });
  for (let i = 0; i < count; i++) {
    await producer.send(`k${i % 4}`, `r${i}`, { headers: { n: `${i}` }, timestamp: 1000 + i });
  }
  await producer.close();
  const history = new History(label);
  const ends: number[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const records = broker.read("in", p);
    for (const r of records) history.send(idOf(r.value), { partition: p });
    ends.push(broker.partition("in", p).log.endOffset);
  }
  return { broker, clock, history, ends, events: [] };
}

/** The input history with the committed output (topic `out`, read-committed) read into it. */
export function readOutput({ broker, history }: Setup): History {
  for (let p = 0; p < PARTITIONS; p++) {
    for (const r of broker.read("out", p, { isolation: "read-committed" })) history.read(idOf(r.value), p, r.offset);
  }
  return history;
}

export const settled = ({ broker, ends }: Setup): boolean =>
  ends.every((end, p) => broker.committedOffset("g", "in", p) === (end === 0 ? null : end));

/** Runs `c` with `handler` until `done()`, then stops and closes it; returns the outcomes it reported. */
export async function runUntil(
  c: Consumer,
  clock: VirtualClock,
  handler: (r: ConsumedRecord, tx: { send(value: Uint8Array): Promise<unknown> } | null) => unknown,
  done: () => boolean,
): Promise<ConsumerOutcome[]> {
  const outcomes: ConsumerOutcome[] = [];
  const sub = c.outcomes$.subscribe((o) => outcomes.push(o));
  const stop = new AbortController();
  const running = c.run(
    (r, { tx }) => handler(r, tx === null ? null : { send: (value) => tx.send(r.key, value) }),
    { signal: linked(stop) },
  );
  try {
    await until(clock, () => done(), "the consumer to settle", { within: 60_000 });
  } finally {
    stop.abort();
    await running.catch(() => undefined);
    sub.unsubscribe();
    await c.close();
  }
  await running;
  return outcomes;
}

export function consumerOf(setup: Setup, commit: CommitStrategy, extra: Partial<ConsumerConfig> = {}): Consumer {
  const tx = commit === "transactional" && extra.producer === undefined
    ? { producer: setup.broker.producer("out", { deliverySemantic: exactlyOnce({ transactionalId: "t" }) }) }
    : {};
  const inspect = (e: InspectionEvent): void => {
    if (e.type === "@xstate.event") setup.events.push(e.event.type);
  };
  return setup.broker.consumer("in", {
    groupId: "g",
    commit,
    pollIntervalMs: 10,
    maxPollRecords: 5,
    inspect,
    ...tx,
    ...extra,
  });
}

export const ofType = <T extends ConsumerOutcome["type"]>(outcomes: ConsumerOutcome[], type: T) =>
  outcomes.filter((o): o is Extract<ConsumerOutcome, { type: T }> => o.type === type);
export const ids = (records: { record: ConsumedRecord }[]): number[] =>
  records.map(({ record }) => idOf(record.value)).sort((a, b) => a - b);
export const failing = (id: number): boolean => id % 7 === 3;
export const count = (events: string[], type: string): number => events.filter((e) => e === type).length;

/** Each direct commit stores something, and only offsets beyond the partition's last commit. */
export function assertCommitsAdvance(outcomes: ConsumerOutcome[]): void {
  const last = new Map<number, number>();
  for (const { offsets } of ofType(outcomes, "committed")) {
    assert.ok(offsets.length > 0, "a commit stores at least one offset");
    for (const { partition, offset } of offsets) {
      assert.ok(offset > (last.get(partition) ?? 0), `partition ${partition}: ${offset} after ${last.get(partition)}`);
      last.set(partition, offset);
    }
  }
}

/** A transport that refuses the `n`th offset commit as a rebalance would (IllegalGeneration). */
export function fencingCommit(broker: EmbeddedBroker, n: number) {
  let commits = 0;
  return routed(broker.transport(), (request: Request) => {
    if (request.api !== "offsetCommit" || ++commits !== n) return undefined;
    return Promise.resolve({ ok: false, error: { code: "ILLEGAL_GENERATION", message: "rebalanced (test)" } });
  });
}

/** Runs a consumer until its handler has stopped the run, then runs it again (same member, same cursors). */
export async function stopAndResume(setup: Setup, commit: CommitStrategy, stopAt: number, throwing: boolean) {
  const c = consumerOf(setup, commit, { maxPollRecords: 20 });
  const outcomes: ConsumerOutcome[] = [];
  const sub = c.outcomes$.subscribe((o) => outcomes.push(o));
  const first: ConsumedRecord[] = [];
  const later: ConsumedRecord[] = [];
  try {
    const stop = new AbortController();
    await c.run(async (r, { tx }) => {
      first.push(r);
      await tx?.send(r.key, r.value);
      if (first.length === stopAt) {
        stop.abort();
        if (throwing) throw new Error("interrupted mid-record");
      }
    }, { signal: linked(stop) });
    const committed = [0, 1].map((p) => setup.broker.committedOffset("g", "in", p));
    const again = new AbortController();
    const running = c.run(async (r, { tx }) => {
      later.push(r);
      await tx?.send(r.key, r.value);
    }, { signal: linked(again) });
    try {
      await until(setup.clock, () => settled(setup), "the second run to settle", { within: 60_000 });
    } finally {
      again.abort();
      await running;
    }
    return { first, later, committed, outcomes };
  } finally {
    sub.unsubscribe();
    await c.close();
  }
}
