/**
 * The produce side of the NATS transport: one request's records as JetStream publishes, with
 * or without awaiting their PubAcks, in the order and with the message ids that each delivery
 * semantic needs (see `nats-transport.ts` for what each semantic means here).
 *
 * @module
 */
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { DisconnectedError } from "../../errors.ts";
import type { ProduceRequest, ProduceResponse } from "../../transport/protocol.ts";
import type { RequestOptions } from "../../transport/transport.ts";
import { frameOffset } from "./frame.ts";
import { frameMessage, type Framing, recordMessage } from "./message.ts";
import { Window } from "./publish-window.ts";

/** Publishes produce requests over one connection. */
export class Publisher {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #server: string;
  /** Message framing: JetStream publishes awaiting their PubAck, across all requests. */
  readonly #window: Window;
  /** Bumped by every dropped connection; a request that sees it change stops publishing. */
  #connection = 0;

  constructor(nc: NatsConnection, js: JetStreamClient, server: string, publishWindow: number) {
    this.#nc = nc;
    this.#js = js;
    this.#server = server;
    this.#window = new Window(publishWindow);
  }

  /** The connection dropped: requests publishing now stop before their next record. */
  dropped(): void {
    this.#connection++;
  }

  /** At-most-once: plain publishes, no PubAck awaited. */
  unacked(subject: string, request: ProduceRequest, framing: Framing): void {
    if (framing === "batch") {
      const { data, headers } = frameMessage(request, -1);
      this.#nc.publish(subject, data, { headers });
      return;
    }
    const { keys, values, headers: recordHeaders, timestamps } = request;
    for (let i = 0; i < values.length; i++) {
      const { data, headers } = recordMessage(keys[i] ?? null, values[i]!, recordHeaders?.[i], timestamps?.[i]);
      this.#nc.publish(subject, data, headers ? { headers } : undefined);
    }
  }

  /**
   * JetStream publishes whose PubAcks are awaited; with a producer id, each carries the
   * message id of its sequence. An exactly-once batch in message framing goes one record at
   * a time: two records in flight could land out of order (the first lost with a leader or
   * a connection, the second stored), and a stored record cannot be moved back.
   */
  async acked(
    subject: string,
    request: ProduceRequest,
    framing: Framing,
    options: RequestOptions,
  ): Promise<ProduceResponse> {
    const idempotent = request.producerId !== undefined;
    const msgId = (sequence: number): string =>
      `${request.producerId}.${request.epoch}.${request.partition}.${sequence}`;
    if (framing === "batch") {
      const { data, headers } = frameMessage(request, idempotent ? request.baseSequence! : -1);
      const ack = await this.#js.publish(subject, data, {
        headers,
        timeout: options.timeoutMs,
        ...(idempotent ? { msgID: msgId(request.baseSequence!) } : {}),
      });
      return { ok: true, baseOffset: frameOffset(ack.seq, 0), ...(ack.duplicate ? { duplicate: true } : {}) };
    }
    const { keys, values, headers: recordHeaders, timestamps } = request;
    // Records go out in order, at most `publishWindow` awaiting PubAcks across the whole
    // connection: more in flight only adds latency (the server acks one message at a time).
    // Each PubAck is handled the moment it settles: a publish may fail while later ones still
    // wait for the window, and must not count as an unhandled rejection meanwhile.
    const offsets: number[] = new Array(values.length);
    let duplicates = 0;
    let failure: unknown = null;
    const settled: Promise<void>[] = new Array(values.length);
    const connection = this.#connection;
    for (let i = 0; i < values.length && failure === null; i++) {
      if (!this.#window.tryAcquire()) await this.#window.acquire();
      if (this.#connection !== connection) {
        // The connection dropped mid-batch: publishing the rest could land them before the
        // lost ones. What went out before the drop is a prefix; the retry fills in the rest.
        this.#window.release();
        failure = new DisconnectedError(
          `${this.#server}: the connection dropped after ${i} of ${values.length} records`,
        );
        break;
      }
      const { data, headers } = recordMessage(keys[i] ?? null, values[i]!, recordHeaders?.[i], timestamps?.[i]);
      settled[i] = this.#js
        .publish(subject, data, {
          timeout: options.timeoutMs,
          ...(headers ? { headers } : {}),
          ...(idempotent ? { msgID: msgId(request.baseSequence! + i) } : {}),
        })
        .then(
          (ack: PubAck) => {
            offsets[i] = ack.seq;
            if (ack.duplicate) duplicates++;
          },
          (error: unknown) => void (failure ??= error),
        )
        .finally(() => this.#window.release());
      if (idempotent) await settled[i];
    }
    await Promise.all(settled);
    // One lost PubAck fails the batch: the producer retries it whole, and message ids make the
    // records that did land answer as duplicates.
    if (failure !== null) throw failure;
    return {
      ok: true,
      baseOffset: offsets[0] ?? -1,
      offsets,
      ...(duplicates === values.length ? { duplicate: true } : {}),
    };
  }
}
