/**
 * The writes of an idempotent consumer: message ids derived from the input record (and the
 * n-th write for it), so that a redelivered input writes the same ids and the output stream
 * drops the repeats; and writes that outlast an engine outage without spending the inputs'
 * deliveries.
 *
 * JetStream counts every delivery of an input against the durable's `max_deliver`, and an
 * input it gives up on never gets its output. Handing an input back because its write met a
 * leader election (or any other retriable failure) would spend one delivery per round trip:
 * a few seconds of failover exhausted thousands of inputs. So the write itself is retried,
 * with the same message id (a retry after a lost PubAck is answered as a duplicate, never
 * stored twice), for as long as its failure is retriable and the consumer runs. The input
 * stays in hand meanwhile, kept from redelivery by `working()`. `max_deliver` is left to
 * what it is for: handlers that keep failing.
 *
 * @module
 */
import type { OutputContext } from "../../consumer/consumer.ts";
import type { ResolvedConsumerConfig } from "../../consumer/config.ts";
import { AcktorError } from "../../errors.ts";
import type { RecordMetadata } from "../../producer/outcome.ts";
import { keyBytes, optionHeaders, valueBytes } from "../../producer/record.ts";
import { backoffDelay } from "../../retry/backoff.ts";
import { retryPolicy } from "../../retry/policy.ts";
import { type Clock, recordTime, sleepUnlessAborted } from "../../runtime/clock.ts";
import { recordTimestamp } from "../../transport/headers.ts";
import type { JetStreamAccess } from "./jetstream-access.ts";

/**
 * Short first pauses, for a PubAck lost to a blip; then growing to a pause that an election
 * of a few seconds needs only a handful of. Only the delays of this policy are used: the
 * retries end with the consumer, not with a count.
 */
const OUTPUT_RETRY = retryPolicy({ strategy: "fibonacci", initialDelay: 50, maxDelay: 2_000 });

/**
 * Runs `publish` until it succeeds, fails with an error that is not retriable, or `signal`
 * aborts (then the last failure is thrown).
 */
export async function publishThroughOutage<T>(
  publish: () => Promise<T>,
  signal: AbortSignal,
  clock: Clock,
): Promise<T> {
  for (let retry = 1;; retry++) {
    try {
      return await publish();
    } catch (error) {
      if (!(error instanceof AcktorError && error.retriable)) throw error;
      if (!(await sleepUnlessAborted(clock, backoffDelay(OUTPUT_RETRY, retry), signal))) throw error;
    }
  }
}

/**
 * The output context of one input: its `n`-th write carries the id `prefix + n`, goes where
 * the input's partition says when keyless, and is pushed to `writes`, which the consumer
 * awaits before it acks the input.
 */
export function idempotentOutput(
  access: JetStreamAccess,
  config: ResolvedConsumerConfig,
  prefix: string,
  partitionIfKeyless: number,
  writes: Promise<RecordMetadata>[],
  signal: AbortSignal,
): OutputContext {
  let n = 0;
  return {
    send: (key, value, options) => {
      const record = {
        key: keyBytes(key),
        value: valueBytes(value),
        headers: options === undefined ? null : optionHeaders(options),
        timestamp: options?.timestamp === undefined ? recordTime(config.clock) : recordTimestamp(options.timestamp),
      };
      const id = prefix + n++;
      const write = publishThroughOutage(
        () => access.publishWithId(config.outputTopic!, record, id, partitionIfKeyless, config.requestTimeout),
        signal,
        config.clock,
      );
      writes.push(write);
      // Awaited by the consumer before the input is acked; the handler need not await it.
      write.catch(() => {});
      return write;
    },
  };
}
