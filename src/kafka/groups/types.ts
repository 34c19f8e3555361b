/**
 * Plain-data requests and results of the classic (client-assigned) consumer-group protocol:
 * the fields of Kafka's JoinGroup, SyncGroup, Heartbeat, LeaveGroup, DescribeGroups and
 * ListGroups messages that the coordinator needs, independent of any message version. Error
 * results carry Kafka error codes as numbers (`KafkaErrorCode` in `src/kafka/error-codes.ts`).
 *
 * @module
 */

/** A group's phase, spelled as Kafka's DescribeGroups and ListGroups report it. */
export type ClassicGroupState = "Empty" | "PreparingRebalance" | "CompletingRebalance" | "Stable" | "Dead";

/** One assignment strategy a member supports, with its opaque subscription metadata. */
export interface GroupProtocol {
  readonly name: string;
  readonly metadata: Uint8Array;
}

/** A JoinGroup request. */
export interface JoinRequest {
  readonly groupId: string;
  /** "" for a member that has no id yet. */
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly protocolType: string;
  /** In the member's order of preference. */
  readonly protocols: readonly GroupProtocol[];
  readonly sessionTimeoutMs: number;
  /** How long the coordinator waits for members to rejoin (v0 has none: pass the session timeout). */
  readonly rebalanceTimeoutMs: number;
  /** True from JoinGroup v4 on: a member without an id is first sent away with one (MEMBER_ID_REQUIRED). */
  readonly requireKnownMemberId: boolean;
  readonly clientId: string;
  readonly clientHost: string;
}

/** One member of a generation, as the leader learns it. */
export interface JoinedMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** The member's metadata for the generation's protocol. */
  readonly metadata: Uint8Array;
}

/** A JoinGroup answer. */
export interface JoinResult {
  readonly errorCode: number;
  /** -1 on error. */
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  /** "" on error. */
  readonly leader: string;
  /** The member's id: the one it sent, or a fresh one (also with MEMBER_ID_REQUIRED). */
  readonly memberId: string;
  /** Every member with its metadata for the leader; empty for everyone else. */
  readonly members: readonly JoinedMember[];
}

/** Who a request comes from. */
export interface MemberRef {
  readonly groupId: string;
  readonly memberId: string;
  readonly generationId: number;
  readonly groupInstanceId: string | null;
}

/** A SyncGroup request. Only the leader's assignments are used. */
export interface SyncRequest extends MemberRef {
  /** Null when the request version does not carry it (before v5): then it is not checked. */
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Uint8Array }[];
}

/** A SyncGroup answer. */
export interface SyncResult {
  readonly errorCode: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  /** The leader's opaque assignment for this member; empty on error or when it got none. */
  readonly assignment: Uint8Array;
}

/** A LeaveGroup answer: a top-level code and one per member named in the request. */
export interface LeaveResult {
  readonly errorCode: number;
  readonly members: readonly {
    readonly memberId: string;
    readonly groupInstanceId: string | null;
    readonly errorCode: number;
  }[];
}

/** One member as DescribeGroups reports it. */
export interface DescribedMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  /** Metadata for the chosen protocol; empty unless the group is Stable. */
  readonly memberMetadata: Uint8Array;
  /** Empty unless the group is Stable. */
  readonly memberAssignment: Uint8Array;
}

/** A DescribeGroups answer for one group. */
export interface DescribeResult {
  readonly errorCode: number;
  readonly groupId: string;
  readonly groupState: ClassicGroupState;
  /** "" when unknown. */
  readonly protocolType: string;
  /** The chosen protocol while Stable, else "". */
  readonly protocolData: string;
  readonly members: readonly DescribedMember[];
}

/** One group as ListGroups reports it. */
export interface ListedGroup {
  readonly groupId: string;
  readonly protocolType: string;
  readonly groupState: ClassicGroupState;
}

/** Options of `ClassicGroups.checkCommit`. */
export interface CommitCheckOptions {
  readonly groupInstanceId?: string | null;
  /**
   * A TxnOffsetCommit: before v3 it names no member at all, so an anonymous commit is
   * allowed even while the group has members (the transaction coordinator fences it).
   */
  readonly transactional?: boolean;
}
