/**
 * Consumers on NATS JetStream. A consumer group is one durable pull consumer on the topic's
 * stream (explicit acks, `ack_wait` = `sessionTimeoutMs`, `max_deliver` = `maxDeliveries`);
 * its members pull from it and the server shares the messages out. The commit strategies map
 * onto acknowledgements:
 *
 * - `before-processing`: each message is acked, and the server's confirmation awaited
 *   (`ackAck`), before its records are handed out. A message whose ack is not confirmed is
 *   not handed out, so nothing is processed twice; a crash loses what was acked (at-most-once).
 *   A member remembers what it acked for a minute: a leader change can make the server forget
 *   a confirmed ack and deliver the message again.
 * - `after-processing`: a message is acked once every record in it was handled. A crash or a
 *   lost ack lets `ack_wait` pass and the server redelivers (at-least-once).
 * - `idempotent`: the handler writes to `outputTopic` with message ids derived from the
 *   input record; the input is acked (confirmed) once the writes are. A redelivered record
 *   rewrites the same ids and the output stream drops them (exactly-once output, within its
 *   duplicate window).
 * - `manual`: handled messages wait for `commit()`.
 * - `transactional`: refused; JetStream has no transactions.
 *
 * A failing handler's message is nak'ed with a growing delay and comes again; its
 * `deliveries` is the server's count, so crashes count too. At `maxDeliveries` the records go
 * to `deadLetterTopic` (idempotently), or the server stops redelivering and publishes its
 * max-deliveries advisory, which every member reports as an `exhausted` outcome.
 *
 * Trade-offs of the model: the server balances messages, not partitions, so with several
 * members two records of one partition may be processed at once, and a redelivered record
 * comes after newer ones. `seek` and `pause` have no JetStream equivalent on a shared durable
 * consumer and are refused.
 *
 * @module
 */
import type { Consumer as DurableConsumer, JsMsg } from "@nats-io/jetstream";
import type { Subscription } from "@nats-io/nats-core";
import {
  type AcktorError,
  ConfigError,
  type PoisonRecordError,
  UnknownMemberIdError,
  UnknownTopicError,
  UnsupportedError,
} from "../../errors.ts";
import { Consumer, type HandlerContext, type Mode, type OutputContext } from "../../consumer/consumer.ts";
import type { ConsumerConfig } from "../../consumer/config.ts";
import type { ConsumedRecord } from "../../consumer/record.ts";
import type { RecordMetadata } from "../../producer/outcome.ts";
import type { PartitionOffset } from "../../transport/protocol.ts";
import { idempotentOutput } from "./idempotent-output.ts";
import { durableConsumer, durableName } from "./durable.ts";
import type { JetStreamAccess } from "./jetstream-access.ts";
import { frameOffset } from "./frame.ts";
import { AwaitingAcks, ConfirmedAcks } from "./jetstream-acks.ts";
import { Puller } from "./jetstream-pull.ts";
import { nameOf } from "./nats-errors.ts";
import { type Framing, recordsOf } from "./message.ts";
import { streamName } from "./topic-shape.ts";

/** Messages handed out together, and how: one unit per record, or one unit for all. */
interface Delivery {
  readonly messages: JsMsg[];
  readonly units: ConsumedRecord[][];
}

/** The longest a failed message waits before it comes again. */
const MAX_NAK_DELAY_MS = 5_000;
const NONE_STOPPED: ReadonlyMap<number, PoisonRecordError> = new Map();
/**
 * The longest wait for the server's confirmation of an ack (`ackAck`). A healthy server answers
 * in milliseconds; no answer means the ack or its reply was lost (a dropped connection, a
 * leader change), and waiting longer learns nothing: the unconfirmed message is not handed
 * out, and comes again after `ack_wait` if the ack did not land. A bound of its own, so that
 * one lost reply does not stall the consumer for `requestTimeout` (30 s by default).
 */
const ACK_ACK_TIMEOUT_MS = 5_000;
/**
 * How long a confirmed ack is remembered (see {@link ConfirmedAcks}): past an election and
 * `ack_wait`, with room for a slow restart.
 */
const CONFIRMED_ACKS_MIN_MS = 60_000;
/** Past a stopped reader's last pull request, when it hands messages back (see `#handBackDelayMs`). */
const HAND_BACK_MARGIN_MS = 250;

/** A {@link Consumer} on a JetStream durable pull consumer. Made by `NatsTransport.createConsumer`. */
export class JetStreamConsumer extends Consumer {
  readonly #access: JetStreamAccess;
  readonly #stream: string;
  readonly #durable: string;
  readonly #memberId: string;
  #framing: Framing = "message";
  #partitions = 0;
  #consumer: DurableConsumer | null = null;
  #advisories: Subscription | null = null;
  /** Pulls ahead of the handler, and keeps what is in hand alive. */
  readonly #puller: Puller;
  /** `manual`: handled, waiting for `commit()`. */
  #processed: JsMsg[] = [];
  readonly #awaitingAcks = new AwaitingAcks();
  /** before-processing: what this member acked, confirmed, and handed out. */
  readonly #confirmed: ConfirmedAcks;

  /** @internal use `createConsumer(natsTransport, topic, config)`. */
  constructor(access: JetStreamAccess, topic: string, config: ConsumerConfig) {
    super(topic, config);
    if (this.config.commit === "transactional") {
      throw new UnsupportedError(
        "transactions",
        'NATS JetStream has no transactions: use commit "idempotent" with an outputTopic for exactly-once consume-transform-produce',
      );
    }
    this.#access = access;
    this.#stream = streamName(topic);
    this.#durable = durableName(this.config.groupId);
    const random = new Uint32Array(1);
    crypto.getRandomValues(random);
    this.#memberId = `${this.#durable}/${random[0]!.toString(16)}`;
    this.#puller = new Puller(this.config, (error) => this.#typed(error));
    this.#confirmed = new ConfirmedAcks(Math.max(CONFIRMED_ACKS_MIN_MS, 3 * this.config.sessionTimeoutMs));
  }

  get memberId(): string | null {
    return this.#consumer === null ? null : this.#memberId;
  }

  /** Every partition: the server may hand this member records of any. */
  get assignment(): number[] {
    return Array.from({ length: this.#partitions }, (_, p) => p);
  }

  /** 0 once joined: a durable consumer has no generations. */
  get generation(): number {
    return this.#consumer === null ? -1 : 0;
  }

  /** Always empty: the server, not a member, stops redelivering a poison record. */
  get stoppedPartitions(): ReadonlyMap<number, PoisonRecordError> {
    return NONE_STOPPED;
  }

  /**
   * `manual`: acknowledges the handled messages (all, or those below the given offsets) and
   * waits for the server to confirm. Other strategies acknowledge by themselves.
   */
  async commit(offsets?: readonly { partition: number; offset: number }[]): Promise<void> {
    this.checkOpen("commit");
    if (this.config.commit === "idempotent") {
      throw new ConfigError("commit", 'an "idempotent" consumer acknowledges each record once its output is stored');
    }
    if (offsets !== undefined && !Array.isArray(offsets)) {
      throw new ConfigError("offsets", "expected an array of { partition, offset }");
    }
    const below = offsets === undefined ? null : new Map(offsets.map(({ partition, offset }) => [partition, offset]));
    const due = below === null
      ? this.#processed
      : this.#processed.filter((m) => this.#offsetAt(m.seq) < (below.get(this.#partitionOf(m.subject)) ?? 0));
    const left = new Set(this.#processed);
    for (const m of due) left.delete(m);
    this.#processed = [...left];
    const confirmed = await Promise.all(due.map((m) => this.#ackAck(m)));
    this.committed(this.#offsets(due.filter((_, i) => confirmed[i])), false);
  }

  seek(): void {
    throw new UnsupportedError(
      "seek",
      "NATS JetStream: a durable consumer's position is the server's and shared by the group; read from another offset with a new group",
    );
  }

  pause(): void {
    throw new UnsupportedError(
      "pause",
      "NATS JetStream: the server hands a group's members records of every partition; pausing one is not supported",
    );
  }

  resume(): void {
    throw new UnsupportedError("resume", "NATS JetStream: no partition is ever paused or stopped");
  }

  protected release(): Promise<void> {
    // No step waits; the executor still turns a throw into a rejection, as `close()` expects.
    return new Promise((resolve) => {
      if (!this.#access.nc().isClosed()) this.#advisories?.unsubscribe();
      // Handled but never committed (manual): they come again, now rather than after ack_wait.
      for (const m of this.#processed.splice(0)) this.#settle(m, this.#handBackDelayMs);
      resolve();
    });
  }

  // ---- the loop ----------------------------------------------------------------------

  protected async loop(mode: Mode, signal: AbortSignal): Promise<void> {
    await this.#join();
    this.send("JOINED");
    const puller = this.#puller;
    const pump = puller.pump(this.#consumer!, signal);
    const heartbeat = puller.heartbeat();
    try {
      while (!signal.aborted) {
        const taken = await puller.take(signal, { idle: () => this.send("IDLE"), wake: () => this.send("WAKE") });
        if (taken.length === 0) continue;
        this.send("RECORDS");
        await this.#handle(taken, mode, signal);
        this.send("DONE");
      }
      this.send("STOP");
    } finally {
      puller.stopFetching();
      await pump;
      heartbeat.stop();
      const delayMs = this.#handBackDelayMs;
      if (mode.receiver !== undefined) this.#awaitingAcks.handBack(mode.receiver, (m) => this.#settle(m, delayMs));
      // Pulled but never handed out: back to the server, for the group's next reader.
      for (const m of puller.inbox.splice(0)) this.#settle(m, delayMs);
    }
  }

  /** Learns the topic, creates or updates the group's durable consumer, and listens for its advisories. */
  async #join(): Promise<void> {
    if (this.#consumer !== null) return;
    const { config } = this;
    const shape = await this.#access.shape(this.topic);
    for (const topic of [config.outputTopic, config.deadLetterTopic]) {
      if (topic !== null) await this.#access.shape(topic);
    }
    this.#framing = shape.framing;
    this.#partitions = shape.partitions;
    try {
      this.#consumer = await durableConsumer(this.#access, this.#stream, this.#durable, config);
    } catch (error) {
      throw this.#typed(error);
    }
    this.#advisories = this.#access.nc().subscribe(
      `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${this.#stream}.${this.#durable}`,
      {
        callback: (error, message) => {
          if (error === null) void this.#exhausted(message.json<{ stream_seq: number; deliveries: number }>());
        },
      },
    );
    this.outcomes.next({ type: "assigned", partitions: this.assignment, generation: 0 });
  }

  // ---- handling ----------------------------------------------------------------------

  async #handle(taken: JsMsg[], mode: Mode, signal: AbortSignal): Promise<void> {
    let messages = taken;
    if (this.config.commit === "before-processing") {
      // Only a confirmed ack may be followed by handling: an unconfirmed one may not have
      // landed, and the server would deliver the message again. A message this member already
      // acked (confirmed) and handed out is acked again, never handed out again: the server
      // forgot the ack in a leader change.
      const clock = this.config.clock;
      const again = taken.map((m) => this.#confirmed.has(m.seq, clock.now()));
      const confirmed = await Promise.all(taken.map((m) => this.#ackAck(m)));
      messages = taken.filter((_, i) => confirmed[i] && !again[i]);
      for (const m of messages) this.#confirmed.add(m.seq, clock.now());
      if (messages.length > 0) this.committed(this.#offsets(messages), false);
      this.send("DONE"); // the machine's before-processing path: committing → processing
    }
    const acked: JsMsg[] = [];
    /** idempotent: deliveries whose outputs and acks are still on their way. */
    const settling: Promise<void>[] = [];
    for (const delivery of this.#deliveries(messages, mode)) {
      // A stopped reader hands out nothing more: `run()` stops after the record in hand. What
      // it had not started comes again, except under before-processing: that was acked before
      // it was handed out, so it is not read again (at-most-once), as on an offset log.
      if (signal.aborted) {
        if (this.config.commit !== "before-processing") this.#again(delivery, this.#handBackDelayMs);
        continue;
      }
      const handled = await this.#deliver(delivery, mode, signal);
      if (typeof handled === "object") {
        settling.push(handled.settled.then((ok) => void (ok && acked.push(...delivery.messages))));
      } else if (handled) acked.push(...delivery.messages);
    }
    await Promise.all(settling);
    // Handled: the machine goes on to committing (after-processing, idempotent) or fetching.
    this.send("COMMIT");
    if (acked.length > 0) this.committed(this.#offsets(acked), false);
  }

  /**
   * Groups messages into what the handler gets: per message, one unit per record; for a
   * batch handler, a run of messages of one partition as one unit (one message under
   * `idempotent`, so that a redelivered batch is the same batch and derives the same ids).
   */
  #deliveries(messages: JsMsg[], mode: Mode): Delivery[] {
    const out: Delivery[] = [];
    let run: { partition: number; messages: JsMsg[]; records: ConsumedRecord[] } | null = null;
    for (const m of messages) {
      const partition = this.#partitionOf(m.subject);
      const records = recordsOf(m, this.#framing).map((r) => ({
        topic: this.topic,
        partition,
        offset: r.offset,
        key: r.key,
        value: r.value,
        headers: r.headers,
        timestamp: r.timestamp,
        deliveries: m.info.deliveryCount,
      }));
      if (!mode.batch) {
        out.push({ messages: [m], units: records.map((r) => [r]) });
        continue;
      }
      if (run !== null && run.partition === partition && this.config.commit !== "idempotent") {
        run.messages.push(m);
        run.records.push(...records);
        continue;
      }
      run = { partition, messages: [m], records };
      out.push({ messages: run.messages, units: [run.records] });
    }
    return out;
  }

  /**
   * Hands out one delivery under the strategy; true once its messages are acked (or were,
   * before). Under idempotent, once handled: `settled` tells, later, whether they were acked.
   */
  async #deliver(
    delivery: Delivery,
    mode: Mode,
    signal: AbortSignal,
  ): Promise<boolean | { readonly settled: Promise<boolean> }> {
    const { commit } = this.config;
    if (mode.receiver !== undefined && commit !== "before-processing") {
      await this.#awaitingAcks.handOut(delivery.messages[0]!, delivery.units, mode.receiver, signal, {
        processed: (unit) => this.reportProcessed(unit),
        acknowledged: (m) => this.#acknowledged(m),
      });
      return false;
    }
    const writes: Promise<RecordMetadata>[] = [];
    let abandoned = false;
    for (const unit of delivery.units) {
      // Stopped between two records of one message (batch framing): as between two messages.
      // The message comes again whole, its handled records too (at-least-once; under
      // idempotent their writes have the same ids).
      if (signal.aborted) return commit === "before-processing" ? false : this.#again(delivery, this.#handBackDelayMs);
      const context = this.#context(
        signal,
        commit === "idempotent"
          ? idempotentOutput(
            this.#access,
            this.config,
            `eo:${this.#durable}:${this.#stream}:${unit[0]!.offset}:`,
            unit[0]!.partition,
            writes,
            signal,
          )
          : null,
      );
      try {
        await this.invoke(mode, unit, context);
        this.reportProcessed(unit);
      } catch (error) {
        if (commit === "before-processing") {
          await this.#giveUp(unit, error);
          continue;
        }
        // A reader that stopped mid-record (for-await's return) interrupts it: not a failure to count.
        if (signal.aborted) return this.#again(delivery, this.#handBackDelayMs);
        const deliveries = unit[0]!.deliveries;
        if (deliveries < this.config.maxDeliveries) {
          for (const record of unit) this.outcomes.next({ type: "redelivered", record, error });
          return this.#again(delivery, Math.min(MAX_NAK_DELAY_MS, 100 * 2 ** (deliveries - 1)));
        }
        // The last delivery: dead-letter the unit, or leave it to the server, which gives up on
        // the message once it is nak'ed (and its advisory reports it). Either way the rest of
        // the message's records are still handled.
        if (this.config.deadLetterTopic === null) abandoned = true;
        else await this.#giveUp(unit, error);
      }
    }
    if (commit === "before-processing") return false;
    if (abandoned) return this.#again(delivery, 0);
    if (commit === "manual") {
      this.#processed.push(...delivery.messages);
      return false;
    }
    if (commit === "after-processing") {
      for (const m of delivery.messages) this.#settle(m, null);
      return true;
    }
    // idempotent: the input is acked only once its output is stored, and the ack confirmed;
    // until then a crash means redelivery, and the same ids. The next delivery is handled
    // meanwhile: waiting for two round trips per input message would cap a consumer at a few
    // hundred messages a second, and nothing orders one input's ack after another's.
    return { settled: this.#settleOutput(delivery, writes) };
  }

  /** idempotent: acks the delivery once its writes are stored; whether the server confirmed. */
  async #settleOutput(delivery: Delivery, writes: Promise<RecordMetadata>[]): Promise<boolean> {
    if (!(await Promise.all(writes).then(() => true, () => false))) return this.#again(delivery, 0);
    const confirmed = await Promise.all(delivery.messages.map((m) => this.#ackAck(m)));
    return confirmed.every(Boolean);
  }

  /** `records$`: every record of `m` was acknowledged; acked now, or (manual) at `commit()`. */
  #acknowledged(m: JsMsg): void {
    if (this.config.commit === "manual") {
      this.#processed.push(m);
      return;
    }
    this.#settle(m, null);
    this.committed(this.#offsets([m]), false);
  }

  /** Naks a delivery's messages so they come again after `delayMs`; false (not acked). */
  #again(delivery: Delivery, delayMs: number): false {
    for (const m of delivery.messages) this.#settle(m, delayMs);
    return false;
  }

  /** A unit the handler gave up on: dead-lettered, or (before-processing) reported as failed. */
  async #giveUp(unit: ConsumedRecord[], error: unknown): Promise<void> {
    const topic = this.config.deadLetterTopic;
    if (topic === null) {
      for (const record of unit) this.outcomes.next({ type: "failed", record, error });
      return;
    }
    for (const record of unit) {
      // The id makes a dead letter written again after a crash a duplicate, not a second copy.
      // The dead letter is the same record, headers and timestamp included.
      const { offset } = await this.#access.publishWithId(
        topic,
        record,
        `dlq:${this.#durable}:${this.#stream}:${record.offset}`,
        record.partition,
        this.config.requestTimeout,
      );
      this.outcomes.next({ type: "dead-lettered", record, error, deadLetterOffset: offset });
    }
  }

  #context(signal: AbortSignal, output: OutputContext | null): HandlerContext {
    return { generation: 0, tx: null, output, signal };
  }

  /**
   * How long a message handed back by a stopped reader waits before it comes again. Not 0: the
   * reader's last pull request stays open at the server until it expires (a pull cannot be
   * withdrawn), and a message nak'ed at once would be delivered into it, to nobody, and come
   * again only after `ack_wait`. Past the pull's expiry it goes to the group's next reader.
   */
  get #handBackDelayMs(): number {
    return this.#puller.expiresMs + HAND_BACK_MARGIN_MS;
  }

  // ---- acks --------------------------------------------------------------------------

  /** Acks and waits for the server's confirmation; false if it did not come (the ack may or may not have landed). */
  async #ackAck(m: JsMsg): Promise<boolean> {
    this.#puller.inHand.delete(m);
    try {
      return await m.ackAck({ timeout: Math.min(this.config.requestTimeout, ACK_ACK_TIMEOUT_MS) });
    } catch {
      return false;
    }
  }

  /** Acks (`delayMs` null) or naks a message, without waiting. */
  #settle(m: JsMsg, delayMs: number | null): void {
    this.#puller.inHand.delete(m);
    if (delayMs === null) m.ack();
    else m.nak(delayMs > 0 ? delayMs : undefined);
  }

  /** The server gave up on a message after `maxDeliveries`: say which record(s). */
  async #exhausted(advisory: { stream_seq: number; deliveries: number }): Promise<void> {
    const stored = await this.#access
      .jsm()
      .streams.getMessage(this.#stream, { seq: advisory.stream_seq })
      .catch(() => null);
    const partition = stored === null ? -1 : this.#partitionOf(stored.subject);
    const offset = this.#offsetAt(advisory.stream_seq);
    this.outcomes.next({ type: "exhausted", partition, offset, deliveries: advisory.deliveries });
  }

  /** The partition of a subject `<topic>.<partition>`. */
  #partitionOf(subject: string): number {
    return Number(subject.slice(this.topic.length + 1));
  }

  /** The offset of the first record of the message at a stream sequence. */
  #offsetAt(sequence: number): number {
    return this.#framing === "batch" ? frameOffset(sequence, 0) : sequence;
  }

  /** Per partition, the offset after the last of these messages. */
  #offsets(messages: readonly JsMsg[]): PartitionOffset[] {
    const next = new Map<number, number>();
    for (const m of messages) {
      const after = this.#offsetAt(m.seq + 1);
      const p = this.#partitionOf(m.subject);
      next.set(p, Math.max(next.get(p) ?? 0, after));
    }
    return [...next].sort(([a], [b]) => a - b).map(([partition, offset]) => ({ topic: this.topic, partition, offset }));
  }

  #typed(error: unknown): AcktorError {
    switch (nameOf(error)) {
      case "StreamNotFoundError":
        return new UnknownTopicError(this.topic);
      case "ConsumerNotFoundError":
        return new UnknownMemberIdError(
          `${this.#access.server}: the durable consumer "${this.#durable}" of group "${this.config.groupId}" was deleted`,
        );
      default:
        return this.#access.typed(error);
    }
  }
}
