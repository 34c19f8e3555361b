/**
 * ListOffsets (key 2): the offset for a timestamp (or earliest / latest). v1 replaced v0's
 * offset lists with one timestamp and offset; v2 isolation level; v4 leader epochs; v6
 * flexible; v7 only added the max-timestamp lookup (no layout change).
 *
 * @module
 */
import { field, type MessageSpec, structs, versions } from "../codec/schema.ts";

/** ListOffsets v1-7 (v0's maxNumOffsets and oldStyleOffsets are not served, so not listed). */
export const listOffsets: MessageSpec = {
  apiKey: 2,
  name: "ListOffsets",
  valid: versions("1-7"),
  flexibleFrom: 6,
  request: [
    field("replicaId", "int32", "0+"),
    field("isolationLevel", "int8", "2+"),
    structs("topics", "0+", [
      field("name", "string", "0+"),
      structs("partitions", "0+", [
        field("partitionIndex", "int32", "0+"),
        field("currentLeaderEpoch", "int32", "4+", { default: -1 }),
        field("timestamp", "int64", "0+"),
      ]),
    ]),
  ],
  response: [
    field("throttleTimeMs", "int32", "2+"),
    structs("topics", "0+", [
      field("name", "string", "0+"),
      structs("partitions", "0+", [
        field("partitionIndex", "int32", "0+"),
        field("errorCode", "int16", "0+"),
        field("timestamp", "int64", "1+", { default: -1 }),
        field("offset", "int64", "1+", { default: -1 }),
        field("leaderEpoch", "int32", "4+", { default: -1 }),
      ]),
    ]),
  ],
};
