/**
 * What becomes of a delivery the handler failed (under `after-processing`, `manual` and
 * `transactional`): it comes again until `maxDeliveries`, then it is dead-lettered or, without
 * a dead-letter topic, its partition stops with a `PoisonRecordError`.
 *
 * @module
 */
import { PoisonRecordError } from "../../errors.ts";
import { exactlyOnce } from "../../producer/config.ts";
import { Producer } from "../../producer/producer.ts";
import type { Transport } from "../../transport/transport.ts";
import type { ResolvedConsumerConfig } from "../config.ts";
import type { Cursor } from "../cursor.ts";
import type { ConsumerOutcome } from "../outcome.ts";
import type { ConsumedRecord } from "../record.ts";

/** What failure handling needs of its consumer. */
export interface FailuresHost {
  readonly topic: string;
  readonly config: ResolvedConsumerConfig;
  /** Where the dead-letter producer sends. */
  readonly transport: Transport;
  /** The consumer's stopped partitions, which a poison record joins. */
  readonly stopped: Map<number, PoisonRecordError>;
  report(outcome: ConsumerOutcome): void;
}

/** Counts failed deliveries and dead-letters records, with a producer opened on first use. */
export class Failures {
  readonly #host: FailuresHost;
  #deadLetters: Producer | null = null;

  constructor(host: FailuresHost) {
    this.#host = host;
  }

  /**
   * Counts a failed delivery. Below `maxDeliveries` the unit will come again (false). At the
   * limit it is dead-lettered and counts as handled (true), or, without a dead-letter topic,
   * its partition stops (false).
   */
  async failed(cursor: Cursor, unit: ConsumedRecord[], error: unknown): Promise<boolean> {
    const { topic, config, stopped } = this.#host;
    const head = unit[0]!;
    const deliveries = cursor.deliveries(head.offset);
    if (deliveries < config.maxDeliveries) {
      cursor.failures.set(head.offset, deliveries);
      for (const record of unit) this.#host.report({ type: "redelivered", record, error });
      return false;
    }
    if (config.deadLetterTopic !== null) {
      await this.deadLetter(unit, error);
      return true;
    }
    const poison = new PoisonRecordError(topic, cursor.partition, head.offset, deliveries, error);
    stopped.set(cursor.partition, poison);
    this.#host.report({ type: "partition-stopped", partition: cursor.partition, error: poison });
    return false;
  }

  /** Writes records to the dead-letter topic and waits for their acks (idempotent, so a retry never doubles one). */
  async deadLetter(unit: ConsumedRecord[], error: unknown): Promise<void> {
    const { transport, config } = this.#host;
    const { clock, requestTimeout } = config;
    const producer = this.#deadLetters ??= new Producer(transport, config.deadLetterTopic!, {
      deliverySemantic: exactlyOnce(),
      clock,
      requestTimeout,
    });
    // A dead letter keeps the record's headers and timestamp: it is the same record, moved.
    const outputs = await Promise.all(
      unit.map((r) => producer.send(r.key, r.value, { headers: r.headers, timestamp: r.timestamp })),
    );
    await producer.flush();
    for (const [i, output] of outputs.entries()) {
      const { offset } = await output.wait();
      this.#host.report({ type: "dead-lettered", record: unit[i]!, error, deadLetterOffset: offset });
    }
  }

  /** Closes the dead-letter producer, if one was opened. */
  async close(): Promise<void> {
    await this.#deadLetters?.close();
  }
}
