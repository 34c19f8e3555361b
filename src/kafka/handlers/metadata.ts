/**
 * Metadata and FindCoordinator: the cluster is this one server, node 0, which leads every
 * partition and coordinates every group and transactional id. The embedded broker's replicas
 * live inside it, so replica and ISR lists name node 0 alone: a client never needs another
 * address, and the broker's own ISR still decides acks=all.
 *
 * @module
 */
import { KafkaErrorCode as K } from "../error-codes.ts";
import { type RequestContext, topicStatus } from "./context.ts";

interface MetadataBody {
  readonly topics: readonly { readonly name: string | null }[] | null;
  readonly allowAutoTopicCreation: boolean;
}

const ZERO_UUID = new Uint8Array(16);

/** Describes the topics asked for (all when `topics` is null, as in v1+). */
export function metadata(request: MetadataBody, context: RequestContext): object {
  const { node, broker } = context;
  const names = request.topics === null
    ? broker.topicNames()
    : request.topics.flatMap((t) => t.name === null ? [] : [t.name]);
  const topics = names.map((name) => {
    const status = topicStatus(context, name, request.allowAutoTopicCreation);
    if (status !== K.NONE) {
      return { errorCode: status, name, topicId: ZERO_UUID, isInternal: false, partitions: [] };
    }
    const count = broker.partitionCount(name) ?? 0;
    return {
      errorCode: K.NONE,
      name,
      topicId: ZERO_UUID,
      isInternal: false,
      partitions: Array.from({ length: count }, (_, partitionIndex) => ({
        errorCode: K.NONE,
        partitionIndex,
        leaderId: node.nodeId,
        leaderEpoch: 0,
        replicaNodes: [node.nodeId],
        isrNodes: [node.nodeId],
        offlineReplicas: [],
      })),
    };
  });
  return {
    throttleTimeMs: 0,
    brokers: [{ nodeId: node.nodeId, host: node.host, port: node.port, rack: null }],
    clusterId: "acktor",
    controllerId: node.nodeId,
    topics,
  };
}

interface FindCoordinatorBody {
  readonly key: string;
  readonly keyType: number;
  readonly coordinatorKeys: readonly string[];
}

/** This node coordinates every group (key type 0) and transactional id (key type 1). */
export function findCoordinator(request: FindCoordinatorBody, context: RequestContext): object {
  const { nodeId, host, port } = context.node;
  const invalid = request.keyType !== 0 && request.keyType !== 1;
  const errorCode = invalid ? K.INVALID_REQUEST : K.NONE;
  const errorMessage = invalid ? `unknown coordinator key type ${request.keyType}` : null;
  return {
    throttleTimeMs: 0,
    errorCode,
    errorMessage,
    nodeId,
    host,
    port,
    coordinators: request.coordinatorKeys.map((key) => ({ key, nodeId, host, port, errorCode, errorMessage })),
  };
}

interface CreateTopicsBody {
  readonly topics: readonly {
    readonly name: string;
    readonly numPartitions: number;
    readonly replicationFactor: number;
  }[];
  readonly validateOnly: boolean;
}

/** Creates each topic (partitions -1: 1; replication factor -1: 1, Kafka's defaults). */
export function createTopics(request: CreateTopicsBody, context: RequestContext): object {
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((t) => {
      const partitions = t.numPartitions === -1 ? 1 : t.numPartitions;
      const replicationFactor = t.replicationFactor === -1 ? 1 : t.replicationFactor;
      const answer = { name: t.name, topicId: ZERO_UUID, numPartitions: partitions, replicationFactor, configs: [] };
      if (context.broker.partitionCount(t.name) !== undefined) {
        return { ...answer, errorCode: K.TOPIC_ALREADY_EXISTS, errorMessage: `topic "${t.name}" already exists` };
      }
      try {
        if (!request.validateOnly) context.broker.createTopic(t.name, { partitions, replicationFactor });
        return { ...answer, errorCode: K.NONE, errorMessage: null };
      } catch (error) {
        return { ...answer, errorCode: createError(error), errorMessage: (error as Error).message };
      }
    }),
  };
}

function createError(error: unknown): number {
  const field = (error as { field?: unknown }).field;
  if (field === "topic.partitions") return K.INVALID_PARTITIONS;
  if (field === "topic.replicationFactor") return K.INVALID_REPLICATION_FACTOR;
  if ((error as { code?: unknown }).code === "TOPIC_INVALID") return K.INVALID_TOPIC_EXCEPTION;
  return K.INVALID_REQUEST;
}
