/**
 * An AbortSignal stops `run()` after the record in hand, under every commit strategy, on the
 * embedded broker: the handler is not called again for the rest of the fetched batch. What
 * happens to that rest is the strategy's: after-processing and manual read it again,
 * transactional aborts the open transaction (the whole batch comes again), before-processing
 * committed it before handing it out, so it is not read again (at-most-once).
 */
import { linked, test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import {
  atLeastOnce,
  type CommitStrategy,
  type ConsumedRecord,
  EmbeddedBroker,
  exactlyOnce,
  VirtualClock,
} from "../src/index.ts";

const COUNT = 500;
const STOP_AT = 10;
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** One partition of COUNT records, so one fetch (maxPollRecords = COUNT) holds them all. */
async function filled(): Promise<EmbeddedBroker> {
  const broker = new EmbeddedBroker({ clock: new VirtualClock() });
  broker.createTopic("in", { partitions: 1 });
  broker.createTopic("out", { partitions: 1 });
  const producer = broker.producer("in", { deliverySemantic: atLeastOnce() });
  for (let i = 0; i < COUNT; i++) await producer.send(null, `r${i}`);
  await producer.close();
  return broker;
}

function consumerOf(broker: EmbeddedBroker, commit: CommitStrategy) {
  return broker.consumer("in", {
    groupId: "g",
    commit,
    pollIntervalMs: 10,
    maxPollRecords: COUNT,
    ...(commit === "transactional"
      ? { producer: broker.producer("out", { deliverySemantic: exactlyOnce({ transactionalId: `t-${commit}` }) }) }
      : {}),
  });
}

/** Runs a consumer whose handler aborts its own signal at the STOP_AT-th record; returns the ids handled. */
async function abortInHandler(broker: EmbeddedBroker, commit: CommitStrategy): Promise<number[]> {
  const c = consumerOf(broker, commit);
  const stop = new AbortController();
  const seen: number[] = [];
  await c.run(async (r: ConsumedRecord, { tx }) => {
    seen.push(Number(dec(r.value).slice(1)));
    if (tx !== null) await tx.send(null, r.value);
    if (seen.length === STOP_AT) stop.abort();
  }, { signal: linked(stop) });
  await c.close();
  return seen;
}

/** The first record the group's next reader gets, or null when it gets none within a while. */
async function nextReaderStartsAt(broker: EmbeddedBroker, commit: CommitStrategy): Promise<number | null> {
  const c = consumerOf(broker, commit);
  const stop = new AbortController();
  let first: number | null = null;
  const giveUp = broker.clock.setTimeout(() => stop.abort(), 5_000);
  await c.run((r: ConsumedRecord) => {
    first ??= Number(dec(r.value).slice(1));
    stop.abort();
  }, { signal: linked(stop) });
  broker.clock.clearTimeout(giveUp);
  await c.close();
  return first;
}

const expected: Record<Exclude<CommitStrategy, "idempotent">, { next: number | null; committed: number | null }> = {
  // Handled records are committed on the way out; the rest is read again.
  "after-processing": { next: STOP_AT, committed: STOP_AT },
  // Nothing was committed: everything comes again.
  manual: { next: 0, committed: null },
  // The open transaction aborts: its outputs and offsets are discarded, the batch comes again.
  transactional: { next: 0, committed: null },
  // The whole batch was committed before it was handed out: the rest is not read again.
  "before-processing": { next: null, committed: COUNT },
};

for (const [commit, want] of Object.entries(expected) as [keyof typeof expected, typeof expected["manual"]][]) {
  test(`${commit}: aborting in the handler at record ${STOP_AT} of a ${COUNT}-record batch stops run() after it`, async () => {
    const broker = await filled();
    const seen = await abortInHandler(broker, commit);
    assert.equal(
      seen,
      Array.from({ length: STOP_AT }, (_, i) => i),
      "the handler ran exactly for the records before the stop",
    );
    assert.is(broker.committedOffset("g", "in", 0), want.committed, "committed offset after the stop");
    assert.is(await nextReaderStartsAt(broker, commit), want.next, "where the group's next reader starts");
  });
}

test.run();
