/**
 * `records$` on JetStream: a message's records are handed out with acks, and the message is
 * settled once every one of them was acknowledged. A message still waiting when the reader
 * stops is nak'ed, so it comes again at once rather than after `ack_wait`.
 *
 * @module
 */
import type { JsMsg } from "@nats-io/jetstream";
import type { Receiver } from "../../consumer/receiver.ts";
import type { ConsumedRecord } from "../../consumer/record.ts";

/** The messages whose records are out on `records$`, waiting for their acks. */
export class AwaitingAcks {
  readonly #messages = new Set<JsMsg>();

  /**
   * Hands the records of message `m` (one unit each) to `receiver`; `acknowledged(m)` runs
   * once all are acknowledged, `processed(unit)` as each is.
   */
  async handOut(
    m: JsMsg,
    units: readonly ConsumedRecord[][],
    receiver: Receiver,
    signal: AbortSignal,
    on: { processed(unit: ConsumedRecord[]): void; acknowledged(m: JsMsg): void },
  ): Promise<void> {
    this.#messages.add(m);
    let left = units.length;
    for (const unit of units) {
      const acked = (): void => {
        on.processed(unit);
        if (--left > 0 || !this.#messages.delete(m)) return;
        on.acknowledged(m);
      };
      // The reader stopped: the message waits with the rest, and is handed back.
      if (!(await receiver.handOut(unit[0]!, acked, signal))) return;
    }
  }

  /** The reader stopped: its acks change nothing now, and the messages they were for come again. */
  handBack(receiver: Receiver, settle: (m: JsMsg) => void): void {
    receiver.close();
    for (const m of this.#messages) settle(m);
    this.#messages.clear();
  }
}

/**
 * Stream sequences whose acks the server confirmed (`ackAck`), remembered for `windowMs`.
 * nats-server (2.9.10 at least) confirms an ack before its consumer's Raft group has stored
 * it: when the consumer leader dies right after, the new leader never heard of the ack (or of
 * the delivery) and delivers the message again, to the same member. Under before-processing
 * that member must not hand it out twice. A forgotten ack comes back within an election plus
 * `ack_wait`, so the window only needs to cover that; past it an ack is long replicated.
 */
export class ConfirmedAcks {
  /** Per sequence, when its ack was last confirmed. */
  readonly #seqs = new Map<number, number>();
  /** In confirmation order, so expiry is a walk from the front. */
  readonly #order: { seq: number; at: number }[] = [];
  #head = 0;
  readonly #windowMs: number;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  add(seq: number, now: number): void {
    this.#expire(now);
    this.#seqs.set(seq, now);
    this.#order.push({ seq, at: now });
  }

  has(seq: number, now: number): boolean {
    this.#expire(now);
    return this.#seqs.has(seq);
  }

  #expire(now: number): void {
    const order = this.#order;
    while (this.#head < order.length && now - order[this.#head]!.at > this.#windowMs) {
      const { seq, at } = order[this.#head++]!;
      // Confirmed again since (delivered again and acked): the later confirmation counts.
      if (this.#seqs.get(seq) === at) this.#seqs.delete(seq);
    }
    // Compacts now and then rather than shifting on every expiry.
    if (this.#head > 4_096 && this.#head * 2 > order.length) {
      order.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
