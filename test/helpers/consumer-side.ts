/**
 * The consumer side of a generated run, judged end to end: a churning group (`group-churn.ts`)
 * reads the input through the semantic's commit strategy, and the shared history checker
 * judges what its handlers processed (at-most-once: never twice; at-least-once: every record
 * in the log at least once) or, for exactly-once, what its transactions put in the output
 * topic, read back read-committed (each record exactly once). Zombie generations are judged
 * twice: live, by the commit referee, on every commit the run's members made, and once more
 * by a deliberate stale commit at the end.
 */
import type { EmbeddedBroker, VirtualClock } from "../../src/index.ts";
import { CommitReferee } from "./commit-referee.ts";
import { runGroup } from "./group-churn.ts";
import { atLeastOnce, atMostOnce, exactlyOnce, History, type HistoryReport, idOf, type Invariant } from "./history.ts";
import { COMMIT, type FaultCounts, type Group, type Schedule } from "./schedule.ts";

export interface ConsumerSideOptions {
  readonly broker: EmbeddedBroker;
  readonly clock: VirtualClock;
  readonly input: string;
  readonly output: string;
  readonly counts: FaultCounts;
  readonly label: string;
  /** Extra invariants on what the handlers completed (the self-test's deliberately wrong one). */
  readonly extra?: readonly Invariant[];
}

/** Plays the schedule's group against the input log and returns one line per broken invariant. */
export async function consumerSide(s: Schedule, group: Group, o: ConsumerSideOptions): Promise<string[]> {
  const extra = o.extra ?? [];
  const { broker, input, label } = o;
  const commit = COMMIT[s.semantic];
  const groupId = `g-${commit}`;
  const referee = new CommitReferee(broker, label);
  const run = await runGroup({
    broker,
    clock: o.clock,
    wire: referee,
    topic: input,
    partitions: s.topic.partitions,
    groupId,
    commit,
    outputTopic: o.output,
    seed: s.seed ^ 0x5bd1e995,
    group,
  });
  o.counts["member-join"] += run.joins;
  o.counts["member-leave"] += run.leaves;
  o.counts["consumer-crash"] += run.crashes;
  o.counts["member-pause"] += run.pauses;
  o.counts["member-gave-up"] += run.gaveUp;
  o.counts["fenced-commit"] += referee.fenced;

  // Per partition, each log entry's offset and record id, decoded once.
  const inputLog = Array.from(
    { length: s.topic.partitions },
    (_, p) => broker.read(input, p).map((r) => ({ offset: r.offset, id: idOf(r.value) })),
  );
  // A history of the input's records, one per id (a record the producer wrote twice is one
  // record sent: its first copy's partition and order).
  const sentOnce = (name: string): History => {
    const h = new History(`${label} ${name}`);
    const sent = new Set<number>();
    inputLog.forEach((log, p) => {
      for (const { id } of log) {
        if (!sent.has(id)) h.send(id, { partition: p, producer: `in-${p}` });
        sent.add(id);
      }
    });
    return h;
  };
  // What the handlers completed, each log entry as often as a handler completed it.
  const handled = (): HistoryReport => {
    const h = sentOnce("handled");
    inputLog.forEach((log, p) => {
      for (const { offset, id } of log) {
        const n = run.handled[p]![offset] ?? 0;
        for (let k = 0; k < n; k++) h.read(id, p, offset);
      }
    });
    return h.check();
  };
  const violations: string[] = [];
  if (commit === "transactional") {
    const e2e = sentOnce("end to end");
    for (let p = 0; p < s.topic.partitions; p++) {
      for (const r of broker.read(o.output, p)) e2e.read(idOf(r.value), p, r.offset);
    }
    // Order is not judged here: members of several generations write one output partition.
    violations.push(...exactlyOnce(e2e.check()).filter((v) => !v.includes("reordered")));
    if (extra.length > 0) violations.push(...extra.flatMap((check) => check(handled())));
  } else {
    const report = handled();
    const invariant = commit === "before-processing" ? atMostOnce : atLeastOnce();
    violations.push(...[invariant, ...extra].flatMap((check) => check(report)));
  }
  violations.push(...run.failures.map((f) => `[${label}] a consumer failed on its own: ${f}`));
  violations.push(...referee.violations);
  violations.push(...await staleCommitRefused(broker, groupId, input, label));
  return violations;
}

/** A member of an old generation must not commit: join, let another join (a new generation), commit with the old one. */
async function staleCommitRefused(
  broker: EmbeddedBroker,
  groupId: string,
  topic: string,
  label: string,
): Promise<string[]> {
  const t = broker.transport();
  const group = `${groupId}-fence`;
  const T = { timeoutMs: 1_000 };
  const a = await t.request({ api: "joinGroup", groupId: group, topic, sessionTimeoutMs: 60_000 }, T);
  if (!a.ok) return [`[${label}] fencing check: join failed`];
  const b = await t.request({ api: "joinGroup", groupId: group, topic, sessionTimeoutMs: 60_000 }, T);
  if (!b.ok) return [`[${label}] fencing check: second join failed`];
  const stale = await t.request({
    api: "offsetCommit",
    groupId: group,
    memberId: a.memberId,
    generation: a.generation,
    offsets: [{ topic, partition: 0, offset: 1 }],
  }, T);
  const out: string[] = [];
  if (b.generation <= a.generation) out.push(`[${label}] a join did not start a new generation`);
  if (stale.ok) out.push(`[${label}] a consumer of generation ${a.generation} committed in generation ${b.generation}`);
  return out;
}
