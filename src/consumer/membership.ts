/**
 * A consumer's membership of its group: joining, the heartbeat that keeps the session alive
 * and brings news of rebalances, and leaving. It only records what the coordinator says;
 * the consumer's loop acts on it between steps, and checks ownership before every record it
 * hands out, so a partition taken away mid-batch is not read past that point.
 *
 * @module
 */
import {
  DeliveryFailedError,
  IllegalGenerationError,
  PartitionNotOwnedError,
  UnknownMemberIdError,
} from "../errors.ts";
import type { Clock } from "../runtime/clock.ts";
import type { Answer } from "../transport/call.ts";
import type { HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest } from "../transport/protocol.ts";
import { randomId } from "../runtime/random-id.ts";

/** What membership needs from its consumer. */
export interface MembershipHost {
  readonly clock: Clock;
  readonly groupId: string;
  readonly topic: string;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  call<R extends JoinGroupRequest | HeartbeatRequest | LeaveGroupRequest>(request: R): Promise<Answer<R>>;
  /**
   * Runs before each timed heartbeat, on the consumer's serial lane: an after-processing
   * consumer commits what it processed, so a partition the heartbeat takes away leaves
   * as little as possible to be redelivered.
   */
  beforeHeartbeat(): Promise<void>;
  /** Runs `work` after every earlier commit or heartbeat, so they never overtake each other. */
  serial<T>(work: () => Promise<T>): Promise<T>;
}

/** One member's view of its group. */
export class Membership {
  #memberId: string | null = null;
  #generation = -1;
  #owned: ReadonlySet<number> = new Set();
  /** The coordinator forgot this member (session expired): it must join afresh. */
  lost = false;
  /** The owned partitions changed, or a request was fenced: the loop must look again. */
  stale = false;
  /** What a timed heartbeat failed with that the loop must raise, if anything. */
  failure: unknown = undefined;
  readonly #host: MembershipHost;
  /** Tells this member's own (retried) join apart from another consumer's. */
  readonly #instanceId = randomId();
  #timer: unknown = undefined;
  /** Heartbeats continue while set; a heartbeat in flight when it clears does not re-arm. */
  #beating = false;

  constructor(host: MembershipHost) {
    this.#host = host;
  }

  get memberId(): string | null {
    return this.#memberId;
  }

  /** The group generation this member last heard of; -1 before joining. */
  get generation(): number {
    return this.#generation;
  }

  /** The partitions the coordinator last said this member owns. */
  get owned(): ReadonlySet<number> {
    return this.#owned;
  }

  get joined(): boolean {
    return this.#memberId !== null && !this.lost;
  }

  /**
   * True for the errors that mean "this member's view of the group is out of date", and marks
   * it for the loop: forgotten by the coordinator (join afresh), or a rebalance it has not
   * heard of yet (heartbeat and look again).
   */
  fencedBy(error: unknown): boolean {
    if (error instanceof UnknownMemberIdError) {
      this.lost = true;
      return true;
    }
    if (error instanceof IllegalGenerationError || error instanceof PartitionNotOwnedError) {
      this.stale = true;
      return true;
    }
    return false;
  }

  /** Joins (as a new member if the old one was lost) and starts heartbeating. */
  async join(): Promise<void> {
    const host = this.#host;
    const answer = await host.call({
      api: "joinGroup",
      groupId: host.groupId,
      topic: host.topic,
      instanceId: this.#instanceId,
      sessionTimeoutMs: host.sessionTimeoutMs,
    });
    this.#memberId = answer.memberId;
    this.lost = false;
    this.#learn(answer.generation, answer.assignment);
    this.#arm();
  }

  /** Heartbeats now; called by the loop when a request was fenced. */
  async heartbeat(): Promise<void> {
    const memberId = this.#memberId;
    if (memberId === null || this.lost) return;
    try {
      const answer = await this.#host.call({
        api: "heartbeat",
        groupId: this.#host.groupId,
        memberId,
        generation: this.#generation,
      });
      this.#learn(answer.generation, answer.assignment);
    } catch (error) {
      // Forgotten by the coordinator, or out of reach for a whole session (so forgotten by
      // now): join afresh. Anything else (a closed transport) is the caller's to raise.
      if (!(error instanceof UnknownMemberIdError || error instanceof DeliveryFailedError)) throw error;
      this.#forget();
    }
  }

  /** Leaves the group (its partitions go to the others at once) and stops heartbeating. */
  async leave(): Promise<void> {
    this.stop();
    const memberId = this.#memberId;
    if (memberId === null || this.lost) return;
    this.#forget();
    try {
      await this.#host.call({ api: "leaveGroup", groupId: this.#host.groupId, memberId });
    } catch (error) {
      // A retried leave whose first attempt landed finds no member: it left all the same.
      if (!(error instanceof UnknownMemberIdError)) throw error;
    }
  }

  /** Stops heartbeating without leaving: what a crash looks like to the group. */
  stop(): void {
    this.#beating = false;
    if (this.#timer !== undefined) this.#host.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #learn(generation: number, assignment: readonly number[]): void {
    const changed = generation !== this.#generation || assignment.length !== this.#owned.size ||
      assignment.some((p) => !this.#owned.has(p));
    this.#generation = generation;
    this.#owned = new Set(assignment);
    if (changed) this.stale = true;
  }

  #forget(): void {
    this.lost = true;
    this.stale = true;
    this.#owned = new Set();
  }

  #arm(): void {
    this.stop();
    this.#beating = true;
    const host = this.#host;
    this.#timer = host.clock.setTimeout(() => {
      this.#timer = undefined;
      host
        .serial(async () => {
          await host.beforeHeartbeat();
          await this.heartbeat();
        })
        // The loop raises what the heartbeat met: a member with no partitions sends nothing
        // else that would notice a closed transport.
        .catch((error: unknown) => void (this.failure ??= error))
        .finally(() => {
          if (this.#beating && !this.lost && this.#timer === undefined) this.#arm();
        });
    }, host.heartbeatIntervalMs);
  }
}
