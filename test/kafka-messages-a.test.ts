/**
 * acktor's Kafka message tables for ApiVersions, Metadata, Produce, Fetch, ListOffsets,
 * FindCoordinator, InitProducerId and CreateTopics: the tables are well formed (every field
 * exists somewhere in the served versions, structs have fields, names and tags are unique,
 * tags only in flexible versions), and golden frames written out byte by byte from Kafka's
 * published layouts decode to the expected values and encode back to the same bytes.
 * (`kafka-messages-a-kafkajs.test.ts` checks the same tables against kafkajs's encoders.)
 */
import { test } from "./helpers/harness.ts";
import { plain } from "./helpers/plain.ts";
import * as assert from "uvu/assert";
import type { Field, MessageSpec, Versions } from "../src/kafka/codec/schema.ts";
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

/** Each spec with the key and served versions Kafka's definitions and the brief give it. */
const SPECS: readonly [MessageSpec, number, string][] = [
  [apiVersions, 18, "0-3"],
  [metadata, 3, "1-12"],
  [produce, 0, "3-9"],
  [fetch, 1, "4-12"],
  [listOffsets, 2, "1-7"],
  [findCoordinator, 10, "0-4"],
  [initProducerId, 22, "0-4"],
  [createTopics, 19, "0-7"],
];

const overlap = (a: Versions, b: Versions): Versions | null => {
  const min = Math.max(a.min, b.min);
  const max = Math.min(a.max, b.max);
  return min <= max ? { min, max } : null;
};

/** Every problem in `fields`, which are on the wire within `live` (the parent's versions ∩ valid). */
function problems(fields: readonly Field[], live: Versions, flexibleFrom: number, path: string): string[] {
  const found: string[] = [];
  const names = new Set<string>();
  const tags = new Set<number>();
  for (const f of fields) {
    const at = `${path}.${f.name}`;
    if (!/^[a-z][A-Za-z0-9]*$/.test(f.name)) found.push(`${at}: not camelCase`);
    if (names.has(f.name)) found.push(`${at}: duplicate name`);
    names.add(f.name);
    const inside = overlap(f.versions, live);
    if (inside === null) found.push(`${at}: versions never within ${live.min}-${live.max}`);
    if (f.tag !== null) {
      if (tags.has(f.tag)) found.push(`${at}: duplicate tag ${f.tag}`);
      tags.add(f.tag);
      if (f.versions.min < flexibleFrom) found.push(`${at}: tagged before the first flexible version`);
    }
    if (f.nullable !== null) {
      if (overlap(f.nullable, f.versions) === null) found.push(`${at}: nullable only where absent`);
      const nullableType = f.array || ["string", "bytes", "records", "struct"].includes(f.type);
      if (!nullableType) found.push(`${at}: ${f.type} cannot be null`);
    }
    if ((f.type === "struct") !== (f.fields !== null)) found.push(`${at}: struct and fields disagree`);
    if (f.fields !== null) {
      if (f.fields.length === 0) found.push(`${at}: struct without fields`);
      if (inside !== null) found.push(...problems(f.fields, inside, flexibleFrom, at));
    }
    if (f.default !== null) {
      const want = f.type === "bool" ? "boolean" : f.type === "string" ? "string" : "number";
      if (f.array || f.fields !== null || typeof f.default !== want) found.push(`${at}: default of the wrong type`);
    }
  }
  return found;
}

test("each table has its key, served versions and a flexible version inside them", () => {
  for (const [spec, key, range] of SPECS) {
    assert.is(spec.apiKey, key, spec.name);
    assert.is(`${spec.valid.min}-${spec.valid.max}`, range, spec.name);
    assert.ok(spec.flexibleFrom >= spec.valid.min && spec.flexibleFrom <= spec.valid.max, `${spec.name} flexibleFrom`);
  }
});

test("every field is on the wire in some served version; names, tags and structs are well formed", () => {
  for (const [spec] of SPECS) {
    for (const side of ["request", "response"] as const) {
      assert.equal(problems(spec[side], spec.valid, spec.flexibleFrom, `${spec.name}.${side}`), []);
    }
  }
});

test("the well-formedness check itself catches a bad table", () => {
  const bad = [...produce.request, produce.request[0]!, {
    ...produce.request[1]!,
    name: "late",
    versions: { min: 10, max: Infinity },
  }];
  const found = problems(bad, produce.valid, produce.flexibleFrom, "bad");
  assert.ok(found.some((p) => p.includes("duplicate name")), found.join("; "));
  assert.ok(found.some((p) => p.includes("late: versions never")), found.join("; "));
});

// ---- golden frames, written from Kafka's published layouts -------------------------------

/** Bytes from hex, spaces ignored: the golden frames below are written out field by field. */
const hex = (s: string): Uint8Array => {
  const digits = s.replace(/\s+/g, "");
  return Uint8Array.from({ length: digits.length / 2 }, (_, i) => parseInt(digits.slice(2 * i, 2 * i + 2), 16));
};
const show = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

/** Decodes `frame` as `side` of `spec` at `version`, requiring every byte to be read. */
function decode(spec: MessageSpec, side: "request" | "response", version: number, frame: Uint8Array): unknown {
  const reader = new Reader(frame);
  const value = decodeMessage(spec[side], version, version >= spec.flexibleFrom, reader);
  assert.is(reader.remaining, 0, `${spec.name} ${side} v${version}: bytes left over`);
  return value;
}

function encode(spec: MessageSpec, side: "request" | "response", version: number, value: unknown): Uint8Array {
  const writer = new Writer();
  encodeMessage(spec[side], version, version >= spec.flexibleFrom, value as Record<string, unknown>, writer);
  return writer.finish();
}

/** `actual` cut down to the keys `shape` names, at every depth (decoding also fills absent fields). */
const project = (actual: unknown, shape: unknown): unknown =>
  Array.isArray(shape) && Array.isArray(actual)
    ? actual.map((x, i) => project(x, shape[i] ?? shape[0]))
    : shape !== null && typeof shape === "object" && !Array.isArray(shape) && actual !== null &&
        typeof actual === "object"
    ? Object.fromEntries(
      Object.keys(shape).map((
        k,
      ) => [k, project((actual as Record<string, unknown>)[k], (shape as Record<string, unknown>)[k])]),
    )
    : actual;

/** `frame` decodes to `value` (the fields `value` names), and `value` encodes to `frame`. */
function golden(spec: MessageSpec, side: "request" | "response", version: number, frame: string, value: object) {
  const bytes = hex(frame);
  const expected = plain(value);
  const decoded = project(plain(decode(spec, side, version, bytes)), expected);
  assert.equal(decoded, expected, `${spec.name} ${side} v${version}`);
  assert.is(show(encode(spec, side, version, value)), show(bytes), `${spec.name} ${side} v${version} bytes`);
}

test("ApiVersions: v0 request is empty; v3 request has compact strings and a tag buffer", () => {
  golden(apiVersions, "request", 0, "", {});
  golden(apiVersions, "request", 3, "03 6162  02 31  00", { clientSoftwareName: "ab", clientSoftwareVersion: "1" });
});

test("ApiVersions responses: throttle time from v1, tagged feature fields at v3", () => {
  const keys = [{ apiKey: 18, minVersion: 0, maxVersion: 3 }];
  golden(apiVersions, "response", 0, "0000  00000001 0012 0000 0003", { errorCode: 0, apiKeys: keys });
  golden(apiVersions, "response", 1, "0023  00000001 0012 0000 0003  00000064", {
    errorCode: 35,
    apiKeys: keys,
    throttleTimeMs: 100,
  });
  // Absent tagged fields read as their defaults; fields at their default are not written.
  golden(apiVersions, "response", 3, "0000  02 0012 0000 0003 00  00000000  00", {
    errorCode: 0,
    apiKeys: keys,
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1,
    finalizedFeatures: [],
    zkMigrationReady: false,
  });
  // Tags 0 (an array of one struct, 8 bytes), 1 (int64) and 3 (bool), in ascending order.
  golden(
    apiVersions,
    "response",
    3,
    "0000 01 00000000  03  00 08 02 0278 0001 0002 00  01 08 0000000000000005  03 01 01",
    {
      errorCode: 0,
      apiKeys: [],
      supportedFeatures: [{ name: "x", minVersion: 1, maxVersion: 2 }],
      finalizedFeaturesEpoch: 5,
      zkMigrationReady: true,
    },
  );
});

test("Produce v3 request: nullable transactional id, one topic, one partition, records", () => {
  const frame = "ffff  ffff  00007530  00000001 0001 74  00000001 00000002  00000003 010203";
  golden(produce, "request", 3, frame, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: "t", partitionData: [{ index: 2, records: Uint8Array.of(1, 2, 3) }] }],
  });
});

test("Produce v9 (flexible) request and response", () => {
  golden(produce, "request", 9, "03 7478  0001  00002710  02 02 74 02 00000000 00 00 00  00", {
    transactionalId: "tx",
    acks: 1,
    timeoutMs: 10000,
    topicData: [{ name: "t", partitionData: [{ index: 0, records: null }] }],
  });
  const partition = "00000000 0000 000000000000002a ffffffffffffffff 0000000000000000  01  00  00";
  golden(produce, "response", 9, `02 02 74  02 ${partition}  00  00000000  00`, {
    responses: [{
      name: "t",
      partitionResponses: [{
        index: 0,
        errorCode: 0,
        baseOffset: 42,
        logAppendTimeMs: -1,
        logStartOffset: 0,
        recordErrors: [],
        errorMessage: null,
      }],
    }],
    throttleTimeMs: 0,
  });
});

test("Fetch v12 request: a tagged cluster id after the body", () => {
  const partition = "00000000 ffffffff 000000000000000a ffffffff ffffffffffffffff 00100000 00";
  const frame =
    `ffffffff 000001f4 00000001 00100000 01 00000000 ffffffff  02 0274 02 ${partition} 00  01  01  01 00 03 036331`;
  golden(fetch, "request", 12, frame, {
    clusterId: "c1",
    replicaId: -1,
    maxWaitMs: 500,
    minBytes: 1,
    maxBytes: 1048576,
    isolationLevel: 1,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{
      topic: "t",
      partitions: [{
        partition: 0,
        currentLeaderEpoch: -1,
        fetchOffset: 10,
        lastFetchedEpoch: -1,
        logStartOffset: -1,
        partitionMaxBytes: 1048576,
      }],
    }],
    forgottenTopicsData: [],
    rackId: "",
  });
});

test("Fetch v12 response: a tagged struct (currentLeader) inside a partition", () => {
  const partition = "00000000 0006 ffffffffffffffff ffffffffffffffff ffffffffffffffff 00 ffffffff 01" +
    " 01 01 09 00000002 00000007 00";
  const frame = `00000000 0000 00000000  02 0274 02 ${partition} 00  00`;
  const bytes = hex(frame);
  const value = decode(fetch, "response", 12, bytes) as { responses: { partitions: Record<string, unknown>[] }[] };
  const p = value.responses[0]!.partitions[0]!;
  assert.equal(p.currentLeader, { leaderId: 2, leaderEpoch: 7 });
  assert.equal(p.divergingEpoch, { epoch: -1, endOffset: -1 }, "absent tagged struct reads as its defaults");
  assert.equal(p.snapshotId, { endOffset: -1, epoch: -1 });
  assert.is(p.abortedTransactions, null);
  assert.equal(plain(p.records), []);
  assert.is(p.errorCode, 6);
  assert.is(show(encode(fetch, "response", 12, value)), show(bytes), "re-encoded, default tagged structs left out");
});

test("non-flexible Fetch v4 and ListOffsets v1 frames", () => {
  const fetchFrame =
    "ffffffff 00000064 00000001 7fffffff 00  00000001 0001 74 00000001 00000003 0000000000000005 00010000";
  golden(fetch, "request", 4, fetchFrame, {
    replicaId: -1,
    maxWaitMs: 100,
    minBytes: 1,
    maxBytes: 0x7fffffff,
    isolationLevel: 0,
    topics: [{ topic: "t", partitions: [{ partition: 3, fetchOffset: 5, partitionMaxBytes: 65536 }] }],
  });
  golden(listOffsets, "request", 1, "ffffffff 00000001 0001 74 00000001 00000000 fffffffffffffffe", {
    replicaId: -1,
    topics: [{ name: "t", partitions: [{ partitionIndex: 0, timestamp: -2 }] }],
  });
  golden(listOffsets, "response", 1, "00000001 0001 74 00000001 00000000 0000 ffffffffffffffff 0000000000000007", {
    topics: [{ name: "t", partitions: [{ partitionIndex: 0, errorCode: 0, timestamp: -1, offset: 7 }] }],
  });
});

test("FindCoordinator v4 batches keys; v3 is flexible with nullable error message", () => {
  golden(findCoordinator, "request", 4, "01  03 0267 0268  00", { keyType: 1, coordinatorKeys: ["g", "h"] });
  golden(findCoordinator, "request", 3, "02 67 00 00", { key: "g", keyType: 0 });
  golden(findCoordinator, "response", 3, "00000000 0000 00 00000001 0a 6c6f63616c686f7374 00002384 00", {
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    nodeId: 1,
    host: "localhost",
    port: 9092,
  });
});

test("InitProducerId v2 (flexible, null id) and v3 (epoch bump) requests", () => {
  golden(initProducerId, "request", 2, "00 0000ea60 00", { transactionalId: null, transactionTimeoutMs: 60000 });
  golden(initProducerId, "request", 3, "03 7478 0000ea60 00000000000003e8 0002 00", {
    transactionalId: "tx",
    transactionTimeoutMs: 60000,
    producerId: 1000,
    producerEpoch: 2,
  });
});

test("Metadata v1 null topic list (all topics) and v12 null topic name", () => {
  golden(metadata, "request", 1, "ffffffff", { topics: null });
  const topicId = "00112233445566778899aabbccddeeff";
  golden(metadata, "request", 12, `02 ${topicId} 00 00  01 00 00`, {
    topics: [{ topicId: hex(topicId), name: null }],
    allowAutoTopicCreation: true,
    includeTopicAuthorizedOperations: false,
  });
});

test("CreateTopics v5 response: tagged config error code, nullable configs", () => {
  golden(createTopics, "response", 5, "00000000  02 0274 0000 00 00000003 0001 00  01 00 02 0025  00", {
    throttleTimeMs: 0,
    topics: [{
      name: "t",
      errorCode: 0,
      errorMessage: null,
      topicConfigErrorCode: 37,
      numPartitions: 3,
      replicationFactor: 1,
      configs: null,
    }],
  });
});

test.run();
