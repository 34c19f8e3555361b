/**
 * The classic group APIs, answered by the server's own group coordinator: Kafka clients
 * assign partitions themselves (the leader's assignor), so the broker only runs the join and
 * sync barriers, generations and sessions.
 *
 * @module
 */
import { KafkaErrorCode as K } from "../error-codes.ts";
import type { GroupProtocol } from "../groups/types.ts";
import type { RequestContext } from "./context.ts";

interface JoinGroupBody {
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string;
  readonly protocols: readonly GroupProtocol[];
}

/** JoinGroup v4+ makes a new member ask again with the id it is given (KIP-394). */
export async function joinGroup(request: JoinGroupBody, context: RequestContext): Promise<object> {
  const joined = await context.groups.join({
    groupId: request.groupId,
    memberId: request.memberId,
    groupInstanceId: request.groupInstanceId,
    protocolType: request.protocolType,
    protocols: request.protocols,
    sessionTimeoutMs: request.sessionTimeoutMs,
    // v0 has no rebalance timeout: Kafka uses the session timeout.
    rebalanceTimeoutMs: context.version >= 1 ? request.rebalanceTimeoutMs : request.sessionTimeoutMs,
    requireKnownMemberId: context.version >= 4,
    clientId: context.clientId ?? "",
    clientHost: context.peer,
  });
  // Before v7 the protocol name cannot be null on the wire: an error answer carries "".
  const protocolName = joined.protocolName ?? (context.version >= 7 ? null : "");
  return { throttleTimeMs: 0, skipAssignment: false, ...joined, protocolName };
}

interface SyncGroupBody {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Uint8Array }[];
}

/** The leader hands in every member's assignment; each member gets its own. */
export async function syncGroup(request: SyncGroupBody, context: RequestContext): Promise<object> {
  // Before v5 the request names no protocol: nothing to check against the group's.
  const named = context.version >= 5;
  const synced = await context.groups.sync({
    ...request,
    protocolType: named ? request.protocolType : null,
    protocolName: named ? request.protocolName : null,
  });
  return { throttleTimeMs: 0, ...synced };
}

interface HeartbeatBody {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

/** Renews the session; REBALANCE_IN_PROGRESS tells the member to rejoin. */
export function heartbeat(request: HeartbeatBody, context: RequestContext): object {
  return { throttleTimeMs: 0, ...context.groups.heartbeat(request) };
}

interface LeaveGroupBody {
  readonly groupId: string;
  readonly memberId: string;
  readonly members: readonly { readonly memberId: string; readonly groupInstanceId: string | null }[];
}

/** v0-2 name one member; v3+ a list (KIP-345). */
export function leaveGroup(request: LeaveGroupBody, context: RequestContext): object {
  const members = context.version >= 3 ? request.members : [{ memberId: request.memberId, groupInstanceId: null }];
  const left = context.groups.leave(request.groupId, members);
  const errorCode = context.version >= 3 ? left.errorCode : left.members[0]?.errorCode ?? left.errorCode;
  return { throttleTimeMs: 0, errorCode, members: left.members };
}

interface DescribeGroupsBody {
  readonly groups: readonly string[];
}

/** Each group's state, protocol and members (with their metadata and assignments). */
export function describeGroups(request: DescribeGroupsBody, context: RequestContext): object {
  return {
    throttleTimeMs: 0,
    groups: request.groups.map((groupId) => ({
      ...context.groups.describe(groupId),
      authorizedOperations: -2147483648,
    })),
  };
}

interface ListGroupsBody {
  readonly statesFilter: readonly string[];
}

/** Every group the server coordinates, optionally only those in the given states (v4). */
export function listGroups(request: ListGroupsBody, context: RequestContext): object {
  return { throttleTimeMs: 0, errorCode: K.NONE, groups: context.groups.list(request.statesFilter) };
}
