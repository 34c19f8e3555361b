/**
 * The consumer-group coordinator, with server-side assignment in the spirit of Kafka's
 * KIP-848: members join, heartbeat and leave, and the broker decides who owns which partition
 * of the group's topic, so clients stay simple.
 *
 * The rule everything else rests on: **no partition is ever owned by two members at once.**
 * A membership change (join, leave, session expiry) starts a new generation and recomputes
 * each member's *target*; a partition then moves in two steps. Its previous owner gives it up
 * when it learns its reduced target, on its next heartbeat (or when it leaves or its session
 * expires); only then is it granted to its new owner, which learns so on its own next
 * heartbeat. Every assignment a member is told is what it owns at that moment.
 *
 * Offset commits are fenced by ownership and generation (KIP-447): only the member owning a
 * partition, at the group's current generation, may commit it.
 *
 * @module
 */
import {
  AcktorError,
  IllegalGenerationError,
  InconsistentGroupProtocolError,
  OffsetOutOfRangeError,
  PartitionNotOwnedError,
  UnknownMemberIdError,
} from "../errors.ts";
import type { Clock } from "../runtime/clock.ts";
import type {
  GroupMemberIdentity,
  HeartbeatRequest,
  JoinGroupRequest,
  LeaveGroupRequest,
  OffsetCommitRequest,
} from "../transport/protocol.ts";
import { assignPartitions } from "./group-assignment.ts";
import type { GroupOffsets } from "./group-offsets.ts";
import type { Partition } from "./partition.ts";
import { wireArray, wireInteger, wireString } from "./request-fields.ts";

/** Kafka's default `group.max.session.timeout.ms`: a longer session is refused. */
export const MAX_SESSION_TIMEOUT_MS = 1_800_000;

/** One member of a group, for inspection. */
export interface GroupMemberSnapshot {
  readonly memberId: string;
  readonly sessionTimeoutMs: number;
  /** The partitions it owns now, ascending. */
  readonly owned: readonly number[];
  /** The partitions it should own in the current generation, ascending. */
  readonly target: readonly number[];
}

/** What the coordinator knows of a consumer group, for inspection. */
export interface GroupSnapshot {
  readonly groupId: string;
  /** Bumped by every join, leave and session expiry; 0 before the first join. */
  readonly generation: number;
  /** The topic the members read, or null when the group has no members. */
  readonly topic: string | null;
  /** In joining order. */
  readonly members: readonly GroupMemberSnapshot[];
}

/** What the coordinator needs from its broker. */
export interface GroupCoordinatorOptions {
  readonly clock: Clock;
  /** A topic's partition count; throws `UnknownTopicError`. */
  readonly partitionCount: (topic: string) => number;
  /** Resolves a topic partition; throws `UnknownTopicError` or `UnknownPartitionError`. */
  readonly partition: (topic: string, partition: number) => Partition;
  readonly offsets: GroupOffsets;
}

interface Member {
  readonly memberId: string;
  /** The client instance that joined as this member, so its retried join finds it again. */
  readonly instanceId: string | undefined;
  sessionTimeoutMs: number;
  /** When the session ends unless the member is heard from again. */
  deadline: number;
  target: Set<number>;
  /** Never shares a partition with another member's `owned`. */
  readonly owned: Set<number>;
}

interface Group {
  readonly groupId: string;
  generation: number;
  topic: string | null;
  readonly members: Map<string, Member>;
  /** Partition → the member that owns it; the single source of the no-two-owners rule. */
  readonly owners: Map<number, Member>;
}

/** The consumer groups of one broker. */
export class GroupCoordinator {
  readonly #options: GroupCoordinatorOptions;
  // A group is kept after its last member leaves, so its generation never restarts and an
  // old member's generation can never match a later one.
  readonly #groups = new Map<string, Group>();
  #nextMember = 0;
  /** The one session timer, for the earliest deadline of all members, or undefined when none. */
  #timer: unknown = undefined;
  #timerDue = Infinity;

  constructor(options: GroupCoordinatorOptions) {
    this.#options = options;
  }

  /**
   * Adds a member (without `memberId`), starting a new generation, or renews a current
   * member's session (with it). Returns the partitions the member owns now.
   */
  joinGroup(request: JoinGroupRequest): { memberId: string; generation: number; assignment: number[] } {
    const groupId = wireString("groupId", request.groupId);
    const topic = wireString("topic", request.topic);
    const sessionTimeoutMs = wireInteger("sessionTimeoutMs", request.sessionTimeoutMs, 1);
    if (sessionTimeoutMs > MAX_SESSION_TIMEOUT_MS) {
      throw new AcktorError(
        "REQUEST_INVALID",
        `sessionTimeoutMs ${sessionTimeoutMs} exceeds the broker's maximum of ${MAX_SESSION_TIMEOUT_MS}`,
      );
    }
    const instanceId = request.instanceId === undefined ? undefined : wireString("instanceId", request.instanceId);
    let group = this.#groups.get(groupId);
    const memberId = request.memberId === undefined
      ? instanceId === undefined
        ? undefined
        : [...(group?.members.values() ?? [])].find((m) => m.instanceId === instanceId)?.memberId
      : wireString("memberId", request.memberId);
    this.#options.partitionCount(topic);
    if (memberId !== undefined) {
      // A removed member's id stays dead: its partitions may already be someone else's.
      group = this.#groupOf(groupId, memberId, group);
    } else if (group === undefined) {
      group = { groupId, generation: 0, topic: null, members: new Map(), owners: new Map() };
      this.#groups.set(groupId, group);
    }
    if (group.members.size > 0 && group.topic !== topic) {
      throw new InconsistentGroupProtocolError(
        `group "${groupId}" reads topic "${group.topic}"; a member cannot join it for "${topic}"`,
      );
    }

    let member: Member;
    if (memberId !== undefined) {
      member = group.members.get(memberId)!;
      member.sessionTimeoutMs = sessionTimeoutMs;
      this.#touch(member);
      this.#sync(group, member);
    } else {
      member = {
        memberId: `member-${this.#nextMember++}`,
        instanceId,
        sessionTimeoutMs,
        deadline: 0,
        target: new Set(),
        owned: new Set(),
      };
      this.#touch(member);
      group.topic = topic;
      group.members.set(member.memberId, member);
      this.#rebalance(group);
    }
    this.#arm();
    return { memberId: member.memberId, generation: group.generation, assignment: sorted(member.owned) };
  }

  /**
   * Renews the member's session, releases the partitions its current target no longer holds,
   * and grants it those of its target that are free. A generation older than the group's is
   * normal (the member learns the new one here); a newer one is refused.
   */
  heartbeat(request: HeartbeatRequest): { generation: number; assignment: number[] } {
    const { group, member } = this.#identify(request);
    this.#touch(member);
    this.#sync(group, member);
    this.#arm();
    return { generation: group.generation, assignment: sorted(member.owned) };
  }

  /** Removes the member and releases its partitions at once, starting a new generation. */
  leaveGroup(request: LeaveGroupRequest): void {
    const groupId = wireString("groupId", request.groupId);
    const memberId = wireString("memberId", request.memberId);
    const group = this.#groupOf(groupId, memberId, this.#groups.get(groupId));
    this.#remove(group, [group.members.get(memberId)!]);
    this.#arm();
  }

  /**
   * Commits offsets for partitions the member owns, at the group's current generation. Every
   * offset is checked before any is stored; an offset may be the log end (nothing left to
   * read) but not beyond it.
   */
  offsetCommit(request: OffsetCommitRequest): void {
    const { group, member, generation } = this.#identify(request);
    if (generation !== group.generation) {
      throw new IllegalGenerationError(
        `group "${group.groupId}" is at generation ${group.generation}, not ${generation}; heartbeat to catch up`,
      );
    }
    const offsets = wireArray("offsets", request.offsets).map((o) => {
      const topic = wireString("offsets.topic", o?.topic);
      const partition = wireInteger("offsets.partition", o?.partition);
      const log = this.#options.partition(topic, partition).log;
      const offset = wireInteger("offsets.offset", o.offset);
      this.#checkOwner(group, member, topic, partition);
      if (offset > log.endOffset) {
        throw new OffsetOutOfRangeError(
          topic,
          partition,
          `offset ${offset} is beyond the log end ${log.endOffset} of ${topic}[${partition}]`,
        );
      }
      return { topic, partition, offset };
    });
    for (const o of offsets) this.#options.offsets.commit(group.groupId, o.topic, o.partition, o.offset);
  }

  /**
   * Checks a fetch made on behalf of a member: it must be a current member and own the
   * partition. Ownership alone fences zombies here; a generation older than the group's is
   * accepted, so a rebalance elsewhere in the group does not stall a member's own partitions.
   */
  checkFetch(identity: Partial<GroupMemberIdentity>, topic: string, partition: number): void {
    const { group, member } = this.#identify(identity);
    this.#checkOwner(group, member, topic, partition);
  }

  /**
   * KIP-447 for transactional offset commits: when the group exists, `generation` must be its
   * current one. -1 (Kafka's "no generation") passes only while the group has no members.
   */
  checkGeneration(groupId: string, generation: number): void {
    const group = this.#groups.get(groupId);
    if (group === undefined || generation === group.generation) return;
    if (generation === -1 && group.members.size === 0) return;
    throw new IllegalGenerationError(
      `group "${groupId}" is at generation ${group.generation}; offsets from generation ${generation} are fenced`,
    );
  }

  /** What the coordinator knows of a group, if it was ever joined. */
  group(groupId: string): GroupSnapshot | undefined {
    const group = this.#groups.get(groupId);
    if (group === undefined) return undefined;
    return {
      groupId,
      generation: group.generation,
      topic: group.members.size === 0 ? null : group.topic,
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        sessionTimeoutMs: m.sessionTimeoutMs,
        owned: sorted(m.owned),
        target: sorted(m.target),
      })),
    };
  }

  /** The group and member a request names, and its generation, which may not be ahead of the group's. */
  #identify(identity: Partial<GroupMemberIdentity>): { group: Group; member: Member; generation: number } {
    const groupId = wireString("groupId", identity.groupId);
    const memberId = wireString("memberId", identity.memberId);
    const generation = wireInteger("generation", identity.generation);
    const group = this.#groupOf(groupId, memberId, this.#groups.get(groupId));
    if (generation > group.generation) {
      throw new IllegalGenerationError(
        `group "${groupId}" is at generation ${group.generation}; generation ${generation} was never handed out`,
      );
    }
    return { group, member: group.members.get(memberId)!, generation };
  }

  /** The group, if it has this member. */
  #groupOf(groupId: string, memberId: string, group: Group | undefined): Group {
    if (group === undefined || !group.members.has(memberId)) {
      throw new UnknownMemberIdError(`group "${groupId}" has no member "${memberId}"; join again without a member id`);
    }
    return group;
  }

  #checkOwner(group: Group, member: Member, topic: string, partition: number): void {
    if (topic !== group.topic || group.owners.get(partition) !== member) {
      throw new PartitionNotOwnedError(
        topic,
        partition,
        `member "${member.memberId}" of group "${group.groupId}" does not own ${topic}[${partition}]`,
      );
    }
  }

  #touch(member: Member): void {
    member.deadline = this.#options.clock.now() + member.sessionTimeoutMs;
  }

  /** The member learns its target: what it must give up is released now, then free partitions are granted. */
  #sync(group: Group, member: Member): void {
    for (const p of member.owned) {
      if (!member.target.has(p)) {
        member.owned.delete(p);
        group.owners.delete(p);
      }
    }
    this.#grant(group);
  }

  /**
   * Grants every free partition to the member whose target holds it. The grantee learns on
   * its next heartbeat; granting now rather than then lets one round of heartbeats settle
   * the group, and is safe because nobody else owns the partition.
   */
  #grant(group: Group): void {
    for (const member of group.members.values()) {
      for (const p of member.target) {
        if (!group.owners.has(p)) {
          group.owners.set(p, member);
          member.owned.add(p);
        }
      }
    }
  }

  /** Drops members (leave or expiry): their partitions are free at once; one new generation. */
  #remove(group: Group, members: readonly Member[]): void {
    for (const member of members) {
      for (const p of member.owned) group.owners.delete(p);
      member.owned.clear();
      group.members.delete(member.memberId);
    }
    this.#rebalance(group);
  }

  /** A new generation: new targets for everyone, and free partitions granted. Ownership moves only through {@link #sync}. */
  #rebalance(group: Group): void {
    group.generation++;
    if (group.members.size === 0) return;
    const previous = new Map([...group.members.values()].map((m) => [m.memberId, sorted(m.target)]));
    const targets = assignPartitions(this.#options.partitionCount(group.topic!), previous);
    for (const member of group.members.values()) member.target = new Set(targets.get(member.memberId));
    this.#grant(group);
  }

  /**
   * Keeps one timer, for the earliest session deadline, and none when no group has members,
   * so an idle broker lets the process exit. A timer armed for a deadline since extended
   * fires early, finds nothing and re-arms: cheaper than re-arming on every heartbeat.
   */
  #arm(): void {
    let due = Infinity;
    for (const group of this.#groups.values()) {
      for (const member of group.members.values()) due = Math.min(due, member.deadline);
    }
    const { clock } = this.#options;
    if (this.#timer !== undefined && due !== Infinity && this.#timerDue <= due) return;
    if (this.#timer !== undefined) clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = due;
    if (due === Infinity) return;
    this.#timer = clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerDue = Infinity;
      this.#expire();
    }, Math.max(0, due - clock.now()));
  }

  /** Removes every member whose session ended, one new generation per group that lost any. */
  #expire(): void {
    const now = this.#options.clock.now();
    for (const group of this.#groups.values()) {
      const expired = [...group.members.values()].filter((m) => m.deadline <= now);
      if (expired.length > 0) this.#remove(group, expired);
    }
    this.#arm();
  }
}

function sorted(partitions: Iterable<number>): number[] {
  return [...partitions].sort((a, b) => a - b);
}
