/**
 * The group and transaction APIs' tables against two client libraries nobody here wrote:
 * kafkajs 2.2.4 (non-flexible versions only) and @platformatic/kafka (every version). Their
 * request encoders write real client frames, which acktor's tables must read to the values
 * the client was given, with no byte left over, and write back byte for byte; their response
 * decoders must read acktor's encoded responses to the values acktor wrote.
 *
 * Both libraries' internals are imported by path; where a runtime cannot import them, the
 * tests say so and skip.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import type { MessageSpec } from "../src/kafka/codec/schema.ts";
import { decodeMessage, encodeMessage } from "../src/kafka/codec/message-codec.ts";
import { Reader } from "../src/kafka/codec/reader.ts";
import { Writer } from "../src/kafka/codec/writer.ts";
import { caseOf, onWire, plain, type Value } from "./helpers/kafka-messages-b-cases.ts";

// deno-lint-ignore no-explicit-any
type Loose = any;

/** Imports a module of a client library, or null (with the reason printed) where this runtime cannot. */
async function load(specifier: string): Promise<Loose | null> {
  try {
    const mod = await import(specifier);
    return mod.default ?? mod;
  } catch (e) {
    console.log(`  skipped: cannot import ${specifier} here (${String(e).split("\n")[0]})`);
    return null;
  }
}

const flexible = (spec: MessageSpec, v: number): boolean => v >= spec.flexibleFrom;

function encode(spec: MessageSpec, side: "request" | "response", v: number, value: Value): Uint8Array {
  const w = new Writer();
  encodeMessage(spec[side], v, flexible(spec, v), value, w);
  return w.finish();
}

/**
 * A client's request `frame` of `api` at `v`: acktor's table reads it to the case's request
 * (the fields on the wire at `v`), uses every byte, and writes the very same bytes back.
 */
function readsClientRequest(api: string, v: number, frame: Uint8Array, client: string): void {
  const { spec, request } = caseOf(api);
  const where = `${api} v${v} from ${client}`;
  const reader = new Reader(frame);
  const value = decodeMessage(spec.request, v, flexible(spec, v), reader);
  assert.is(reader.remaining, 0, `${where}: bytes left over`);
  assert.equal(plain(onWire(spec.request, v, value)), plain(onWire(spec.request, v, request)), where);
  assert.equal([...encode(spec, "request", v, value)], [...frame], `${where}: re-encoded`);
}

/** Each API's kafkajs request arguments (for the case's request values) and its response decoded by kafkajs. */
const KAFKAJS: [string, string, number, Loose, Loose][] = [
  ["AddPartitionsToTxn", "addPartitionsToTxn", 1, {
    transactionalId: "tx-1",
    producerId: 4001,
    producerEpoch: 7,
    topics: [{ topic: "orders", partitions: [0, 3] }, { topic: "audit", partitions: [2] }],
  }, {
    throttleTime: 0,
    clientSideThrottleTime: 11,
    errors: [{ topic: "orders", partitionErrors: [{ partition: 5, errorCode: 0 }, { partition: 3, errorCode: 0 }] }],
  }],
  ["AddOffsetsToTxn", "addOffsetsToTxn", 1, {
    transactionalId: "tx-2",
    producerId: 4002,
    producerEpoch: 3,
    groupId: "g-txn",
  }, {
    throttleTime: 0,
    clientSideThrottleTime: 12,
    errorCode: 0,
  }],
  ["EndTxn", "endTxn", 1, { transactionalId: "tx-3", producerId: 4003, producerEpoch: 5, transactionResult: true }, {
    throttleTime: 0,
    clientSideThrottleTime: 13,
    errorCode: 0,
  }],
  ["TxnOffsetCommit", "txnOffsetCommit", 1, {
    transactionalId: "tx-4",
    groupId: "g-4",
    producerId: 4004,
    producerEpoch: 6,
    topics: [{ topic: "orders", partitions: [{ partition: 1, offset: "1234", metadata: "md" }] }],
  }, {
    throttleTime: 0,
    clientSideThrottleTime: 14,
    topics: [{ topic: "orders", partitions: [{ partition: 1, errorCode: 0 }] }],
  }],
  ["JoinGroup", "joinGroup", 5, {
    groupId: "g-join",
    sessionTimeout: 30000,
    rebalanceTimeout: 60000,
    memberId: "m-1",
    groupInstanceId: "inst-1",
    protocolType: "consumer",
    groupProtocols: [{ name: "roundrobin", metadata: [1, 2, 3] }, { name: "range", metadata: [4] }],
  }, {
    throttleTime: 0,
    clientSideThrottleTime: 15,
    errorCode: 0,
    generationId: 8,
    groupProtocol: "range",
    leaderId: "m-1",
    memberId: "m-2",
    members: [
      { memberId: "m-1", groupInstanceId: "inst-1", memberMetadata: [9, 9] },
      { memberId: "m-2", groupInstanceId: "inst-2", memberMetadata: [] },
    ],
  }],
  ["SyncGroup", "syncGroup", 3, {
    groupId: "g-sync",
    generationId: 8,
    memberId: "m-1",
    groupInstanceId: "inst-1",
    groupAssignment: [{ memberId: "m-1", memberAssignment: [1, 0, 1] }, { memberId: "m-2", memberAssignment: [2] }],
  }, { throttleTime: 0, clientSideThrottleTime: 16, errorCode: 0, memberAssignment: [5, 6, 7] }],
  ["Heartbeat", "heartbeat", 3, { groupId: "g-hb", groupGenerationId: 8, memberId: "m-1", groupInstanceId: "inst-1" }, {
    throttleTime: 0,
    clientSideThrottleTime: 17,
    errorCode: 0,
  }],
  ["LeaveGroup", "leaveGroup", 3, {
    groupId: "g-leave",
    members: [{ memberId: "m-1", groupInstanceId: "inst-1" }, { memberId: "m-2", groupInstanceId: "inst-2" }],
  }, {
    throttleTime: 0,
    clientSideThrottleTime: 18,
    errorCode: 0,
    members: [{ memberId: "m-1", groupInstanceId: "inst-1", errorCode: 0 }],
  }],
  ["OffsetCommit", "offsetCommit", 5, {
    groupId: "g-oc",
    groupGenerationId: 8,
    memberId: "m-1",
    topics: [{ topic: "orders", partitions: [{ partition: 2, offset: "500", metadata: "meta" }] }],
  }, {
    throttleTime: 0,
    clientSideThrottleTime: 19,
    responses: [{ topic: "orders", partitions: [{ partition: 2, errorCode: 0 }] }],
  }],
  ["OffsetFetch", "offsetFetch", 4, {
    groupId: "g-of",
    topics: [{ topic: "orders", partitions: [{ partition: 0 }, { partition: 2 }] }],
  }, {
    throttleTime: 0,
    clientSideThrottleTime: 20,
    responses: [{ topic: "orders", partitions: [{ partition: 6, offset: "77", metadata: "m", errorCode: 0 }] }],
    errorCode: 0,
  }],
  ["DescribeGroups", "describeGroups", 2, { groupIds: ["g-a", "g-b"] }, {
    throttleTime: 0,
    clientSideThrottleTime: 21,
    groups: [{
      errorCode: 0,
      groupId: "g-a",
      state: "Stable",
      protocolType: "consumer",
      protocol: "range",
      members: [{
        memberId: "m-1",
        clientId: "c-1",
        clientHost: "/10.0.0.1",
        memberMetadata: [1],
        memberAssignment: [2, 3],
      }],
    }],
  }],
  ["ListGroups", "listGroups", 2, {}, {
    throttleTime: 0,
    clientSideThrottleTime: 22,
    errorCode: 0,
    groups: [{ groupId: "g-a", protocolType: "consumer" }],
  }],
];

/** kafkajs's byte arguments as Buffers, which its encoder requires. */
function buffers(v: Loose): Loose {
  if (Array.isArray(v)) return v.map(buffers);
  if (v === null || typeof v !== "object") return v;
  const out: Loose = {};
  for (const [k, x] of Object.entries(v)) {
    const binary = /metadata$|Assignment$/i.test(k) && Array.isArray(x) && x.every((b) => typeof b === "number");
    out[k] = binary ? globalThis.Buffer.from(x as number[]) : buffers(x);
  }
  return out;
}

for (const [api, dir, v, args, decoded] of KAFKAJS) {
  test(`${api} v${v}: kafkajs's request reads; acktor's response reads in kafkajs`, async () => {
    const req = await load(`kafkajs/src/protocol/requests/${dir}/v${v}/request.js`);
    const res = await load(`kafkajs/src/protocol/requests/${dir}/v${v}/response.js`);
    if (!req || !res) return;
    const { spec, response } = caseOf(api);
    // Keys sort so that kafkajs's own (spread-then-extended) key order does not matter.
    const sorted = (x: unknown): unknown =>
      Array.isArray(x)
        ? x.map(sorted)
        : x !== null && typeof x === "object"
        ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b)).map(([k, y]) => [k, sorted(y)]))
        : x;
    const built = req(buffers(args));
    assert.equal([built.apiKey, built.apiVersion], [spec.apiKey, v]);
    readsClientRequest(api, v, Uint8Array.from((await built.encode()).buffer), "kafkajs");
    const frame = globalThis.Buffer.from(encode(spec, "response", v, response));
    assert.equal(sorted(plain(await res.decode(frame))), sorted(plain(decoded)));
  });
}

const bigint = (n: unknown): bigint => BigInt(n as number);
const P = (r: Value): Loose => r;

/**
 * Each API's @platformatic/kafka module prefix and its createRequest arguments for the case's
 * request; and, where its parsed response is not shaped like Kafka's, acktor's shape of it.
 */
const PLATFORMATIC: [string, string, (r: Loose) => unknown[], ((parsed: Loose) => Value)?][] = [
  ["AddPartitionsToTxn", "addPartitionsToTxn", (r) => [[{
    transactionalId: r.v3AndBelowTransactionalId,
    producerId: bigint(r.v3AndBelowProducerId),
    producerEpoch: r.v3AndBelowProducerEpoch,
    verifyOnly: false,
    topics: r.v3AndBelowTopics,
  }]], (parsed) => ({
    // It answers v0-3 in v4's shape: one implicit transaction holding the topics.
    throttleTimeMs: parsed.throttleTimeMs,
    resultsByTopicV3AndBelow: parsed.resultsByTransaction[0].topicResults,
  })],
  ["AddOffsetsToTxn", "addOffsetsToTxn", (r) => [r.transactionalId, bigint(r.producerId), r.producerEpoch, r.groupId]],
  ["EndTxn", "endTxn", (r) => [r.transactionalId, bigint(r.producerId), r.producerEpoch, r.committed]],
  ["TxnOffsetCommit", "txnOffsetCommit", (r) => [
    r.transactionalId,
    r.groupId,
    bigint(r.producerId),
    r.producerEpoch,
    r.generationId,
    r.memberId,
    r.groupInstanceId,
    r.topics.map((t: Loose) => ({
      name: t.name,
      partitions: t.partitions.map((p: Loose) => ({ ...p, committedOffset: bigint(p.committedOffset) })),
    })),
  ]],
  ["JoinGroup", "joinGroup", (r) => [
    r.groupId,
    r.sessionTimeoutMs,
    r.rebalanceTimeoutMs,
    r.memberId,
    r.groupInstanceId,
    r.protocolType,
    r.protocols.map((p: Loose) => ({ name: p.name, metadata: globalThis.Buffer.from(p.metadata) })),
    r.reason,
  ]],
  ["SyncGroup", "syncGroup", (r) => [
    r.groupId,
    r.generationId,
    r.memberId,
    r.groupInstanceId,
    r.protocolType,
    r.protocolName,
    r.assignments.map((a: Loose) => ({ memberId: a.memberId, assignment: globalThis.Buffer.from(a.assignment) })),
  ]],
  ["Heartbeat", "heartbeat", (r) => [r.groupId, r.generationId, r.memberId, r.groupInstanceId]],
  ["LeaveGroup", "leaveGroup", (r) => [r.groupId, r.members]],
  ["OffsetCommit", "offsetCommit", (r) => [
    r.groupId,
    r.generationIdOrMemberEpoch,
    r.memberId,
    r.groupInstanceId,
    r.topics.map((t: Loose) => ({
      name: t.name,
      partitions: t.partitions.map((p: Loose) => ({ ...p, committedOffset: bigint(p.committedOffset) })),
    })),
  ]],
  ["OffsetFetch", "offsetFetch", (r) => [[{ groupId: r.groupId, topics: r.topics }], r.requireStable]],
  ["DescribeGroups", "describeGroups", (r) => [r.groups, r.includeAuthorizedOperations]],
  ["ListGroups", "listGroups", (r) => [r.statesFilter, []]],
];

for (const [api, prefix, args, reshape = (parsed: Loose) => parsed] of PLATFORMATIC) {
  test(`${api}: @platformatic/kafka's requests read and acktor's responses read in it, every served version`, async () => {
    const lib = await load("@platformatic/kafka");
    if (!lib) return;
    const { spec, request, response } = caseOf(api);
    // A version whose response equals the previous one's only imports its parser.
    let parseResponse: Loose = null;
    for (let v = spec.valid.min; v <= spec.valid.max; v++) {
      const mod = lib[`${prefix}V${v}`];
      assert.ok(mod, `@platformatic/kafka has no ${prefix}V${v}`);
      const where = `${api} v${v} in @platformatic/kafka`;
      readsClientRequest(api, v, Uint8Array.from(mod.createRequest(...args(P(request))).buffer), "@platformatic/kafka");
      const reader = lib.Reader.from(globalThis.Buffer.from(encode(spec, "response", v, response)));
      parseResponse = mod.parseResponse ?? parseResponse;
      const parsed = reshape(parseResponse(1, spec.apiKey, v, reader));
      assert.is(reader.remaining, 0, `${where}: bytes left over`);
      assert.equal(plain(onWire(spec.response, v, parsed)), plain(onWire(spec.response, v, response)), where);
    }
  });
}

test.run();
