/**
 * The message tables of every API the Kafka server answers.
 *
 * @module
 */
export { addOffsetsToTxn } from "./add-offsets-to-txn.ts";
export { addPartitionsToTxn } from "./add-partitions-to-txn.ts";
export { apiVersions } from "./api-versions.ts";
export { createTopics } from "./create-topics.ts";
export { describeGroups } from "./describe-groups.ts";
export { endTxn } from "./end-txn.ts";
export { fetch } from "./fetch.ts";
export { findCoordinator } from "./find-coordinator.ts";
export { heartbeat } from "./heartbeat.ts";
export { initProducerId } from "./init-producer-id.ts";
export { joinGroup } from "./join-group.ts";
export { leaveGroup } from "./leave-group.ts";
export { listGroups } from "./list-groups.ts";
export { listOffsets } from "./list-offsets.ts";
export { metadata } from "./metadata.ts";
export { offsetCommit } from "./offset-commit.ts";
export { offsetFetch } from "./offset-fetch.ts";
export { produce } from "./produce.ts";
export { syncGroup } from "./sync-group.ts";
export { txnOffsetCommit } from "./txn-offset-commit.ts";
