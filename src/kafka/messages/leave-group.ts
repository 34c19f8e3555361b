import { field, type MessageSpec, structs, versions } from "../codec/schema.ts";

/**
 * LeaveGroup (key 13): members leave a group. Up to v2 one member leaves by id; from v3 a
 * list of members (KIP-345), each answered on its own.
 */
export const leaveGroup: MessageSpec = {
  apiKey: 13,
  name: "LeaveGroup",
  valid: versions("0-5"),
  flexibleFrom: 4,
  request: [
    field("groupId", "string", "0+"),
    field("memberId", "string", "0-2"),
    structs("members", "3+", [
      field("memberId", "string", "3+"),
      field("groupInstanceId", "string", "3+", { nullable: "3+" }),
      field("reason", "string", "5+", { nullable: "5+" }),
    ]),
  ],
  response: [
    field("throttleTimeMs", "int32", "1+"),
    field("errorCode", "int16", "0+"),
    structs("members", "3+", [
      field("memberId", "string", "3+"),
      field("groupInstanceId", "string", "3+", { nullable: "3+" }),
      field("errorCode", "int16", "3+"),
    ]),
  ],
};
