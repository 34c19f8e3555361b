import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { EmbeddedBroker } from "../src/broker/broker.ts";
import {
  type AcktorError,
  ConfigError,
  errorFromWire,
  InvalidProducerIdMappingError,
  UnknownProducerIdError,
} from "../src/errors.ts";
import { exactlyOnce } from "../src/producer/config.ts";
import { sleep } from "../src/runtime/clock.ts";
import { VirtualClock } from "../src/runtime/virtual-clock.ts";
import type { Request } from "../src/transport/protocol.ts";
import { call, produceRequest } from "./helpers/broker-requests.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function refused(broker: EmbeddedBroker, request: Request): Promise<AcktorError> {
  const answer = (await broker.handle(request)) as unknown as Record<string, unknown>;
  if (answer.ok) assert.unreachable(`expected a refusal of ${request.api}`);
  return errorFromWire(answer.error as never);
}

function produce(
  identity: { producerId: number; epoch: number; transactionalId?: string },
  baseSequence: number,
  values: string[],
  topic = "t",
): Request {
  return produceRequest(topic, values.map(enc), { ...identity, baseSequence });
}

async function idempotent(broker: EmbeddedBroker): Promise<{ producerId: number; epoch: number }> {
  const init = await call(broker, { api: "initProducerId" });
  return { producerId: init.producerId as number, epoch: init.epoch as number };
}

test("expiry settings are validated and named", () => {
  for (const field of ["producerIdExpirationMs", "transactionalIdExpirationMs"]) {
    for (const bad of [0, -1, 1.5, "1"]) {
      try {
        new EmbeddedBroker({ [field]: bad });
        assert.unreachable(`${field} ${String(bad)} accepted`);
      } catch (error) {
        assert.instance(error, ConfigError);
        assert.is((error as ConfigError).field, `broker.${field}`);
      }
    }
  }
});

test("an idle idempotent producer's state expires; it comes back under a new epoch without duplicates", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock, producerIdExpirationMs: 1000 });
  broker.createTopic("t");
  const id = await idempotent(broker);
  await call(broker, produce(id, 0, ["a", "b"]));
  assert.is(broker.partition("t", 0).stats.producers, 1);
  await sleep(clock, 999);
  broker.cleanup();
  assert.is(broker.partition("t", 0).stats.producers, 1, "not idle long enough");
  await sleep(clock, 1);
  broker.cleanup();
  assert.is(broker.partition("t", 0).stats.producers, 0);
  assert.is(broker.stats().idempotentProducerIds, 0);
  // A retry of the first batch can no longer be recognised; the next batch finds no state.
  const error = await refused(broker, produce(id, 2, ["c"]));
  assert.instance(error, UnknownProducerIdError);
  // The producer's way back: a new epoch for the same id, sequences from 0.
  const bumped = await call(broker, { api: "initProducerId", ...id });
  assert.is(bumped.producerId, id.producerId);
  assert.is(bumped.epoch, id.epoch + 1);
  await call(broker, produce({ producerId: id.producerId, epoch: bumped.epoch as number }, 0, ["c"]));
  assert.equal(broker.read("t", 0, { isolation: "read-uncommitted" }).map((r) => dec(r.value)), ["a", "b", "c"]);
  // An id never handed out is still unknown.
  assert.instance(
    await refused(broker, { api: "initProducerId", producerId: 999, epoch: 0 }),
    UnknownProducerIdError,
  );
});

test("an active producer never expires", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock, producerIdExpirationMs: 1000 });
  broker.createTopic("t");
  const id = await idempotent(broker);
  for (let i = 0; i < 20; i++) {
    await call(broker, produce(id, i, [`r${i}`]));
    await sleep(clock, 600);
    broker.cleanup();
    assert.is(broker.partition("t", 0).stats.producers, 1, `round ${i}`);
    assert.is(broker.stats().idempotentProducerIds, 1);
  }
  // A retry of the last batch is still recognised as a duplicate.
  const again = await call(broker, produce(id, 19, ["r19"]));
  assert.is(again.duplicate, true);
  assert.is(broker.partition("t", 0).log.endOffset, 20);
});

test("a producer with a transaction open keeps its state however idle", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({
    clock,
    producerIdExpirationMs: 1000,
    transactionalIdExpirationMs: 1000,
    transactionTimeoutMaxMs: 900_000,
  });
  broker.createTopic("t");
  const init = await call(broker, { api: "initProducerId", transactionalId: "tx", transactionTimeoutMs: 900_000 });
  const identity = { transactionalId: "tx", producerId: init.producerId as number, epoch: init.epoch as number };
  await call(broker, { api: "addPartitionsToTxn", ...identity, partitions: [{ topic: "t", partition: 0 }] });
  await call(broker, produce(identity, 0, ["a"]));
  await sleep(clock, 60_000);
  broker.cleanup();
  assert.is(broker.partition("t", 0).stats.producers, 1);
  assert.is(broker.transaction("tx")?.state, "ongoing", "an open transaction is never expired");
  await call(broker, produce(identity, 1, ["b"]));
  await call(broker, { api: "endTxn", ...identity, commit: true });
  assert.equal(broker.read("t", 0).map((r) => dec(r.value)), ["a", "b"]);
});

test("an unused transactional id expires and is new to its next init", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock, transactionalIdExpirationMs: 2000 });
  broker.createTopic("t");
  const init = await call(broker, { api: "initProducerId", transactionalId: "tx" });
  const identity = { transactionalId: "tx", producerId: init.producerId as number, epoch: init.epoch as number };
  await call(broker, { api: "addPartitionsToTxn", ...identity, partitions: [{ topic: "t", partition: 0 }] });
  await call(broker, produce(identity, 0, ["a"]));
  await call(broker, { api: "endTxn", ...identity, commit: true });
  await sleep(clock, 1999);
  broker.cleanup();
  assert.ok(broker.transaction("tx"), "used 1999 ms ago");
  await sleep(clock, 1);
  broker.cleanup();
  assert.is(broker.transaction("tx"), undefined);
  assert.is(broker.stats().transactionalIds, 0);
  // The old holder is refused: the id is no longer its.
  assert.instance(
    await refused(broker, { api: "addPartitionsToTxn", ...identity, partitions: [{ topic: "t", partition: 0 }] }),
    InvalidProducerIdMappingError,
  );
  const again = await call(broker, { api: "initProducerId", transactionalId: "tx" });
  assert.is.not(again.producerId, identity.producerId, "a new producer id");
  assert.is(again.epoch, 0);
});

test("expiry runs on its own, on requests, at most every check interval", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock, producerIdExpirationMs: 1000, transactionalIdExpirationMs: 1000 });
  broker.createTopic("t");
  const id = await idempotent(broker);
  await call(broker, produce(id, 0, ["a"]));
  await call(broker, { api: "initProducerId", transactionalId: "idle" });
  await sleep(clock, 2500);
  await call(broker, { api: "metadata", topic: "t" });
  const stats = broker.stats();
  assert.is(stats.producers, 0);
  assert.is(stats.transactionalIds, 0);
  assert.is(clock.pending, 0, "expiry holds no timer");
});

test("an idempotent producer idle past expiry sends on without loss or duplicates", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock, producerIdExpirationMs: 1000 });
  broker.createTopic("t");
  const producer = broker.producer("t", { deliverySemantic: exactlyOnce() });
  for (let i = 0; i < 5; i++) await producer.send(null, `a${i}`);
  await producer.flush();
  await sleep(clock, 5000);
  broker.cleanup();
  assert.is(broker.partition("t", 0).stats.producers, 0, "expired");
  for (let i = 0; i < 5; i++) await producer.send(null, `b${i}`);
  await producer.flush();
  await producer.close();
  assert.equal(
    broker.read("t", 0, { isolation: "read-uncommitted" }).map((r) => dec(r.value)),
    ["a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2", "b3", "b4"],
  );
});

test("a transactional producer's state lasts as long as its transactional id", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock, producerIdExpirationMs: 1000, transactionalIdExpirationMs: 10_000 });
  broker.createTopic("t");
  const producer = broker.producer("t", { deliverySemantic: exactlyOnce({ transactionalId: "x" }) });
  await producer.transaction(async (tx) => {
    await tx.send(null, "a");
    await tx.send(null, "b");
  });
  await sleep(clock, 5000);
  broker.cleanup();
  assert.is(broker.partition("t", 0).stats.producers, 1, "idle past producerIdExpirationMs, but its id lives");
  await producer.transaction(async (tx) => {
    await tx.send(null, "c");
  });
  assert.equal(broker.read("t", 0).map((r) => dec(r.value)), ["a", "b", "c"]);
  await producer.close();
  await sleep(clock, 10_000);
  broker.cleanup();
  assert.is(broker.transaction("x"), undefined);
  assert.is(broker.partition("t", 0).stats.producers, 0, "gone with its transactional id");
});

test("memory stays bounded: many rounds of producers, transactions and aborts under retention and expiry", async () => {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock, producerIdExpirationMs: 10_000, transactionalIdExpirationMs: 10_000 });
  broker.createTopic("t", { retentionBytes: 2000, retentionMs: 60_000 });
  let peak = { chunks: 0, producers: 0, dedupBatches: 0, aborted: 0, transactionalIds: 0, idempotentProducerIds: 0 };
  for (let round = 0; round < 300; round++) {
    // A fresh idempotent producer every round, writing a few batches.
    const id = await idempotent(broker);
    for (let b = 0; b < 3; b++) await call(broker, produce(id, b * 4, ["0123456789", "x", "y", "z"]));
    // A fresh transactional id every round, aborting half its transactions.
    const transactionalId = `tx-${round}`;
    const init = await call(broker, { api: "initProducerId", transactionalId });
    const identity = { transactionalId, producerId: init.producerId as number, epoch: init.epoch as number };
    for (let t = 0; t < 2; t++) {
      await call(broker, { api: "addPartitionsToTxn", ...identity, partitions: [{ topic: "t", partition: 0 }] });
      await call(broker, produce(identity, t * 2, ["aaaaaaaaaa", "bbbbbbbbbb"]));
      await call(broker, { api: "endTxn", ...identity, commit: t === 0 });
    }
    await sleep(clock, 1000);
    const s = broker.stats();
    peak = {
      chunks: Math.max(peak.chunks, s.chunks),
      producers: Math.max(peak.producers, s.producers),
      dedupBatches: Math.max(peak.dedupBatches, s.dedupBatches),
      aborted: Math.max(peak.aborted, s.aborted),
      transactionalIds: Math.max(peak.transactionalIds, s.transactionalIds),
      idempotentProducerIds: Math.max(peak.idempotentProducerIds, s.idempotentProducerIds),
    };
  }
  // 300 producers and 300 transactional ids went through; only the last ~10 s of them stay
  // (plus one check interval of slack), and the log only what 2000 bytes hold.
  const s = broker.stats();
  assert.ok(s.bytes <= 2000, `bytes ${s.bytes}`);
  // Markers hold no bytes, but each follows a data batch of its transaction.
  assert.ok(peak.chunks <= 2 * (2000 / 13 + 8), `chunks ${peak.chunks}`);
  assert.ok(peak.producers <= 2 * 21, `producers ${peak.producers}`);
  assert.ok(peak.dedupBatches <= 5 * 2 * 21, `dedup batches ${peak.dedupBatches}`);
  assert.ok(peak.aborted <= 2000 / 20 + 1, `aborted ${peak.aborted}`);
  assert.ok(peak.transactionalIds <= 21, `transactional ids ${peak.transactionalIds}`);
  assert.ok(peak.idempotentProducerIds <= 21, `idempotent ids ${peak.idempotentProducerIds}`);
  console.log(`  [bounds] after 300 rounds: peak ${JSON.stringify(peak)}`);
});

test.run();
