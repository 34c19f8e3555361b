/**
 * What a JetStream consumer uses of the transport that made it: the connection, the topic
 * shapes it learned, its error typing, and its one-record publish with a caller's message id
 * (dead letters and idempotent output).
 *
 * @module
 */
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { AcktorError } from "../../errors.ts";
import type { RecordMetadata } from "../../producer/outcome.ts";
import type { Bytes, RecordHeaders } from "../../transport/protocol.ts";
import type { TopicShape } from "./topic-shape.ts";

/** What a JetStream consumer uses of the transport that made it. */
export interface JetStreamAccess {
  readonly server: string;
  nc(): NatsConnection;
  js(): JetStreamClient;
  jsm(): JetStreamManager;
  shape(topic: string): Promise<TopicShape>;
  typed(error: unknown): AcktorError;
  publishWithId(
    topic: string,
    record: OutgoingRecord,
    msgId: string,
    partitionIfKeyless: number,
    timeoutMs: number,
  ): Promise<RecordMetadata>;
}

/** A record a consumer writes itself: a dead letter, or an `idempotent` output. */
export interface OutgoingRecord {
  readonly key: Bytes | null;
  readonly value: Bytes;
  readonly headers: RecordHeaders | null;
  readonly timestamp: number;
}
