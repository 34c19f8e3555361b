/**
 * Fetch (key 1): records from partitions. v4 isolation level and aborted transactions; v5 log
 * start offsets; v7 fetch sessions; v9 currentLeaderEpoch; v11 rackId and preferred read
 * replica; v12 flexible, with lastFetchedEpoch and tagged clusterId / divergingEpoch /
 * currentLeader / snapshotId. (Topic ids replace names from v13, past what acktor serves.)
 *
 * @module
 */
import { field, type MessageSpec, struct, structs, versions } from "../codec/schema.ts";

/** Fetch v4-12. */
export const fetch: MessageSpec = {
  apiKey: 1,
  name: "Fetch",
  valid: versions("4-12"),
  flexibleFrom: 12,
  request: [
    field("clusterId", "string", "12+", { nullable: "12+", tag: 0 }),
    field("replicaId", "int32", "0-14", { default: -1 }),
    field("maxWaitMs", "int32", "0+"),
    field("minBytes", "int32", "0+"),
    field("maxBytes", "int32", "3+", { default: 0x7fffffff }),
    field("isolationLevel", "int8", "4+", { default: 0 }),
    field("sessionId", "int32", "7+", { default: 0 }),
    field("sessionEpoch", "int32", "7+", { default: -1 }),
    structs("topics", "0+", [
      field("topic", "string", "0-12"),
      structs("partitions", "0+", [
        field("partition", "int32", "0+"),
        field("currentLeaderEpoch", "int32", "9+", { default: -1 }),
        field("fetchOffset", "int64", "0+"),
        field("lastFetchedEpoch", "int32", "12+", { default: -1 }),
        field("logStartOffset", "int64", "5+", { default: -1 }),
        field("partitionMaxBytes", "int32", "0+"),
      ]),
    ]),
    structs("forgottenTopicsData", "7+", [
      field("topic", "string", "7-12"),
      field("partitions", "[]int32", "7+"),
    ]),
    field("rackId", "string", "11+", { default: "" }),
  ],
  response: [
    field("throttleTimeMs", "int32", "1+"),
    field("errorCode", "int16", "7+"),
    field("sessionId", "int32", "7+", { default: 0 }),
    structs("responses", "0+", [
      field("topic", "string", "0-12"),
      structs("partitions", "0+", [
        field("partitionIndex", "int32", "0+"),
        field("errorCode", "int16", "0+"),
        field("highWatermark", "int64", "0+"),
        field("lastStableOffset", "int64", "4+", { default: -1 }),
        field("logStartOffset", "int64", "5+", { default: -1 }),
        struct("divergingEpoch", "12+", [
          field("epoch", "int32", "12+", { default: -1 }),
          field("endOffset", "int64", "12+", { default: -1 }),
        ], { tag: 0 }),
        struct("currentLeader", "12+", [
          field("leaderId", "int32", "12+", { default: -1 }),
          field("leaderEpoch", "int32", "12+", { default: -1 }),
        ], { tag: 1 }),
        struct("snapshotId", "12+", [
          field("endOffset", "int64", "0+", { default: -1 }),
          field("epoch", "int32", "0+", { default: -1 }),
        ], { tag: 2 }),
        structs("abortedTransactions", "4+", [
          field("producerId", "int64", "4+"),
          field("firstOffset", "int64", "4+"),
        ], { nullable: "4+" }),
        field("preferredReadReplica", "int32", "11+", { default: -1 }),
        field("records", "records", "0+", { nullable: "0+" }),
      ]),
    ]),
  ],
};
