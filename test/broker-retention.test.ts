import { test, until } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { EmbeddedBroker } from "../src/broker/broker.ts";
import type { Partition } from "../src/broker/partition.ts";
import { ConfigError, errorFromWire, OffsetOutOfRangeError } from "../src/errors.ts";
import { atLeastOnce } from "../src/producer/config.ts";
import type { ConsumedRecord } from "../src/consumer/record.ts";
import type { ConsumerOutcome } from "../src/consumer/outcome.ts";
import { sleep } from "../src/runtime/clock.ts";
import { VirtualClock } from "../src/runtime/virtual-clock.ts";
import type { FetchResponse, Isolation } from "../src/transport/protocol.ts";
import { call, produceRequest } from "./helpers/broker-requests.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** `n` records of exactly 10 value bytes each, numbered from `from`. */
function tenByteValues(n: number, from: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => enc(`v${String(from + i).padStart(9, "0")}`));
}

async function plain(broker: EmbeddedBroker, topic: string, n: number, from: number): Promise<number> {
  const answer = await call(broker, produceRequest(topic, tenByteValues(n, from)));
  return answer.baseOffset as number;
}

function fetch(broker: EmbeddedBroker, topic: string, offset: number, isolation: Isolation = "read-committed") {
  return broker.handle({ api: "fetch", topic, partition: 0, offset, maxRecords: 1000, isolation }) as Promise<
    FetchResponse
  >;
}

/** A transactional writer driven by raw requests. */
async function txnWriter(broker: EmbeddedBroker, transactionalId: string, topic: string) {
  const init = await call(broker, { api: "initProducerId", transactionalId, transactionTimeoutMs: 900_000 });
  const identity = { transactionalId, producerId: init.producerId as number, epoch: init.epoch as number };
  let sequence = 0;
  return {
    identity,
    async begin(): Promise<void> {
      await call(broker, { api: "addPartitionsToTxn", ...identity, partitions: [{ topic, partition: 0 }] });
    },
    async write(n: number, from: number): Promise<number> {
      const answer = await call(
        broker,
        produceRequest(topic, tenByteValues(n, from), { ...identity, baseSequence: sequence }),
      );
      sequence += n;
      return answer.baseOffset as number;
    },
    async end(commit: boolean): Promise<void> {
      await call(broker, { api: "endTxn", ...identity, commit });
    },
  };
}

test("retention settings are validated and named", () => {
  const broker = new EmbeddedBroker({ clock: new VirtualClock() });
  for (
    const [config, field] of [
      [{ retentionBytes: -2 }, "topic.retentionBytes"],
      [{ retentionBytes: 1.5 }, "topic.retentionBytes"],
      [{ retentionBytes: "1" }, "topic.retentionBytes"],
      [{ retentionMs: -5 }, "topic.retentionMs"],
      [{ retentionMs: Number.NaN }, "topic.retentionMs"],
    ] as const
  ) {
    try {
      broker.createTopic("bad", config as never);
      assert.unreachable(`${JSON.stringify(config)} accepted`);
    } catch (error) {
      assert.instance(error, ConfigError);
      assert.is((error as ConfigError).field, field);
    }
  }
  broker.createTopic("ok", { retentionBytes: -1, retentionMs: -1 });
  broker.createTopic("zero", { retentionBytes: 0, retentionMs: 0 });
});

test("retention by bytes deletes whole batches from the front and moves the log start", async () => {
  const broker = new EmbeddedBroker({ clock: new VirtualClock() });
  broker.createTopic("t", { retentionBytes: 250 });
  for (let b = 0; b < 10; b++) await plain(broker, "t", 10, b * 10);
  const state = broker.partitionState("t", 0);
  assert.is(state.logStartOffset, 80, "two batches of 100 bytes fit in 250");
  assert.is(state.logEndOffset, 100);
  assert.is(broker.partition("t", 0).stats.bytes, 200);
  assert.is(broker.partition("t", 0).stats.chunks, 2);

  const behind = await fetch(broker, "t", 0);
  assert.not.ok(behind.ok);
  const error = errorFromWire((behind as unknown as { error: never }).error);
  assert.instance(error, OffsetOutOfRangeError);
  assert.is((error as OffsetOutOfRangeError).topic, "t");
  assert.is((error as OffsetOutOfRangeError).partition, 0);
  assert.throws(() => broker.read("t", 0, { offset: 79 }), (e: unknown) => e instanceof OffsetOutOfRangeError);

  const from = await fetch(broker, "t", 80);
  assert.ok(from.ok);
  assert.equal((from as { records: { offset: number }[] }).records.map((r) => r.offset)[0], 80);
  assert.is(broker.read("t", 0, { offset: 80 }).length, 20);
  // A fetch of no records is a position probe: never out of range, and it names the log start.
  const probe = await broker.handle({
    api: "fetch",
    topic: "t",
    partition: 0,
    offset: 0,
    maxRecords: 0,
    isolation: "read-committed",
  });
  assert.ok(probe.ok);
  assert.is((probe as { nextOffset: number }).nextOffset, 80);
});

test("retention by time deletes batches appended longer ago than retentionMs", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t", { retentionMs: 1000 });
  await plain(broker, "t", 10, 0);
  await sleep(clock, 600);
  await plain(broker, "t", 10, 10);
  await sleep(clock, 600);
  assert.is(broker.partitionState("t", 0).logStartOffset, 0, "nothing runs retention on an idle partition");
  broker.cleanup();
  assert.is(broker.partitionState("t", 0).logStartOffset, 10, "the batch appended at 0 is past 1000 ms");
  await sleep(clock, 500);
  // A fetch applies retention too.
  const answer = await fetch(broker, "t", 10);
  assert.not.ok(answer.ok, "the batch appended at 600 went at 1700");
  assert.is(broker.partitionState("t", 0).logStartOffset, 20);
  assert.is(broker.partition("t", 0).stats.chunks, 0);
});

test("the default retention is Kafka's 7 days, and -1 keeps everything", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("week");
  broker.createTopic("forever", { retentionMs: -1 });
  await plain(broker, "week", 1, 0);
  await plain(broker, "forever", 1, 0);
  await sleep(clock, 604_800_000);
  broker.cleanup();
  assert.is(broker.partitionState("week", 0).logStartOffset, 0, "exactly 7 days old is kept");
  await sleep(clock, 1);
  broker.cleanup();
  assert.is(broker.partitionState("week", 0).logStartOffset, 1);
  assert.is(broker.partitionState("forever", 0).logStartOffset, 0);
});

test("nothing at or after the last stable offset is deleted: an open transaction holds retention back", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock, transactionTimeoutMaxMs: 900_000 });
  broker.createTopic("t", { retentionBytes: 0, retentionMs: 0 });
  const txn = await txnWriter(broker, "slow", "t");
  await txn.begin();
  const txnBase = await txn.write(5, 0);
  assert.is(txnBase, 0);
  for (let b = 0; b < 5; b++) await plain(broker, "t", 10, 100 + b * 10);
  await sleep(clock, 10_000);
  broker.cleanup();
  const p = broker.partition("t", 0);
  assert.is(p.lastStableOffset, 0);
  assert.is(p.state.logStartOffset, 0, "the open transaction at offset 0 pins the whole log");
  assert.is(broker.read("t", 0, { isolation: "read-uncommitted" }).length, 55);
  await txn.end(true);
  broker.cleanup();
  assert.is(p.state.logStartOffset, 55, "once decided and replicated, the data may go");
  await sleep(clock, 1);
  broker.cleanup();
  assert.is(p.state.logStartOffset, p.log.endOffset, "and then the marker, past retentionMs 0");
  assert.is(p.stats.chunks, 0);
});

test("nothing above the high watermark is deleted", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("r", { replicationFactor: 2, replicaLagMs: 100, retentionBytes: 0 });
  await plain(broker, "r", 10, 0);
  const p = broker.partition("r", 0);
  assert.is(p.highWatermark, 0);
  broker.cleanup();
  assert.is(p.state.logStartOffset, 0, "not replicated yet");
  await sleep(clock, 150);
  assert.is(p.highWatermark, 10);
  broker.cleanup();
  assert.is(p.state.logStartOffset, 10);
});

test("the aborted-transaction index is cleaned below the log start", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t", { retentionBytes: 1000 });
  const txn = await txnWriter(broker, "tx", "t");
  let n = 0;
  for (let i = 0; i < 40; i++) {
    await txn.begin();
    await txn.write(2, n);
    n += 2;
    await txn.end(i % 2 === 1);
  }
  const p = broker.partition("t", 0);
  assert.is(p.stats.aborted, 20);
  for (let b = 0; b < 10; b++) await plain(broker, "t", 10, 1000 + b * 10);
  const start = p.state.logStartOffset;
  assert.ok(start > 0);
  assert.is(p.stats.aborted, 0, "every aborted transaction ended below the log start");
  // Newer aborts stay, and read-committed readers still skip them.
  await txn.begin();
  await txn.write(2, 5000);
  await txn.end(false);
  assert.is(p.stats.aborted, 1);
  for (const t of p.abortedTransactions()) assert.ok(t.lastOffset >= p.state.logStartOffset);
  const visible = broker.read("t", 0, { offset: p.state.logStartOffset }).map((r) => dec(r.value));
  assert.not.ok(visible.some((v) => v.startsWith("v00000500")), "aborted records stay hidden");
});

test("a consumer behind the log start resets to it (earliest) and reports it", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("in", { retentionBytes: 300 });
  const producer = broker.producer("in", { deliverySemantic: atLeastOnce() });
  for (let i = 0; i < 50; i++) {
    await producer.send(null, `r${String(i).padStart(8, "0")}`);
    // Batches of 10 records, 90 bytes each: 300 bytes keep three of them.
    if (i % 10 === 9) await producer.flush();
  }
  await producer.close();
  const start = broker.partitionState("in", 0).logStartOffset;
  assert.is(start, 20, "retention deleted the front");
  const c = broker.consumer("in", { groupId: "g", pollIntervalMs: 10, autoOffsetReset: "earliest" });
  const outcomes: ConsumerOutcome[] = [];
  const sub = c.outcomes$.subscribe((o) => outcomes.push(o));
  const seen: number[] = [];
  const stop = new AbortController();
  const running = c.run((r: ConsumedRecord) => void seen.push(r.offset), { signal: stop.signal });
  await until(clock, () => seen.length >= 50 - start, "the consumer to read what retention kept");
  stop.abort();
  await running.catch(() => undefined);
  sub.unsubscribe();
  assert.equal(seen, Array.from({ length: 50 - start }, (_, i) => start + i));
  assert.is(c.offsetResets, 1);
  const reset = outcomes.find((o) => o.type === "offset-reset");
  assert.equal(reset, { type: "offset-reset", partition: 0, from: 0, to: start });
  await c.close();
});

test("a consumer whose committed offset was deleted resets to the end (latest)", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("in", { retentionBytes: 300 });
  const producer = broker.producer("in", { deliverySemantic: atLeastOnce() });
  const send = async (from: number, n: number) => {
    for (let i = from; i < from + n; i++) {
      await producer.send(null, `r${String(i).padStart(8, "0")}`);
      if (i % 5 === 4) await producer.flush();
    }
    await producer.flush();
  };
  await send(0, 5);
  const first = broker.consumer("in", { groupId: "g", pollIntervalMs: 10, autoOffsetReset: "earliest" });
  const seen: number[] = [];
  let stop = new AbortController();
  let running = first.run((r: ConsumedRecord) => void seen.push(r.offset), { signal: stop.signal });
  await until(clock, () => broker.committedOffset("g", "in", 0) === 5, "the first member to commit 5");
  stop.abort();
  await running.catch(() => undefined);
  await first.close();
  await send(5, 100);
  const start = broker.partitionState("in", 0).logStartOffset;
  assert.ok(start > 5, "the committed offset was deleted");
  const second = broker.consumer("in", { groupId: "g", pollIntervalMs: 10, autoOffsetReset: "latest" });
  const later: number[] = [];
  stop = new AbortController();
  running = second.run((r: ConsumedRecord) => void later.push(r.offset), { signal: stop.signal });
  await until(clock, () => second.offsetResets === 1, "the reset");
  await send(105, 3);
  await until(clock, () => later.length >= 3, "the new records");
  stop.abort();
  await running.catch(() => undefined);
  assert.equal(later, [105, 106, 107], "latest skips to the end: only records sent after the reset");
  await second.close();
  await producer.close();
});

// ---- the aborted-transaction index at scale ----------------------------------------

interface TruthBatch {
  readonly producerId: number;
  readonly base: number;
  readonly count: number;
  aborted: boolean;
}

test("read-committed over 50,000 aborted transactions equals a naive filter", { deadlineMs: 120_000 }, () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("big", { retentionMs: -1 });
  const p: Partition = broker.partition("big", 0);
  const producers = 8;
  const aborts = 50_000;
  const truth: TruthBatch[] = [];
  const open = new Map<number, TruthBatch[]>();
  const sequence = new Array<number>(producers).fill(0);
  let aborted = 0;
  let step = 0;
  const one = [enc("x")];
  const nulls = [null];
  // Interleaves producers so transactions overlap; plain batches land in between.
  while (aborted < aborts) {
    const pid = step % producers;
    step++;
    const batches = open.get(pid) ?? [];
    if (batches.length >= 2 || (batches.length > 0 && step % 3 === 0)) {
      const abort = step % 5 !== 0;
      p.writeMarker(pid, 0, abort ? "abort" : "commit");
      for (const b of batches) b.aborted = abort;
      if (abort) aborted++;
      open.delete(pid);
      continue;
    }
    const base = p.appendSequenced({ keys: nulls, values: one }, pid, 0, sequence[pid]!, true);
    sequence[pid]! += 1;
    const batch = { producerId: pid, base, count: 1, aborted: false };
    truth.push(batch);
    open.set(pid, [...batches, batch]);
    if (step % 7 === 0) {
      truth.push({ producerId: -1, base: p.append({ keys: nulls, values: one }), count: 1, aborted: false });
    }
  }
  for (const pid of [...open.keys()]) {
    p.writeMarker(pid, 0, "commit");
    open.delete(pid);
  }
  assert.is(p.stats.aborted, aborts);
  const expected = truth.filter((b) => !b.aborted).map((b) => b.base);

  let t0 = performance.now();
  const all: number[] = [];
  for (let offset = 0;;) {
    const { records, nextOffset } = p.fetch(offset, 10_000, "read-committed");
    for (const r of records) all.push(r.offset);
    if (nextOffset >= p.lastStableOffset) break;
    offset = nextOffset;
  }
  const indexedMs = performance.now() - t0;
  assert.is(all.length, expected.length);
  assert.equal(all, expected, "the indexed read equals the ground truth");

  // The naive filter, as the broker did before the index: every transactional batch scans
  // the aborted transactions that end at or after the read's start.
  const list = p.abortedTransactions();
  const naiveWindow = (from: number, max: number): number[] => {
    const out: number[] = [];
    const candidates = list.filter((t) => t.lastOffset >= from);
    for (const b of truth) {
      if (b.base < from) continue;
      if (out.length >= max) break;
      const hit = b.producerId >= 0 &&
        candidates.some((t) => t.producerId === b.producerId && t.firstOffset <= b.base && b.base <= t.lastOffset);
      if (!hit) out.push(b.base);
    }
    return out;
  };
  const windows = [0, 1234, 77_777, Math.floor(p.log.endOffset / 2), p.log.endOffset - 500];
  let naiveMs = 0;
  let windowMs = 0;
  for (const from of windows) {
    t0 = performance.now();
    const naive = naiveWindow(from, 500);
    naiveMs += performance.now() - t0;
    t0 = performance.now();
    const got = p.fetch(from, 500, "read-committed").records.map((r) => r.offset);
    windowMs += performance.now() - t0;
    assert.equal(got, naive, `window from ${from}`);
  }
  console.log(
    `  [bench] ${aborts} aborted txns, ${p.log.endOffset} offsets: full read-committed scan ${
      indexedMs.toFixed(1)
    } ms; 5 windows of 500 records: indexed ${windowMs.toFixed(2)} ms, naive linear ${naiveMs.toFixed(1)} ms`,
  );
});

test.run();
