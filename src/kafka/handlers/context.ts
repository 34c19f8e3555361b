/**
 * What every Kafka API handler gets: the decoded request (plain data, shaped by the API's
 * table), and the server around it.
 *
 * @module
 */
import type { BrokerSeam } from "../broker-seam.ts";
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
}

/**
 * Answers one decoded request with its response body (plain data for the API's response
 * table), or null when Kafka sends no response (a Produce with acks=0). The synchronous part
 * must apply the request: connections rely on requests being applied in arrival order.
 */
export type ApiHandler = (request: never, context: RequestContext) => object | Promise<object> | null;

/**
 * Makes `topic` exist if the server auto-creates topics; answers whether it exists now. Kafka
 * creates a topic on first mention only when both the broker and (Metadata v4+) the request allow it.
 */
export function ensureTopic(context: RequestContext, topic: string, requestAllows = true): boolean {
  if (context.broker.partitionCount(topic) !== undefined) return true;
  const auto = context.autoCreateTopics;
  if (auto === null || !requestAllows) return false;
  try {
    context.broker.createTopic(topic, { partitions: auto.partitions, replicationFactor: auto.replicationFactor });
  } catch {
    // An invalid name stays unknown: the caller answers UNKNOWN_TOPIC_OR_PARTITION / INVALID_TOPIC.
  }
  return context.broker.partitionCount(topic) !== undefined;
}
