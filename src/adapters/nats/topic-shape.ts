/**
 * How a topic sits on JetStream: the stream that holds it, and the shape its description
 * records. Apart from the transport so that the consumer and the reads can name streams
 * without importing the transport that imports them.
 *
 * @module
 */
import type { Framing } from "./message.ts";

/** What a stream's description records, so any acktor client learns the topic's shape. */
export interface TopicShape {
  readonly partitions: number;
  readonly framing: Framing;
}

/** The JetStream stream that holds `topic`. Injective: `_` and `.` are escaped, as stream names may not hold dots. */
export function streamName(topic: string): string {
  return `ACKTOR_${topic.replace(/_/g, "_5F").replace(/\./g, "_2E")}`;
}
