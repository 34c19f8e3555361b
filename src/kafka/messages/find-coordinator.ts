/**
 * FindCoordinator (key 10): which broker coordinates a group or transactional id. v1 added
 * keyType and errorMessage; v3 flexible; v4 batches many keys into one request.
 *
 * @module
 */
import { field, type MessageSpec, structs, versions } from "../codec/schema.ts";

/** FindCoordinator v0-4. */
export const findCoordinator: MessageSpec = {
  apiKey: 10,
  name: "FindCoordinator",
  valid: versions("0-4"),
  flexibleFrom: 3,
  request: [
    field("key", "string", "0-3"),
    field("keyType", "int8", "1+", { default: 0 }),
    field("coordinatorKeys", "[]string", "4+"),
  ],
  response: [
    field("throttleTimeMs", "int32", "1+"),
    field("errorCode", "int16", "0-3"),
    field("errorMessage", "string", "1-3", { nullable: "1-3" }),
    field("nodeId", "int32", "0-3"),
    field("host", "string", "0-3"),
    field("port", "int32", "0-3"),
    structs("coordinators", "4+", [
      field("key", "string", "4+"),
      field("nodeId", "int32", "4+"),
      field("host", "string", "4+"),
      field("port", "int32", "4+"),
      field("errorCode", "int16", "4+"),
      field("errorMessage", "string", "4+", { nullable: "4+" }),
    ]),
  ],
};
