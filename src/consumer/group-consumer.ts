import {
  ConfigError,
  IllegalGenerationError,
  OffsetOutOfRangeError,
  PartitionNotOwnedError,
  PoisonRecordError,
  UnknownMemberIdError,
  UnsupportedError,
} from "../errors.ts";
import { exactlyOnce } from "../producer/config.ts";
import { Producer } from "../producer/producer.ts";
import { type Answer, call } from "../transport/call.ts";
import type { FetchRequest, PartitionOffset, Request } from "../transport/protocol.ts";
import type { Transport } from "../transport/transport.ts";
import type { ConsumerConfig } from "./config.ts";
import { Consumer, type Mode } from "./consumer.ts";
import { Cursor } from "./cursor.ts";
import { commitBeforeProcessing, processCommitted } from "./group/before-processing.ts";
import { handOutForAcks, processThenCommit } from "./group/after-processing.ts";
import type { Fetch, StrategyHost } from "./group/strategy-host.ts";
import { processInTransaction } from "./group/transactional.ts";
import { Membership } from "./membership.ts";
import type { ConsumedRecord } from "./record.ts";

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
  #serialTail: Promise<unknown> = Promise.resolve();
  #deadLetters: Producer | null = null;
  /** Round-robin position over the owned partitions, and fetches in a row that found nothing. */
  #turn = 0;
  #emptyFetches = 0;
  /** What the strategies' paths (./group/) use of this consumer. */
  readonly #host: StrategyHost;
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
        if (this.config.commit === "after-processing") await this.#commitProcessedNow();
      },
      serial: (work) => this.#serial(work),
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
      failed: (cursor, unit, error) => this.#failed(cursor, unit, error),
      deadLetter: (unit, error) => this.#deadLetter(unit, error),
      storeOffsets: (offsets) => this.#serial(() => this.#storeOffsets(offsets, false)),
      fenced: (error) => this.#fenced(error),
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
      await this.#commitProcessed();
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
    await this.#serial(() => this.#storeOffsets(list, true));
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
    if (this.config.commit === "after-processing") await this.#commitProcessed().catch(() => {});
    await this.#membership.leave().catch(() => {});
    await this.#deadLetters?.close().catch(() => {});
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
    if (this.config.commit === "after-processing") await this.#commitProcessed();
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
      await this.#steps({ cursor, next: fetched.nextOffset, units: this.#units(cursor, fetched, mode) }, mode, signal);
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
      if (this.#fenced(error)) return null;
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
    // A fetch of no records is never out of range; from offset 0 its nextOffset is the log start.
    const probe = await this.#call({
      api: "fetch",
      topic: this.topic,
      partition: cursor.partition,
      offset: 0,
      maxRecords: 0,
      isolation: this.config.isolation,
    });
    const to = this.config.autoOffsetReset === "earliest"
      ? probe.nextOffset
      : this.config.isolation === "read-committed"
      ? probe.lastStableOffset
      : probe.logEndOffset;
    if (cursor.position !== from) return;
    cursor.seek(Math.max(to, probe.nextOffset));
    this.#offsetResets++;
    this.outcomes.next({ type: "offset-reset", partition: cursor.partition, from, to: cursor.position });
  }

  /** Takes in what the last heartbeat said: revoked partitions are dropped, new ones get a cursor at the committed offset. */
  async #rebalance(): Promise<void> {
    const member = this.#membership;
    member.stale = false;
    await this.#serial(() => member.heartbeat());
    if (member.lost) return;
    const owned = member.owned;
    const revoked = [...this.#cursors.keys()].filter((p) => !owned.has(p));
    for (const p of revoked) this.#drop(p);
    const added: number[] = [];
    for (const p of owned) {
      if (this.#cursors.has(p)) continue;
      this.#cursors.set(p, new Cursor(p, await this.#startOffset(p)));
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

  async #startOffset(partition: number): Promise<number> {
    const { offset } = await this.#call({
      api: "offsetFetch",
      groupId: this.config.groupId,
      topic: this.topic,
      partition,
    });
    if (offset !== null) return offset;
    if (this.config.autoOffsetReset === "earliest") return 0;
    // The end a reader of this isolation would see: nothing there is skipped, nothing before it read.
    const end = await this.#call({
      api: "fetch",
      topic: this.topic,
      partition,
      offset: 0,
      maxRecords: 0,
      isolation: this.config.isolation,
    });
    return this.config.isolation === "read-committed" ? end.lastStableOffset : end.logEndOffset;
  }

  #drop(partition: number): void {
    this.#cursors.delete(partition);
    this.#stopped.delete(partition);
  }

  #dropAll(): void {
    for (const p of [...this.#cursors.keys()]) this.#drop(p);
  }

  // ---- processing: each commit strategy is a path through the machine ---------------

  /**
   * Takes a fetched batch through the steps the machine's state names, until it is back in
   * `fetching` (or interrupted): the strategy, a guard in the machine, decides their order.
   */
  async #steps(fetch: Fetch, mode: Mode, signal: AbortSignal): Promise<void> {
    const host = this.#host;
    for (;;) {
      switch (this.state) {
        case "committing": {
          const before = this.config.commit === "before-processing";
          const landed = before ? await commitBeforeProcessing(host, fetch) : await this.#commitProcessed();
          // A fenced commit leaves the loop's next turn to rebalance or rejoin from here.
          if (!landed) return;
          this.send("DONE");
          break;
        }
        case "processing": {
          const ended = await this.#process(fetch, mode, signal);
          if (ended !== null) this.send(ended);
          break;
        }
        default:
          return;
      }
    }
  }

  /** Hands out a batch under the strategy; the event that says how handling ended (a transaction sends its own). */
  async #process(fetch: Fetch, mode: Mode, signal: AbortSignal): Promise<"COMMIT" | "REDELIVER" | null> {
    const host = this.#host;
    switch (this.config.commit) {
      case "before-processing":
        await processCommitted(host, fetch, mode, signal);
        return "COMMIT";
      case "transactional": {
        // One transaction takes a fetch from every ready partition: its fixed cost (add
        // partitions, offsets, markers) is then shared by all of them.
        const batches = [fetch, ...(await this.#fetchOthers(fetch.cursor, mode))];
        const committed = await processInTransaction(host, batches, mode, signal, () => this.send("COMMIT"));
        this.send(committed ? "DONE" : "ABORTED");
        return null;
      }
      default:
        if (mode.receiver !== undefined) {
          await handOutForAcks(host, fetch, mode.receiver, signal);
          return "COMMIT";
        }
        return (await processThenCommit(host, fetch, mode, signal)).redeliver ? "REDELIVER" : "COMMIT";
    }
  }

  /** What the handler gets of a fetch: one unit per record, or the whole batch as one unit. */
  #units(cursor: Cursor, fetched: Fetched, mode: Mode): ConsumedRecord[][] {
    const records = fetched.records.map((r) => ({
      topic: this.topic,
      partition: cursor.partition,
      offset: r.offset,
      key: r.key,
      value: r.value,
      headers: r.headers,
      timestamp: r.timestamp,
      deliveries: cursor.deliveries(r.offset),
    }));
    return mode.batch ? [records] : records.map((r) => [r]);
  }

  /** One fetch from each other ready partition, for a transaction to take along; stops at a fenced fetch. */
  async #fetchOthers(first: Cursor, mode: Mode): Promise<Fetch[]> {
    const more: Fetch[] = [];
    for (const cursor of this.#ready()) {
      if (cursor === first) continue;
      const fetched = await this.#fetch(cursor);
      if (fetched === null) break;
      if (fetched.records.length === 0) cursor.position = fetched.nextOffset;
      else more.push({ cursor, next: fetched.nextOffset, units: this.#units(cursor, fetched, mode) });
    }
    return more;
  }

  /**
   * Counts a failed delivery. Below `maxDeliveries` the unit will come again (false). At the
   * limit it is dead-lettered and counts as handled (true), or, without a dead-letter topic,
   * its partition stops (false).
   */
  async #failed(cursor: Cursor, unit: ConsumedRecord[], error: unknown): Promise<boolean> {
    const head = unit[0]!;
    const deliveries = cursor.deliveries(head.offset);
    if (deliveries < this.config.maxDeliveries) {
      cursor.failures.set(head.offset, deliveries);
      for (const record of unit) this.outcomes.next({ type: "redelivered", record, error });
      return false;
    }
    if (this.config.deadLetterTopic !== null) {
      await this.#deadLetter(unit, error);
      return true;
    }
    const poison = new PoisonRecordError(this.topic, cursor.partition, head.offset, deliveries, error);
    this.#stopped.set(cursor.partition, poison);
    this.outcomes.next({ type: "partition-stopped", partition: cursor.partition, error: poison });
    return false;
  }

  /** Writes records to the dead-letter topic and waits for their acks (idempotent, so a retry never doubles one). */
  async #deadLetter(unit: ConsumedRecord[], error: unknown): Promise<void> {
    const { clock, requestTimeout } = this.config;
    this.#deadLetters ??= new Producer(this.#transport, this.config.deadLetterTopic!, {
      deliverySemantic: exactlyOnce(),
      clock,
      requestTimeout,
    });
    // A dead letter keeps the record's headers and timestamp: it is the same record, moved.
    const outputs = await Promise.all(
      unit.map((r) => this.#deadLetters!.send(r.key, r.value, { headers: r.headers, timestamp: r.timestamp })),
    );
    await this.#deadLetters.flush();
    for (const [i, output] of outputs.entries()) {
      const { offset } = await output.wait();
      this.outcomes.next({ type: "dead-lettered", record: unit[i]!, error, deadLetterOffset: offset });
    }
  }

  // ---- commits and requests ----------------------------------------------------------

  /**
   * Commits every owned partition's processed offset that is ahead of its committed one:
   * true once stored (or none was due), false when the commit was fenced.
   */
  #commitProcessed(): Promise<boolean> {
    return this.#serial(() => this.#commitProcessedNow());
  }

  /** {@link #commitProcessed} for callers already on the serial lane. */
  async #commitProcessedNow(): Promise<boolean> {
    const offsets: PartitionOffset[] = [];
    for (const cursor of this.#cursors.values()) {
      if (cursor.processed > cursor.committed) {
        offsets.push({ topic: this.topic, partition: cursor.partition, offset: cursor.processed });
      }
    }
    if (offsets.length === 0 || !this.#membership.joined) return true;
    return await this.#storeOffsets(offsets, false);
  }

  /**
   * Stores offsets for this member (on the serial lane). A fenced commit (rebalance, lost
   * session) returns false and leaves the loop to catch up, or, when `raise`, throws.
   */
  async #storeOffsets(offsets: PartitionOffset[], raise: boolean): Promise<boolean> {
    const member = this.#membership;
    try {
      await this.#call({
        api: "offsetCommit",
        groupId: this.config.groupId,
        memberId: member.memberId!,
        generation: member.generation,
        offsets,
      });
    } catch (error) {
      if (!raise && this.#fenced(error)) return false;
      throw error;
    }
    for (const { partition, offset } of offsets) {
      const cursor = this.#cursors.get(partition);
      if (cursor) cursor.committed = offset;
    }
    this.committed(offsets, false);
    return true;
  }

  /** True for the errors that mean "this member's view of the group is out of date"; marks it for the loop. */
  #fenced(error: unknown): boolean {
    if (error instanceof UnknownMemberIdError) {
      this.#membership.lost = true;
      return true;
    }
    if (error instanceof IllegalGenerationError || error instanceof PartitionNotOwnedError) {
      this.#membership.stale = true;
      return true;
    }
    return false;
  }

  #call<R extends Request>(request: R): Promise<Answer<R>> {
    const { clock, requestTimeout, sessionTimeoutMs } = this.config;
    // Retrying past the session would be pointless: by then the member is gone.
    return call(this.#transport, request, {
      clock,
      requestTimeout,
      timeout: Math.max(requestTimeout, sessionTimeoutMs),
    });
  }

  /** Runs commits and heartbeats one at a time, in order, so an older commit never lands after a newer one. */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#serialTail.then(work);
    this.#serialTail = result.catch(() => {});
    return result;
  }
}
