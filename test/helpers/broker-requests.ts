/**
 * Raw requests to the embedded broker, for tests that drive it below the producer: a call that
 * throws the broker's typed error, and a produce request to partition 0.
 */
import type { EmbeddedBroker } from "../../src/broker/broker.ts";
import { errorFromWire } from "../../src/errors.ts";
import type { Request } from "../../src/transport/protocol.ts";

/** Sends `request`; the answer's fields, or the broker's refusal thrown as its typed error. */
export async function call(broker: EmbeddedBroker, request: Request): Promise<Record<string, unknown>> {
  const answer = (await broker.handle(request)) as unknown as Record<string, unknown>;
  if (!answer.ok) throw errorFromWire(answer.error as never);
  return answer;
}

/** The identity and sequence an idempotent or transactional batch carries. */
export interface Sequenced {
  readonly producerId: number;
  readonly epoch: number;
  readonly transactionalId?: string;
  readonly baseSequence: number;
}

/** A keyless produce request of `values` to partition 0 of `topic`, plain or sequenced. */
export function produceRequest(topic: string, values: Uint8Array[], sequenced?: Sequenced): Request {
  return {
    api: "produce",
    topic,
    partition: 0,
    isolation: "read-uncommitted",
    timeoutMs: 30_000,
    keys: values.map(() => null),
    values,
    ...sequenced,
  };
}
