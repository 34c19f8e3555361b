/**
 * The pulling side of a JetStream consumer: messages pulled ahead of the handler, the ones in
 * hand kept alive with `working()` heartbeats, and the failure that ends pulling. Apart from
 * the consumer's handling so that each reads on its own.
 *
 * @module
 */
import type { Consumer as DurableConsumer, ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import { type AcktorError, TransportClosedError, UnknownMemberIdError, UnknownTopicError } from "../../errors.ts";
import { type Clock, sleep } from "../../runtime/clock.ts";

/** The shortest wait JetStream allows a pull request. */
export const MIN_EXPIRES_MS = 1_000;

/** What pulling needs of the consumer's config. */
export interface PullConfig {
  readonly clock: Clock;
  readonly maxPollRecords: number;
  readonly pollIntervalMs: number;
  readonly heartbeatIntervalMs: number;
}

/** Messages pulled from a durable consumer, waiting to be taken by the handling loop. */
export class Puller {
  /** Delivered and not yet acked or nak'ed: the heartbeat keeps the server from redelivering them. */
  readonly inHand = new Set<JsMsg>();
  /** Pulled, not yet taken. */
  readonly inbox: JsMsg[] = [];
  readonly #config: PullConfig;
  readonly #typed: (error: unknown) => AcktorError;
  #fetching: ConsumerMessages | null = null;
  #failure: AcktorError | null = null;
  #notify: (() => void) | null = null;

  constructor(config: PullConfig, typed: (error: unknown) => AcktorError) {
    this.#config = config;
    this.#typed = typed;
  }

  /** How long a pull request stays open at the server. */
  get expiresMs(): number {
    return Math.max(MIN_EXPIRES_MS, this.#config.pollIntervalMs);
  }

  /**
   * Keeps up to `maxPollRecords` messages pulled ahead of the handler, so one pull's round
   * trip overlaps the handling of the previous one. Ends when `signal` aborts, or at a
   * failure that pulling again cannot mend, which {@link take} then throws.
   */
  async pump(consumer: DurableConsumer, signal: AbortSignal): Promise<void> {
    const { clock, maxPollRecords, pollIntervalMs } = this.#config;
    this.#failure = null;
    while (!signal.aborted) {
      const room = maxPollRecords - this.inbox.length;
      if (room <= 0) {
        await this.#wait(signal);
        continue;
      }
      try {
        const messages = await consumer.fetch({ max_messages: room, expires: this.expiresMs });
        this.#fetching = messages;
        if (signal.aborted) messages.stop();
        for await (const m of messages) {
          this.inHand.add(m);
          this.inbox.push(m);
          this.#wake();
        }
      } catch (error) {
        if (signal.aborted) return;
        const typed = this.#typed(error);
        if (
          typed instanceof UnknownTopicError || typed instanceof UnknownMemberIdError ||
          typed instanceof TransportClosedError
        ) {
          this.#failure = typed;
          this.#wake();
          return;
        }
        // A dropped connection or a slow server: the client reconnects; pull again shortly.
        await sleep(clock, Math.max(pollIntervalMs, 50));
      } finally {
        this.#fetching = null;
      }
    }
  }

  /** Stops the pull in progress (client side: the server keeps the request until it expires). */
  stopFetching(): void {
    this.#fetching?.stop();
  }

  /** Waits for pulled messages and takes them all. Empty when the reader stopped. */
  async take(signal: AbortSignal, on: { idle(): void; wake(): void }): Promise<JsMsg[]> {
    while (this.inbox.length === 0) {
      if (this.#failure !== null) throw this.#failure;
      if (signal.aborted) return [];
      on.idle();
      await this.#wait(signal);
      on.wake();
    }
    const taken = this.inbox.splice(0);
    this.#wake();
    return taken;
  }

  /** Tells the server, every `heartbeatIntervalMs`, that the messages in hand are being worked on. */
  heartbeat(): { stop(): void } {
    const { clock, heartbeatIntervalMs } = this.#config;
    let timer: unknown;
    const beat = (): void => {
      for (const m of this.inHand) m.working();
      timer = clock.setTimeout(beat, heartbeatIntervalMs);
    };
    timer = clock.setTimeout(beat, heartbeatIntervalMs);
    return { stop: () => clock.clearTimeout(timer) };
  }

  /** Resolves at the next {@link #wake} or when `signal` aborts. */
  #wait(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener("abort", done);
        this.#notify = null;
        resolve();
      };
      this.#notify = done;
      if (signal.aborted) done();
      else signal.addEventListener("abort", done, { once: true });
    });
  }

  #wake(): void {
    this.#notify?.();
  }
}
