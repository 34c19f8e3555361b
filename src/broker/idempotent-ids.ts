/**
 * The producer ids a coordinator hands out without a transactional id: their current epochs,
 * the bumps an idempotent producer asks for when it resets its sequences, and their expiry.
 *
 * @module
 */
import { InvalidProducerIdMappingError, UnknownProducerIdError } from "../errors.ts";
import type { Clock } from "../runtime/clock.ts";

/** A producer id and epoch. */
export interface ProducerIdentity {
  readonly producerId: number;
  readonly epoch: number;
}

/** What the registry needs from the coordinator, which owns the id space. */
export interface ProducerIdSpace {
  /** A producer id never handed out before. */
  next(): number;
  /** Whether `producerId` was ever handed out. */
  issued(producerId: number): boolean;
  /** The transactional id that owns `producerId`, if one does. */
  owner(producerId: number): string | undefined;
}

/** Idempotent producer ids and their epochs. */
export class IdempotentProducerIds {
  readonly #clock: Clock;
  readonly #ids: ProducerIdSpace;
  /** Each id's current epoch, and when it last initialised or wrote (for expiry). */
  readonly #held = new Map<number, { epoch: number; seen: number }>();

  constructor(clock: Clock, ids: ProducerIdSpace) {
    this.#clock = clock;
    this.#ids = ids;
  }

  /** How many ids are held. */
  get size(): number {
    return this.#held.size;
  }

  /**
   * A new producer id at epoch 0; or, `given` a producer id and epoch, the same id with an
   * epoch above both the given one and any handed out before (an idempotent producer
   * resetting its sequences, possibly one partition at a time).
   */
  init(given: ProducerIdentity | undefined): ProducerIdentity {
    const now = this.#clock.now();
    if (given === undefined) {
      const producerId = this.#ids.next();
      this.#held.set(producerId, { epoch: 0, seen: now });
      return { producerId, epoch: 0 };
    }
    let known = this.#held.get(given.producerId)?.epoch;
    if (known === undefined) {
      const owner = this.#ids.owner(given.producerId);
      if (owner !== undefined) {
        throw new InvalidProducerIdMappingError(
          `producer id ${given.producerId} belongs to transactional id "${owner}"; send it with the request`,
        );
      }
      if (!this.#ids.issued(given.producerId)) {
        throw new UnknownProducerIdError(`producer id ${given.producerId} was not handed out by this broker`);
      }
      // Handed out here and expired while idle: ids are never reused, so it may come back
      // under a new epoch, with sequences from 0.
      known = given.epoch;
    }
    // Above everything handed out, so a retry whose answer was lost still gets a fresh epoch,
    // and a partition bumping from an older epoch never lands on one another partition uses.
    const epoch = Math.max(known, given.epoch) + 1;
    this.#held.set(given.producerId, { epoch, seen: now });
    return { producerId: given.producerId, epoch };
  }

  /** An idempotent producer wrote: it is active, so its id does not expire. */
  touch(producerId: number): void {
    // An expired id may still write (sequence 0 to a partition that forgot it too): it stays forgotten.
    const held = this.#held.get(producerId);
    if (held !== undefined) held.seen = this.#clock.now();
  }

  /** Forgets ids unused for `expirationMs`. */
  expire(expirationMs: number): void {
    const now = this.#clock.now();
    for (const [producerId, { seen }] of this.#held) if (now - seen >= expirationMs) this.#held.delete(producerId);
  }
}
