/**
 * The exactly-once turn set-up several tests share: a batch named "first" whose only attempt
 * the transport holds back until `release()`, and a batch named "second", sent on its own
 * 1 ms later, which the broker refuses as out of order (its sequence is ahead of the log), so
 * it backs off and waits for its turn behind "first".
 */
import {
  createProducer,
  DisconnectedError,
  EmbeddedBroker,
  exactlyOnce,
  type ProduceOutput,
  type Producer,
  type ProducerConfig,
  type RetryPolicy,
  sleep,
  VirtualClock,
} from "../../src/internal.ts";
import { firstValue, routed } from "./routed-transport.ts";

/** What {@link heldFirstBatch} leaves running. */
export interface HeldFirstBatch {
  readonly clock: VirtualClock;
  readonly broker: EmbeddedBroker;
  readonly producer: Producer;
  readonly first: ProduceOutput;
  readonly second: ProduceOutput;
  /** Lets the held attempt of "first" go on to the broker; calling it again does nothing. */
  release(): void;
  /** Releases "first" and closes the producer, whatever either ends with. */
  close(): Promise<void>;
}

/**
 * Starts an exactly-once producer on topic "t" of a fresh broker and sends "first" (held)
 * and "second". With `throwSecondOnce`, the transport throws on the first attempt of
 * "second" before anything is sent, so that attempt's retry, not a refused one, waits.
 */
export async function heldFirstBatch(options: {
  readonly retry: Partial<RetryPolicy>;
  readonly inspect?: ProducerConfig["inspect"];
  readonly throwSecondOnce?: boolean;
}): Promise<HeldFirstBatch> {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t");
  let release = () => {};
  let throwSecond = options.throwSecondOnce ?? false;
  const transport = routed(broker.transport(), (request, pass) => {
    const name = firstValue(request);
    if (name === "second" && throwSecond) {
      throwSecond = false;
      throw new DisconnectedError();
    }
    if (name !== "first") return undefined;
    return new Promise((resolve) => (release = () => resolve(pass())));
  });
  const producer = createProducer(transport, "t", {
    clock,
    deliverySemantic: exactlyOnce({ retry: options.retry }),
    ...(options.inspect ? { inspect: options.inspect } : {}),
  });
  const close = async () => {
    release();
    await producer.close().catch(() => {});
  };
  try {
    const first = await producer.send(null, "first");
    await sleep(clock, 1); // sealed and sent on its own
    const second = await producer.send(null, "second");
    return { clock, broker, producer, first, second, release: () => release(), close };
  } catch (error) {
    await close();
    throw error;
  }
}
