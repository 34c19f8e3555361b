/**
 * Metadata (key 3): brokers, topics and partition leaders. v1 made the topic list nullable
 * (null = all topics); v4 added allowAutoTopicCreation; v8 authorized operations (the cluster
 * ones only until v10); v9 flexible; v10 topic ids and nullable request names; v12 nullable
 * response names.
 *
 * @module
 */
import { field, type MessageSpec, structs, versions } from "../codec/schema.ts";

/** Kafka's "no authorized operations reported" bitfield (Integer.MIN_VALUE). */
const UNKNOWN_OPERATIONS = -2147483648;

/** Metadata v1-12. */
export const metadata: MessageSpec = {
  apiKey: 3,
  name: "Metadata",
  valid: versions("1-12"),
  flexibleFrom: 9,
  request: [
    structs("topics", "0+", [
      field("topicId", "uuid", "10+"),
      field("name", "string", "0+", { nullable: "10+" }),
    ], { nullable: "1+" }),
    field("allowAutoTopicCreation", "bool", "4+", { default: true }),
    field("includeClusterAuthorizedOperations", "bool", "8-10"),
    field("includeTopicAuthorizedOperations", "bool", "8+"),
  ],
  response: [
    field("throttleTimeMs", "int32", "3+"),
    structs("brokers", "0+", [
      field("nodeId", "int32", "0+"),
      field("host", "string", "0+"),
      field("port", "int32", "0+"),
      field("rack", "string", "1+", { nullable: "1+" }),
    ]),
    field("clusterId", "string", "2+", { nullable: "2+" }),
    field("controllerId", "int32", "1+", { default: -1 }),
    structs("topics", "0+", [
      field("errorCode", "int16", "0+"),
      field("name", "string", "0+", { nullable: "12+" }),
      field("topicId", "uuid", "10+"),
      field("isInternal", "bool", "1+", { default: false }),
      structs("partitions", "0+", [
        field("errorCode", "int16", "0+"),
        field("partitionIndex", "int32", "0+"),
        field("leaderId", "int32", "0+"),
        field("leaderEpoch", "int32", "7+", { default: -1 }),
        field("replicaNodes", "[]int32", "0+"),
        field("isrNodes", "[]int32", "0+"),
        field("offlineReplicas", "[]int32", "5+"),
      ]),
      field("topicAuthorizedOperations", "int32", "8+", { default: UNKNOWN_OPERATIONS }),
    ]),
    field("clusterAuthorizedOperations", "int32", "8-10", { default: UNKNOWN_OPERATIONS }),
  ],
};
