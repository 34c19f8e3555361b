/**
 * What keeps a long-running broker's memory bounded: retention over every partition, the
 * expiry of idle producer state and transactional ids, and the sizes that show both work.
 * Expiry runs lazily, on requests, so an idle broker holds no timer.
 *
 * @module
 */
import type { Clock } from "../runtime/clock.ts";
import type { TopicRegistry } from "./topic-registry.ts";
import type { TransactionCoordinator } from "./transaction-coordinator.ts";

/** Sizes of the broker's internal structures, summed over partitions: each stays bounded under retention and expiry. */
export interface BrokerStats {
  /** Batches and control markers held over all partitions. */
  readonly chunks: number;
  /** Key and value bytes held over all partitions. */
  readonly bytes: number;
  /** Producer entries in the partitions' dedup tables. */
  readonly producers: number;
  /** Batches remembered by the dedup tables (at most 5 per producer and partition). */
  readonly dedupBatches: number;
  /** Entries in the partitions' aborted-transaction indexes. */
  readonly aborted: number;
  /** Transactional ids the transaction coordinator holds. */
  readonly transactionalIds: number;
  /** Producer ids handed out without a transactional id and not yet expired. */
  readonly idempotentProducerIds: number;
}

/** Kafka's `producer.id.expiration.check.interval.ms`: how often, at most, expiry sweeps run. */
const EXPIRATION_CHECK_INTERVAL_MS = 600_000;

/** What housekeeping works on, and its expiry settings. */
export interface HousekeepingOptions {
  readonly clock: Clock;
  readonly topics: TopicRegistry;
  readonly coordinator: TransactionCoordinator;
  readonly producerIdExpirationMs: number;
  readonly transactionalIdExpirationMs: number;
}

/** Retention, expiry and stats of one broker. */
export class Housekeeping {
  readonly #options: HousekeepingOptions;
  readonly #checkEveryMs: number;
  /** When the next expiry sweep is due. */
  #nextExpiry: number;

  constructor(options: HousekeepingOptions) {
    this.#options = options;
    this.#checkEveryMs = Math.min(
      EXPIRATION_CHECK_INTERVAL_MS,
      options.producerIdExpirationMs,
      options.transactionalIdExpirationMs,
    );
    this.#nextExpiry = options.clock.now() + this.#checkEveryMs;
  }

  /** Called on every request: runs the expiry sweep when it is due. */
  onRequest(): void {
    if (this.#options.clock.now() >= this.#nextExpiry) this.#expire();
  }

  /** Runs retention on every partition and the expiry sweep now. */
  cleanup(): void {
    for (const p of this.#options.topics.all()) p.enforceRetention();
    this.#expire();
  }

  /** Sizes of the broker's internal structures. */
  stats(): BrokerStats {
    let chunks = 0, bytes = 0, producers = 0, dedupBatches = 0, aborted = 0;
    for (const p of this.#options.topics.all()) {
      const s = p.stats;
      chunks += s.chunks;
      bytes += s.bytes;
      producers += s.producers;
      dedupBatches += s.dedupBatches;
      aborted += s.aborted;
    }
    return { chunks, bytes, producers, dedupBatches, aborted, ...this.#options.coordinator.stats };
  }

  #expire(): void {
    const { clock, coordinator, topics, producerIdExpirationMs, transactionalIdExpirationMs } = this.#options;
    this.#nextExpiry = clock.now() + this.#checkEveryMs;
    coordinator.expire(transactionalIdExpirationMs, producerIdExpirationMs);
    // A transactional producer's partition state lives as long as its transactional id: a
    // transaction cannot recover from lost sequences, and the id's expiry bounds it anyway.
    const keep = (producerId: number) => coordinator.holdsTransactional(producerId);
    for (const p of topics.all()) p.expireProducers(producerIdExpirationMs, keep);
  }
}
