import { field, type MessageSpec, structs, versions } from "../codec/schema.ts";

/** ListGroups (key 16): every consumer group the broker coordinates, filtered by state from v4. */
export const listGroups: MessageSpec = {
  apiKey: 16,
  name: "ListGroups",
  valid: versions("0-4"),
  flexibleFrom: 3,
  request: [
    field("statesFilter", "[]string", "4+"),
  ],
  response: [
    field("throttleTimeMs", "int32", "1+"),
    field("errorCode", "int16", "0+"),
    structs("groups", "0+", [
      field("groupId", "string", "0+"),
      field("protocolType", "string", "0+"),
      field("groupState", "string", "4+"),
    ]),
  ],
};
