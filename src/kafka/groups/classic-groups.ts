/**
 * The coordinator of classic consumer groups for the Kafka wire server: Kafka's
 * JoinGroup / SyncGroup / Heartbeat / LeaveGroup protocol, in which a client (the group's
 * leader) computes the assignment. acktor's own coordinator assigns on the server and cannot
 * serve Kafka clients, so this one stands apart from it; it never looks inside an assignment.
 *
 * Requests and results are plain data; errors are Kafka error codes. Time and timers come from
 * the given `Clock`, so tests run it on a `VirtualClock`.
 *
 * Simplified against Kafka: static members (`groupInstanceId`) are an alias for their current
 * member id: a join with a known instance id and no member id takes over the old member (whose
 * later calls get FENCED_INSTANCE_ID), but a static member is otherwise treated as a dynamic
 * one: it is dropped when its session or a rebalance times out, and its leave rebalances.
 * The protocol chosen is the first of the leader's that every member lists (Kafka votes).
 * There is no group size limit and nothing is persisted.
 *
 * @module
 */
import type { Clock } from "../../runtime/clock.ts";
import { randomId } from "../../runtime/random-id.ts";
import { ClassicGroup } from "./classic-group.ts";
import { joinError, syncError } from "./classic-member.ts";
import { KafkaErrorCode as E } from "../error-codes.ts";
import type {
  ClassicGroupState,
  CommitCheckOptions,
  DescribeResult,
  JoinRequest,
  JoinResult,
  LeaveResult,
  ListedGroup,
  MemberRef,
  SyncRequest,
  SyncResult,
} from "./types.ts";

/** How a {@link ClassicGroups} coordinator behaves. */
export interface ClassicGroupsOptions {
  readonly clock: Clock;
  /** How long an Empty group's first rebalance waits for more members; default 0 (Kafka's is 3000). */
  readonly initialRebalanceDelayMs?: number;
  /** Shortest session a member may ask for; default 6000, as Kafka's group.min.session.timeout.ms. */
  readonly minSessionTimeoutMs?: number;
  /** Longest session a member may ask for; default 1800000, as Kafka's group.max.session.timeout.ms. */
  readonly maxSessionTimeoutMs?: number;
}

/** Classic consumer groups by id. See the module documentation. */
export class ClassicGroups {
  readonly #groups = new Map<string, ClassicGroup>();
  readonly #clock: Clock;
  readonly #initialRebalanceDelayMs: number;
  readonly #minSessionTimeoutMs: number;
  readonly #maxSessionTimeoutMs: number;
  #closed = false;

  constructor(options: ClassicGroupsOptions) {
    this.#clock = options.clock;
    this.#initialRebalanceDelayMs = options.initialRebalanceDelayMs ?? 0;
    this.#minSessionTimeoutMs = options.minSessionTimeoutMs ?? 6_000;
    this.#maxSessionTimeoutMs = options.maxSessionTimeoutMs ?? 1_800_000;
  }

  /**
   * JoinGroup. Settles when the member's join phase completes, or at once with an error
   * (MEMBER_ID_REQUIRED carries the id to rejoin with).
   */
  join(request: JoinRequest): Promise<JoinResult> {
    const refused = this.#refuse(request.groupId);
    if (refused !== E.NONE) return Promise.resolve(joinError(request.memberId, refused));
    const { sessionTimeoutMs } = request;
    if (sessionTimeoutMs < this.#minSessionTimeoutMs || sessionTimeoutMs > this.#maxSessionTimeoutMs) {
      return Promise.resolve(joinError(request.memberId, E.INVALID_SESSION_TIMEOUT));
    }
    let group = this.#groups.get(request.groupId);
    if (!group) {
      if (request.memberId !== "") return Promise.resolve(joinError(request.memberId, E.UNKNOWN_MEMBER_ID));
      group = this.#create(request.groupId);
    }
    const result = group.join(request);
    if (group.unused) this.#groups.delete(request.groupId);
    return result;
  }

  /** SyncGroup. A follower's settles once the leader's sync arrives (or the rebalance fails). */
  sync(request: SyncRequest): Promise<SyncResult> {
    const refused = this.#refuse(request.groupId);
    if (refused !== E.NONE) return Promise.resolve(syncError(refused));
    const group = this.#groups.get(request.groupId);
    return group ? group.sync(request) : Promise.resolve(syncError(E.UNKNOWN_MEMBER_ID));
  }

  /** Heartbeat: an error code. */
  heartbeat(ref: MemberRef): { errorCode: number } {
    const refused = this.#refuse(ref.groupId);
    if (refused !== E.NONE) return { errorCode: refused };
    return { errorCode: this.#groups.get(ref.groupId)?.heartbeat(ref) ?? E.UNKNOWN_MEMBER_ID };
  }

  /**
   * LeaveGroup for the given members (one for versions before 3). The top-level code is NONE
   * unless the whole request is refused; each member has its own.
   */
  leave(groupId: string, members: readonly { memberId: string; groupInstanceId: string | null }[]): LeaveResult {
    const refused = this.#refuse(groupId);
    const group = this.#groups.get(groupId);
    if (refused !== E.NONE || !group) {
      const errorCode = refused === E.NONE ? E.UNKNOWN_MEMBER_ID : refused;
      return { errorCode: refused, members: members.map((m) => ({ ...m, errorCode })) };
    }
    return group.leave(members);
  }

  /**
   * For OffsetCommit and TxnOffsetCommit: NONE, or ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID /
   * REBALANCE_IN_PROGRESS / FENCED_INSTANCE_ID. Generation -1 with member id "" is a commit
   * from outside group management: allowed while the group has no members (or always, for a
   * transactional commit). Such a commit to an unknown group creates it, Empty, as in Kafka.
   */
  checkCommit(groupId: string, memberId: string, generationId: number, options: CommitCheckOptions = {}): number {
    const refused = this.#refuse(groupId);
    if (refused !== E.NONE) return refused;
    const group = this.#groups.get(groupId);
    if (group) return group.checkCommit(memberId, generationId, options);
    if (generationId >= 0) return E.ILLEGAL_GENERATION;
    this.#create(groupId);
    return E.NONE;
  }

  /** DescribeGroups for one group. An unknown group is reported Dead with NONE, as Kafka does before v6. */
  describe(groupId: string): DescribeResult {
    const refused = this.#refuse(groupId);
    const group = this.#groups.get(groupId);
    if (refused === E.NONE && group) return group.describe();
    return { errorCode: refused, groupId, groupState: "Dead", protocolType: "", protocolData: "", members: [] };
  }

  /** ListGroups, optionally only the groups in the given states (compared ignoring case). */
  list(statesFilter: readonly string[] = []): ListedGroup[] {
    const wanted = new Set(statesFilter.map((s) => s.toLowerCase()));
    const listed: ListedGroup[] = [];
    for (const group of this.#groups.values()) {
      const groupState: ClassicGroupState = group.state;
      if (wanted.size > 0 && !wanted.has(groupState.toLowerCase())) continue;
      listed.push({ groupId: group.groupId, protocolType: group.protocolType, groupState });
    }
    return listed;
  }

  /** Stops every timer and answers every pending join and sync with COORDINATOR_NOT_AVAILABLE. */
  close(): void {
    this.#closed = true;
    for (const group of this.#groups.values()) group.close(E.COORDINATOR_NOT_AVAILABLE);
    this.#groups.clear();
  }

  #refuse(groupId: string): number {
    if (this.#closed) return E.COORDINATOR_NOT_AVAILABLE;
    return groupId === "" ? E.INVALID_GROUP_ID : E.NONE;
  }

  #create(groupId: string): ClassicGroup {
    const group = new ClassicGroup(groupId, {
      clock: this.#clock,
      initialRebalanceDelayMs: this.#initialRebalanceDelayMs,
      newMemberId: (clientId) => `${clientId}-${randomId()}`,
    });
    this.#groups.set(groupId, group);
    return group;
  }
}
