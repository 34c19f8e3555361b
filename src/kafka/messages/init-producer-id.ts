/**
 * InitProducerId (key 22): a producer id and epoch for an idempotent or transactional
 * producer. v2 flexible; v3 lets a producer pass its current id and epoch to bump the epoch.
 *
 * @module
 */
import { field, type MessageSpec, versions } from "../codec/schema.ts";

/** InitProducerId v0-4. */
export const initProducerId: MessageSpec = {
  apiKey: 22,
  name: "InitProducerId",
  valid: versions("0-4"),
  flexibleFrom: 2,
  request: [
    field("transactionalId", "string", "0+", { nullable: "0+" }),
    field("transactionTimeoutMs", "int32", "0+"),
    field("producerId", "int64", "3+", { default: -1 }),
    field("producerEpoch", "int16", "3+", { default: -1 }),
  ],
  response: [
    field("throttleTimeMs", "int32", "0+"),
    field("errorCode", "int16", "0+"),
    field("producerId", "int64", "0+", { default: -1 }),
    field("producerEpoch", "int16", "0+"),
  ],
};
