import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { EmbeddedBroker } from "../src/broker/broker.ts";
import {
  type AcktorError,
  errorFromWire,
  InvalidProducerEpochError,
  OutOfOrderSequenceError,
  UnknownProducerIdError,
  type WireError,
} from "../src/errors.ts";
import { sleep } from "../src/runtime/clock.ts";
import { VirtualClock } from "../src/runtime/virtual-clock.ts";
import type { Isolation, ProduceResponse } from "../src/transport/protocol.ts";
import type { Transport } from "../src/transport/transport.ts";

// ---- helpers -------------------------------------------------------------------------

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const enc = (s: string): Uint8Array => encoder.encode(s);

/** A producer's identity as the broker handed it out. */
interface Identity {
  producerId: number;
  epoch: number;
}

async function initProducerId(t: Transport, bump?: Identity): Promise<Identity> {
  const answer = await t.request({ api: "initProducerId", ...bump }, { timeoutMs: 1000 });
  if (!answer.ok) throw new Error(`initProducerId failed: ${JSON.stringify(answer.error)}`);
  return { producerId: answer.producerId, epoch: answer.epoch };
}

interface Batch {
  partition?: number;
  values: string[];
  baseSequence: number;
  isolation?: Isolation;
}

function produce(t: Transport, id: Identity, batch: Batch, topic = "t"): Promise<ProduceResponse> {
  return t.request(
    {
      api: "produce",
      topic,
      partition: batch.partition ?? 0,
      isolation: batch.isolation ?? "read-uncommitted",
      timeoutMs: 30_000,
      keys: batch.values.map(() => null),
      values: batch.values.map(enc),
      producerId: id.producerId,
      epoch: id.epoch,
      baseSequence: batch.baseSequence,
    },
    { timeoutMs: 300_000 },
  );
}

/** The answer of a successful produce; fails the test otherwise. */
function ok(answer: ProduceResponse): { baseOffset: number; duplicate?: boolean } {
  if (!answer.ok) assert.unreachable(`expected ok, got ${JSON.stringify(answer.error)}`);
  return answer as { ok: true; baseOffset: number; duplicate?: boolean };
}

/** The typed error of a failed answer, rebuilt as a client would; fails the test otherwise. */
function failed(answer: { ok: boolean; error?: WireError }): AcktorError {
  if (answer.ok) assert.unreachable(`expected an ok:false answer, got ${JSON.stringify(answer)}`);
  return errorFromWire(answer.error!);
}

/** The values of a partition's whole log, as a read-uncommitted reader sees them. */
function logValues(broker: EmbeddedBroker, partition = 0, topic = "t"): string[] {
  return broker.read(topic, partition, { isolation: "read-uncommitted" }).map((r) => decoder.decode(r.value));
}

function setup(topic: { partitions?: number; replicationFactor?: number; replicaLagMs?: number } = {}) {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t", topic);
  return { clock, broker, t: broker.transport() };
}

// ---- producer ids --------------------------------------------------------------------

test("initProducerId hands out distinct ids at epoch 0, and bumps a given id's epoch", async () => {
  const { t } = setup();
  const a = await initProducerId(t);
  const b = await initProducerId(t);
  assert.is(a.epoch, 0);
  assert.is(b.epoch, 0);
  assert.is.not(a.producerId, b.producerId);

  assert.equal(await initProducerId(t, a), { producerId: a.producerId, epoch: 1 });
  // A retry whose answer was lost, or a partition still on an older epoch, gets an epoch
  // above everything handed out: never one that is already in use.
  assert.equal(await initProducerId(t, a), { producerId: a.producerId, epoch: 2 });
  assert.equal(await initProducerId(t, { producerId: a.producerId, epoch: 7 }), { producerId: a.producerId, epoch: 8 });

  const unknown = failed(await t.request({ api: "initProducerId", producerId: 999, epoch: 0 }, { timeoutMs: 1000 }));
  assert.instance(unknown, UnknownProducerIdError);
  const half = failed(await t.request({ api: "initProducerId", producerId: a.producerId }, { timeoutMs: 1000 }));
  assert.is(half.code, "REQUEST_INVALID");
  assert.ok(half.message.includes("epoch"), half.message);
  await t.close();
});

// ---- dedup ---------------------------------------------------------------------------

test("a retried batch is answered with its original offsets, duplicate: true, and is not appended again", async () => {
  const { broker, t } = setup();
  const id = await initProducerId(t);
  assert.equal(ok(await produce(t, id, { values: ["a", "b"], baseSequence: 0 })), { ok: true, baseOffset: 0 });
  assert.equal(ok(await produce(t, id, { values: ["c"], baseSequence: 2 })), { ok: true, baseOffset: 2 });

  assert.equal(ok(await produce(t, id, { values: ["a", "b"], baseSequence: 0 })), {
    ok: true,
    baseOffset: 0,
    duplicate: true,
  });
  assert.equal(ok(await produce(t, id, { values: ["c"], baseSequence: 2 })), {
    ok: true,
    baseOffset: 2,
    duplicate: true,
  });
  assert.equal(ok(await produce(t, id, { values: ["c"], baseSequence: 2 })), {
    ok: true,
    baseOffset: 2,
    duplicate: true,
  });
  assert.equal(logValues(broker), ["a", "b", "c"]);
  assert.is(broker.partitionState("t", 0).logEndOffset, 3);

  // The next sequence still appends, after the duplicates.
  assert.equal(ok(await produce(t, id, { values: ["d"], baseSequence: 3 })), { ok: true, baseOffset: 3 });
  assert.equal(logValues(broker), ["a", "b", "c", "d"]);
  await t.close();
});

test("the dedup window holds the last 5 batches; an older retry is a duplicate with baseOffset -1", async () => {
  const { broker, t } = setup();
  const id = await initProducerId(t);
  // Six batches of two records: sequences 0-1, 2-3, … 10-11 at offsets 0, 2, … 10.
  for (let b = 0; b < 6; b++) {
    assert.is(ok(await produce(t, id, { values: [`${b}a`, `${b}b`], baseSequence: 2 * b })).baseOffset, 2 * b);
  }
  for (let b = 1; b < 6; b++) {
    const answer = ok(await produce(t, id, { values: [`${b}a`, `${b}b`], baseSequence: 2 * b }));
    assert.equal(answer, { ok: true, baseOffset: 2 * b, duplicate: true }, `batch ${b} is in the window`);
  }
  const oldest = ok(await produce(t, id, { values: ["0a", "0b"], baseSequence: 0 }));
  assert.equal(oldest, { ok: true, baseOffset: -1, duplicate: true }, "the 6th-oldest batch fell out of the window");
  assert.is(broker.partitionState("t", 0).logEndOffset, 12, "nothing appended twice");

  // A "retry" inside the window whose boundaries match no batch is not a retry: out of order.
  assert.instance(failed(await produce(t, id, { values: ["x"], baseSequence: 5 })), OutOfOrderSequenceError);
  assert.is(broker.partitionState("t", 0).logEndOffset, 12);
  await t.close();
});

test("a gap in sequences is OUT_OF_ORDER_SEQUENCE (retriable) and appends nothing", async () => {
  const { broker, t } = setup();
  const id = await initProducerId(t);
  ok(await produce(t, id, { values: ["a", "b"], baseSequence: 0 }));
  const gap = failed(await produce(t, id, { values: ["d"], baseSequence: 3 }));
  assert.instance(gap, OutOfOrderSequenceError);
  assert.is(gap.code, "OUT_OF_ORDER_SEQUENCE");
  assert.ok(gap.retriable, "retriable: the missing batch may still land first");
  assert.ok(gap.message.includes("expected 2"), gap.message);
  assert.ok(gap.message.includes("t[0]"), `names the partition: ${gap.message}`);
  assert.equal(logValues(broker), ["a", "b"]);

  // Once the missing batch lands, the refused one goes through.
  ok(await produce(t, id, { values: ["c"], baseSequence: 2 }));
  assert.is(ok(await produce(t, id, { values: ["d"], baseSequence: 3 })).baseOffset, 3);
  assert.equal(logValues(broker), ["a", "b", "c", "d"]);
  await t.close();
});

test("an older epoch is INVALID_PRODUCER_EPOCH; a new epoch restarts sequences at 0", async () => {
  const { broker, t } = setup();
  const old = await initProducerId(t);
  ok(await produce(t, old, { values: ["a", "b", "c"], baseSequence: 0 }));
  const bumped = await initProducerId(t, old);
  assert.is(bumped.epoch, old.epoch + 1);

  // The new epoch must start at 0; continuing the old numbering is out of order.
  const continued = failed(await produce(t, bumped, { values: ["d"], baseSequence: 3 }));
  assert.instance(continued, OutOfOrderSequenceError);
  assert.ok(continued.message.includes("sequence 0"), continued.message);
  assert.is(ok(await produce(t, bumped, { values: ["d"], baseSequence: 0 })).baseOffset, 3);
  assert.is(ok(await produce(t, bumped, { values: ["e"], baseSequence: 1 })).baseOffset, 4);

  // The old epoch is refused from now on, even for what would have been its next batch or a retry.
  for (const baseSequence of [3, 0]) {
    const stale = failed(await produce(t, old, { values: ["zombie"], baseSequence }));
    assert.instance(stale, InvalidProducerEpochError);
    assert.is(stale.code, "INVALID_PRODUCER_EPOCH");
    assert.not.ok(stale.retriable);
  }
  // Retries of the new epoch's batches are duplicates, not confused with the old epoch's.
  assert.equal(ok(await produce(t, bumped, { values: ["d"], baseSequence: 0 })), {
    ok: true,
    baseOffset: 3,
    duplicate: true,
  });
  assert.equal(logValues(broker), ["a", "b", "c", "d", "e"]);
  await t.close();
});

test("a producer the partition has no state for must start at sequence 0, else UNKNOWN_PRODUCER_ID", async () => {
  const { broker, t } = setup();
  const id = await initProducerId(t);
  const unknown = failed(await produce(t, id, { values: ["x"], baseSequence: 4 }));
  assert.instance(unknown, UnknownProducerIdError);
  assert.is(unknown.code, "UNKNOWN_PRODUCER_ID");
  assert.is(broker.partitionState("t", 0).logEndOffset, 0);
  assert.is(ok(await produce(t, id, { values: ["x"], baseSequence: 0 })).baseOffset, 0);
  await t.close();
});

test("each partition has its own sequences for the same producer", async () => {
  const { broker, t } = setup({ partitions: 2 });
  const id = await initProducerId(t);
  ok(await produce(t, id, { partition: 0, values: ["a", "b", "c"], baseSequence: 0 }));
  // Partition 1 has seen nothing from this producer: it starts at 0, not at 3.
  assert.instance(
    failed(await produce(t, id, { partition: 1, values: ["x"], baseSequence: 3 })),
    UnknownProducerIdError,
  );
  assert.is(ok(await produce(t, id, { partition: 1, values: ["x"], baseSequence: 0 })).baseOffset, 0);
  assert.is(ok(await produce(t, id, { partition: 0, values: ["d"], baseSequence: 3 })).baseOffset, 3);
  assert.is(ok(await produce(t, id, { partition: 1, values: ["y"], baseSequence: 1 })).baseOffset, 1);
  // A sequence valid in one partition is a duplicate or a gap in the other.
  assert.equal(ok(await produce(t, id, { partition: 1, values: ["x"], baseSequence: 0 })), {
    ok: true,
    baseOffset: 0,
    duplicate: true,
  });
  assert.instance(
    failed(await produce(t, id, { partition: 1, values: ["z"], baseSequence: 4 })),
    OutOfOrderSequenceError,
  );

  // An epoch bump seen by one partition does not touch the other's state.
  const bumped = await initProducerId(t, id);
  ok(await produce(t, bumped, { partition: 1, values: ["z"], baseSequence: 0 }));
  assert.is(ok(await produce(t, id, { partition: 0, values: ["e"], baseSequence: 4 })).baseOffset, 4);
  assert.equal(logValues(broker, 0), ["a", "b", "c", "d", "e"]);
  assert.equal(logValues(broker, 1), ["x", "y", "z"]);
  await t.close();
});

test("two producers keep separate sequences in one partition, interleaved with plain writes", async () => {
  const { broker, t } = setup();
  const a = await initProducerId(t);
  const b = await initProducerId(t);
  ok(await produce(t, a, { values: ["a0"], baseSequence: 0 }));
  ok(await produce(t, b, { values: ["b0", "b1"], baseSequence: 0 }));
  const plain = await t.request(
    {
      api: "produce",
      topic: "t",
      partition: 0,
      isolation: "read-uncommitted",
      timeoutMs: 1000,
      keys: [null],
      values: [enc("p")],
    },
    { timeoutMs: 1000 },
  );
  assert.is(ok(plain).baseOffset, 3);
  ok(await produce(t, a, { values: ["a1"], baseSequence: 1 }));
  assert.equal(ok(await produce(t, b, { values: ["b0", "b1"], baseSequence: 0 })), {
    ok: true,
    baseOffset: 1,
    duplicate: true,
  });
  ok(await produce(t, b, { values: ["b2"], baseSequence: 2 }));
  assert.equal(logValues(broker), ["a0", "b0", "b1", "p", "a1", "b2"]);
  await t.close();
});

test("a duplicate under read-committed is answered only once the original is replicated", async () => {
  const { clock, broker, t } = setup({ replicationFactor: 2, replicaLagMs: 50 });
  const id = await initProducerId(t);
  // The original is acknowledged at once (read-uncommitted); its replication takes 50 ms.
  assert.equal(ok(await produce(t, id, { values: ["a", "b"], baseSequence: 0 })), { ok: true, baseOffset: 0 });
  assert.is(broker.partitionState("t", 0).highWatermark, 0);

  // Its read-committed retry must not confirm a write the replicas do not hold yet.
  let answeredAt = -1;
  const retry = produce(t, id, { values: ["a", "b"], baseSequence: 0, isolation: "read-committed" }).then((answer) => {
    answeredAt = clock.now();
    return answer;
  });
  await sleep(clock, 49);
  assert.is(answeredAt, -1, "answered before the original was replicated");
  assert.equal(ok(await retry), { ok: true, baseOffset: 0, duplicate: true });
  assert.is(answeredAt, 50);
  assert.is(broker.partitionState("t", 0).logEndOffset, 2, "the retry appended nothing");

  // Once replicated, a further retry is answered at once.
  assert.equal(ok(await produce(t, id, { values: ["a", "b"], baseSequence: 0, isolation: "read-committed" })), {
    ok: true,
    baseOffset: 0,
    duplicate: true,
  });
  assert.is(clock.now(), 50);
  await t.close();
});

test("malformed idempotent produces are refused with REQUEST_INVALID; plain produces are unchanged", async () => {
  const { broker, t } = setup();
  const id = await initProducerId(t);
  const base = { api: "produce", topic: "t", partition: 0, isolation: "read-uncommitted", timeoutMs: 1000 } as const;
  const halfFilled = failed(
    await t.request({ ...base, keys: [null], values: [enc("x")], producerId: id.producerId, epoch: 0 }, {
      timeoutMs: 1000,
    }),
  );
  assert.is(halfFilled.code, "REQUEST_INVALID");
  assert.ok(halfFilled.message.includes("baseSequence"), halfFilled.message);
  const empty = failed(
    await t.request({ ...base, keys: [], values: [], producerId: id.producerId, epoch: 0, baseSequence: 0 }, {
      timeoutMs: 1000,
    }),
  );
  assert.is(empty.code, "REQUEST_INVALID");
  const negative = failed(
    await t.request({
      ...base,
      keys: [null],
      values: [enc("x")],
      producerId: id.producerId,
      epoch: 0,
      baseSequence: -1,
    }, { timeoutMs: 1000 }),
  );
  assert.is(negative.code, "REQUEST_INVALID");
  assert.is(broker.partitionState("t", 0).logEndOffset, 0);
  // Topic-level checks still come first.
  const unknown = failed(await produce(t, id, { values: ["x"], baseSequence: 0 }, "nope"));
  assert.is(unknown.code, "TOPIC_UNKNOWN");
  await t.close();
});

// ---- property ------------------------------------------------------------------------

/**
 * A producer with up to 5 batches in flight, whose requests are retried, duplicated and
 * reordered, and whose acks are lost. The script picks which in-flight batch is (re)sent
 * next and whether its answer is lost; the producer only learns a batch is done from an
 * answer it receives. Afterwards it drains what is left in order, as a producer's retries do.
 * Every answer is checked against a model of the log.
 */
test("property: any interleaving of retries within 5 in flight puts each batch in the log exactly once, in order", async () => {
  const sizes = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 14 });
  // A pick of -1 sends the next batch not yet appended (a pipelining producer), which reaches
  // the edge of the window far more often than uniform picks; 0-4 (re)send any in-flight batch.
  const pick = fc.oneof({ arbitrary: fc.constant(-1), weight: 2 }, {
    arbitrary: fc.integer({ min: 0, max: 4 }),
    weight: 3,
  });
  const script = fc.array(fc.record({ pick, lostAck: fc.boolean() }), { maxLength: 60 });
  await fc.assert(
    fc.asyncProperty(sizes, script, async (batchSizes, steps) => {
      const { broker, t } = setup();
      const id = await initProducerId(t);
      const batches: { values: string[]; baseSequence: number; offset: number }[] = [];
      let sequence = 0;
      for (const [b, size] of batchSizes.entries()) {
        // In one partition, a batch's offset is its base sequence: nothing else writes there.
        batches.push({
          values: Array.from({ length: size }, (_, i) => `${b}.${i}`),
          baseSequence: sequence,
          offset: sequence,
        });
        sequence += size;
      }
      let appended = 0; // the model: how many batches the log holds
      const acked = new Set<number>(); // batches whose answer reached the producer
      const frontier = (): number => {
        let f = 0;
        while (acked.has(f)) f++;
        return f;
      };
      const send = async (b: number, lostAck: boolean): Promise<void> => {
        const batch = batches[b]!;
        const answer = await produce(t, id, batch);
        if (b > appended) {
          // It overtook a batch not yet appended: refused, and retriable in the producer's eyes.
          const expected = appended === 0 ? "UNKNOWN_PRODUCER_ID" : "OUT_OF_ORDER_SEQUENCE";
          assert.is(answer.ok ? "ok" : answer.error.code, expected, `batch ${b} sent with ${appended} appended`);
          return;
        }
        // Appended now, or a duplicate of the original: within 5 in flight it is always in
        // the window, so its original offset is known.
        assert.equal(
          ok(answer),
          b === appended
            ? { ok: true, baseOffset: batch.offset }
            : { ok: true, baseOffset: batch.offset, duplicate: true },
        );
        if (b === appended) appended++;
        if (!lostAck) acked.add(b);
      };
      for (const { pick, lostAck } of steps) {
        const b = pick >= 0 ? frontier() + pick : appended;
        if (b < batches.length && b < frontier() + 5) await send(b, lostAck);
      }
      for (let b = frontier(); b < batches.length; b = frontier()) await send(b, false);

      assert.is(appended, batches.length);
      assert.equal(
        logValues(broker),
        batches.flatMap((batch) => batch.values),
        "each batch exactly once, in sequence order",
      );
      await t.close();
    }),
    { numRuns: 200 },
  );
});

test.run();
