/**
 * The phases of a classic group's rebalance, as in Kafka's GroupCoordinator:
 *
 * - **Empty** → a join starts a rebalance.
 * - **PreparingRebalance**: waits until every member (and every member that was just given
 *   an id) has rejoined, or until the rebalance timeout, after which the members that did
 *   not rejoin are dropped. Then the generation advances. An Empty group's first rebalance
 *   may first wait `initialRebalanceDelayMs` for more members.
 * - **CompletingRebalance**: the leader got every member's metadata and owes SyncGroup;
 *   followers' syncs wait for it. Whoever has not synced within the rebalance timeout is
 *   dropped, and the rest rebalance.
 * - **Stable**: the leader's assignment is stored.
 *
 * Each member has a session renewed by its every call; a member whose session ends is
 * dropped, and the rest rebalance. A member waiting for its join or sync answer cannot
 * call, so its session is held open meanwhile: the phase's own timeout bounds it.
 *
 * @module
 */
import type { Clock } from "../../runtime/clock.ts";
import { KafkaErrorCode as E } from "../error-codes.ts";
import { type ClassicMember, failSync, failWaiters, metadataFor, NO_BYTES } from "./classic-member.ts";
import type { ClassicGroupState, JoinedMember, JoinResult, SyncRequest, SyncResult } from "./types.ts";

/** What a group needs from its coordinator. */
export interface ClassicGroupOptions {
  readonly clock: Clock;
  /** How long an Empty group's first rebalance waits for more members (Kafka's group.initial.rebalance.delay.ms). */
  readonly initialRebalanceDelayMs: number;
  /** A fresh member id for a client. */
  readonly newMemberId: (clientId: string) => string;
}

/**
 * A group's state and the phases of its rebalances, driven by member sessions and timers.
 * `ClassicGroup` adds the requests on top; the two are one object, split for size.
 */
export abstract class RebalancingGroup {
  readonly groupId: string;
  protected readonly options: ClassicGroupOptions;
  protected phase: ClassicGroupState = "Empty";
  protected generation = 0;
  protected currentProtocolType: string | null = null;
  protected currentProtocol: string | null = null;
  protected leader: string | null = null;
  /** In joining order: the first member leads when the leader goes. */
  protected members = new Map<string, ClassicMember>();
  /** Ids handed out with MEMBER_ID_REQUIRED, each with its session timer: a rebalance waits for them. */
  protected readonly pending = new Map<string, unknown>();
  /** Static members: group.instance.id → current member id. */
  protected readonly instances = new Map<string, string>();
  protected joinTimer: unknown = undefined;
  protected syncTimer: unknown = undefined;
  /** While an Empty group's first rebalance waits for more members. */
  protected initialDelay: { remainingMs: number; joined: boolean } | null = null;

  constructor(groupId: string, options: ClassicGroupOptions) {
    this.groupId = groupId;
    this.options = options;
  }

  /** The group's phase, as DescribeGroups and ListGroups spell it. */
  get state(): ClassicGroupState {
    return this.phase;
  }

  /** The protocol type its members share ("consumer" for consumers), or "" before any member. */
  get protocolType(): string {
    return this.currentProtocolType ?? "";
  }

  /** Never joined, holds nobody, has no generation: the registry may forget it. */
  get unused(): boolean {
    return this.phase === "Empty" && this.generation === 0 && this.members.size === 0 && this.pending.size === 0;
  }

  /** Drops a member without rebalancing; what it has in flight is answered UNKNOWN_MEMBER_ID. */
  protected remove(member: ClassicMember): void {
    this.options.clock.clearTimeout(member.timer);
    failWaiters(member, E.UNKNOWN_MEMBER_ID);
    this.members.delete(member.memberId);
    if (member.groupInstanceId !== null && this.instances.get(member.groupInstanceId) === member.memberId) {
      this.instances.delete(member.groupInstanceId);
    }
    if (this.leader === member.memberId) this.leader = this.members.keys().next().value ?? null;
  }

  /** After members were dropped: the rest rebalance, or the join phase may now be complete. */
  protected afterRemoval(): void {
    if (this.phase === "Stable" || this.phase === "CompletingRebalance") this.prepareRebalance();
    else if (this.phase === "PreparingRebalance") this.maybeCompleteJoin();
  }

  // ---- sessions --------------------------------------------------------------------------

  /** Restarts the member's session. One timer per member, replaced on every renewal. */
  protected renew(member: ClassicMember): void {
    const { clock } = this.options;
    clock.clearTimeout(member.timer);
    member.timer = clock.setTimeout(() => this.expire(member), member.sessionTimeoutMs);
  }

  private expire(member: ClassicMember): void {
    if (this.members.get(member.memberId) !== member) return;
    // A member waiting for its join or sync answer cannot heartbeat: the rebalance bounds it.
    if (member.joinWaiter || member.syncWaiter) return this.renew(member);
    this.remove(member);
    this.afterRemoval();
  }

  /** An id handed out with MEMBER_ID_REQUIRED was never used: the join phase stops waiting for it. */
  protected expirePending(memberId: string): void {
    this.pending.delete(memberId);
    this.maybeCompleteJoin();
  }

  // ---- rebalance -------------------------------------------------------------------------

  /** How long a phase waits: the longest rebalance timeout any member asked for. */
  private rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  /** Starts a join phase: syncs in flight are refused, and every member must rejoin. */
  protected prepareRebalance(): void {
    const { clock, initialRebalanceDelayMs: delay } = this.options;
    if (this.phase === "CompletingRebalance") {
      for (const m of this.members.values()) failSync(m, E.REBALANCE_IN_PROGRESS);
    }
    clock.clearTimeout(this.syncTimer);
    clock.clearTimeout(this.joinTimer);
    const wasEmpty = this.phase === "Empty";
    this.phase = "PreparingRebalance";
    const timeout = this.rebalanceTimeoutMs();
    if (wasEmpty && delay > 0 && timeout > 0) {
      const first = Math.min(delay, timeout);
      this.initialDelay = { remainingMs: timeout - first, joined: false };
      this.joinTimer = clock.setTimeout(() => this.endInitialDelay(), first);
      return;
    }
    this.joinTimer = clock.setTimeout(() => this.completeJoin(), timeout);
    this.maybeCompleteJoin();
  }

  /** Kafka's InitialDelayedJoin: wait again while members keep arriving, within the rebalance timeout. */
  private endInitialDelay(): void {
    const wait = this.initialDelay!;
    if (wait.joined && wait.remainingMs > 0) {
      const next = Math.min(this.options.initialRebalanceDelayMs, wait.remainingMs);
      this.initialDelay = { remainingMs: wait.remainingMs - next, joined: false };
      this.joinTimer = this.options.clock.setTimeout(() => this.endInitialDelay(), next);
      return;
    }
    this.completeJoin();
  }

  /** Ends the join phase once every member and every id handed out has (re)joined. */
  protected maybeCompleteJoin(): void {
    if (this.phase !== "PreparingRebalance" || this.initialDelay || this.pending.size > 0) return;
    for (const m of this.members.values()) if (!m.joinWaiter) return;
    this.completeJoin();
  }

  /** Ends the join phase: drops who did not rejoin, advances the generation, answers every join. */
  private completeJoin(): void {
    const { clock } = this.options;
    clock.clearTimeout(this.joinTimer);
    this.initialDelay = null;
    for (const m of [...this.members.values()]) if (!m.joinWaiter) this.remove(m);
    this.generation++;
    if (this.members.size === 0) {
      this.phase = "Empty";
      this.currentProtocol = null;
      this.leader = null;
      return;
    }
    const leader = this.members.get(this.leader!)!;
    this.currentProtocol =
      leader.protocols.find((p) => [...this.members.values()].every((m) => m.protocols.some((q) => q.name === p.name)))
        ?.name ?? null;
    this.phase = "CompletingRebalance";
    const everyone = this.everyone();
    for (const m of this.members.values()) {
      m.assignment = NO_BYTES;
      m.synced = false;
      const resolve = m.joinWaiter!;
      m.joinWaiter = null;
      this.renew(m);
      resolve(this.joinResult(m, everyone));
    }
    const generation = this.generation;
    this.syncTimer = clock.setTimeout(() => this.expireSync(generation), this.rebalanceTimeoutMs());
  }

  /** The rebalance timeout passed since the join phase ended: who has not synced is dropped. */
  private expireSync(generation: number): void {
    if (generation !== this.generation || this.phase === "PreparingRebalance") return;
    const laggards = [...this.members.values()].filter((m) => !m.synced);
    if (laggards.length === 0) return;
    for (const m of laggards) this.remove(m);
    this.prepareRebalance();
  }

  /** The leader's SyncGroup: stores each member's bytes and answers every waiting sync. */
  protected assign(assignments: SyncRequest["assignments"]): void {
    const bytes = new Map(assignments.map((a) => [a.memberId, a.assignment]));
    this.phase = "Stable";
    for (const m of this.members.values()) {
      m.assignment = bytes.get(m.memberId) ?? NO_BYTES;
      const resolve = m.syncWaiter;
      m.syncWaiter = null;
      if (!resolve) continue;
      this.renew(m);
      resolve(this.syncResult(m));
    }
  }

  /** Every member with its metadata for the chosen protocol: what the leader is told. */
  protected everyone(): JoinedMember[] {
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: metadataFor(m, this.currentProtocol),
    }));
  }

  protected joinResult(member: ClassicMember, everyone: JoinedMember[]): JoinResult {
    return {
      errorCode: E.NONE,
      generationId: this.generation,
      protocolType: this.currentProtocolType,
      protocolName: this.currentProtocol,
      leader: this.leader ?? "",
      memberId: member.memberId,
      members: member.memberId === this.leader ? everyone : [],
    };
  }

  protected syncResult(member: ClassicMember): SyncResult {
    return {
      errorCode: E.NONE,
      protocolType: this.currentProtocolType,
      protocolName: this.currentProtocol,
      assignment: member.assignment,
    };
  }
}
