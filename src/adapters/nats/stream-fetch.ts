/**
 * Reads of a topic's partition from its stream, as the `fetch` request of the transport
 * contract: records from an offset (a stream sequence, or a sequence and an index in a frame),
 * asked of the stream's leader.
 *
 * @module
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { FetchedRecord, FetchRequest, FetchResponse } from "../../transport/protocol.ts";
import { frameOffset, splitFrameOffset } from "./frame.ts";
import { recordsOf, storedMessage } from "./message.ts";
import type { TopicShape } from "./topic-shape.ts";

/** Up to `request.maxRecords` records of the partition from `request.offset`, in `shape`'s framing. */
export async function fetchFromStream(
  jsm: JetStreamManager,
  stream: string,
  request: FetchRequest,
  shape: TopicShape,
): Promise<FetchResponse> {
  const subject = `${request.topic}.${request.partition}`;
  const batch = shape.framing === "batch";
  const info = await jsm.streams.info(stream);
  const lastSequence = info.state.last_seq;
  const end = batch ? frameOffset(lastSequence + 1, 0) : lastSequence + 1;
  let { sequence, index } = batch ? splitFrameOffset(request.offset) : { sequence: request.offset, index: 0 };
  sequence = Math.max(sequence, 1);
  const records: FetchedRecord[] = [];
  while (records.length < request.maxRecords && sequence <= lastSequence) {
    // The stream leader answers, not any replica as a direct get would: after a partition a
    // replica can hold, for a while, other messages at the same sequences, and reads through it
    // lost and duplicated acknowledged records (seen on a 3-node cluster).
    const message = await jsm.streams.getMessage(stream, { seq: sequence, next_by_subj: subject } as never);
    if (message === null || message.seq > lastSequence) {
      sequence = lastSequence + 1;
      index = 0;
      break;
    }
    if (message.seq !== sequence) index = 0;
    const held = recordsOf(storedMessage(message), shape.framing);
    const take = Math.min(held.length - index, request.maxRecords - records.length);
    for (let i = 0; i < take; i++) records.push(held[index + i]!);
    if (index + take < held.length) {
      sequence = message.seq;
      index += take;
      break;
    }
    sequence = message.seq + 1;
    index = 0;
  }
  const nextOffset = batch ? frameOffset(sequence, index) : sequence;
  // JetStream acknowledges only what its replicas stored: everything readable is committed.
  return { ok: true, records, nextOffset, highWatermark: end, logEndOffset: end, lastStableOffset: end };
}
