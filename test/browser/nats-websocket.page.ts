/**
 * The page of `nats-websocket.test.ts`: acktor in a browser, on NATS JetStream over
 * WebSocket. It imports `acktor/nats`'s browser entry (`src/adapters/nats/browser.ts`, what
 * package.json's "browser" condition selects) and puts {@link NatsPage} on `globalThis`
 * for the test to call through `page.evaluate`.
 */
import { AcktorError, ConfigError, createConsumer, createProducer, exactlyOnce } from "../../src/index.ts";
import { connectNats, type Framing } from "../../src/adapters/nats/browser.ts";

/** A record as the producer's acknowledgement placed it. */
export interface Acked {
  readonly value: number;
  readonly partition: number;
  readonly offset: number;
}

/** A record as a consumer's handler got it. */
export interface Seen extends Acked {
  readonly key: string | null;
  readonly deliveries: number;
}

/** How the page's `connectNats` refused an address. */
export interface Refusal {
  readonly name: string;
  readonly isConfigError: boolean;
  readonly isAcktorError: boolean;
  readonly field: string | null;
  readonly message: string;
}

/** What the page offers the test, as `globalThis.acktorNats`. */
export interface NatsPage {
  /**
   * Creates `topic` over WebSocket, then produces `count` records exactly-once (value `i`,
   * key `k{i % keys}`); the acknowledged position of each, by value.
   */
  produce(args: {
    servers: string;
    topic: string;
    partitions: number;
    framing: Framing;
    count: number;
    keys: number;
  }): Promise<Acked[]>;
  /**
   * Consumes `topic` in group `groupId` (commit after processing) until `count` records were
   * handled or `withinMs` passed, closes the consumer (which commits), and lists what it handled.
   */
  consume(args: { servers: string; topic: string; groupId: string; count: number; withinMs: number }): Promise<Seen[]>;
  /** What `connectNats({ servers })` rejects with. */
  refuse(servers: string | string[]): Promise<Refusal | null>;
}

const text = new TextDecoder();

const api: NatsPage = {
  async produce({ servers, topic, partitions, framing, count, keys }) {
    const nats = await connectNats({ servers });
    try {
      await nats.createTopic(topic, { partitions, framing, storage: "memory" });
      const producer = createProducer(nats, topic, { deliverySemantic: exactlyOnce() });
      const outputs = [];
      for (let i = 0; i < count; i++) outputs.push(await producer.send(`k${i % keys}`, `${i}`));
      const acked = await Promise.all(outputs.map((output) => output.wait()));
      await producer.close();
      return acked.map(({ partition, offset }, value) => ({ value, partition, offset }));
    } finally {
      await nats.close();
    }
  },

  async consume({ servers, topic, groupId, count, withinMs }) {
    const nats = await connectNats({ servers });
    try {
      const consumer = createConsumer(nats, topic, { groupId, commit: "after-processing" });
      const seen: Seen[] = [];
      const done = new AbortController();
      await consumer.run((record) => {
        seen.push({
          value: Number(text.decode(record.value)),
          key: record.key === null ? null : text.decode(record.key),
          partition: record.partition,
          offset: record.offset,
          deliveries: record.deliveries,
        });
        if (seen.length === count) done.abort();
      }, { signal: AbortSignal.any([done.signal, AbortSignal.timeout(withinMs)]) });
      await consumer.close();
      return seen;
    } finally {
      await nats.close();
    }
  },

  async refuse(servers) {
    try {
      const nats = await connectNats({ servers, timeoutMs: 2_000 });
      await nats.close();
      return null;
    } catch (error) {
      const e = error as Error & { field?: string };
      return {
        name: e.name,
        isConfigError: error instanceof ConfigError,
        isAcktorError: error instanceof AcktorError,
        field: e.field ?? null,
        message: e.message,
      };
    }
  },
};

(globalThis as unknown as { acktorNats: NatsPage }).acktorNats = api;
