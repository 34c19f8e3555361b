/**
 * Consumer groups' committed offsets: per group, topic and partition, the next offset the
 * group will read. Transactions commit into it (their offsets land only when the transaction
 * commits), `offsetCommit` writes it directly, and `offsetFetch` reads it. Membership and
 * generations live in the group coordinator; this store only asks it to fence a generation.
 *
 * @module
 */

/** The committed offsets of every consumer group on one broker. */
export class GroupOffsets {
  // Nested maps rather than a joined string key: nothing to build or parse per lookup.
  readonly #groups = new Map<string, Map<string, Map<number, number>>>();
  readonly #fence: (groupId: string, generation: number) => void;

  /**
   * @param fence throws if `generation` is not the group's current one; the group coordinator
   *   provides it. A callback rather than the coordinator itself, because the coordinator
   *   also writes through this store.
   */
  constructor(fence: (groupId: string, generation: number) => void = () => {}) {
    this.#fence = fence;
  }

  /** Sets the group's committed offset for one partition. */
  commit(groupId: string, topic: string, partition: number, offset: number): void {
    let topics = this.#groups.get(groupId);
    if (topics === undefined) this.#groups.set(groupId, topics = new Map());
    let partitions = topics.get(topic);
    if (partitions === undefined) topics.set(topic, partitions = new Map());
    partitions.set(partition, offset);
  }

  /** The group's committed offset for one partition, or null if it has committed none. */
  fetch(groupId: string, topic: string, partition: number): number | null {
    return this.#groups.get(groupId)?.get(topic)?.get(partition) ?? null;
  }

  /** Every offset the group has committed. */
  list(groupId: string): { topic: string; partition: number; offset: number }[] {
    const found: { topic: string; partition: number; offset: number }[] = [];
    for (const [topic, partitions] of this.#groups.get(groupId) ?? []) {
      for (const [partition, offset] of partitions) found.push({ topic, partition, offset });
    }
    return found;
  }

  /**
   * Throws `IllegalGenerationError` if the group exists and `generation` is not its current
   * one (KIP-447: a zombie consumer whose partitions moved to another member must not
   * commit). The transaction coordinator calls it for every transactional offset commit that
   * carries a generation.
   */
  checkGeneration(groupId: string, generation: number): void {
    this.#fence(groupId, generation);
  }
}
