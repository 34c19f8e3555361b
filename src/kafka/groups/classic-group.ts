/**
 * One consumer group under Kafka's classic protocol, in which a client (the leader) computes
 * the assignment and the coordinator only gathers members and hands the leader's opaque bytes
 * back out: the JoinGroup, SyncGroup, Heartbeat, LeaveGroup, offset-commit and DescribeGroups
 * requests. The phases they drive are in `classic-rebalance.ts`.
 *
 * Every JoinGroup and SyncGroup in flight is a promise that settles: with the result, with an
 * error when its member leaves, is dropped or is fenced, or when the group closes.
 *
 * @module
 */
import { KafkaErrorCode as E } from "../error-codes.ts";
import {
  type ClassicMember,
  failJoin,
  failSync,
  failWaiters,
  joinError,
  metadataFor,
  newMember,
  NO_BYTES,
  sameProtocols,
  syncError,
  updateMember,
} from "./classic-member.ts";
import { RebalancingGroup } from "./classic-rebalance.ts";
import type {
  CommitCheckOptions,
  DescribeResult,
  JoinRequest,
  JoinResult,
  LeaveResult,
  MemberRef,
  SyncRequest,
  SyncResult,
} from "./types.ts";

export type { ClassicGroupOptions } from "./classic-rebalance.ts";

/** The state of one classic consumer group, and the requests it answers. Used through `ClassicGroups`. */
export class ClassicGroup extends RebalancingGroup {
  /** JoinGroup. */
  join(request: JoinRequest): Promise<JoinResult> {
    const { memberId, groupInstanceId } = request;
    if (memberId === "") {
      const previous = groupInstanceId === null ? undefined : this.instances.get(groupInstanceId);
      if (!this.#supports(request, previous ?? null)) return answer(joinError("", E.INCONSISTENT_GROUP_PROTOCOL));
      const id = this.options.newMemberId(request.clientId);
      if (previous !== undefined) return this.#rejoin(this.#replace(previous, id), request);
      // A static member is known by its instance id, so it needs no second round trip (as in Kafka).
      if (groupInstanceId !== null || !request.requireKnownMemberId) return this.#add(id, request);
      this.pending.set(id, this.options.clock.setTimeout(() => this.expirePending(id), request.sessionTimeoutMs));
      return answer(joinError(id, E.MEMBER_ID_REQUIRED));
    }
    const fenced = this.#fenced(memberId, groupInstanceId);
    if (fenced !== E.NONE) return answer(joinError(memberId, fenced));
    const member = this.members.get(memberId);
    if (!member && !this.pending.has(memberId)) return answer(joinError(memberId, E.UNKNOWN_MEMBER_ID));
    if (!this.#supports(request, memberId)) return answer(joinError(memberId, E.INCONSISTENT_GROUP_PROTOCOL));
    if (member) return this.#rejoin(member, request);
    this.options.clock.clearTimeout(this.pending.get(memberId));
    this.pending.delete(memberId);
    return this.#add(memberId, request);
  }

  /** SyncGroup. */
  sync(request: SyncRequest): Promise<SyncResult> {
    const fenced = this.#fenced(request.memberId, request.groupInstanceId);
    if (fenced !== E.NONE) return answer(syncError(fenced));
    const member = this.members.get(request.memberId);
    if (!member) return answer(syncError(E.UNKNOWN_MEMBER_ID));
    if (request.generationId !== this.generation) return answer(syncError(E.ILLEGAL_GENERATION));
    const { protocolType, protocolName } = request;
    if (
      (protocolType !== null && protocolType !== this.currentProtocolType) ||
      (protocolName !== null && protocolName !== this.currentProtocol)
    ) return answer(syncError(E.INCONSISTENT_GROUP_PROTOCOL));
    if (this.phase === "PreparingRebalance") return answer(syncError(E.REBALANCE_IN_PROGRESS));
    this.renew(member);
    member.synced = true;
    if (this.phase === "Stable") return answer(this.syncResult(member));
    // CompletingRebalance: wait for the leader's assignment, or bring it. A repeated sync replaces the first.
    failSync(member, E.REBALANCE_IN_PROGRESS);
    const result = new Promise<SyncResult>((resolve) => (member.syncWaiter = resolve));
    if (member.memberId === this.leader) this.assign(request.assignments);
    return result;
  }

  /** Heartbeat: REBALANCE_IN_PROGRESS is how members learn that they must rejoin. */
  heartbeat(ref: MemberRef): number {
    const fenced = this.#fenced(ref.memberId, ref.groupInstanceId);
    if (fenced !== E.NONE) return fenced;
    const member = this.members.get(ref.memberId);
    if (!member) return E.UNKNOWN_MEMBER_ID;
    if (ref.generationId !== this.generation) return E.ILLEGAL_GENERATION;
    this.renew(member);
    return this.phase === "PreparingRebalance" ? E.REBALANCE_IN_PROGRESS : E.NONE;
  }

  /** LeaveGroup: removes the named members, then rebalances the rest once. */
  leave(identities: readonly { memberId: string; groupInstanceId: string | null }[]): LeaveResult {
    let removed = false;
    const members = identities.map(({ memberId, groupInstanceId }) => {
      const errorCode = this.#leaveOne(memberId, groupInstanceId);
      removed ||= errorCode === E.NONE;
      return { memberId, groupInstanceId, errorCode };
    });
    if (removed) this.afterRemoval();
    return { errorCode: E.NONE, members };
  }

  /** Whether an offset commit from this member and generation may proceed (Kafka's validateOffsetCommit). */
  checkCommit(memberId: string, generationId: number, options: CommitCheckOptions = {}): number {
    const anonymous = memberId === "" && generationId < 0;
    if (anonymous) return options.transactional || this.members.size === 0 ? E.NONE : E.UNKNOWN_MEMBER_ID;
    const fenced = this.#fenced(memberId, options.groupInstanceId ?? null);
    if (fenced !== E.NONE) return fenced;
    if (!this.members.has(memberId)) return E.UNKNOWN_MEMBER_ID;
    if (generationId !== this.generation) return E.ILLEGAL_GENERATION;
    // While PreparingRebalance the generation is still current: members commit before rejoining.
    return this.phase === "CompletingRebalance" && !options.transactional ? E.REBALANCE_IN_PROGRESS : E.NONE;
  }

  /** DescribeGroups: metadata and assignments only while Stable, as Kafka does. */
  describe(): DescribeResult {
    const stable = this.phase === "Stable";
    return {
      errorCode: E.NONE,
      groupId: this.groupId,
      groupState: this.phase,
      protocolType: this.protocolType,
      protocolData: stable ? this.currentProtocol ?? "" : "",
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable ? metadataFor(m, this.currentProtocol) : NO_BYTES,
        memberAssignment: stable ? m.assignment : NO_BYTES,
      })),
    };
  }

  /** Stops every timer and answers everything in flight with `errorCode`; the group is Dead. */
  close(errorCode: number): void {
    const { clock } = this.options;
    clock.clearTimeout(this.joinTimer);
    clock.clearTimeout(this.syncTimer);
    for (const timer of this.pending.values()) clock.clearTimeout(timer);
    this.pending.clear();
    for (const member of this.members.values()) {
      clock.clearTimeout(member.timer);
      failWaiters(member, errorCode);
    }
    this.members.clear();
    this.instances.clear();
    this.phase = "Dead";
  }

  // ---- membership ----------------------------------------------------------------------

  #add(memberId: string, request: JoinRequest): Promise<JoinResult> {
    const member = newMember(memberId, request);
    this.members.set(memberId, member);
    if (member.groupInstanceId !== null) this.instances.set(member.groupInstanceId, memberId);
    this.leader ??= memberId;
    if (this.initialDelay) this.initialDelay.joined = true;
    return this.#rejoin(member, request, true);
  }

  /**
   * A member (re)joins. A known member whose protocols did not change is answered from the
   * current generation (after CompletingRebalance began, or in Stable unless it leads, as in
   * Kafka: a leader's rejoin means it wants a new assignment); anything else rebalances.
   */
  #rejoin(member: ClassicMember, request: JoinRequest, fresh = false): Promise<JoinResult> {
    const unchanged = !fresh && sameProtocols(member.protocols, request.protocols);
    updateMember(member, request);
    if (this.members.size === 1) this.currentProtocolType = request.protocolType;
    this.renew(member);
    const settled = this.phase === "CompletingRebalance" ||
      (this.phase === "Stable" && member.memberId !== this.leader);
    if (settled && unchanged) return answer(this.joinResult(member, this.everyone()));
    // A repeated join (the client gave up on the first) replaces the first.
    failJoin(member, E.REBALANCE_IN_PROGRESS);
    const result = new Promise<JoinResult>((resolve) => (member.joinWaiter = resolve));
    if (this.phase === "PreparingRebalance") this.maybeCompleteJoin();
    else this.prepareRebalance();
    return result;
  }

  /** A static member came back under a new id: the old id is fenced. */
  #replace(oldId: string, newId: string): ClassicMember {
    const member = this.members.get(oldId)!;
    failWaiters(member, E.FENCED_INSTANCE_ID);
    member.memberId = newId;
    this.members = new Map([...this.members].map(([id, m]) => [id === oldId ? newId : id, m]));
    this.instances.set(member.groupInstanceId!, newId);
    if (this.leader === oldId) this.leader = newId;
    return member;
  }

  #leaveOne(memberId: string, groupInstanceId: string | null): number {
    let id = memberId;
    if (groupInstanceId !== null) {
      const current = this.instances.get(groupInstanceId);
      if (current === undefined) return E.UNKNOWN_MEMBER_ID;
      if (id !== "" && id !== current) return E.FENCED_INSTANCE_ID;
      id = current;
    }
    if (this.pending.has(id)) {
      this.options.clock.clearTimeout(this.pending.get(id));
      this.pending.delete(id);
      return E.NONE;
    }
    const member = this.members.get(id);
    if (!member) return E.UNKNOWN_MEMBER_ID;
    this.remove(member);
    return E.NONE;
  }

  /** Calls with a static member's old id, once another instance took it over, are fenced. */
  #fenced(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId === null) return E.NONE;
    const current = this.instances.get(groupInstanceId);
    return current !== undefined && current !== memberId ? E.FENCED_INSTANCE_ID : E.NONE;
  }

  /** Whether the joiner shares the group's protocol type and at least one protocol with every other member. */
  #supports(request: JoinRequest, self: string | null): boolean {
    const others = [...this.members.values()].filter((m) => m.memberId !== self);
    if (others.length === 0) return request.protocolType !== "" && request.protocols.length > 0;
    return request.protocolType === this.currentProtocolType &&
      request.protocols.some((p) => others.every((m) => m.protocols.some((q) => q.name === p.name)));
  }
}

function answer<T>(value: T): Promise<T> {
  return Promise.resolve(value);
}
