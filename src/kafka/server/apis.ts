/**
 * The APIs the server answers: each Kafka API key with its message tables and its handler.
 * ApiVersions advertises exactly this list, so a client negotiates only what is here.
 *
 * @module
 */
import type { MessageSpec } from "../codec/schema.ts";
import type { ApiHandler } from "../handlers/context.ts";
import { fetch } from "../handlers/fetch.ts";
import { describeGroups, heartbeat, joinGroup, leaveGroup, listGroups, syncGroup } from "../handlers/groups.ts";
import { createTopics, findCoordinator, metadata } from "../handlers/metadata.ts";
import { listOffsets, offsetCommit, offsetFetch } from "../handlers/offsets.ts";
import { produce } from "../handlers/produce.ts";
import {
  addOffsetsToTxn,
  addPartitionsToTxn,
  endTxn,
  initProducerId,
  txnOffsetCommit,
} from "../handlers/transactions.ts";
import * as m from "../messages/index.ts";

/** One served API. */
export interface ServedApi {
  readonly spec: MessageSpec;
  readonly handle: ApiHandler;
}

const served = (spec: MessageSpec, handle: ApiHandler): ServedApi => ({ spec, handle });

/** Every API but ApiVersions (which the router answers itself), by key. */
export const SERVED_APIS: ReadonlyMap<number, ServedApi> = new Map(
  [
    served(m.produce, produce as ApiHandler),
    served(m.fetch, fetch as ApiHandler),
    served(m.listOffsets, listOffsets as ApiHandler),
    served(m.metadata, metadata as ApiHandler),
    served(m.offsetCommit, offsetCommit as ApiHandler),
    served(m.offsetFetch, offsetFetch as ApiHandler),
    served(m.findCoordinator, findCoordinator as ApiHandler),
    served(m.joinGroup, joinGroup as ApiHandler),
    served(m.heartbeat, heartbeat as ApiHandler),
    served(m.leaveGroup, leaveGroup as ApiHandler),
    served(m.syncGroup, syncGroup as ApiHandler),
    served(m.describeGroups, describeGroups as ApiHandler),
    served(m.listGroups, listGroups as ApiHandler),
    served(m.createTopics, createTopics as ApiHandler),
    served(m.initProducerId, initProducerId as ApiHandler),
    served(m.addPartitionsToTxn, addPartitionsToTxn as ApiHandler),
    served(m.addOffsetsToTxn, addOffsetsToTxn as ApiHandler),
    served(m.endTxn, endTxn as ApiHandler),
    served(m.txnOffsetCommit, txnOffsetCommit as ApiHandler),
  ].map((api) => [api.spec.apiKey, api]),
);

/**
 * Produce and Fetch are advertised from v0 although only v3+ and v4+ are served (older ones
 * carry the message formats before record batch v2, and are answered UNSUPPORTED_VERSION):
 * librdkafka before 2.10 (Debian's kcat among them) decides that a broker can take gzip,
 * snappy and lz4 from whether it lists those old versions, and otherwise silently sends
 * uncompressed batches. Kafka 3.x lists them too; every client picks the highest version
 * both sides have, so none of them asks for an old one.
 */
const ADVERTISED_FROM: ReadonlyMap<number, number> = new Map([[m.produce.apiKey, 0], [m.fetch.apiKey, 0]]);

/** ApiVersions' answer body: every served API with its version range, ApiVersions included. */
export function apiVersionsBody(errorCode: number): object {
  const apiKeys = [m.apiVersions, ...[...SERVED_APIS.values()].map((a) => a.spec)]
    .map((spec) => ({
      apiKey: spec.apiKey,
      minVersion: ADVERTISED_FROM.get(spec.apiKey) ?? spec.valid.min,
      maxVersion: spec.valid.max,
    }))
    .sort((a, b) => a.apiKey - b.apiKey);
  return {
    errorCode,
    apiKeys,
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1,
    finalizedFeatures: [],
  };
}
