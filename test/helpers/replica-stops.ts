/**
 * A schedule's replica stops, played as the producer's send loop reaches them: each stops a
 * follower of the input topic for its `forMs` of simulated time, and every follower still
 * stopped resumes once the producer is done (a commit may be waiting for the very replica).
 */
import type { EmbeddedBroker, VirtualClock } from "../../src/index.ts";
import type { FaultCounts, ReplicaStop, Schedule } from "./schedule.ts";

export class ReplicaStops {
  readonly #pending: ReplicaStop[];
  readonly #stopped = new Map<string, { partition: number; follower: number }>();

  constructor(
    readonly s: Schedule,
    readonly broker: EmbeddedBroker,
    readonly clock: VirtualClock,
    readonly topic: string,
    readonly counts: FaultCounts,
  ) {
    this.#pending = [...s.replicaStops].sort((a, b) => a.atRecord - b.atRecord);
  }

  /** Applies the stops due when record `i` is sent; a stop's partition and follower are taken modulo the topic's. */
  step(i: number): void {
    const { partitions, replication } = this.s.topic;
    while (this.#pending.length > 0 && this.#pending[0]!.atRecord <= i) {
      const drawn = this.#pending.shift()!;
      if (replication === 1) continue;
      const partition = drawn.partition % partitions;
      const follower = 1 + (drawn.follower - 1) % (replication - 1);
      const id = `${partition}/${follower}`;
      if (this.#stopped.has(id)) continue;
      this.broker.partition(this.topic, partition).follower(follower)?.send({ type: "STOP" });
      this.counts["replica-stop"]++;
      this.#stopped.set(id, { partition, follower });
      this.clock.setTimeout(() => this.#resume(id), drawn.forMs);
    }
  }

  resumeAll(): void {
    for (const id of [...this.#stopped.keys()]) this.#resume(id);
  }

  #resume(id: string): void {
    const stop = this.#stopped.get(id);
    if (!stop) return;
    this.#stopped.delete(id);
    this.broker.partition(this.topic, stop.partition).resume(stop.follower);
  }
}
