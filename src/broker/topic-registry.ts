/**
 * The broker's topics: each name and its partitions, looked up with the errors a client
 * expects for a topic or partition that does not exist.
 *
 * @module
 */
import { TopicExistsError, UnknownPartitionError, UnknownTopicError } from "../errors.ts";
import { Partition, type PartitionOptions } from "./partition.ts";
import { validateTopicName } from "./topic-name.ts";

/** Topics by name. */
export class TopicRegistry {
  readonly #topics = new Map<string, Partition[]>();

  /** Throws `InvalidTopicError` or {@link TopicExistsError} unless `name` is free to create. */
  checkNew(name: string): void {
    validateTopicName(name);
    if (this.#topics.has(name)) throw new TopicExistsError(name);
  }

  /** Creates `name` with `count` partitions (the caller checked it with {@link checkNew}). */
  create(name: string, count: number, options: PartitionOptions): void {
    this.#topics.set(name, Array.from({ length: count }, (_, i) => new Partition(options, `${name}[${i}]`)));
  }

  /** Names of all topics. */
  names(): string[] {
    return [...this.#topics.keys()];
  }

  /** How many partitions `topic` has, or undefined when there is no such topic. */
  countOf(topic: string): number | undefined {
    return this.#topics.get(topic)?.length;
  }

  /** The partitions of `topic`; throws {@link UnknownTopicError}. */
  partitionsOf(topic: string): Partition[] {
    const partitions = this.#topics.get(topic);
    if (!partitions) throw new UnknownTopicError(topic);
    return partitions;
  }

  /** One partition; throws {@link UnknownTopicError} or {@link UnknownPartitionError}. */
  partition(topic: string, partition: number): Partition {
    const found = this.partitionsOf(topic)[partition];
    if (!found) throw new UnknownPartitionError(topic, partition);
    return found;
  }

  /** Throws `InvalidTopicError` or {@link UnknownTopicError} unless `topic` names a topic here. */
  checkExisting(topic: string): void {
    validateTopicName(topic);
    this.partitionsOf(topic);
  }

  /** Every partition of every topic. */
  *all(): IterableIterator<Partition> {
    for (const partitions of this.#topics.values()) yield* partitions;
  }
}
