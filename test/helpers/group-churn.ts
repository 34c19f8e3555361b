/**
 * A consumer group with churn: several members read one topic at once, each through its own
 * seeded chaos transport and its semantic's commit strategy, while the schedule's steps make
 * members join, leave, crash and pause (see `GroupStep`). Steps fire at counts of handler
 * calls, which the virtual clock makes the same in every replay. The group reads until its
 * committed offsets cover the whole log, then every member stops; the result says how often
 * a handler completed each log entry, which the consumer side judges.
 *
 * A member's own transactional id is its index, so a restarted or added member never fences
 * another; a crashed member's open transaction is left to the broker's transaction timeout.
 */
import {
  chaos,
  type CommitStrategy,
  type Consumer,
  createConsumer,
  createProducer,
  DeliveryFailedError,
  type EmbeddedBroker,
  exactlyOnce,
  type Producer,
  type Transport,
  type VirtualClock,
} from "../../src/index.ts";
import { seedFor } from "../../src/demo/consume.ts";
import { CRASHED, CrashingTransport } from "../../src/demo/crash.ts";
import { PausableClock, PausableTransport, Pause } from "./pausable.ts";
import { type Group, type GroupStep, SESSION_TIMEOUT_MS } from "./schedule.ts";

export interface GroupRunOptions {
  readonly broker: EmbeddedBroker;
  readonly clock: VirtualClock;
  /** What every member's transport sits on (the commit referee, at the broker's door). */
  readonly wire: Transport;
  readonly topic: string;
  readonly partitions: number;
  readonly groupId: string;
  readonly commit: CommitStrategy;
  /** `transactional`: where the handlers copy each record, in their batch's transaction. */
  readonly outputTopic: string;
  readonly seed: number;
  readonly group: Group;
}

export interface GroupRunResult {
  /** Per partition, per offset: how many times a handler completed that log entry. */
  readonly handled: Uint16Array[];
  /** Members that stopped with an error nobody caused: a consumer giving up on its own. */
  readonly failures: readonly string[];
  readonly joins: number;
  readonly leaves: number;
  readonly crashes: number;
  readonly pauses: number;
  /**
   * Paused members that gave up a request on waking: its retries' deadline (a session) passed
   * while the process was frozen, as a monotonic clock's would. The member stops like a
   * crashed one, and the group carries on without it.
   */
  readonly gaveUp: number;
}

/** Sized for the virtual clock, as the demo's: a silent member's partitions move after a simulated second. */
const CONSUMER = {
  maxPollRecords: 500,
  sessionTimeoutMs: SESSION_TIMEOUT_MS,
  heartbeatIntervalMs: 300,
  pollIntervalMs: 20,
  requestTimeout: 200,
} as const;

/** A member's transactions; one a crashed member left open holds the output's LSO this long. */
const TRANSACTION_TIMEOUT_MS = 5_000;

/** How often (simulated ms) the run checks whether the group's offsets cover the log. */
const DONE_POLL_MS = 50;

/** Members started beyond the planned ones (to replace the last one gone) before the run gives up. */
const SPARE_MEMBERS = 20;

interface Member {
  readonly pause: Pause;
  readonly transport: CrashingTransport;
  readonly stop: AbortController;
  running: Promise<void>;
}

/** Runs the group until its committed offsets cover every log entry. */
export async function runGroup(o: GroupRunOptions): Promise<GroupRunResult> {
  const { broker, topic, groupId } = o;
  const ends = Array.from({ length: o.partitions }, (_, p) => broker.partition(topic, p).log.endOffset);
  const handled = ends.map((end) => new Uint16Array(end));
  const done = (): boolean => ends.every((end, p) => end === 0 || broker.committedOffset(groupId, topic, p) === end);
  const steps = [...o.group.steps].sort((a, b) => a.atCall - b.atCall);
  const result = { handled, failures: [] as string[], joins: 0, leaves: 0, crashes: 0, pauses: 0, gaveUp: 0 };
  const live: Member[] = [];
  const members: Member[] = [];
  const limit = o.group.members + steps.length + SPARE_MEMBERS;
  let calls = 0;
  /** Set once the group is done (or gave up): no step is made and no member started after that. */
  let over = false;
  let resolve!: () => void;
  const finished = new Promise<void>((r) => resolve = r);
  const finish = (): void => {
    over = true;
    resolve();
  };

  const apply = (step: GroupStep): void => {
    if (step.action === "join") {
      result.joins++;
      start();
      return;
    }
    const target = live[step.member % live.length];
    if (target === undefined) return;
    if (step.action === "pause") {
      result.pauses++;
      target.pause.freeze(o.clock, step.forMs);
      return;
    }
    live.splice(live.indexOf(target), 1);
    if (step.action === "leave") {
      result.leaves++;
      target.stop.abort();
    } else {
      result.crashes++;
      target.transport.kill();
    }
  };

  const start = (): void => {
    if (over) return;
    const index = members.length;
    if (index >= limit) {
      result.failures.push(`the group made no progress with ${index} members`);
      finish();
      return;
    }
    const pause = new Pause();
    const clock = new PausableClock(o.clock, pause);
    const wire = chaos(o.wire, { seed: seedFor(o.seed, index + 1), clock: o.clock, ...o.group.faults });
    const transport = new CrashingTransport(new PausableTransport(wire, pause));
    const output: Producer | undefined = o.commit === "transactional"
      ? createProducer(transport, o.outputTopic, {
        clock,
        requestTimeout: CONSUMER.requestTimeout,
        deliverySemantic: exactlyOnce({
          transactionalId: `${groupId}-m${index}`,
          transactionTimeoutMs: TRANSACTION_TIMEOUT_MS,
        }),
      })
      : undefined;
    const consumer: Consumer = createConsumer(transport, topic, {
      groupId,
      commit: o.commit,
      clock,
      ...CONSUMER,
      ...(output ? { producer: output } : {}),
    });
    const stop = new AbortController();
    const member: Member = { pause, transport, stop, running: Promise.resolve() };
    members.push(member);
    live.push(member);
    member.running = consumer.run(async (record, context) => {
      // A frozen process handles nothing, and a dead one nothing more.
      await pause.running();
      if (transport.dead) throw CRASHED;
      calls++;
      while (!over && steps.length > 0 && steps[0]!.atCall <= calls) apply(steps.shift()!);
      // The step may have crashed or paused this very member, in the middle of its batch.
      await pause.running();
      if (transport.dead) throw CRASHED;
      if (context.tx) await context.tx.send(record.key, record.value);
      handled[record.partition]![record.offset]!++;
    }, { signal: stop.signal }).catch((error: unknown) => {
      if (transport.dead) return;
      if (pause.times > 0 && error instanceof DeliveryFailedError) result.gaveUp++;
      else result.failures.push(error instanceof Error ? error.message : String(error));
      transport.kill();
    }).finally(async () => {
      if (live.includes(member)) live.splice(live.indexOf(member), 1);
      await consumer.close();
      // A crashed producer is abandoned, as a dead process's would be.
      if (output && !transport.dead) await output.close();
      // The last member gone: a new one is started, as a restarted process would be.
      if (live.length === 0) start();
    });
  };

  for (let i = 0; i < o.group.members; i++) start();
  // Polled, not checked after each commit: a transaction's offsets become committed a little
  // after its member hears of the commit, and the last commit may be followed by no other.
  const watch = (): void => {
    if (done()) finish();
    else o.clock.setTimeout(watch, DONE_POLL_MS);
  };
  watch();
  await finished;
  for (const member of live) member.stop.abort();
  // Every member, stopped or crashed, runs out: a paused one wakes first, and what it then
  // commits is still judged (by the referee) and counted.
  for (let i = 0; i < members.length; i++) await members[i]!.running;
  // A crashed member's open transaction (no later member shares its id to fence it) holds the
  // output's last stable offset until the broker aborts it: the output is judged after that.
  if (o.commit === "transactional") await new Promise<void>((r) => o.clock.setTimeout(r, TRANSACTION_TIMEOUT_MS * 2));
  return result;
}
