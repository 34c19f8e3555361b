import { field, type MessageSpec, structs, versions } from "../codec/schema.ts";

/** SyncGroup (key 14): the leader hands in the assignments; every member gets its own back. */
export const syncGroup: MessageSpec = {
  apiKey: 14,
  name: "SyncGroup",
  valid: versions("0-5"),
  flexibleFrom: 4,
  request: [
    field("groupId", "string", "0+"),
    field("generationId", "int32", "0+"),
    field("memberId", "string", "0+"),
    field("groupInstanceId", "string", "3+", { nullable: "3+" }),
    field("protocolType", "string", "5+", { nullable: "5+" }),
    field("protocolName", "string", "5+", { nullable: "5+" }),
    structs("assignments", "0+", [
      field("memberId", "string", "0+"),
      field("assignment", "bytes", "0+"),
    ]),
  ],
  response: [
    field("throttleTimeMs", "int32", "1+"),
    field("errorCode", "int16", "0+"),
    field("protocolType", "string", "5+", { nullable: "5+" }),
    field("protocolName", "string", "5+", { nullable: "5+" }),
    field("assignment", "bytes", "0+"),
  ],
};
