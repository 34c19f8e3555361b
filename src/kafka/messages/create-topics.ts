/**
 * CreateTopics (key 19). v1 validateOnly and error messages; v2 throttleTimeMs; v5 flexible,
 * with the created topic's partitions, replication and configs in the response; v7 topic ids.
 *
 * @module
 */
import { field, type MessageSpec, structs, versions } from "../codec/schema.ts";

/** CreateTopics v0-7. */
export const createTopics: MessageSpec = {
  apiKey: 19,
  name: "CreateTopics",
  valid: versions("0-7"),
  flexibleFrom: 5,
  request: [
    structs("topics", "0+", [
      field("name", "string", "0+"),
      field("numPartitions", "int32", "0+"),
      field("replicationFactor", "int16", "0+"),
      structs("assignments", "0+", [
        field("partitionIndex", "int32", "0+"),
        field("brokerIds", "[]int32", "0+"),
      ]),
      structs("configs", "0+", [
        field("name", "string", "0+"),
        field("value", "string", "0+", { nullable: "0+" }),
      ]),
    ]),
    field("timeoutMs", "int32", "0+", { default: 60000 }),
    field("validateOnly", "bool", "1+", { default: false }),
  ],
  response: [
    field("throttleTimeMs", "int32", "2+"),
    structs("topics", "0+", [
      field("name", "string", "0+"),
      field("topicId", "uuid", "7+"),
      field("errorCode", "int16", "0+"),
      field("errorMessage", "string", "1+", { nullable: "0+" }),
      field("topicConfigErrorCode", "int16", "5+", { tag: 0 }),
      field("numPartitions", "int32", "5+", { default: -1 }),
      field("replicationFactor", "int16", "5+", { default: -1 }),
      structs("configs", "5+", [
        field("name", "string", "5+"),
        field("value", "string", "5+", { nullable: "5+" }),
        field("readOnly", "bool", "5+"),
        field("configSource", "int8", "5+", { default: -1 }),
        field("isSensitive", "bool", "5+"),
      ], { nullable: "5+" }),
    ]),
  ],
};
