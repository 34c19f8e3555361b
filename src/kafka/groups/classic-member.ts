/**
 * One member of a classic group, and the small pure helpers about members' protocols.
 *
 * @module
 */
import type { GroupProtocol, JoinRequest, JoinResult, SyncResult } from "./types.ts";

/** A member of a classic group, as the coordinator keeps it. */
export interface ClassicMember {
  memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: readonly GroupProtocol[];
  /** What the leader assigned it in the current generation. */
  assignment: Uint8Array;
  /** Whether it has sent SyncGroup in the current generation. */
  synced: boolean;
  /** Its session timer: replaced whenever it is heard from, and while it waits for an answer. */
  timer: unknown;
  /** Answers its JoinGroup in flight, if any. */
  joinWaiter: ((result: JoinResult) => void) | null;
  /** Answers its SyncGroup in flight, if any. */
  syncWaiter: ((result: SyncResult) => void) | null;
}

/** An empty byte string, shared (nothing ever writes into it). */
export const NO_BYTES: Uint8Array = new Uint8Array(0);

/** A new member from its JoinGroup request (its session timer is the group's to start). */
export function newMember(memberId: string, request: JoinRequest): ClassicMember {
  return {
    memberId,
    groupInstanceId: request.groupInstanceId,
    clientId: request.clientId,
    clientHost: request.clientHost,
    sessionTimeoutMs: request.sessionTimeoutMs,
    rebalanceTimeoutMs: request.rebalanceTimeoutMs,
    protocols: request.protocols,
    assignment: NO_BYTES,
    synced: false,
    timer: undefined,
    joinWaiter: null,
    syncWaiter: null,
  };
}

/** Takes the fields a rejoin may change. */
export function updateMember(member: ClassicMember, request: JoinRequest): void {
  member.clientId = request.clientId;
  member.clientHost = request.clientHost;
  member.sessionTimeoutMs = request.sessionTimeoutMs;
  member.rebalanceTimeoutMs = request.rebalanceTimeoutMs;
  member.protocols = request.protocols;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** Whether two protocol lists are the same names with the same metadata, in the same order. */
export function sameProtocols(a: readonly GroupProtocol[], b: readonly GroupProtocol[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i]!.name && sameBytes(p.metadata, b[i]!.metadata));
}

/** The member's metadata for a protocol it supports (empty when it does not). */
export function metadataFor(member: ClassicMember, protocol: string | null): Uint8Array {
  return member.protocols.find((p) => p.name === protocol)?.metadata ?? NO_BYTES;
}

/** A JoinGroup answer carrying only an error. */
export function joinError(memberId: string, errorCode: number): JoinResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: "", memberId, members: [] };
}

/** A SyncGroup answer carrying only an error. */
export function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: NO_BYTES };
}

/** Answers the member's JoinGroup in flight, if any, with `errorCode`. */
export function failJoin(member: ClassicMember, errorCode: number): void {
  const resolve = member.joinWaiter;
  member.joinWaiter = null;
  resolve?.(joinError(member.memberId, errorCode));
}

/** Answers the member's SyncGroup in flight, if any, with `errorCode`. */
export function failSync(member: ClassicMember, errorCode: number): void {
  const resolve = member.syncWaiter;
  member.syncWaiter = null;
  resolve?.(syncError(errorCode));
}

/** Settles whatever the member has in flight with `errorCode`: it will never be answered otherwise. */
export function failWaiters(member: ClassicMember, errorCode: number): void {
  failJoin(member, errorCode);
  failSync(member, errorCode);
}
