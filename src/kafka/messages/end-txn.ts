import { field, type MessageSpec, versions } from "../codec/schema.ts";

/** EndTxn (key 26): commit (`committed: true`) or abort a producer's open transaction. */
export const endTxn: MessageSpec = {
  apiKey: 26,
  name: "EndTxn",
  valid: versions("0-3"),
  flexibleFrom: 3,
  request: [
    field("transactionalId", "string", "0+"),
    field("producerId", "int64", "0+"),
    field("producerEpoch", "int16", "0+"),
    field("committed", "bool", "0+"),
  ],
  response: [
    field("throttleTimeMs", "int32", "0+"),
    field("errorCode", "int16", "0+"),
  ],
};
