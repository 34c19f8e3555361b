/**
 * A group member's offset commits outside transactions: what `after-processing` and
 * `manual` store of their processed offsets, what `before-processing` stores before handing
 * a batch out, and what `commit()` stores. They go on the member's serial lane, so an older
 * commit never lands after a newer one.
 *
 * @module
 */
import type { Answer } from "../../transport/call.ts";
import type { OffsetCommitRequest, PartitionOffset } from "../../transport/protocol.ts";
import type { Cursor } from "../cursor.ts";
import type { Membership } from "../membership.ts";
import type { SerialLane } from "../serial-lane.ts";

/** What offset commits need of their consumer. */
export interface OffsetCommitsHost {
  readonly topic: string;
  readonly groupId: string;
  readonly membership: Membership;
  /** The owned partitions' cursors: a stored offset becomes its cursor's `committed`. */
  readonly cursors: ReadonlyMap<number, Cursor>;
  readonly lane: SerialLane;
  call(request: OffsetCommitRequest): Promise<Answer<OffsetCommitRequest>>;
  /** Reports a stored commit (the `committed` outcome). */
  committed(offsets: readonly PartitionOffset[], transactional: boolean): void;
}

/** Stores a member's offsets, on its serial lane. */
export class OffsetCommits {
  readonly #host: OffsetCommitsHost;

  constructor(host: OffsetCommitsHost) {
    this.#host = host;
  }

  /**
   * Commits every owned partition's processed offset that is ahead of its committed one:
   * true once stored (or none was due), false when the commit was fenced.
   */
  commitProcessed(): Promise<boolean> {
    return this.#host.lane.run(() => this.commitProcessedNow());
  }

  /** {@link commitProcessed} for callers already on the serial lane. */
  async commitProcessedNow(): Promise<boolean> {
    const { topic, cursors, membership } = this.#host;
    const offsets: PartitionOffset[] = [];
    for (const cursor of cursors.values()) {
      if (cursor.processed > cursor.committed) {
        offsets.push({ topic, partition: cursor.partition, offset: cursor.processed });
      }
    }
    if (offsets.length === 0 || !membership.joined) return true;
    return await this.#storeNow(offsets, false);
  }

  /**
   * Stores offsets on the serial lane. A fenced commit (rebalance, lost session) returns false
   * and leaves the loop to catch up, or, when `raise`, throws.
   */
  store(offsets: PartitionOffset[], raise: boolean): Promise<boolean> {
    return this.#host.lane.run(() => this.#storeNow(offsets, raise));
  }

  /** The store itself, for callers already on the serial lane. */
  async #storeNow(offsets: PartitionOffset[], raise: boolean): Promise<boolean> {
    const host = this.#host;
    const member = host.membership;
    try {
      await host.call({
        api: "offsetCommit",
        groupId: host.groupId,
        memberId: member.memberId!,
        generation: member.generation,
        offsets,
      });
    } catch (error) {
      if (!raise && member.fencedBy(error)) return false;
      throw error;
    }
    for (const { partition, offset } of offsets) {
      const cursor = host.cursors.get(partition);
      if (cursor) cursor.committed = offset;
    }
    host.committed(offsets, false);
    return true;
  }
}
