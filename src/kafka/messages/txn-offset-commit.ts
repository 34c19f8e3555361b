import { field, type MessageSpec, structs, versions } from "../codec/schema.ts";

/**
 * TxnOffsetCommit (key 28): offsets committed inside a transaction, visible once it commits.
 * From v3 the request carries the member's generation (KIP-447's zombie fencing).
 */
export const txnOffsetCommit: MessageSpec = {
  apiKey: 28,
  name: "TxnOffsetCommit",
  valid: versions("0-3"),
  flexibleFrom: 3,
  request: [
    field("transactionalId", "string", "0+"),
    field("groupId", "string", "0+"),
    field("producerId", "int64", "0+"),
    field("producerEpoch", "int16", "0+"),
    field("generationId", "int32", "3+", { default: -1 }),
    field("memberId", "string", "3+"),
    field("groupInstanceId", "string", "3+", { nullable: "3+" }),
    structs("topics", "0+", [
      field("name", "string", "0+"),
      structs("partitions", "0+", [
        field("partitionIndex", "int32", "0+"),
        field("committedOffset", "int64", "0+"),
        field("committedLeaderEpoch", "int32", "2+", { default: -1 }),
        field("committedMetadata", "string", "0+", { nullable: "0+" }),
      ]),
    ]),
  ],
  response: [
    field("throttleTimeMs", "int32", "0+"),
    structs("topics", "0+", [
      field("name", "string", "0+"),
      structs("partitions", "0+", [
        field("partitionIndex", "int32", "0+"),
        field("errorCode", "int16", "0+"),
      ]),
    ]),
  ],
};
