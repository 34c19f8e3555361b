import { field, type MessageSpec, structs, versions } from "../codec/schema.ts";

/**
 * JoinGroup (key 11): a member (re)joins a consumer group; the answer names the generation,
 * the chosen protocol and, for the leader, every member's subscription.
 */
export const joinGroup: MessageSpec = {
  apiKey: 11,
  name: "JoinGroup",
  valid: versions("0-9"),
  flexibleFrom: 6,
  request: [
    field("groupId", "string", "0+"),
    field("sessionTimeoutMs", "int32", "0+"),
    field("rebalanceTimeoutMs", "int32", "1+", { default: -1 }),
    field("memberId", "string", "0+"),
    field("groupInstanceId", "string", "5+", { nullable: "5+" }),
    field("protocolType", "string", "0+"),
    structs("protocols", "0+", [
      field("name", "string", "0+"),
      field("metadata", "bytes", "0+"),
    ]),
    field("reason", "string", "8+", { nullable: "8+" }),
  ],
  response: [
    field("throttleTimeMs", "int32", "2+"),
    field("errorCode", "int16", "0+"),
    field("generationId", "int32", "0+", { default: -1 }),
    field("protocolType", "string", "7+", { nullable: "7+" }),
    field("protocolName", "string", "0+", { nullable: "7+" }),
    field("leader", "string", "0+"),
    field("skipAssignment", "bool", "9+"),
    field("memberId", "string", "0+"),
    structs("members", "0+", [
      field("memberId", "string", "0+"),
      field("groupInstanceId", "string", "5+", { nullable: "5+" }),
      field("metadata", "bytes", "0+"),
    ]),
  ],
};
