/**
 * Produce (key 0): record batches to partition leaders. v3 added transactionalId (and requires
 * v2 record batches); v5 logStartOffset; v8 per-record errors; v9 flexible. (Tagged
 * currentLeader and nodeEndpoints arrive at v10, past what acktor serves.)
 *
 * @module
 */
import { field, type MessageSpec, structs, versions } from "../codec/schema.ts";

/** Produce v3-9. */
export const produce: MessageSpec = {
  apiKey: 0,
  name: "Produce",
  valid: versions("3-9"),
  flexibleFrom: 9,
  request: [
    field("transactionalId", "string", "3+", { nullable: "3+" }),
    field("acks", "int16", "0+"),
    field("timeoutMs", "int32", "0+"),
    structs("topicData", "0+", [
      field("name", "string", "0+"),
      structs("partitionData", "0+", [
        field("index", "int32", "0+"),
        field("records", "records", "0+", { nullable: "0+" }),
      ]),
    ]),
  ],
  response: [
    structs("responses", "0+", [
      field("name", "string", "0+"),
      structs("partitionResponses", "0+", [
        field("index", "int32", "0+"),
        field("errorCode", "int16", "0+"),
        field("baseOffset", "int64", "0+"),
        field("logAppendTimeMs", "int64", "2+", { default: -1 }),
        field("logStartOffset", "int64", "5+", { default: -1 }),
        structs("recordErrors", "8+", [
          field("batchIndex", "int32", "8+"),
          field("batchIndexErrorMessage", "string", "8+", { nullable: "8+" }),
        ]),
        field("errorMessage", "string", "8+", { nullable: "8+" }),
      ]),
    ]),
    field("throttleTimeMs", "int32", "1+", { default: 0 }),
  ],
};
