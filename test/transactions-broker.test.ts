import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { type BrokerOptions, EmbeddedBroker, type TopicConfig } from "../src/broker/broker.ts";
import {
  type AcktorError,
  ConfigError,
  errorFromWire,
  InvalidProducerIdMappingError,
  InvalidTxnStateError,
  ProducerFencedError,
  TransactionTimedOutError,
  type WireError,
} from "../src/errors.ts";
import { sleep } from "../src/runtime/clock.ts";
import { VirtualClock } from "../src/runtime/virtual-clock.ts";
import type {
  Ack,
  FetchResponse,
  Isolation,
  ProduceResponse,
  TransactionalIdentity,
} from "../src/transport/protocol.ts";
import type { Transport } from "../src/transport/transport.ts";

// ---- helpers -------------------------------------------------------------------------

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const enc = (s: string): Uint8Array => encoder.encode(s);
const OPTS = { timeoutMs: 300_000 };

function setup(topic: TopicConfig = {}, options: Omit<BrokerOptions, "clock"> = {}) {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock, ...options });
  broker.createTopic("t", topic);
  return { clock, broker, t: broker.transport() };
}

/** A transactional producer as the broker sees it: its identity, and its next sequence per partition. */
interface Txn extends TransactionalIdentity {
  readonly seq: Map<number, number>;
}

async function init(
  t: Transport,
  transactionalId: string,
  extra: { transactionTimeoutMs?: number; producerId?: number; epoch?: number } = {},
): Promise<Txn> {
  const answer = await t.request({ api: "initProducerId", transactionalId, ...extra }, OPTS);
  if (!answer.ok) throw new Error(`initProducerId failed: ${JSON.stringify(answer.error)}`);
  return { transactionalId, producerId: answer.producerId, epoch: answer.epoch, seq: new Map() };
}

const identity = (p: Txn): TransactionalIdentity => ({
  transactionalId: p.transactionalId,
  producerId: p.producerId,
  epoch: p.epoch,
});

function addPartitions(t: Transport, p: Txn, partitions: number[], topic = "t"): Promise<Ack> {
  return t.request({
    api: "addPartitionsToTxn",
    ...identity(p),
    partitions: partitions.map((partition) => ({ topic, partition })),
  }, OPTS);
}

/** A transactional write; the sequence advances only when the broker appended it. */
async function write(t: Transport, p: Txn, values: string[], partition = 0): Promise<ProduceResponse> {
  const baseSequence = p.seq.get(partition) ?? 0;
  const answer = await t.request(
    {
      api: "produce",
      topic: "t",
      partition,
      isolation: "read-uncommitted",
      timeoutMs: 30_000,
      keys: values.map(() => null),
      values: values.map(enc),
      ...identity(p),
      baseSequence,
    },
    OPTS,
  );
  if (answer.ok && !answer.duplicate) p.seq.set(partition, baseSequence + values.length);
  return answer;
}

function plainWrite(t: Transport, values: string[], partition = 0): Promise<ProduceResponse> {
  return t.request(
    {
      api: "produce",
      topic: "t",
      partition,
      isolation: "read-uncommitted",
      timeoutMs: 30_000,
      keys: values.map(() => null),
      values: values.map(enc),
    },
    OPTS,
  );
}

function endTxn(t: Transport, p: Txn, commit: boolean): Promise<Ack> {
  return t.request({ api: "endTxn", ...identity(p), commit }, OPTS);
}

function commitOffsets(
  t: Transport,
  p: Txn,
  groupId: string,
  offsets: { partition: number; offset: number }[],
): Promise<Ack> {
  return t.request({
    api: "txnOffsetCommit",
    ...identity(p),
    groupId,
    offsets: offsets.map((o) => ({ topic: "t", ...o })),
  }, OPTS);
}

async function offsetFetch(t: Transport, groupId: string, partition = 0): Promise<number | null> {
  const answer = await t.request({ api: "offsetFetch", groupId, topic: "t", partition }, OPTS);
  if (!answer.ok) throw new Error(`offsetFetch failed: ${JSON.stringify(answer.error)}`);
  return answer.offset;
}

interface Fetched {
  values: string[];
  offsets: number[];
  nextOffset: number;
  lastStableOffset: number;
  highWatermark: number;
  logEndOffset: number;
}

async function fetch(
  t: Transport,
  isolation: Isolation,
  offset = 0,
  maxRecords = 1000,
  partition = 0,
): Promise<Fetched> {
  const answer: FetchResponse = await t.request(
    { api: "fetch", topic: "t", partition, offset, maxRecords, isolation },
    OPTS,
  );
  if (!answer.ok) throw new Error(`fetch failed: ${JSON.stringify(answer.error)}`);
  const { nextOffset, lastStableOffset, highWatermark, logEndOffset } = answer;
  return {
    values: answer.records.map((r) => decoder.decode(r.value)),
    offsets: answer.records.map((r) => r.offset),
    nextOffset,
    lastStableOffset,
    highWatermark,
    logEndOffset,
  };
}

/** Reads everything a consumer would, `maxRecords` at a time, following nextOffset; fails if it stops advancing. */
async function drain(
  t: Transport,
  isolation: Isolation,
  maxRecords = 1,
  partition = 0,
): Promise<{ values: string[]; offsets: number[]; end: number }> {
  const values: string[] = [];
  const offsets: number[] = [];
  let offset = 0;
  for (let rounds = 0;; rounds++) {
    assert.ok(rounds < 10_000, "the reader loops");
    const page = await fetch(t, isolation, offset, maxRecords, partition);
    values.push(...page.values);
    offsets.push(...page.offsets);
    if (page.nextOffset === offset) return { values, offsets, end: offset };
    assert.ok(page.nextOffset > offset, `nextOffset went back from ${offset} to ${page.nextOffset}`);
    offset = page.nextOffset;
  }
}

function ok<T extends { ok: boolean }>(answer: T): Extract<T, { ok: true }> {
  if (!answer.ok) assert.unreachable(`expected ok, got ${JSON.stringify((answer as { error?: unknown }).error)}`);
  return answer as Extract<T, { ok: true }>;
}

/** The typed error of a failed answer, rebuilt as a client would; fails the test otherwise. */
function failed(answer: { ok: boolean; error?: WireError }): AcktorError {
  if (answer.ok) assert.unreachable(`expected an ok:false answer, got ${JSON.stringify(answer)}`);
  return errorFromWire(answer.error!);
}

// ---- visibility ----------------------------------------------------------------------

test("an open transaction holds read-committed readers at the LSO; read-uncommitted readers see its records", async () => {
  const { broker, t } = setup();
  ok(await plainWrite(t, ["p0"]));
  const p = await init(t, "tx");
  ok(await addPartitions(t, p, [0]));
  assert.is(ok(await write(t, p, ["t0", "t1"])).baseOffset, 1);
  ok(await plainWrite(t, ["p1"]));
  assert.is(broker.partition("t", 0).lastStableOffset, 1);

  const committed = await fetch(t, "read-committed");
  assert.equal(committed.values, ["p0"], "nothing from the open transaction's first offset on");
  assert.is(committed.nextOffset, 1);
  assert.is(committed.lastStableOffset, 1);
  assert.is(committed.highWatermark, 4);
  const beyond = await fetch(t, "read-committed", 1);
  assert.equal(beyond.values, [], "p1 is after the LSO too, though it is not transactional");
  assert.is(beyond.nextOffset, 1, "a reader at the LSO waits there");
  assert.equal((await fetch(t, "read-uncommitted")).values, ["p0", "t0", "t1", "p1"]);
  assert.equal(broker.read("t", 0).map((r) => decoder.decode(r.value)), ["p0"], "broker.read agrees");

  ok(await endTxn(t, p, true));
  const after = await fetch(t, "read-committed");
  assert.equal(after.values, ["p0", "t0", "t1", "p1"]);
  assert.equal(after.offsets, [0, 1, 2, 3]);
  assert.is(after.nextOffset, 5, "past the commit marker at offset 4");
  assert.is(after.lastStableOffset, 5);
  assert.is(after.logEndOffset, 5, "the marker took an offset");
  assert.equal((await fetch(t, "read-uncommitted")).values, ["p0", "t0", "t1", "p1"], "markers are never returned");
  assert.equal(broker.transaction("tx"), {
    producerId: p.producerId,
    epoch: 0,
    state: "complete-commit",
    partitions: 0,
    pendingOffsets: 0,
  });
  await t.close();
});

test("an aborted transaction is never visible to read-committed readers, but is to read-uncommitted ones", async () => {
  const { t } = setup();
  const p = await init(t, "tx");
  ok(await addPartitions(t, p, [0]));
  ok(await write(t, p, ["x0", "x1"]));
  ok(await plainWrite(t, ["p0"]));
  ok(await write(t, p, ["x2"]));
  ok(await endTxn(t, p, false));
  ok(await plainWrite(t, ["p1"]));

  const committed = await fetch(t, "read-committed");
  assert.equal(committed.values, ["p0", "p1"]);
  assert.equal(committed.offsets, [2, 5], "offset 4 is the abort marker");
  assert.is(committed.nextOffset, 6);
  const uncommitted = await fetch(t, "read-uncommitted");
  assert.equal(uncommitted.values, ["x0", "x1", "p0", "x2", "p1"]);
  assert.equal(uncommitted.offsets, [0, 1, 2, 3, 5]);

  // One record at a time, from every offset, a reader gets the same and never loops.
  assert.equal(await drain(t, "read-committed"), { values: ["p0", "p1"], offsets: [2, 5], end: 6 });
  assert.equal((await drain(t, "read-uncommitted", 2)).values, ["x0", "x1", "p0", "x2", "p1"]);
  for (const offset of [0, 1, 3, 4]) {
    const page = await fetch(t, "read-committed", offset, 1);
    assert.equal(page.values, [offset < 3 ? "p0" : "p1"], `from ${offset}`);
  }
  // A reader positioned on the marker itself moves past it.
  const onMarker = await fetch(t, "read-uncommitted", 4, 1);
  assert.equal(onMarker.values, ["p1"]);
  assert.is(onMarker.nextOffset, 6);
  await t.close();
});

test("markers leave offset gaps that readers skip, even when a read finds only markers", async () => {
  const { t } = setup();
  const p = await init(t, "tx");
  for (let i = 0; i < 3; i++) {
    ok(await addPartitions(t, p, [0]));
    ok(await write(t, p, [`c${i}`]));
    ok(await endTxn(t, p, true));
  }
  // c0 m c1 m c2 m
  assert.equal(await drain(t, "read-committed"), { values: ["c0", "c1", "c2"], offsets: [0, 2, 4], end: 6 });
  const tail = await fetch(t, "read-committed", 5);
  assert.equal(tail.values, []);
  assert.is(tail.nextOffset, 6, "a read that meets only a marker still advances");
  const none = await fetch(t, "read-committed", 1, 0);
  assert.is(none.nextOffset, 1, "maxRecords 0 moves nowhere");

  // An aborted transaction in the middle: a read-committed page of one record jumps over it.
  ok(await addPartitions(t, p, [0]));
  ok(await write(t, p, ["a0", "a1", "a2"]));
  ok(await endTxn(t, p, false));
  ok(await plainWrite(t, ["after"]));
  const page = await fetch(t, "read-committed", 6, 1);
  assert.equal(page.values, ["after"]);
  assert.equal(page.offsets, [10]);
  assert.is(page.nextOffset, 11);
  await t.close();
});

test("interleaved transactions and plain writes: committed and plain records in offset order, aborted ones skipped", async () => {
  const { broker, t } = setup();
  const a = await init(t, "a");
  const b = await init(t, "b");
  ok(await addPartitions(t, a, [0]));
  ok(await addPartitions(t, b, [0]));
  ok(await write(t, a, ["a0"])); // 0
  ok(await plainWrite(t, ["p0"])); // 1
  ok(await write(t, b, ["b0"])); // 2
  ok(await write(t, a, ["a1"])); // 3
  ok(await write(t, b, ["b1"])); // 4
  assert.is(broker.partition("t", 0).lastStableOffset, 0);
  ok(await endTxn(t, b, false)); // marker 5
  assert.is(broker.partition("t", 0).lastStableOffset, 0, "a is still open");
  assert.equal((await fetch(t, "read-committed")).values, []);
  ok(await plainWrite(t, ["p1"])); // 6
  ok(await endTxn(t, a, true)); // marker 7
  assert.is(broker.partition("t", 0).lastStableOffset, 8);

  const committed = await fetch(t, "read-committed");
  assert.equal(committed.values, ["a0", "p0", "a1", "p1"]);
  assert.equal(committed.offsets, [0, 1, 3, 6]);
  assert.equal((await fetch(t, "read-uncommitted")).values, ["a0", "p0", "b0", "a1", "b1", "p1"]);
  assert.equal((await drain(t, "read-committed", 1)).values, ["a0", "p0", "a1", "p1"]);
  await t.close();
});

test("a transaction stays unstable until its marker is replicated", async () => {
  const { clock, broker, t } = setup({ replicationFactor: 2, replicaLagMs: 50 });
  const partition = broker.partition("t", 0);
  const p = await init(t, "tx");
  ok(await addPartitions(t, p, [0]));
  ok(await write(t, p, ["x", "y"]));
  await sleep(clock, 50);
  assert.is(partition.highWatermark, 2);
  assert.is(partition.lastStableOffset, 0, "open");

  ok(await endTxn(t, p, true));
  assert.is(partition.lastStableOffset, 0, "committed, but the marker is only on the leader");
  assert.equal((await fetch(t, "read-committed")).values, []);
  await sleep(clock, 50);
  assert.is(partition.highWatermark, 3);
  assert.is(partition.lastStableOffset, 3);
  assert.equal((await fetch(t, "read-committed")).values, ["x", "y"]);
  await t.close();
});

// ---- KIP-890 and misuse --------------------------------------------------------------

test("KIP-890: a transactional write to a partition not added to the open transaction is INVALID_TXN_STATE", async () => {
  const { broker, t } = setup({ partitions: 2 });
  const p = await init(t, "tx");
  const outside = failed(await write(t, p, ["early"]));
  assert.instance(outside, InvalidTxnStateError);
  assert.ok(outside.message.includes("t[0]"), outside.message);

  ok(await addPartitions(t, p, [0]));
  const other = failed(await write(t, p, ["stray"], 1));
  assert.instance(other, InvalidTxnStateError);
  assert.ok(other.message.includes("t[1]"), other.message);
  ok(await write(t, p, ["in"]));
  ok(await endTxn(t, p, true));

  // After the transaction ended, its partitions are no longer open for writes.
  assert.instance(failed(await write(t, p, ["late"])), InvalidTxnStateError);
  assert.is(broker.partitionState("t", 0).logEndOffset, 2);
  assert.is(broker.partitionState("t", 1).logEndOffset, 0);
  await t.close();
});

test("a non-transactional write from a producer whose transaction is open in the partition is refused", async () => {
  const { t } = setup();
  const p = await init(t, "tx");
  ok(await addPartitions(t, p, [0]));
  ok(await write(t, p, ["t0"]));
  const { transactionalId: _, ...withoutTxn } = identity(p);
  const answer = await t.request(
    {
      api: "produce",
      topic: "t",
      partition: 0,
      isolation: "read-uncommitted",
      timeoutMs: 1000,
      keys: [null],
      values: [enc("x")],
      ...withoutTxn,
      baseSequence: 1,
    },
    OPTS,
  );
  assert.instance(failed(answer), InvalidTxnStateError);
  const noProducerId = await t.request(
    {
      api: "produce",
      topic: "t",
      partition: 0,
      isolation: "read-uncommitted",
      timeoutMs: 1000,
      keys: [null],
      values: [enc("x")],
      transactionalId: "tx",
    },
    OPTS,
  );
  assert.is(failed(noProducerId).code, "REQUEST_INVALID");
  await t.close();
});

// ---- fencing and timeouts ------------------------------------------------------------

test("a second initProducerId for the id aborts the open transaction and fences the old epoch everywhere", async () => {
  const { broker, t } = setup({ partitions: 2 });
  const old = await init(t, "tx");
  ok(await addPartitions(t, old, [0, 1]));
  ok(await write(t, old, ["z0"], 0));
  ok(await write(t, old, ["z1"], 1));
  ok(await commitOffsets(t, old, "g", [{ partition: 0, offset: 7 }]));

  const fresh = await init(t, "tx");
  assert.is(fresh.producerId, old.producerId);
  assert.is(fresh.epoch, old.epoch + 1);
  assert.equal(broker.transaction("tx"), {
    producerId: old.producerId,
    epoch: 1,
    state: "empty",
    partitions: 0,
    pendingOffsets: 0,
  });

  for (
    const answer of [
      await write(t, old, ["z2"], 0),
      await addPartitions(t, old, [0]),
      await commitOffsets(t, old, "g", [{ partition: 0, offset: 8 }]),
      await endTxn(t, old, true),
      await endTxn(t, old, false),
    ]
  ) {
    const error = failed(answer);
    assert.instance(error, ProducerFencedError);
    assert.is(error.code, "PRODUCER_FENCED");
    assert.not.ok(error.retriable);
  }

  // Nothing the zombie wrote or committed ever becomes visible.
  for (const partition of [0, 1]) {
    assert.equal((await fetch(t, "read-committed", 0, 100, partition)).values, [], `partition ${partition}`);
    assert.is(broker.partition("t", partition).lastStableOffset, 2, "the abort marker closed it");
  }
  assert.is(await offsetFetch(t, "g"), null);

  // The new holder starts over at sequence 0 and commits normally.
  ok(await addPartitions(t, fresh, [0]));
  assert.is(ok(await write(t, fresh, ["f0"])).baseOffset, 2);
  ok(await endTxn(t, fresh, true));
  assert.equal((await fetch(t, "read-committed")).values, ["f0"]);
  assert.equal((await fetch(t, "read-uncommitted")).values, ["z0", "f0"]);
  await t.close();
});

test("a transaction past its timeout is aborted and its epoch bumped; its requests get TRANSACTION_TIMED_OUT", async () => {
  const { clock, broker, t } = setup();
  const p = await init(t, "tx", { transactionTimeoutMs: 1000 });
  ok(await addPartitions(t, p, [0]));
  ok(await write(t, p, ["slow"]));
  ok(await commitOffsets(t, p, "g", [{ partition: 0, offset: 1 }]));
  await sleep(clock, 999);
  assert.is(broker.transaction("tx")!.state, "ongoing");
  assert.is(broker.partition("t", 0).lastStableOffset, 0);
  await sleep(clock, 1);
  assert.equal(broker.transaction("tx"), {
    producerId: p.producerId,
    epoch: 1,
    state: "complete-abort",
    partitions: 0,
    pendingOffsets: 0,
  });
  assert.is(broker.partition("t", 0).lastStableOffset, 2, "the abort marker released the readers");
  assert.equal((await fetch(t, "read-committed")).values, []);
  assert.is(await offsetFetch(t, "g"), null);

  for (
    const answer of [
      await write(t, p, ["late"]),
      await addPartitions(t, p, [0]),
      await commitOffsets(t, p, "g", []),
      await endTxn(t, p, true),
    ]
  ) {
    const error = failed(answer);
    assert.instance(error, TransactionTimedOutError);
    assert.is(error.code, "TRANSACTION_TIMED_OUT");
  }
  assert.is(broker.partitionState("t", 0).logEndOffset, 2, "the zombie's late write did not land");

  // The timed-out producer recovers with its own id and epoch, and gets the epoch the
  // coordinator moved to (a retry of that request gets it again).
  const recovered = await init(t, "tx", { producerId: p.producerId, epoch: p.epoch });
  assert.is(recovered.epoch, 1);
  assert.is((await init(t, "tx", { producerId: p.producerId, epoch: p.epoch })).epoch, 1);
  ok(await addPartitions(t, recovered, [0]));
  ok(await write(t, recovered, ["again"]));
  ok(await endTxn(t, recovered, true));
  assert.equal((await fetch(t, "read-committed")).values, ["again"]);

  // Once another instance takes the id over, the old epoch is simply fenced.
  await init(t, "tx");
  assert.instance(failed(await endTxn(t, p, false)), ProducerFencedError);
  await t.close();
});

test("the transaction timeout counts from the transaction's start, and a finished transaction holds no timer", async () => {
  const { clock, broker, t } = setup();
  const p = await init(t, "tx", { transactionTimeoutMs: 500 });
  await sleep(clock, 10_000);
  assert.is(broker.transaction("tx")!.state, "empty", "no transaction, no timeout");

  // Started at 10 000; later writes and additions do not extend it.
  ok(await addPartitions(t, p, [0]));
  await sleep(clock, 400);
  ok(await write(t, p, ["w"]));
  ok(await addPartitions(t, p, [0]));
  await sleep(clock, 99);
  assert.is(broker.transaction("tx")!.state, "ongoing");
  await sleep(clock, 1);
  assert.is(broker.transaction("tx")!.state, "complete-abort");
  assert.is(clock.now(), 10_500);

  const next = await init(t, "tx", { producerId: p.producerId, epoch: p.epoch });
  ok(await addPartitions(t, next, [0]));
  ok(await endTxn(t, next, true));
  const pending = clock.pending;
  await sleep(clock, 10_000);
  assert.is(clock.pending, pending);
  assert.equal(broker.transaction("tx"), {
    producerId: p.producerId,
    epoch: 1,
    state: "complete-commit",
    partitions: 0,
    pendingOffsets: 0,
  });
  await t.close();
});

test("transaction timeouts: 60 s by default, at most transactionTimeoutMaxMs (900 s by default)", async () => {
  const { clock, broker, t } = setup();
  const p = await init(t, "tx");
  ok(await addPartitions(t, p, [0]));
  await sleep(clock, 59_999);
  assert.is(broker.transaction("tx")!.state, "ongoing");
  await sleep(clock, 1);
  assert.is(broker.transaction("tx")!.state, "complete-abort");

  assert.is((await init(t, "long", { transactionTimeoutMs: 900_000 })).epoch, 0);
  const tooLong = failed(
    await t.request({ api: "initProducerId", transactionalId: "longer", transactionTimeoutMs: 900_001 }, OPTS),
  );
  assert.is(tooLong.code, "CONFIG_INVALID");
  assert.ok(tooLong.message.includes("transactionTimeoutMs"), tooLong.message);
  const rebuilt = errorFromWire(tooLong);
  assert.instance(rebuilt, ConfigError, "a config error crosses the wire as one");
  assert.is((rebuilt as ConfigError).field, "transactionTimeoutMs");
  for (const transactionTimeoutMaxMs of [0, 1.5, -1]) {
    assert.throws(
      () => new EmbeddedBroker({ transactionTimeoutMaxMs }),
      (error: Error) => (error as { field?: string }).field === "broker.transactionTimeoutMaxMs",
    );
  }
  await t.close();
});

// ---- offsets -------------------------------------------------------------------------

test("group offsets commit with the transaction and are dropped when it aborts", async () => {
  const { broker, t } = setup({ partitions: 2 });
  const p = await init(t, "tx");
  assert.is(await offsetFetch(t, "g"), null);

  // An offsets-only transaction is a transaction too.
  ok(await commitOffsets(t, p, "g", [{ partition: 0, offset: 5 }, { partition: 1, offset: 9 }]));
  assert.is(broker.transaction("tx")!.state, "ongoing");
  assert.is(await offsetFetch(t, "g"), null, "pending until the commit");
  ok(await endTxn(t, p, true));
  assert.is(await offsetFetch(t, "g", 0), 5);
  assert.is(await offsetFetch(t, "g", 1), 9);
  assert.is(await offsetFetch(t, "other", 0), null, "per group");

  ok(await addPartitions(t, p, [0]));
  ok(await write(t, p, ["out"]));
  ok(
    await t.request({
      api: "txnOffsetCommit",
      ...identity(p),
      groupId: "g",
      generation: 3,
      offsets: [{ topic: "t", partition: 0, offset: 6 }],
    }, OPTS),
  );
  ok(await endTxn(t, p, false));
  assert.is(await offsetFetch(t, "g", 0), 5, "the aborted transaction's offsets were dropped");
  assert.is(broker.committedOffset("g", "t", 0), 5);

  // The last commit for a partition within one transaction wins.
  ok(await commitOffsets(t, p, "g", [{ partition: 0, offset: 7 }]));
  ok(await commitOffsets(t, p, "g", [{ partition: 0, offset: 8 }]));
  ok(await endTxn(t, p, true));
  assert.is(await offsetFetch(t, "g", 0), 8);
  await t.close();
});

// ---- ending a transaction ------------------------------------------------------------

test("endTxn retried after completion succeeds with the same decision and fails with the opposite one", async () => {
  const { broker, t } = setup();
  const p = await init(t, "tx");
  ok(await addPartitions(t, p, [0]));
  ok(await write(t, p, ["c"]));
  ok(await endTxn(t, p, true));
  ok(await endTxn(t, p, true));
  const opposite = failed(await endTxn(t, p, false));
  assert.instance(opposite, InvalidTxnStateError);
  assert.ok(opposite.message.includes("commit"), opposite.message);
  assert.is(broker.partitionState("t", 0).logEndOffset, 2, "one marker, not two");

  ok(await addPartitions(t, p, [0]));
  ok(await endTxn(t, p, false));
  ok(await endTxn(t, p, false));
  assert.instance(failed(await endTxn(t, p, true)), InvalidTxnStateError);
  assert.equal((await fetch(t, "read-committed")).values, ["c"]);
  await t.close();
});

test("bad requests are answered with typed errors", async () => {
  const { broker, t } = setup({}, { transactionTimeoutMaxMs: 10_000 });
  const p = await init(t, "tx");

  const nothingOpen = failed(await endTxn(t, p, true));
  assert.instance(nothingOpen, InvalidTxnStateError);
  assert.ok(nothingOpen.message.includes("no open transaction"), nothingOpen.message);

  const unknown = failed(await addPartitions(t, { ...p, transactionalId: "nobody" }, [0]));
  assert.instance(unknown, InvalidProducerIdMappingError);
  assert.ok(unknown.message.includes("nobody"), unknown.message);
  assert.instance(
    failed(await addPartitions(t, { ...p, producerId: p.producerId + 100 }, [0])),
    InvalidProducerIdMappingError,
  );
  assert.is(failed(await addPartitions(t, { ...p, epoch: p.epoch + 1 }, [0])).code, "INVALID_PRODUCER_EPOCH");

  const tooLong = failed(
    await t.request({ api: "initProducerId", transactionalId: "slow", transactionTimeoutMs: 10_001 }, OPTS),
  );
  assert.is(tooLong.code, "CONFIG_INVALID");
  assert.ok(tooLong.message.includes("transactionTimeoutMs"), tooLong.message);
  const rebuilt = errorFromWire(tooLong);
  assert.instance(rebuilt, ConfigError, "a config error crosses the wire as one");
  assert.is((rebuilt as ConfigError).field, "transactionTimeoutMs");
  assert.ok(tooLong.message.includes("10000"), tooLong.message);
  assert.is(broker.transaction("slow"), undefined, "nothing was created");
  assert.is((await init(t, "slow", { transactionTimeoutMs: 10_000 })).epoch, 0);

  // Every partition is checked before any is added: no transaction starts.
  const missing = failed(await addPartitions(t, p, [0, 3]));
  assert.is(missing.code, "PARTITION_UNKNOWN");
  assert.is(failed(await addPartitions(t, p, [0], "nope")).code, "TOPIC_UNKNOWN");
  assert.is(broker.transaction("tx")!.state, "empty");
  assert.is(failed(await commitOffsets(t, p, "g", [{ partition: 5, offset: 1 }])).code, "PARTITION_UNKNOWN");
  assert.is(failed(await commitOffsets(t, p, "", [{ partition: 0, offset: 1 }])).code, "REQUEST_INVALID");
  assert.is(failed(await commitOffsets(t, p, "g", [{ partition: 0, offset: -1 }])).code, "REQUEST_INVALID");
  assert.is(
    failed(await t.request({ api: "offsetFetch", groupId: "g", topic: "t", partition: 9 }, OPTS)).code,
    "PARTITION_UNKNOWN",
  );
  assert.is(broker.transaction("tx")!.state, "empty");

  // A fresh id given someone else's producer id is a mapping error; an old epoch is fenced.
  const other = await init(t, "other");
  assert.instance(
    failed(
      await t.request({ api: "initProducerId", transactionalId: "tx", producerId: other.producerId, epoch: 0 }, OPTS),
    ),
    InvalidProducerIdMappingError,
  );
  assert.instance(
    failed(await t.request({ api: "initProducerId", producerId: other.producerId, epoch: 0 }, OPTS)),
    InvalidProducerIdMappingError,
  );
  await init(t, "tx");
  assert.instance(
    failed(await t.request({ api: "initProducerId", transactionalId: "tx", producerId: p.producerId, epoch: 0 }, OPTS)),
    ProducerFencedError,
  );
  await t.close();
});

test("initProducerId with the holder's own id and epoch aborts its transaction and bumps; a retry of it gets the same epoch", async () => {
  const { broker, t } = setup();
  const p = await init(t, "tx");
  ok(await addPartitions(t, p, [0]));
  ok(await write(t, p, ["abandoned"]));
  const bumped = await init(t, "tx", { producerId: p.producerId, epoch: p.epoch });
  assert.is(bumped.epoch, 1);
  assert.is(
    (await init(t, "tx", { producerId: p.producerId, epoch: p.epoch })).epoch,
    1,
    "a retry whose answer was lost",
  );
  assert.is(broker.partition("t", 0).lastStableOffset, 2);
  assert.equal((await fetch(t, "read-committed")).values, []);
  assert.instance(failed(await write(t, p, ["zombie"])), ProducerFencedError);
  await t.close();
});

// ---- property ------------------------------------------------------------------------

type Step = { kind: "plain" } | { kind: "txn"; producer: number; records: number } | {
  kind: "end";
  producer: number;
  commit: boolean;
};

test("property: read-committed readers see exactly the plain and committed records, in offset order, whatever the interleaving", async () => {
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.constant<Step>({ kind: "plain" }),
    fc.record({
      kind: fc.constant("txn" as const),
      producer: fc.integer({ min: 0, max: 2 }),
      records: fc.integer({ min: 1, max: 3 }),
    }),
    fc.record({ kind: fc.constant("end" as const), producer: fc.integer({ min: 0, max: 2 }), commit: fc.boolean() }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 40 }), fc.integer({ min: 1, max: 5 }), async (steps, pageSize) => {
      const { t } = setup();
      const producers = await Promise.all([0, 1, 2].map((i) => init(t, `p${i}`)));
      const open = producers.map(() => false);
      /** Each producer's last decision: a retry of it succeeds, the opposite fails. */
      const last = producers.map((): boolean | null => null);
      const everything: string[] = [];
      // Records become visible in offset order, whatever the order of decisions: keep (offset, value).
      const committed: [number, string][] = [];
      const pendingOffsets = producers.map((): [number, string][] => []);
      let n = 0;
      for (const s of steps) {
        if (s.kind === "plain") {
          const value = `plain${n++}`;
          committed.push([ok(await plainWrite(t, [value])).baseOffset, value]);
          everything.push(value);
        } else if (s.kind === "txn") {
          const p = producers[s.producer]!;
          if (!open[s.producer]) {
            ok(await addPartitions(t, p, [0]));
            open[s.producer] = true;
          }
          const values = Array.from({ length: s.records }, () => `p${s.producer}.${n++}`);
          const base = ok(await write(t, p, values)).baseOffset;
          values.forEach((value, i) => pendingOffsets[s.producer]!.push([base + i, value]));
          everything.push(...values);
        } else {
          const answer = await endTxn(t, producers[s.producer]!, s.commit);
          if (!open[s.producer]) {
            if (last[s.producer] === s.commit) ok(answer);
            else assert.instance(failed(answer), InvalidTxnStateError);
            continue;
          }
          ok(answer);
          if (s.commit) committed.push(...pendingOffsets[s.producer]!);
          pendingOffsets[s.producer] = [];
          open[s.producer] = false;
          last[s.producer] = s.commit;
        }
      }
      // Close what is still open, so that the LSO reaches the log end.
      for (const [i, p] of producers.entries()) if (open[i]) ok(await endTxn(t, p, false));
      committed.sort((a, b) => a[0] - b[0]);

      const read = await drain(t, "read-committed", pageSize);
      assert.equal(read.values, committed.map(([, value]) => value));
      assert.equal(read.offsets, committed.map(([offset]) => offset));
      assert.equal((await drain(t, "read-uncommitted", pageSize)).values, everything);
      await t.close();
    }),
    { numRuns: 150 },
  );
});

test.run();
