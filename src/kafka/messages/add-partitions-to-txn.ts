import { field, type MessageSpec, structs, versions } from "../codec/schema.ts";

/**
 * AddPartitionsToTxn (key 24): a transactional producer names the partitions it is about to
 * write. Versions 0-3 carry one transaction; Kafka's field names for them keep the
 * `V3AndBelow` prefix they got when v4 (batched transactions, not served here) arrived.
 */
export const addPartitionsToTxn: MessageSpec = {
  apiKey: 24,
  name: "AddPartitionsToTxn",
  valid: versions("0-3"),
  flexibleFrom: 3,
  request: [
    field("v3AndBelowTransactionalId", "string", "0-3"),
    field("v3AndBelowProducerId", "int64", "0-3"),
    field("v3AndBelowProducerEpoch", "int16", "0-3"),
    structs("v3AndBelowTopics", "0-3", [
      field("name", "string", "0+"),
      field("partitions", "[]int32", "0+"),
    ]),
  ],
  response: [
    field("throttleTimeMs", "int32", "0+"),
    structs("resultsByTopicV3AndBelow", "0-3", [
      field("name", "string", "0+"),
      structs("resultsByPartition", "0+", [
        field("partitionIndex", "int32", "0+"),
        field("partitionErrorCode", "int16", "0+"),
      ]),
    ]),
  ],
};
