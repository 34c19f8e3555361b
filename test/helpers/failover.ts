/**
 * Producer workloads under a real fault: at-most-once, at-least-once and exactly-once
 * producers, in message and in batch framing, send side by side (each at a fixed offered
 * rate, so every one of them is mid-stream when the fault strikes) while a fault schedule
 * kills, partitions or cuts the servers of a {@link NatsCluster}. Afterwards everything is
 * read back once the cluster has recovered, and each producer's whole history (sends,
 * `wait()` results, what `flush()` reported, reads with offsets) is judged by the history
 * checker with its semantic's invariant. Every failure names the schedule that ran.
 */
import * as assert from "uvu/assert";
import process from "node:process";
import {
  atLeastOnce,
  atMostOnce,
  createProducer,
  type DeliverySemantic,
  exactlyOnce,
  type RecordMetadata,
  UndeliveredRecordsError,
} from "../../src/index.ts";
import { connectNats, type Framing, type NatsTransport, streamName } from "../../src/adapters/nats/index.ts";
import {
  assertHolds,
  atLeastOnce as atLeastOnceHolds,
  atMostOnce as atMostOnceHolds,
  exactlyOnce as exactlyOnceHolds,
  History,
  type HistoryReport,
  idOf,
  type Invariant,
  reportsMatchLog,
} from "./history.ts";
import type { NatsCluster, NatsNode } from "./nats-cluster.ts";
import { poll, sleep } from "./nats-process.ts";
import { dec, uniqueTopic } from "./nats.ts";
import { recordsOf, type StoredMessage, storedMessage } from "../../src/adapters/nats/message.ts";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

/** Records per producer in the failover suites (ACKTOR_FAILOVER_RECORDS for more or fewer). */
export const COUNT = Number(process.env.ACKTOR_FAILOVER_RECORDS ?? 20_000);
export const RATE = Number(process.env.ACKTOR_FAILOVER_RATE ?? 4_000);
/** The fault strikes a quarter into the paced run, so records are in flight and still to come. */
export const FAULT_AFTER_MS = Math.round((COUNT / RATE) * 250);
/** How long a killed node stays down. */
export const DOWN_MS = 1_000;

export type SemanticName = "at-most-once" | "at-least-once" | "exactly-once";

export const SEMANTICS: readonly SemanticName[] = ["at-most-once", "at-least-once", "exactly-once"];
export const FRAMINGS: readonly Framing[] = ["message", "batch"];

/** Retries that outlast any fault here: an election, a restart, a healed partition. */
const RETRY = { maxRetries: 10_000, initialDelay: 50, maxDelay: 500, strategy: "fixed", timeout: 120_000 } as const;

function semanticOf(name: SemanticName): DeliverySemantic {
  switch (name) {
    case "at-most-once":
      return atMostOnce();
    case "at-least-once":
      return atLeastOnce(RETRY);
    case "exactly-once":
      return exactlyOnce({ retry: RETRY });
  }
}

const INVARIANTS: Record<SemanticName, Invariant[]> = {
  "at-most-once": [atMostOnceHolds],
  "at-least-once": [atLeastOnceHolds(), reportsMatchLog],
  "exactly-once": [exactlyOnceHolds, reportsMatchLog],
};

/** Records `i` of a workload carry the value `r<base + i>`, so workloads sharing a topic never collide. */
const ID_SPAN = 1_000_000;

export interface FailoverOptions {
  /** Replicas of each topic's stream (3 in a 3-node cluster, 1 on a single server). */
  readonly replicas: number;
  /** Records per workload. */
  readonly count: number;
  /** Records per second each workload offers. */
  readonly rate: number;
  /** Partitions per topic; default 3. */
  readonly partitions?: number;
  /** Where the producers connect; default every node, through its client proxy (so cuts reach them). */
  readonly servers?: () => string[];
  /**
   * The fault is one where the server itself may drop writes it acknowledged (a partitioned
   * stream leader, see README "What the server itself can lose"): records reported delivered
   * and then missing from the leader's log are reported on stdout instead of failing the run.
   * Everything the client decides still fails it: a record lost without an acknowledgement,
   * a duplicate, a record out of order, a `flush()` that does not match.
   */
  readonly serverMayLoseAcknowledged?: boolean;
  /** Which workloads run; default every semantic in every framing. */
  readonly semantics?: readonly SemanticName[];
  readonly framings?: readonly Framing[];
}

/** What one run did, for a test's own assertions beyond the invariants. */
export interface FailoverRun {
  /** One topic per framing; their stream names. */
  readonly streams: Record<Framing, string>;
  readonly reports: { readonly semantic: SemanticName; readonly framing: Framing; readonly report: HistoryReport }[];
}

/**
 * The topics of a run, made before the fault schedule starts so that it can look at their
 * streams (e.g. to find their leader).
 */
export async function failoverTopics(
  cluster: NatsCluster,
  options: FailoverOptions,
): Promise<Record<Framing, string>> {
  const admin = await connectNats({ servers: cluster.clientUrls(), timeoutMs: 15_000 });
  try {
    const topics = {} as Record<Framing, string>;
    for (const framing of options.framings ?? FRAMINGS) {
      const topic = topics[framing] = uniqueTopic(`failover-${framing}`);
      // Right after a node rejoins, the meta leader can still count it offline and refuse a
      // replicas-3 stream ("no suitable peers for placement, peer offline") for a moment.
      await poll(`topic ${topic} to be created`, async () => {
        await admin.createTopic(topic, {
          partitions: options.partitions ?? 3,
          replicas: options.replicas,
          storage: "file",
          framing,
          duplicateWindowMs: 120_000,
        });
        return true;
      }, { within: 30_000, step: 500, describe: () => cluster.describe() });
    }
    for (const topic of Object.values(topics)) await cluster.waitStreamCurrent(streamName(topic), options.replicas);
    return topics;
  } finally {
    await admin.close();
  }
}

interface Workload {
  readonly semantic: SemanticName;
  readonly framing: Framing;
  readonly base: number;
  readonly history: History;
  flushed: unknown;
  readonly waits: Promise<RecordMetadata | Error>[];
}

/**
 * Runs every workload against `topics` while `schedule` runs (started `faultAfterMs` into
 * the run, awaited before the reads), then reads every topic back and asserts each
 * semantic's invariants, that `flush()` reported exactly the records whose `wait()` failed,
 * and that the schedule's fault really hit (`schedule` returns a description of what it did,
 * which labels every failure).
 */
export async function runFailover(
  cluster: NatsCluster,
  topics: Record<Framing, string>,
  options: FailoverOptions & { readonly faultAfterMs: number; readonly what: string },
  schedule: () => Promise<string>,
): Promise<FailoverRun> {
  const semantics = options.semantics ?? SEMANTICS;
  const framings = (options.framings ?? FRAMINGS).filter((f) => topics[f] !== undefined);
  let done = "the fault schedule has not run";
  const label = () => `${options.what}; ${options.count} records per producer at ${options.rate}/s; ${done}`;
  const workloads: Workload[] = framings.flatMap((framing, f) =>
    semantics.map((semantic, s) => ({
      semantic,
      framing,
      base: (f * semantics.length + s) * ID_SPAN,
      history: new History(`${semantic}, ${framing} framing`),
      flushed: undefined,
      waits: [],
    }))
  );
  const start = Date.now();
  const fault = sleep(options.faultAfterMs).then(schedule).then((what) => {
    done = what;
  });
  fault.catch(() => {});
  await Promise.all(workloads.map((w) => produce(cluster, topics[w.framing], w, options, start)));
  await fault;

  // Read back once every stream is whole again.
  await cluster.waitReady();
  for (const framing of framings) await cluster.waitStreamCurrent(streamName(topics[framing]), options.replicas);
  for (const framing of framings) {
    const mine = workloads.filter((w) => w.framing === framing);
    for (const r of await readStream(cluster, topics[framing], framing)) {
      const id = idOf(r.value);
      const owner = mine.find((w) => id >= w.base && id < w.base + ID_SPAN);
      // A value no workload of this topic sent is a phantom of the first workload's history.
      (owner ?? mine[0]!).history.read(owner ? id - owner.base : id + ID_SPAN, r.partition, r.offset);
    }
  }

  const reports: FailoverRun["reports"][number][] = [];
  const violations: string[] = [];
  for (const w of workloads) {
    const settled = await Promise.all(w.waits);
    settled.forEach((result, id) => w.history.outcome(id, result));
    const checked = w.history.check();
    const prefix = `[${label()}] ${w.semantic}, ${w.framing} framing`;
    // At-most-once awaits no acknowledgement (its `wait()` gives offset -1): nothing to excuse.
    const excuse = options.serverMayLoseAcknowledged && w.semantic !== "at-most-once";
    const report = excuse ? excusing(checked, checked.deliveredButLost) : checked;
    if (report !== checked) {
      console.log(
        `  ${prefix}: the server lost ${checked.deliveredButLost.length} acknowledged record(s)` +
          (checked.deliveredButLost.length ? `, e.g. r${checked.deliveredButLost.slice(0, 5).join(", r")}` : ""),
      );
    }
    reports.push({ semantic: w.semantic, framing: w.framing, report: checked });
    try {
      assertHolds(report, ...INVARIANTS[w.semantic]);
    } catch (error) {
      violations.push(`${prefix}:\n${(error as Error).message}\n${whatFailed(settled)}`);
    }
    const failedWaits = settled.filter((r) => r instanceof Error).length;
    const flushReported = w.flushed instanceof UndeliveredRecordsError ? w.flushed.records : 0;
    if (w.flushed !== undefined && !(w.flushed instanceof UndeliveredRecordsError)) {
      violations.push(`${prefix}: flush() failed with ${String(w.flushed)}, not UndeliveredRecordsError`);
    } else if (flushReported !== failedWaits) {
      violations.push(`${prefix}: flush() reported ${flushReported} failed record(s), wait() failed ${failedWaits}`);
    }
  }
  assert.ok(violations.length === 0, violations.join("\n"));
  // One line per run, for the README's table: what each semantic cost under this fault.
  console.log(
    `  ${label()}\n    ${
      reports.map(({ semantic, framing, report: r }) =>
        `${semantic}/${framing}: ${r.lost.length} lost, ${r.extraCopies} extra copies, ${r.failed.length} failed`
      ).join("; ")
    }`,
  );
  return { streams: mapValues(topics, streamName), reports };
}

/**
 * Every record of the topic, in stream order, as the stream's leader holds it: message gets
 * (`STREAM.MSG.GET`, which only the leader answers), many in flight. Not through any replica:
 * after a partition healed, the node that had been cut off kept 18 messages the others did
 * not have and was still reported current (nats-server 2.9.10); direct gets and ordered
 * consumers served by it disagreed with what the producers were told, thousands of records
 * at a time.
 */
export async function readStream(
  cluster: NatsCluster,
  topic: string,
  framing: Framing,
): Promise<{ partition: number; offset: number; value: string }[]> {
  const stream = streamName(topic);
  const leader = cluster.size === 1 ? cluster.nodes[0]! : await cluster.streamLeader(stream);
  const nc = await connect({ servers: cluster.clientUrl(leader), timeout: 5_000, ignoreClusterUpdates: true });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5_000 });
    const { first_seq: first, last_seq: last } = (await jsm.streams.info(stream)).state;
    const messages: (StoredMessage & { subject: string })[] = [];
    let next = first;
    const worker = async () => {
      while (next <= last) {
        const seq = next++;
        const m = await jsm.streams.getMessage(stream, { seq });
        if (m !== null) messages.push({ ...storedMessage(m), subject: m.subject });
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
    return messages.sort((a, b) => a.seq - b.seq).flatMap((m) => {
      const partition = Number(m.subject.slice(topic.length + 1));
      return recordsOf(m, framing).map((r) => ({ partition, offset: r.offset, value: dec(r.value) }));
    });
  } finally {
    await nc.close();
  }
}

/** The distinct errors that failed `wait()`s, with the first record each failed, for a violation's message. */
function whatFailed(settled: readonly (RecordMetadata | Error)[]): string {
  const first = new Map<string, number>();
  settled.forEach((r, id) => {
    if (r instanceof Error && first.size < 5) {
      const what = `${r.name}: ${r.message}${
        r.cause instanceof Error ? ` (cause ${r.cause.name}: ${r.cause.message})` : ""
      }`;
      if (!first.has(what)) first.set(what, id);
    }
  });
  if (first.size === 0) return "every wait() resolved";
  return [...first].map(([what, id]) => `wait() of r${id} (and maybe later ones) failed with ${what}`).join("\n");
}

/** The report with `ids` (acknowledged, then dropped by the server) no longer counted as lost or misplaced. */
function excusing(report: HistoryReport, ids: readonly number[]): HistoryReport {
  const excused = new Set(ids);
  const keep = (list: readonly number[]) => list.filter((id) => !excused.has(id));
  return {
    ...report,
    lost: keep(report.lost),
    deliveredButLost: keep(report.deliveredButLost),
    lostUnreported: keep(report.lostUnreported),
    misplaced: keep(report.misplaced),
  };
}

/** What a failover case varies: where producers connect, and whether the server may drop acknowledged writes. */
export interface CaseOptions extends Pick<FailoverOptions, "serverMayLoseAcknowledged"> {
  /** Labels the run (the fault schedule adds what it did). */
  readonly what: string;
  /** Where the producers connect, given the node leading every stream; default every node. */
  readonly servers?: (leader: NatsNode) => string[];
}

/**
 * One failover case on `cluster`: fresh topics (replicas: one per node), every stream's leader
 * moved to one node, the six producers, and `fault(leader, streams)` {@link FAULT_AFTER_MS}
 * into the run.
 */
export async function failoverCase(
  cluster: NatsCluster,
  options: CaseOptions,
  fault: (leader: NatsNode, streams: readonly string[]) => Promise<string>,
): Promise<FailoverRun> {
  const shape: FailoverOptions = { replicas: cluster.size, count: COUNT, rate: RATE };
  const topics = await failoverTopics(cluster, shape);
  const streams = Object.values(topics).map(streamName);
  const leader = cluster.size === 1 ? cluster.nodes[0]! : await cluster.alignLeaders(streams);
  const { servers } = options;
  return await runFailover(cluster, topics, {
    ...shape,
    ...options,
    servers: servers && (() => servers(leader)),
    faultAfterMs: FAULT_AFTER_MS,
  }, () => fault(leader, streams));
}

/** SIGKILLs `node`, keeps it down {@link DOWN_MS} (after `meanwhile`, if given), restarts it; says when. */
export async function killAndRestart(
  cluster: NatsCluster,
  node: NatsNode,
  meanwhile: () => Promise<string> = () => Promise.resolve(""),
): Promise<string> {
  const at = Date.now();
  await cluster.kill(node, "SIGKILL");
  const happened = await meanwhile();
  await sleep(DOWN_MS);
  await cluster.restart(node);
  return `${node.name} SIGKILLed at ${FAULT_AFTER_MS} ms${happened}, back after ${Date.now() - at} ms`;
}

function mapValues<T, U>(record: Record<Framing, T>, f: (t: T) => U): Record<Framing, U> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v as T)])) as Record<Framing, U>;
}

/** One producer on its own connection (through the client proxies, so cuts reach it), paced at `rate`. */
async function produce(
  cluster: NatsCluster,
  topic: string,
  w: Workload,
  options: FailoverOptions,
  start: number,
): Promise<void> {
  let nats: NatsTransport | null = null;
  try {
    nats = await connectNats({ servers: options.servers?.() ?? cluster.proxiedUrls(), timeoutMs: 15_000 });
    const producer = createProducer(nats, topic, { deliverySemantic: semanticOf(w.semantic), requestTimeout: 2_000 });
    try {
      for (let i = 0; i < options.count; i++) {
        if (i % 50 === 0) {
          const due = start + (i / options.rate) * 1_000 - Date.now();
          if (due > 0) await sleep(due);
        }
        const key = `k${i % 13}`;
        const output = await producer.send(key, `r${w.base + i}`);
        w.history.send(i, { key, partition: output.partition });
        w.waits.push(output.wait().catch((e: Error) => e));
      }
      w.flushed = await producer.flush().then(() => undefined, (e: unknown) => e);
    } finally {
      await producer.close().catch(() => {});
    }
  } finally {
    await nats?.close();
  }
}
