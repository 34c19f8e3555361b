import {
  ConfigError,
  OffsetOutOfRangeError,
  PartitionNotOwnedError,
  type PoisonRecordError,
  UnsupportedError,
} from "../errors.ts";
import { type Answer, call } from "../transport/call.ts";
import type { FetchRequest, Request } from "../transport/protocol.ts";
import type { Transport } from "../transport/transport.ts";
import type { ConsumerConfig } from "./config.ts";
import { Consumer, type Mode } from "./consumer.ts";
import { Cursor } from "./cursor.ts";
import { Failures } from "./group/failures.ts";
import { OffsetCommits } from "./group/offset-commits.ts";
import { runSteps, type StepsHost } from "./group/steps.ts";
import { type Fetch, fetchOf } from "./group/strategy-host.ts";
import { Membership } from "./membership.ts";
import { resetOffset, startOffset } from "./positions.ts";
import { SerialLane } from "./serial-lane.ts";

type Fetched = Answer<FetchRequest>;

/**
 * A {@link Consumer} on an offset log (the embedded broker, or any transport that answers
 * the group protocol): a consumer-group member that owns partitions and commits offsets.
 */
export class GroupConsumer extends Consumer {
  readonly #transport: Transport;
  readonly #ownsTransport: boolean;
  readonly #membership: Membership;
  readonly #cursors = new Map<number, Cursor>();
  readonly #paused = new Set<number>();
  readonly #stopped = new Map<number, PoisonRecordError>();
  readonly #lane = new SerialLane();
  readonly #commits: OffsetCommits;
  readonly #failures: Failures;
  /** Round-robin position over the owned partitions, and fetches in a row that found nothing. */
  #turn = 0;
  #emptyFetches = 0;
  /** What the strategies' paths (./group/) use of this consumer. */
  readonly #host: StepsHost;
  #offsetResets = 0;

  constructor(transport: Transport, topic: string, config: ConsumerConfig, options: { ownsTransport?: boolean } = {}) {
    super(topic, config);
    if (this.config.commit === "idempotent") {
      throw new UnsupportedError(
        "idempotent consumers",
        'commit "idempotent" needs an engine that drops duplicate writes by id (NATS JetStream); on an offset log use commit "transactional"',
      );
    }
    this.#transport = transport;
    this.#ownsTransport = options.ownsTransport ?? false;
    const { clock, groupId, sessionTimeoutMs, heartbeatIntervalMs } = this.config;
    this.#membership = new Membership({
      clock,
      groupId,
      topic,
      sessionTimeoutMs,
      heartbeatIntervalMs,
      call: (request) => this.#call(request),
      beforeHeartbeat: async () => {
        if (this.config.commit === "after-processing") await this.#commits.commitProcessedNow();
      },
      serial: (work) => this.#lane.run(work),
    });
    this.#commits = new OffsetCommits({
      topic,
      groupId,
      membership: this.#membership,
      cursors: this.#cursors,
      lane: this.#lane,
      call: (request) => this.#call(request),
      committed: (offsets, transactional) => this.committed(offsets, transactional),
    });
    this.#failures = new Failures({
      topic,
      config: this.config,
      transport,
      stopped: this.#stopped,
      report: (outcome) => this.outcomes.next(outcome),
    });
    this.#host = {
      topic,
      config: this.config,
      generation: () => this.#membership.generation,
      owns: (partition) => this.#membership.owned.has(partition),
      context: (tx, signal) => ({ generation: this.#membership.generation, tx, output: null, signal }),
      invoke: (mode, unit, context) => this.invoke(mode, unit, context),
      report: (outcome) => this.outcomes.next(outcome),
      reportProcessed: (unit) => this.reportProcessed(unit),
      committed: (offsets, transactional) => this.committed(offsets, transactional),
      failed: (cursor, unit, error) => this.#failures.failed(cursor, unit, error),
      deadLetter: (unit, error) => this.#failures.deadLetter(unit, error),
      storeOffsets: (offsets) => this.#commits.store(offsets, false),
      fenced: (error) => this.#membership.fencedBy(error),
      state: () => this.state,
      send: (event) => this.send(event),
      commitProcessed: () => this.#commits.commitProcessed(),
      fetchOthers: (first, mode) => this.#fetchOthers(first, mode),
    };
  }

  /** This member's id in its group, once joined. */
  get memberId(): string | null {
    return this.#membership.memberId;
  }

  /** The partitions this member owns, as the group coordinator last said. */
  get assignment(): number[] {
    return [...this.#membership.owned].sort((a, b) => a - b);
  }

  /** How many times a position deleted by retention was reset per `autoOffsetReset`. */
  get offsetResets(): number {
    return this.#offsetResets;
  }

  /** The group generation this member last heard of; -1 before it joined. */
  get generation(): number {
    return this.#membership.generation;
  }

  /**
   * Commits offsets: the given ones, or (without arguments) everything processed so far. For
   * `manual` consumers, and for any other that wants a commit now. Rejects with
   * `PartitionNotOwnedError`, `IllegalGenerationError` (the group rebalanced; the loop
   * catches up at its next step) or `OffsetOutOfRangeError` (beyond the log end).
   */
  async commit(offsets?: readonly { partition: number; offset: number }[]): Promise<void> {
    this.checkOpen("commit");
    if (this.config.commit === "transactional") {
      throw new ConfigError("commit", 'a "transactional" consumer commits offsets with its transactions only');
    }
    if (offsets === undefined) {
      await this.#commits.commitProcessed();
      return;
    }
    if (!Array.isArray(offsets)) throw new ConfigError("offsets", "expected an array of { partition, offset }");
    const list = offsets.map(({ partition, offset }) => {
      if (!Number.isInteger(offset) || offset < 0) {
        throw new OffsetOutOfRangeError(this.topic, partition, `offset ${String(offset)} is not an integer >= 0`);
      }
      return { topic: this.topic, partition, offset };
    });
    await this.#ensureMember();
    await this.#commits.store(list, true);
  }

  /** Reads `partition` from `offset` next. The partition must be owned by this member. */
  seek(partition: number, offset: number): void {
    this.checkOpen("seek");
    if (!Number.isInteger(offset) || offset < 0) {
      throw new OffsetOutOfRangeError(this.topic, partition, `cannot seek to ${String(offset)}`);
    }
    const cursor = this.#cursors.get(partition);
    if (cursor === undefined) {
      throw new PartitionNotOwnedError(
        this.topic,
        partition,
        `cannot seek ${this.topic}[${partition}]: this member does not own it (owned: ${
          this.assignment.join(", ") || "none"
        })`,
      );
    }
    cursor.seek(offset);
  }

  /** Stops fetching these partitions until {@link resume}; what was handed out finishes. */
  pause(partitions: readonly number[]): void {
    for (const p of partitions) this.#paused.add(p);
  }

  /** Fetches these partitions again, including any a poison record stopped (its record comes again). */
  resume(partitions: readonly number[]): void {
    for (const p of partitions) {
      this.#paused.delete(p);
      if (this.#stopped.delete(p)) this.#cursors.get(p)?.failures.clear();
    }
  }

  /** Partitions stopped by a poison record, with the error that stopped each. */
  get stoppedPartitions(): ReadonlyMap<number, PoisonRecordError> {
    return this.#stopped;
  }

  protected async release(): Promise<void> {
    if (this.config.commit === "after-processing") await this.#commits.commitProcessed().catch(() => {});
    await this.#membership.leave().catch(() => {});
    await this.#failures.close().catch(() => {});
    if (this.#ownsTransport) await this.#transport.close();
  }

  // ---- the loop ----------------------------------------------------------------------

  protected override beforeRead(): void {
    // A heartbeat failure belongs to the reader that met it; a new reader tries afresh.
    this.#membership.failure = undefined;
  }

  protected async loop(mode: Mode, signal: AbortSignal): Promise<void> {
    try {
      await this.#read(mode, signal);
    } finally {
      // records$: what the reader did not acknowledge is read again, by the next reader here
      // or (once the commit stops short of it) by the partition's next owner.
      if (mode.receiver !== undefined) {
        mode.receiver.close();
        for (const cursor of this.#cursors.values()) cursor.handBack();
      }
    }
    if (this.config.commit === "after-processing") await this.#commits.commitProcessed();
    this.send("STOP");
  }

  async #read(mode: Mode, signal: AbortSignal): Promise<void> {
    const send = this.send.bind(this);
    await this.#ensureMember();
    send("JOINED");
    while (!signal.aborted) {
      if (this.#membership.failure !== undefined) throw this.#membership.failure;
      if (this.#membership.lost) {
        send("REJOIN");
        this.#dropAll();
        await this.#membership.join();
        send("JOINED");
        continue;
      }
      if (this.#membership.stale) {
        send("REBALANCE");
        await this.#rebalance();
        send("DONE");
        continue;
      }
      const cursor = this.#nextCursor();
      if (cursor === null) {
        send("IDLE");
        await this.#idle(signal);
        send("WAKE");
        continue;
      }
      const fetched = await this.#fetch(cursor);
      if (fetched === null) continue;
      if (fetched.records.length === 0) {
        cursor.position = fetched.nextOffset;
        continue;
      }
      this.#emptyFetches = 0;
      send("RECORDS");
      await runSteps(this.#host, fetchOf(this.topic, cursor, fetched, mode.batch), mode, signal);
    }
  }

  async #ensureMember(): Promise<void> {
    if (this.#membership.joined) return;
    if (this.config.deadLetterTopic !== null) {
      // An unknown dead-letter topic would otherwise surface only with the first poison record.
      await this.#call({ api: "metadata", topic: this.config.deadLetterTopic });
    }
    await this.#membership.join();
  }

  /** The next owned partition to fetch, round-robin; null when a whole round found nothing (or none is ready). */
  #nextCursor(): Cursor | null {
    const ready = this.#ready();
    if (ready.length === 0 || this.#emptyFetches >= ready.length) {
      this.#emptyFetches = 0;
      return null;
    }
    this.#emptyFetches++;
    return ready[this.#turn++ % ready.length]!;
  }

  /** The owned partitions neither paused nor stopped. */
  #ready(): Cursor[] {
    return [...this.#cursors.values()].filter((c) => !this.#paused.has(c.partition) && !this.#stopped.has(c.partition));
  }

  #idle(signal: AbortSignal): Promise<void> {
    const { clock, pollIntervalMs } = this.config;
    return new Promise((resolve) => {
      const done = (): void => {
        clock.clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = clock.setTimeout(done, pollIntervalMs);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Fetches from the cursor's position; null when the member must first catch up with its group. */
  async #fetch(cursor: Cursor): Promise<Fetched | null> {
    const member = this.#membership;
    try {
      return await this.#call({
        api: "fetch",
        topic: this.topic,
        partition: cursor.partition,
        offset: cursor.position,
        maxRecords: this.config.maxPollRecords,
        isolation: this.config.isolation,
        groupId: this.config.groupId,
        memberId: member.memberId!,
        generation: member.generation,
      });
    } catch (error) {
      if (this.#membership.fencedBy(error)) return null;
      if (error instanceof OffsetOutOfRangeError) {
        await this.#resetOffset(cursor);
        return null;
      }
      throw error;
    }
  }

  /**
   * The cursor's position was deleted by retention (Kafka's OFFSET_OUT_OF_RANGE): it moves per
   * `autoOffsetReset`, to the log start (`earliest`) or the end (`latest`), as a Kafka
   * consumer does, and an `offset-reset` outcome reports the records skipped over.
   */
  async #resetOffset(cursor: Cursor): Promise<void> {
    const from = cursor.position;
    const to = await resetOffset((request) => this.#call(request), this.config, this.topic, cursor.partition);
    // A seek while the probe was out decided the position already.
    if (cursor.position !== from) return;
    cursor.seek(to);
    this.#offsetResets++;
    this.outcomes.next({ type: "offset-reset", partition: cursor.partition, from, to });
  }

  /** Takes in what the last heartbeat said: revoked partitions are dropped, new ones get a cursor at the committed offset. */
  async #rebalance(): Promise<void> {
    const member = this.#membership;
    member.stale = false;
    await this.#lane.run(() => member.heartbeat());
    if (member.lost) return;
    const owned = member.owned;
    const revoked = [...this.#cursors.keys()].filter((p) => !owned.has(p));
    for (const p of revoked) this.#drop(p);
    const added: number[] = [];
    for (const p of owned) {
      if (this.#cursors.has(p)) continue;
      const start = await startOffset((request) => this.#call(request), this.config, this.topic, p);
      this.#cursors.set(p, new Cursor(p, start));
      added.push(p);
    }
    const generation = member.generation;
    if (revoked.length > 0) {
      this.outcomes.next({
        type: "revoked",
        partitions: revoked.sort((a, b) => a - b),
        generation,
      });
    }
    if (added.length > 0) this.outcomes.next({ type: "assigned", partitions: added.sort((a, b) => a - b), generation });
  }

  #drop(partition: number): void {
    this.#cursors.delete(partition);
    this.#stopped.delete(partition);
  }

  #dropAll(): void {
    for (const p of [...this.#cursors.keys()]) this.#drop(p);
  }

  /** One fetch from each other ready partition, for a transaction to take along; stops at a fenced fetch. */
  async #fetchOthers(first: Cursor, mode: Mode): Promise<Fetch[]> {
    const more: Fetch[] = [];
    for (const cursor of this.#ready()) {
      if (cursor === first) continue;
      const fetched = await this.#fetch(cursor);
      if (fetched === null) break;
      if (fetched.records.length === 0) cursor.position = fetched.nextOffset;
      else more.push(fetchOf(this.topic, cursor, fetched, mode.batch));
    }
    return more;
  }

  // ---- requests ----------------------------------------------------------------------

  #call<R extends Request>(request: R): Promise<Answer<R>> {
    const { clock, requestTimeout, sessionTimeoutMs } = this.config;
    // Retrying past the session would be pointless: by then the member is gone.
    return call(this.#transport, request, {
      clock,
      requestTimeout,
      timeout: Math.max(requestTimeout, sessionTimeoutMs),
    });
  }
}
