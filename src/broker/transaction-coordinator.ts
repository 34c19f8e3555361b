/**
 * The transaction coordinator (Kafka KIP-98, refined by KIP-447 and KIP-890): it hands out
 * producer ids and epochs, fences older holders of a transactional id, tracks each
 * transaction's partitions and consumer-group offsets, and ends transactions by writing a
 * control marker into every partition involved.
 *
 * Everything happens in this process and at once, so a transaction is never caught between
 * "prepare" and "complete" and `CONCURRENT_TRANSACTIONS` never arises here.
 *
 * @module
 */
import {
  type AcktorError,
  InvalidProducerEpochError,
  InvalidProducerIdMappingError,
  InvalidTxnStateError,
  ProducerFencedError,
  TransactionTimedOutError,
} from "../errors.ts";
import type { Clock } from "../runtime/clock.ts";
import type {
  AddPartitionsToTxnRequest,
  EndTxnRequest,
  InitProducerIdRequest,
  TopicPartition,
  TransactionalIdentity,
  TxnOffsetCommitRequest,
} from "../transport/protocol.ts";
import { integerIn } from "../validate.ts";
import type { GroupOffsets } from "./group-offsets.ts";
import { IdempotentProducerIds, type ProducerIdentity } from "./idempotent-ids.ts";
import type { ControlType } from "./log.ts";
import type { Partition } from "./partition.ts";
import { wireArray, wireBoolean, wireInteger, wireString } from "./request-fields.ts";

/** Kafka's default `transaction.timeout.ms`. */
export const DEFAULT_TRANSACTION_TIMEOUT_MS = 60_000;

/** Where a transactional id's transaction stands. */
export type TxnState = "empty" | "ongoing" | "complete-commit" | "complete-abort";

/** What the coordinator knows of one transactional id, for inspection. */
export interface TransactionSnapshot {
  readonly producerId: number;
  readonly epoch: number;
  readonly state: TxnState;
  /** How many partitions the open transaction has written to or added. */
  readonly partitions: number;
  /** Consumer-group offsets waiting for the open transaction to commit. */
  readonly pendingOffsets: number;
}

/** What the coordinator needs from its broker. */
export interface CoordinatorOptions {
  readonly clock: Clock;
  /** The longest `transactionTimeoutMs` a producer may ask for. */
  readonly transactionTimeoutMaxMs: number;
  /** Resolves a topic partition; throws `UnknownTopicError` or `UnknownPartitionError`. */
  readonly partition: (topic: string, partition: number) => Partition;
  readonly groupOffsets: GroupOffsets;
}

interface PendingOffset {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

interface TxnEntry {
  readonly transactionalId: string;
  readonly producerId: number;
  epoch: number;
  state: TxnState;
  timeoutMs: number;
  /** The partitions of the open transaction; insertion order is marker order. */
  partitions: Set<Partition>;
  offsets: PendingOffset[];
  timer: unknown;
  /** The epoch whose transaction timed out, or -1: its requests get TRANSACTION_TIMED_OUT rather than PRODUCER_FENCED. */
  timedOutEpoch: number;
  /**
   * The epoch before the last bump made on behalf of the same holder (its own bump with its
   * producer id and epoch, or the timeout's), or -1. An initProducerId carrying it is a retry
   * whose answer was lost, or a timed-out producer recovering: it gets the current epoch.
   */
  previousEpoch: number;
  /** The producer instance holding the id, when it said: its own repeats never fence it. */
  instanceId: string | null;
  /** When the id was last used (init, add partitions, offsets, end, a write), on the broker's clock. */
  lastUpdate: number;
}

/** The transaction coordinator of one broker. */
export class TransactionCoordinator {
  readonly #options: CoordinatorOptions;
  readonly #txns = new Map<string, TxnEntry>();
  /** Producer id → its transactional id, to name the mix-up when one is used without it. */
  readonly #owners = new Map<number, string>();
  #nextProducerId = 0;
  readonly #idempotent: IdempotentProducerIds;

  constructor(options: CoordinatorOptions) {
    this.#options = options;
    this.#idempotent = new IdempotentProducerIds(options.clock, {
      next: () => this.#nextProducerId++,
      issued: (producerId) => producerId < this.#nextProducerId,
      owner: (producerId) => this.#owners.get(producerId),
    });
  }

  /**
   * Gives out a producer id and epoch.
   * - With a new transactional id: a new producer id at epoch 0.
   * - With a known one from another producer instance: the epoch is bumped, which fences every
   *   older holder; a repeat from the instance holding it returns the current epoch. A transaction
   *   it left open is aborted (markers written at the new epoch). If the request carries the
   *   current producer id and epoch (the holder resetting itself after an abortable error),
   *   the same happens; if it carries the epoch before the last such bump or before a
   *   timeout (a retry whose answer was lost, or a timed-out holder recovering), it gets the
   *   current epoch without a new bump. Any other epoch is fenced.
   * - Without a transactional id: a new producer id at epoch 0; or, given a producer id and
   *   epoch, the same id with an epoch above both the given one and any handed out before
   *   (an idempotent producer resetting its sequences, possibly one partition at a time).
   */
  initProducerId(request: InitProducerIdRequest): ProducerIdentity {
    const max = this.#options.transactionTimeoutMaxMs;
    const timeoutMs = request.transactionTimeoutMs === undefined
      ? Math.min(DEFAULT_TRANSACTION_TIMEOUT_MS, max)
      : integerIn("transactionTimeoutMs", request.transactionTimeoutMs, 1, max);
    const given = this.#givenIdentity(request);
    if (request.transactionalId === undefined) return this.#idempotent.init(given);

    const transactionalId = wireString("transactionalId", request.transactionalId);
    const instanceId = request.instanceId === undefined ? null : wireString("instanceId", request.instanceId);
    let entry = this.#txns.get(transactionalId);
    if (entry === undefined) {
      entry = {
        transactionalId,
        producerId: this.#nextProducerId++,
        epoch: 0,
        state: "empty",
        timeoutMs,
        partitions: new Set(),
        offsets: [],
        timer: undefined,
        timedOutEpoch: -1,
        previousEpoch: -1,
        instanceId,
        lastUpdate: this.#options.clock.now(),
      };
      this.#txns.set(transactionalId, entry);
      this.#owners.set(entry.producerId, transactionalId);
    } else if (given === undefined && instanceId !== null && instanceId === entry.instanceId) {
      // The holder itself again: a duplicated or retried init, or recovery after its
      // transaction timed out (which already bumped the epoch). Bumping would fence it.
    } else if (given === undefined) {
      this.#bump(entry, false);
      entry.instanceId = instanceId;
    } else if (given.producerId !== entry.producerId) {
      throw new InvalidProducerIdMappingError(
        `producer id ${given.producerId} does not belong to transactional id "${transactionalId}" (it has ${entry.producerId})`,
      );
    } else if (given.epoch === entry.epoch) {
      this.#bump(entry, true);
    } else if (given.epoch !== entry.previousEpoch) {
      throw this.#staleEpoch(entry, given.epoch);
    }
    entry.timeoutMs = timeoutMs;
    entry.lastUpdate = this.#options.clock.now();
    return { producerId: entry.producerId, epoch: entry.epoch };
  }

  /** An idempotent producer wrote: it is active, so its id does not expire. */
  touchIdempotent(producerId: number): void {
    this.#idempotent.touch(producerId);
  }

  /**
   * Forgets transactional ids with no open transaction, unused for `transactionalIdExpirationMs`
   * (Kafka's `transactional.id.expiration.ms`), and idempotent producer ids unused for
   * `producerIdExpirationMs`. A forgotten transactional id is new to the next
   * initProducerId (a new producer id at epoch 0); its old holder's requests are refused
   * with `InvalidProducerIdMappingError`.
   */
  expire(transactionalIdExpirationMs: number, producerIdExpirationMs: number): void {
    const now = this.#options.clock.now();
    for (const [transactionalId, entry] of this.#txns) {
      if (entry.state !== "ongoing" && now - entry.lastUpdate >= transactionalIdExpirationMs) {
        this.#txns.delete(transactionalId);
        this.#owners.delete(entry.producerId);
      }
    }
    this.#idempotent.expire(producerIdExpirationMs);
  }

  /** Whether `producerId` belongs to a transactional id the coordinator still holds. */
  holdsTransactional(producerId: number): boolean {
    return this.#owners.has(producerId);
  }

  /** How many transactional ids and idempotent producer ids the coordinator holds. */
  get stats(): { transactionalIds: number; idempotentProducerIds: number } {
    return { transactionalIds: this.#txns.size, idempotentProducerIds: this.#idempotent.size };
  }

  /**
   * Adds partitions to the transaction, starting it (and its timeout) if none is open. Every
   * partition is checked before any is added. An empty list changes nothing.
   */
  addPartitionsToTxn(request: AddPartitionsToTxnRequest): void {
    const entry = this.#identify(request);
    const partitions = wireArray("partitions", request.partitions).map((tp) =>
      this.#options.partition(
        wireString("partitions.topic", tp?.topic),
        wireInteger("partitions.partition", tp.partition),
      )
    );
    if (partitions.length === 0) return;
    this.#begin(entry);
    for (const partition of partitions) entry.partitions.add(partition);
  }

  /**
   * Makes a consumer group's offsets part of the transaction (starting it if none is open):
   * they are committed with it, or dropped if it aborts.
   */
  txnOffsetCommit(request: TxnOffsetCommitRequest): void {
    const entry = this.#identify(request);
    const groupId = wireString("groupId", request.groupId);
    const offsets = wireArray("offsets", request.offsets).map((o) => {
      const topic = wireString("offsets.topic", o?.topic);
      const partition = wireInteger("offsets.partition", o.partition);
      this.#options.partition(topic, partition);
      return { groupId, topic, partition, offset: wireInteger("offsets.offset", o.offset) };
    });
    // KIP-447's fencing of zombie consumers; -1 is Kafka's "no generation".
    if (request.generation !== undefined) {
      this.#options.groupOffsets.checkGeneration(groupId, wireInteger("generation", request.generation, -1));
    }
    if (offsets.length === 0) return;
    this.#begin(entry);
    entry.offsets.push(...offsets);
  }

  /**
   * Commits or aborts the open transaction. A retry with the same decision after the
   * transaction ended (its answer was lost) succeeds again; the opposite decision, or no
   * transaction at all, is `INVALID_TXN_STATE`.
   */
  endTxn(request: EndTxnRequest): void {
    const entry = this.#identify(request);
    const decision: ControlType = wireBoolean("commit", request.commit) ? "commit" : "abort";
    switch (entry.state) {
      case "ongoing":
        this.#complete(entry, decision);
        return;
      case "empty":
        throw new InvalidTxnStateError(
          `transactional id "${entry.transactionalId}" has no open transaction to ${decision}`,
        );
      default:
        if (entry.state === `complete-${decision}`) return;
        throw new InvalidTxnStateError(
          `transactional id "${entry.transactionalId}": the last transaction already ended with ${
            entry.state === "complete-commit" ? "commit" : "abort"
          }, it cannot ${decision}`,
        );
    }
  }

  /**
   * Checks a transactional write (KIP-890): the producer must hold the transactional id at its
   * current epoch, and the partition must have been added to the open transaction.
   */
  checkWrite(
    transactionalId: string,
    producerId: number,
    epoch: number,
    partition: Partition,
    where: TopicPartition,
  ): void {
    const entry = this.#identify({ transactionalId, producerId, epoch });
    // Only an open transaction has partitions: #complete clears them.
    if (!entry.partitions.has(partition)) {
      throw new InvalidTxnStateError(
        `${where.topic}[${where.partition}] was not added to a transaction of "${transactionalId}"; call addPartitionsToTxn before writing to it`,
      );
    }
  }

  /**
   * The transactional id whose open transaction holds `groupId`'s offset for the partition,
   * if one does: its commit is about to move that offset (KIP-447's unstable offset).
   */
  holdingOffset(groupId: string, topic: string, partition: number): string | undefined {
    for (const [transactionalId, entry] of this.#txns) {
      if (entry.offsets.some((o) => o.groupId === groupId && o.topic === topic && o.partition === partition)) {
        return transactionalId;
      }
    }
    return undefined;
  }

  /** What the coordinator knows of a transactional id, if anything. */
  transaction(transactionalId: string): TransactionSnapshot | undefined {
    const entry = this.#txns.get(transactionalId);
    if (entry === undefined) return undefined;
    const { producerId, epoch, state } = entry;
    return { producerId, epoch, state, partitions: entry.partitions.size, pendingOffsets: entry.offsets.length };
  }

  /** The producer id and epoch an initProducerId carries: both or neither. */
  #givenIdentity(request: InitProducerIdRequest): ProducerIdentity | undefined {
    if (request.producerId === undefined && request.epoch === undefined) return undefined;
    return { producerId: wireInteger("producerId", request.producerId), epoch: wireInteger("epoch", request.epoch) };
  }

  /**
   * The transactional id's entry, if the request's producer id and epoch are its current
   * ones. An older epoch is fenced, or timed out if the coordinator aborted that epoch's
   * transaction, so the producer can tell a newer instance from its own slowness.
   */
  #identify(identity: TransactionalIdentity): TxnEntry {
    const transactionalId = wireString("transactionalId", identity.transactionalId);
    const producerId = wireInteger("producerId", identity.producerId);
    const epoch = wireInteger("epoch", identity.epoch);
    const entry = this.#txns.get(transactionalId);
    if (entry === undefined) {
      throw new InvalidProducerIdMappingError(
        `transactional id "${transactionalId}" is unknown; call initProducerId first`,
      );
    }
    if (producerId !== entry.producerId) {
      throw new InvalidProducerIdMappingError(
        `producer id ${producerId} does not belong to transactional id "${transactionalId}" (it has ${entry.producerId})`,
      );
    }
    if (epoch !== entry.epoch) throw this.#staleEpoch(entry, epoch);
    entry.lastUpdate = this.#options.clock.now();
    return entry;
  }

  #staleEpoch(entry: TxnEntry, epoch: number): AcktorError {
    const id = `transactional id "${entry.transactionalId}"`;
    if (epoch === entry.timedOutEpoch) {
      return new TransactionTimedOutError(
        `${id}: the transaction of epoch ${epoch} exceeded its timeout of ${entry.timeoutMs} ms and was aborted; the epoch is now ${entry.epoch}`,
      );
    }
    if (epoch < entry.epoch) {
      return new ProducerFencedError(`${id}: epoch ${epoch} is fenced by a newer producer at epoch ${entry.epoch}`);
    }
    return new InvalidProducerEpochError(`${id}: epoch ${epoch} is newer than the coordinator's ${entry.epoch}`);
  }

  /** A new epoch; an open transaction is aborted with markers at it, so they fence the old one everywhere. */
  #bump(entry: TxnEntry, sameHolder: boolean): void {
    const old = entry.epoch;
    entry.epoch = old + 1;
    if (entry.state === "ongoing") this.#complete(entry, "abort");
    entry.state = "empty";
    entry.previousEpoch = sameHolder ? old : -1;
    entry.timedOutEpoch = -1;
  }

  #begin(entry: TxnEntry): void {
    if (entry.state === "ongoing") return;
    // Its partitions and offsets are empty: every transaction ends through #complete, which clears them.
    entry.state = "ongoing";
    // The timeout counts from the transaction's start, as Kafka's does, not from its last write.
    entry.timer = this.#options.clock.setTimeout(() => this.#expire(entry), entry.timeoutMs);
  }

  /**
   * The transaction outlived its timeout: abort it and bump the epoch, fencing its zombie's
   * later writes. The timer runs only while the transaction is open: #complete cancels it.
   */
  #expire(entry: TxnEntry): void {
    const old = entry.epoch;
    entry.epoch = old + 1;
    this.#complete(entry, "abort");
    entry.timedOutEpoch = old;
    entry.previousEpoch = old;
  }

  /** Writes the markers, applies (commit) or drops (abort) the group offsets, and ends the transaction. */
  #complete(entry: TxnEntry, decision: ControlType): void {
    if (entry.timer !== undefined) this.#options.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    for (const partition of entry.partitions) partition.writeMarker(entry.producerId, entry.epoch, decision);
    if (decision === "commit") {
      const { groupOffsets } = this.#options;
      for (const o of entry.offsets) groupOffsets.commit(o.groupId, o.topic, o.partition, o.offset);
    }
    entry.partitions = new Set();
    entry.offsets = [];
    entry.state = decision === "commit" ? "complete-commit" : "complete-abort";
  }
}
