/**
 * What every Kafka API handler gets: the decoded request (plain data, shaped by the API's
 * table), and the server around it.
 *
 * @module
 */
import { validateTopicName } from "../../broker/topic-name.ts";
import type { BrokerSeam } from "../broker-seam.ts";
import { KafkaErrorCode as K } from "../error-codes.ts";
import type { ClassicGroups } from "../groups/classic-groups.ts";
import type { AutoCreateTopics } from "../server/options.ts";

/** The server as one request sees it. */
export interface RequestContext {
  /** The request's API version. */
  readonly version: number;
  readonly clientId: string | null;
  /** The client's `host:port`. */
  readonly peer: string;
  readonly broker: BrokerSeam;
  readonly groups: ClassicGroups;
  /** This server as Metadata and FindCoordinator name it: the one node of the cluster. */
  readonly node: { readonly nodeId: number; readonly host: string; readonly port: number };
  readonly autoCreateTopics: AutoCreateTopics | null;
  /** Inflates a gzip record-batch body. */
  readonly gunzip: (bytes: Uint8Array) => Uint8Array;
  /** Aborts when the server closes: long-polls end at once rather than holding timers. */
  readonly closing: AbortSignal;
}

/**
 * Answers one decoded request with its response body (plain data for the API's response
 * table), or null when Kafka sends no response (a Produce with acks=0). The synchronous part
 * must apply the request: connections rely on requests being applied in arrival order.
 */
export type ApiHandler = (request: never, context: RequestContext) => object | Promise<object> | null;

/**
 * Whether `topic` can be written and read, as a Kafka error code: NONE once it exists (made
 * now if the server auto-creates topics and, for Metadata v4+, the request allows it);
 * INVALID_TOPIC_EXCEPTION for a name Kafka would refuse, which clients do not retry;
 * UNKNOWN_TOPIC_OR_PARTITION otherwise, which they retry until the topic appears.
 */
export function topicStatus(context: RequestContext, topic: string, requestAllows = true): number {
  if (context.broker.partitionCount(topic) !== undefined) return K.NONE;
  try {
    validateTopicName(topic);
  } catch {
    return K.INVALID_TOPIC_EXCEPTION;
  }
  const auto = context.autoCreateTopics;
  if (auto === null || !requestAllows) return K.UNKNOWN_TOPIC_OR_PARTITION;
  context.broker.createTopic(topic, { partitions: auto.partitions, replicationFactor: auto.replicationFactor });
  return K.NONE;
}
