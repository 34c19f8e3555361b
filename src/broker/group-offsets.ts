/**
 * Consumer groups' committed offsets: per group, topic and partition, the next offset the
 * group will read. Transactions commit into it (their offsets land only when the transaction
 * commits), and `offsetFetch` reads it. Consumer groups themselves, with members and
 * generations, come later and build on this store.
 *
 * @module
 */

/** The committed offsets of every consumer group on one broker. */
export class GroupOffsets {
  // Nested maps rather than a joined string key: nothing to build or parse per lookup.
  readonly #groups = new Map<string, Map<string, Map<number, number>>>();

  /** Sets the group's committed offset for one partition. */
  commit(groupId: string, topic: string, partition: number, offset: number): void {
    let topics = this.#groups.get(groupId);
    if (topics === undefined) this.#groups.set(groupId, (topics = new Map()));
    let partitions = topics.get(topic);
    if (partitions === undefined) topics.set(topic, (partitions = new Map()));
    partitions.set(partition, offset);
  }

  /** The group's committed offset for one partition, or null if it has committed none. */
  fetch(groupId: string, topic: string, partition: number): number | null {
    return this.#groups.get(groupId)?.get(topic)?.get(partition) ?? null;
  }

  /**
   * Throws if `generation` is not the group's current one (KIP-447: a zombie consumer whose
   * partitions moved to another member must not commit). Groups have no generations yet, so
   * nothing is refused; the consumer-group work fills this in (with an error code for a stale
   * generation), and the transaction coordinator already calls it for every transactional
   * offset commit that carries a generation.
   */
  checkGeneration(_groupId: string, _generation: number): void {}
}
