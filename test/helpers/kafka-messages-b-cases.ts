/**
 * One request and one response value for each of the group and transaction APIs' tables
 * (`src/kafka/messages/`, helper "tables-b"), in acktor's field names. Every field has a value
 * that is not its default and unlike its neighbours', so a table that reads a field at the
 * wrong version or in the wrong order misreads the values after it. Error codes are 0: a
 * client library's decoder may throw on any other.
 */
import type { Field, MessageSpec } from "../../src/kafka/codec/schema.ts";
import { within } from "../../src/kafka/codec/schema.ts";
import { addPartitionsToTxn } from "../../src/kafka/messages/add-partitions-to-txn.ts";
import { addOffsetsToTxn } from "../../src/kafka/messages/add-offsets-to-txn.ts";
import { endTxn } from "../../src/kafka/messages/end-txn.ts";
import { txnOffsetCommit } from "../../src/kafka/messages/txn-offset-commit.ts";
import { joinGroup } from "../../src/kafka/messages/join-group.ts";
import { syncGroup } from "../../src/kafka/messages/sync-group.ts";
import { heartbeat } from "../../src/kafka/messages/heartbeat.ts";
import { leaveGroup } from "../../src/kafka/messages/leave-group.ts";
import { offsetCommit } from "../../src/kafka/messages/offset-commit.ts";
import { offsetFetch } from "../../src/kafka/messages/offset-fetch.ts";
import { describeGroups } from "../../src/kafka/messages/describe-groups.ts";
import { listGroups } from "../../src/kafka/messages/list-groups.ts";

/** A message value in acktor's field names. */
export type Value = Record<string, unknown>;

/** One API's table and a sample of each side. */
export interface MessageCase {
  readonly spec: MessageSpec;
  readonly request: Value;
  readonly response: Value;
}

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** The twelve tables, each with its sample values. */
export const CASES: readonly MessageCase[] = [
  {
    spec: addPartitionsToTxn,
    request: {
      v3AndBelowTransactionalId: "tx-1",
      v3AndBelowProducerId: 4001,
      v3AndBelowProducerEpoch: 7,
      v3AndBelowTopics: [{ name: "orders", partitions: [0, 3] }, { name: "audit", partitions: [2] }],
    },
    response: {
      throttleTimeMs: 11,
      resultsByTopicV3AndBelow: [{
        name: "orders",
        resultsByPartition: [{ partitionIndex: 5, partitionErrorCode: 0 }, {
          partitionIndex: 3,
          partitionErrorCode: 0,
        }],
      }],
    },
  },
  {
    spec: addOffsetsToTxn,
    request: { transactionalId: "tx-2", producerId: 4002, producerEpoch: 3, groupId: "g-txn" },
    response: { throttleTimeMs: 12, errorCode: 0 },
  },
  {
    spec: endTxn,
    request: { transactionalId: "tx-3", producerId: 4003, producerEpoch: 5, committed: true },
    response: { throttleTimeMs: 13, errorCode: 0 },
  },
  {
    spec: txnOffsetCommit,
    request: {
      transactionalId: "tx-4",
      groupId: "g-4",
      producerId: 4004,
      producerEpoch: 6,
      generationId: 21,
      memberId: "m-4",
      groupInstanceId: "inst-4",
      topics: [{
        name: "orders",
        partitions: [{ partitionIndex: 1, committedOffset: 1234, committedLeaderEpoch: 9, committedMetadata: "md" }],
      }],
    },
    response: { throttleTimeMs: 14, topics: [{ name: "orders", partitions: [{ partitionIndex: 1, errorCode: 0 }] }] },
  },
  {
    spec: joinGroup,
    request: {
      groupId: "g-join",
      sessionTimeoutMs: 30000,
      rebalanceTimeoutMs: 60000,
      memberId: "m-1",
      groupInstanceId: "inst-1",
      protocolType: "consumer",
      protocols: [{ name: "roundrobin", metadata: bytes(1, 2, 3) }, { name: "range", metadata: bytes(4) }],
      reason: "rejoin",
    },
    response: {
      throttleTimeMs: 15,
      errorCode: 0,
      generationId: 8,
      protocolType: "consumer",
      protocolName: "range",
      leader: "m-1",
      skipAssignment: true,
      memberId: "m-2",
      members: [
        { memberId: "m-1", groupInstanceId: "inst-1", metadata: bytes(9, 9) },
        { memberId: "m-2", groupInstanceId: "inst-2", metadata: bytes() },
      ],
    },
  },
  {
    spec: syncGroup,
    request: {
      groupId: "g-sync",
      generationId: 8,
      memberId: "m-1",
      groupInstanceId: "inst-1",
      protocolType: "consumer",
      protocolName: "range",
      assignments: [{ memberId: "m-1", assignment: bytes(1, 0, 1) }, { memberId: "m-2", assignment: bytes(2) }],
    },
    response: {
      throttleTimeMs: 16,
      errorCode: 0,
      protocolType: "consumer",
      protocolName: "range",
      assignment: bytes(5, 6, 7),
    },
  },
  {
    spec: heartbeat,
    request: { groupId: "g-hb", generationId: 8, memberId: "m-1", groupInstanceId: "inst-1" },
    response: { throttleTimeMs: 17, errorCode: 0 },
  },
  {
    spec: leaveGroup,
    request: {
      groupId: "g-leave",
      memberId: "m-1",
      members: [
        { memberId: "m-1", groupInstanceId: "inst-1", reason: "shutdown" },
        { memberId: "m-2", groupInstanceId: "inst-2", reason: "bye" },
      ],
    },
    response: {
      throttleTimeMs: 18,
      errorCode: 0,
      members: [{ memberId: "m-1", groupInstanceId: "inst-1", errorCode: 0 }],
    },
  },
  {
    spec: offsetCommit,
    request: {
      groupId: "g-oc",
      generationIdOrMemberEpoch: 8,
      memberId: "m-1",
      groupInstanceId: "inst-1",
      // -1, as the client libraries hard-code it: "the broker's retention" and "now".
      retentionTimeMs: -1,
      topics: [{
        name: "orders",
        partitions: [{
          partitionIndex: 2,
          committedOffset: 500,
          committedLeaderEpoch: 4,
          commitTimestamp: -1,
          committedMetadata: "meta",
        }],
      }],
    },
    response: { throttleTimeMs: 19, topics: [{ name: "orders", partitions: [{ partitionIndex: 2, errorCode: 0 }] }] },
  },
  {
    spec: offsetFetch,
    request: { groupId: "g-of", topics: [{ name: "orders", partitionIndexes: [0, 2] }], requireStable: true },
    response: {
      throttleTimeMs: 20,
      topics: [{
        name: "orders",
        partitions: [{ partitionIndex: 6, committedOffset: 77, committedLeaderEpoch: 3, metadata: "m", errorCode: 0 }],
      }],
      errorCode: 0,
    },
  },
  {
    spec: describeGroups,
    request: { groups: ["g-a", "g-b"], includeAuthorizedOperations: true },
    response: {
      throttleTimeMs: 21,
      groups: [{
        errorCode: 0,
        groupId: "g-a",
        groupState: "Stable",
        protocolType: "consumer",
        protocolData: "range",
        members: [{
          memberId: "m-1",
          groupInstanceId: "inst-1",
          clientId: "c-1",
          clientHost: "/10.0.0.1",
          memberMetadata: bytes(1),
          memberAssignment: bytes(2, 3),
        }],
        authorizedOperations: 8,
      }],
    },
  },
  {
    spec: listGroups,
    request: { statesFilter: ["Stable", "Empty"] },
    response: {
      throttleTimeMs: 22,
      errorCode: 0,
      groups: [{ groupId: "g-a", protocolType: "consumer", groupState: "Stable" }],
    },
  },
];

/** The case of the table named `name`. */
export function caseOf(name: string): MessageCase {
  const found = CASES.find((c) => c.spec.name === name);
  if (!found) throw new Error(`no case for ${name}`);
  return found;
}

/** The fields of `value` that are on the wire at `version` (recursively), in table order. */
export function onWire(fields: readonly Field[], version: number, value: Value): Value {
  const out: Value = {};
  for (const f of fields) {
    if (f.tag !== null || !within(f.versions, version)) continue;
    const v = value[f.name];
    if (f.fields === null || v === null || v === undefined) out[f.name] = v;
    else if (f.array) out[f.name] = (v as Value[]).map((item) => onWire(f.fields!, version, item));
    else out[f.name] = onWire(f.fields, version, v as Value);
  }
  return out;
}

/** Binary values as plain arrays and bigints as numbers, so values compare whatever their class. */
export function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return [...v];
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}
