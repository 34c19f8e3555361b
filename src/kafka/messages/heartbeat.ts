import { field, type MessageSpec, versions } from "../codec/schema.ts";

/** Heartbeat (key 12): a member keeps its session alive and learns of a rebalance. */
export const heartbeat: MessageSpec = {
  apiKey: 12,
  name: "Heartbeat",
  valid: versions("0-4"),
  flexibleFrom: 4,
  request: [
    field("groupId", "string", "0+"),
    field("generationId", "int32", "0+"),
    field("memberId", "string", "0+"),
    field("groupInstanceId", "string", "3+", { nullable: "3+" }),
  ],
  response: [
    field("throttleTimeMs", "int32", "1+"),
    field("errorCode", "int16", "0+"),
  ],
};
