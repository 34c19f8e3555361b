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
