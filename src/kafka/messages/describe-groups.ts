import { field, type MessageSpec, structs, versions } from "../codec/schema.ts";

/** The "not asked for" value of `authorizedOperations` (Kafka's INT32 minimum). */
const OPERATIONS_NOT_REQUESTED = -2147483648;

/** DescribeGroups (key 15): state, protocol and members of the named consumer groups. */
export const describeGroups: MessageSpec = {
  apiKey: 15,
  name: "DescribeGroups",
  valid: versions("0-5"),
  flexibleFrom: 5,
  request: [
    field("groups", "[]string", "0+"),
    field("includeAuthorizedOperations", "bool", "3+"),
  ],
  response: [
    field("throttleTimeMs", "int32", "1+"),
    structs("groups", "0+", [
      field("errorCode", "int16", "0+"),
      field("groupId", "string", "0+"),
      field("groupState", "string", "0+"),
      field("protocolType", "string", "0+"),
      field("protocolData", "string", "0+"),
      structs("members", "0+", [
        field("memberId", "string", "0+"),
        field("groupInstanceId", "string", "4+", { nullable: "4+" }),
        field("clientId", "string", "0+"),
        field("clientHost", "string", "0+"),
        field("memberMetadata", "bytes", "0+"),
        field("memberAssignment", "bytes", "0+"),
      ]),
      field("authorizedOperations", "int32", "3+", { default: OPERATIONS_NOT_REQUESTED }),
    ]),
  ],
};
