import { field, type MessageSpec, structs, versions } from "../codec/schema.ts";

/**
 * OffsetFetch (key 9): a member asks for its group's committed offsets; null `topics` (v2+)
 * asks for all of them, and `requireStable` (v7, KIP-447) asks the broker to refuse offsets an
 * open transaction still holds. v8's batch of groups is beyond the versions served here.
 */
export const offsetFetch: MessageSpec = {
  apiKey: 9,
  name: "OffsetFetch",
  valid: versions("0-7"),
  flexibleFrom: 6,
  request: [
    field("groupId", "string", "0-7"),
    structs("topics", "0-7", [
      field("name", "string", "0-7"),
      field("partitionIndexes", "[]int32", "0-7"),
    ], { nullable: "2-7" }),
    field("requireStable", "bool", "7+"),
  ],
  response: [
    field("throttleTimeMs", "int32", "3+"),
    structs("topics", "0-7", [
      field("name", "string", "0-7"),
      structs("partitions", "0-7", [
        field("partitionIndex", "int32", "0-7"),
        field("committedOffset", "int64", "0-7"),
        field("committedLeaderEpoch", "int32", "5-7", { default: -1 }),
        field("metadata", "string", "0-7", { nullable: "0-7" }),
        field("errorCode", "int16", "0-7"),
      ]),
    ]),
    field("errorCode", "int16", "2-7"),
  ],
};
