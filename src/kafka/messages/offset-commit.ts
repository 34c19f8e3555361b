import { field, type MessageSpec, structs, versions } from "../codec/schema.ts";

/**
 * OffsetCommit (key 8): a member commits its group's offsets. Kafka's name for the generation
 * field is `GenerationIdOrMemberEpoch` (it became a member epoch in v9, not served here).
 */
export const offsetCommit: MessageSpec = {
  apiKey: 8,
  name: "OffsetCommit",
  valid: versions("0-8"),
  flexibleFrom: 8,
  request: [
    field("groupId", "string", "0+"),
    field("generationIdOrMemberEpoch", "int32", "1+", { default: -1 }),
    field("memberId", "string", "1+"),
    field("groupInstanceId", "string", "7+", { nullable: "7+" }),
    field("retentionTimeMs", "int64", "2-4", { default: -1 }),
    structs("topics", "0+", [
      field("name", "string", "0+"),
      structs("partitions", "0+", [
        field("partitionIndex", "int32", "0+"),
        field("committedOffset", "int64", "0+"),
        field("committedLeaderEpoch", "int32", "6+", { default: -1 }),
        field("commitTimestamp", "int64", "1", { default: -1 }),
        field("committedMetadata", "string", "0+", { nullable: "0+" }),
      ]),
    ]),
  ],
  response: [
    field("throttleTimeMs", "int32", "3+"),
    structs("topics", "0+", [
      field("name", "string", "0+"),
      structs("partitions", "0+", [
        field("partitionIndex", "int32", "0+"),
        field("errorCode", "int16", "0+"),
      ]),
    ]),
  ],
};
