import { field, type MessageSpec, versions } from "../codec/schema.ts";

/** AddOffsetsToTxn (key 25): a transactional producer adds a group's offsets to its transaction. */
export const addOffsetsToTxn: MessageSpec = {
  apiKey: 25,
  name: "AddOffsetsToTxn",
  valid: versions("0-3"),
  flexibleFrom: 3,
  request: [
    field("transactionalId", "string", "0+"),
    field("producerId", "int64", "0+"),
    field("producerEpoch", "int16", "0+"),
    field("groupId", "string", "0+"),
  ],
  response: [
    field("throttleTimeMs", "int32", "0+"),
    field("errorCode", "int16", "0+"),
  ],
};
