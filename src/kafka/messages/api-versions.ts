/**
 * ApiVersions (key 18): the first request a client sends, to learn which versions of each API
 * the broker serves. v1 added throttleTimeMs; v3 (flexible) added the client's software name
 * and the tagged feature lists.
 *
 * @module
 */
import { field, type MessageSpec, structs, versions } from "../codec/schema.ts";

/** ApiVersions v0-3. */
export const apiVersions: MessageSpec = {
  apiKey: 18,
  name: "ApiVersions",
  valid: versions("0-3"),
  flexibleFrom: 3,
  request: [
    field("clientSoftwareName", "string", "3+"),
    field("clientSoftwareVersion", "string", "3+"),
  ],
  response: [
    field("errorCode", "int16", "0+"),
    structs("apiKeys", "0+", [
      field("apiKey", "int16", "0+"),
      field("minVersion", "int16", "0+"),
      field("maxVersion", "int16", "0+"),
    ]),
    field("throttleTimeMs", "int32", "1+"),
    structs("supportedFeatures", "3+", [
      field("name", "string", "3+"),
      field("minVersion", "int16", "3+"),
      field("maxVersion", "int16", "3+"),
    ], { tag: 0 }),
    field("finalizedFeaturesEpoch", "int64", "3+", { tag: 1, default: -1 }),
    structs("finalizedFeatures", "3+", [
      field("name", "string", "3+"),
      field("maxVersionLevel", "int16", "3+"),
      field("minVersionLevel", "int16", "3+"),
    ], { tag: 2 }),
    field("zkMigrationReady", "bool", "3+", { tag: 3, default: false }),
  ],
};
