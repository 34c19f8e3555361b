/**
 * acktor's Kafka message tables against an independent implementation: kafkajs 2.2.4's own
 * request encoders write real client frames, which acktor's tables must decode to the values
 * kafkajs was given and encode back to the very same bytes; acktor's encoded responses must
 * decode with kafkajs's response decoders. kafkajs only speaks non-flexible versions, so the
 * flexible ones are covered by the hand-written frames in `kafka-messages-a.test.ts`.
 *
 * kafkajs's internals are CommonJS files under `node_modules/kafkajs/src`; where a runtime
 * cannot import them (Deno without a node_modules resolution), these tests are skipped.
 */
import { test } from "./helpers/harness.ts";
import { plain } from "./helpers/plain.ts";
import * as assert from "uvu/assert";
import type { MessageSpec } from "../src/kafka/codec/schema.ts";
import { decodeMessage, encodeMessage } from "../src/kafka/codec/message-codec.ts";
import { Reader } from "../src/kafka/codec/reader.ts";
import { Writer } from "../src/kafka/codec/writer.ts";
import { apiVersions } from "../src/kafka/messages/api-versions.ts";
import { metadata } from "../src/kafka/messages/metadata.ts";
import { produce } from "../src/kafka/messages/produce.ts";
import { fetch } from "../src/kafka/messages/fetch.ts";
import { listOffsets } from "../src/kafka/messages/list-offsets.ts";
import { findCoordinator } from "../src/kafka/messages/find-coordinator.ts";
import { initProducerId } from "../src/kafka/messages/init-producer-id.ts";
import { createTopics } from "../src/kafka/messages/create-topics.ts";

// deno-lint-ignore no-explicit-any
type Loose = any;
/** A kafkajs request factory: its `encode()` resolves to an Encoder whose `buffer` is the body. */
type RequestFactory = (
  args: Loose,
) => { apiKey: number; apiVersion: number; encode(): Promise<{ buffer: Uint8Array }> };
interface ResponseModule {
  decode(raw: Uint8Array): Promise<Loose>;
  parse(data: Loose): Promise<Loose>;
}

/** Loads one of kafkajs's CommonJS modules (a variable specifier: kafkajs ships no types for them). */
async function kafkajs(path: string): Promise<Loose> {
  const specifier = `kafkajs/src/protocol/${path}.js`;
  const mod = await import(specifier);
  return mod.default ?? mod;
}

let unavailable: string | null = null;
try {
  await kafkajs("requests/apiVersions/v2/request");
} catch (e) {
  unavailable = e instanceof Error ? e.message.split("\n")[0]! : String(e);
}

const request = (api: string, v: number): Promise<RequestFactory> => kafkajs(`requests/${api}/v${v}/request`);
const response = (api: string, v: number): Promise<ResponseModule> => kafkajs(`requests/${api}/v${v}/response`);

/**
 * kafkajs writes the request; acktor's table must read it to `expected` (every field of the
 * version, absent ones at their defaults) with no byte left over, and write it back byte for
 * byte. `expected` may be a function of the decoded value, for bytes checked separately.
 */
async function readsKafkajsRequest(
  spec: MessageSpec,
  api: string,
  version: number,
  args: Loose,
  expected: Record<string, unknown> | ((decoded: Loose) => Record<string, unknown>),
): Promise<Record<string, unknown>> {
  const built = (await request(api, version))(args);
  assert.is(built.apiKey, spec.apiKey, `${spec.name} api key`);
  assert.is(built.apiVersion, version);
  const frame = Uint8Array.from((await built.encode()).buffer);
  const reader = new Reader(frame);
  const value = decodeMessage(spec.request, version, false, reader);
  assert.is(reader.remaining, 0, `${spec.name} v${version}: bytes left over`);
  const want = typeof expected === "function" ? expected(value) : expected;
  assert.equal(plain(value), plain(want), `${spec.name} v${version} request as decoded`);
  const writer = new Writer();
  encodeMessage(spec.request, version, false, value, writer);
  assert.equal([...writer.finish()], [...frame], `${spec.name} v${version} request re-encoded`);
  return value;
}

/** acktor writes `value` as a response; kafkajs's decoder (and its error check) reads it. */
async function kafkajsReadsResponse(
  spec: MessageSpec,
  api: string,
  version: number,
  value: Record<string, unknown>,
): Promise<Loose> {
  const writer = new Writer();
  encodeMessage(spec.response, version, false, value, writer);
  const { decode, parse } = await response(api, version);
  // kafkajs decodes Node Buffers (it calls Buffer methods on what it is given).
  const { Buffer } = await import("node:buffer");
  const frame = writer.finish();
  return parse(await decode(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)));
}

const oracle = (name: string, body: () => Promise<void>) =>
  unavailable === null
    ? test(name, body)
    : test.skip(`${name} (kafkajs internals not importable here: ${unavailable})`);

const TIMESTAMP = 1_700_000_000_000;

/** A kafkajs Produce v7 request: one transactional record "k" → "v" to t/2. */
async function kafkajsProduce(): Promise<Loose> {
  return await readsKafkajsRequest(produce, "produce", 7, {
    acks: -1,
    timeout: 30000,
    transactionalId: "tx",
    compression: 0,
    topicData: [{
      topic: "t",
      partitions: [{ partition: 2, firstSequence: 0, messages: [{ key: "k", value: "v", timestamp: TIMESTAMP }] }],
    }],
  }, (decoded) => ({
    transactionalId: "tx",
    acks: -1,
    timeoutMs: 30000,
    // The record batch is kafkajs's own bytes, read back below with kafkajs's batch decoder.
    topicData: [{
      name: "t",
      partitionData: [{ index: 2, records: decoded.topicData?.[0]?.partitionData?.[0]?.records }],
    }],
  }));
}

oracle("Produce v7: kafkajs's request reads back, records intact; kafkajs reads our response", async () => {
  const RecordBatchDecoder = await kafkajs("recordBatch/v0/decoder");
  const Decoder = await kafkajs("decoder");
  const value = await kafkajsProduce();
  const records = value.topicData[0].partitionData[0].records as Uint8Array;
  const { Buffer } = await import("node:buffer");
  const batch = await RecordBatchDecoder(new Decoder(Buffer.from(records)));
  assert.is(batch.records.length, 1);
  assert.is(batch.records[0].key.toString(), "k");
  assert.is(batch.records[0].value.toString(), "v");
  assert.is(batch.records[0].timestamp, String(TIMESTAMP));

  const decoded = await kafkajsReadsResponse(produce, "produce", 7, {
    responses: [{
      name: "t",
      partitionResponses: [{ index: 2, errorCode: 0, baseOffset: 42, logAppendTimeMs: -1, logStartOffset: 0 }],
    }],
    throttleTimeMs: 5,
  });
  assert.equal(decoded.topics, [{
    topicName: "t",
    partitions: [{ partition: 2, errorCode: 0, baseOffset: "42", logAppendTime: "-1", logStartOffset: "0" }],
  }]);
  assert.is(decoded.clientSideThrottleTime, 5);
});

oracle("Fetch v11: kafkajs's request reads back; kafkajs reads our response with a record batch", async () => {
  await readsKafkajsRequest(fetch, "fetch", 11, {
    replicaId: -1,
    maxWaitTime: 500,
    minBytes: 1,
    maxBytes: 1048576,
    isolationLevel: 1,
    sessionId: 3,
    sessionEpoch: 4,
    rackId: "r1",
    topics: [{ topic: "t", partitions: [{ partition: 0, currentLeaderEpoch: 9, fetchOffset: "10", maxBytes: 65536 }] }],
    forgottenTopics: [{ topic: "old", partitions: [1, 2] }],
  }, {
    // Absent before v12, and nullable where it exists: null, as Kafka's Java default.
    clusterId: null,
    replicaId: -1,
    maxWaitMs: 500,
    minBytes: 1,
    maxBytes: 1048576,
    isolationLevel: 1,
    sessionId: 3,
    sessionEpoch: 4,
    topics: [{
      topic: "t",
      partitions: [{
        partition: 0,
        currentLeaderEpoch: 9,
        fetchOffset: 10,
        lastFetchedEpoch: -1,
        logStartOffset: -1,
        partitionMaxBytes: 65536,
      }],
    }],
    forgottenTopicsData: [{ topic: "old", partitions: [1, 2] }],
    rackId: "r1",
  });

  const produced = (await kafkajsProduce()) as Loose;
  const decoded = await kafkajsReadsResponse(fetch, "fetch", 11, {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 3,
    responses: [{
      topic: "t",
      partitions: [{
        partitionIndex: 0,
        errorCode: 0,
        highWatermark: 11,
        lastStableOffset: 11,
        logStartOffset: 0,
        abortedTransactions: [{ producerId: 7, firstOffset: 3 }],
        preferredReadReplica: -1,
        records: produced.topicData[0].partitionData[0].records,
      }],
    }],
  });
  assert.is(decoded.sessionId, 3);
  const p = decoded.responses[0].partitions[0];
  assert.equal(
    [
      decoded.responses[0].topicName,
      p.partition,
      p.highWatermark,
      p.lastStableOffset,
      p.lastStartOffset,
      p.preferredReadReplica,
    ],
    ["t", 0, "11", "11", "0", -1],
  );
  assert.equal(p.abortedTransactions, [{ producerId: "7", firstOffset: "3" }]);
  assert.equal(p.messages.map((m: Loose) => [m.key.toString(), m.value.toString()]), [["k", "v"]]);
});

oracle("Metadata v6: named and null (all-topics) requests; kafkajs reads our response", async () => {
  const base = { includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };
  await readsKafkajsRequest(metadata, "metadata", 6, { topics: ["a", "b"], allowAutoTopicCreation: false }, {
    topics: [{ topicId: new Uint8Array(16), name: "a" }, { topicId: new Uint8Array(16), name: "b" }],
    allowAutoTopicCreation: false,
    ...base,
  });
  await readsKafkajsRequest(metadata, "metadata", 6, { topics: [] }, {
    topics: null,
    allowAutoTopicCreation: true,
    ...base,
  });

  const decoded = await kafkajsReadsResponse(metadata, "metadata", 6, {
    throttleTimeMs: 0,
    brokers: [{ nodeId: 1, host: "localhost", port: 9092, rack: null }],
    clusterId: "acktor",
    controllerId: 1,
    topics: [{
      errorCode: 0,
      name: "a",
      isInternal: false,
      partitions: [{
        errorCode: 0,
        partitionIndex: 0,
        leaderId: 1,
        replicaNodes: [1],
        isrNodes: [1],
        offlineReplicas: [],
      }],
    }],
  });
  assert.equal(decoded.brokers, [{ nodeId: 1, host: "localhost", port: 9092, rack: null }]);
  assert.equal([decoded.clusterId, decoded.controllerId], ["acktor", 1]);
  assert.equal(decoded.topicMetadata, [{
    topicErrorCode: 0,
    topic: "a",
    isInternal: false,
    partitionMetadata: [{
      partitionErrorCode: 0,
      partitionId: 0,
      leader: 1,
      replicas: [1],
      isr: [1],
      offlineReplicas: [],
    }],
  }]);
});

oracle("ListOffsets v3 both ways", async () => {
  await readsKafkajsRequest(listOffsets, "listOffsets", 3, {
    replicaId: -1,
    isolationLevel: 1,
    topics: [{ topic: "t", partitions: [{ partition: 0, timestamp: -1 }, { partition: 1, timestamp: TIMESTAMP }] }],
  }, {
    replicaId: -1,
    isolationLevel: 1,
    topics: [{
      name: "t",
      partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }, {
        partitionIndex: 1,
        currentLeaderEpoch: -1,
        timestamp: TIMESTAMP,
      }],
    }],
  });
  const decoded = await kafkajsReadsResponse(listOffsets, "listOffsets", 3, {
    throttleTimeMs: 0,
    topics: [{ name: "t", partitions: [{ partitionIndex: 0, errorCode: 0, timestamp: -1, offset: 42 }] }],
  });
  assert.equal(decoded.responses, [{
    topic: "t",
    partitions: [{ partition: 0, errorCode: 0, timestamp: "-1", offset: "42" }],
  }]);
});

oracle("FindCoordinator v2 both ways", async () => {
  await readsKafkajsRequest(findCoordinator, "findCoordinator", 2, { coordinatorKey: "tx", coordinatorType: 1 }, {
    key: "tx",
    keyType: 1,
    coordinatorKeys: [],
  });
  const decoded = await kafkajsReadsResponse(findCoordinator, "findCoordinator", 2, {
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    nodeId: 1,
    host: "localhost",
    port: 9092,
  });
  assert.equal([decoded.errorCode, decoded.errorMessage, decoded.coordinator], [0, null, {
    nodeId: 1,
    host: "localhost",
    port: 9092,
  }]);
});

oracle("InitProducerId v1 both ways (transactional and idempotent)", async () => {
  await readsKafkajsRequest(initProducerId, "initProducerId", 1, { transactionalId: "tx", transactionTimeout: 60000 }, {
    transactionalId: "tx",
    transactionTimeoutMs: 60000,
    producerId: -1,
    producerEpoch: -1,
  });
  await readsKafkajsRequest(initProducerId, "initProducerId", 1, { transactionalId: null, transactionTimeout: 60000 }, {
    transactionalId: null,
    transactionTimeoutMs: 60000,
    producerId: -1,
    producerEpoch: -1,
  });
  const decoded = await kafkajsReadsResponse(initProducerId, "initProducerId", 1, {
    throttleTimeMs: 0,
    errorCode: 0,
    producerId: 1000,
    producerEpoch: 3,
  });
  assert.equal([decoded.errorCode, decoded.producerId, decoded.producerEpoch], [0, "1000", 3]);
});

oracle("CreateTopics v3 both ways", async () => {
  await readsKafkajsRequest(createTopics, "createTopics", 3, {
    topics: [{
      topic: "t",
      numPartitions: 3,
      replicationFactor: 1,
      replicaAssignment: [{ partition: 0, replicas: [1, 2] }],
      configEntries: [{ name: "cleanup.policy", value: "compact" }],
    }],
    validateOnly: true,
    timeout: 5000,
  }, {
    topics: [{
      name: "t",
      numPartitions: 3,
      replicationFactor: 1,
      assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }],
      configs: [{ name: "cleanup.policy", value: "compact" }],
    }],
    timeoutMs: 5000,
    validateOnly: true,
  });
  const decoded = await kafkajsReadsResponse(createTopics, "createTopics", 3, {
    throttleTimeMs: 0,
    topics: [{ name: "t", errorCode: 0, errorMessage: null }],
  });
  assert.equal(decoded.topicErrors, [{ topic: "t", errorCode: 0, errorMessage: null }]);
});

oracle("ApiVersions v2 both ways", async () => {
  await readsKafkajsRequest(apiVersions, "apiVersions", 2, {}, { clientSoftwareName: "", clientSoftwareVersion: "" });
  const keys = [{ apiKey: 0, minVersion: 3, maxVersion: 9 }, { apiKey: 18, minVersion: 0, maxVersion: 3 }];
  const decoded = await kafkajsReadsResponse(apiVersions, "apiVersions", 2, {
    errorCode: 0,
    apiKeys: keys,
    throttleTimeMs: 7,
  });
  assert.equal([decoded.errorCode, decoded.apiVersions, decoded.clientSideThrottleTime], [0, keys, 7]);
});

test.run();
