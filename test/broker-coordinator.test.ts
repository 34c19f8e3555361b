/**
 * The transaction coordinator through raw requests: producer ids and epochs, instances,
 * fencing and its messages, what an open transaction holds, timeouts, and expiry.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { type BrokerOptions, EmbeddedBroker } from "../src/broker/broker.ts";
import {
  AcktorError,
  ConfigError,
  errorFromWire,
  IllegalGenerationError,
  InvalidProducerEpochError,
  InvalidProducerIdMappingError,
  InvalidTxnStateError,
  ProducerFencedError,
  TransactionTimedOutError,
  UnknownProducerIdError,
} from "../src/errors.ts";
import { sleep } from "../src/runtime/clock.ts";
import { VirtualClock } from "../src/runtime/virtual-clock.ts";
import type { Request, TransactionalIdentity } from "../src/transport/protocol.ts";
import { call, produceRequest } from "./helpers/broker-requests.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function setup(options: Omit<BrokerOptions, "clock"> = {}): { clock: VirtualClock; broker: EmbeddedBroker } {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock, ...options });
  broker.createTopic("t", { partitions: 2 });
  return { clock, broker };
}

async function refused<E extends AcktorError>(
  broker: EmbeddedBroker,
  request: Request,
  type: abstract new (...args: never[]) => E,
  message?: string,
): Promise<E> {
  const answer = (await broker.handle(request)) as unknown as Record<string, unknown>;
  if (answer.ok) assert.unreachable(`expected a refusal of ${request.api}`);
  const error = errorFromWire(answer.error as never);
  assert.instance(error, type);
  if (message !== undefined) assert.is(error.message, message);
  return error as E;
}

async function init(
  broker: EmbeddedBroker,
  transactionalId: string,
  extra: { instanceId?: string; producerId?: number; epoch?: number; transactionTimeoutMs?: number } = {},
): Promise<TransactionalIdentity> {
  const answer = await call(broker, { api: "initProducerId", transactionalId, ...extra });
  return { transactionalId, producerId: answer.producerId as number, epoch: answer.epoch as number };
}

const add = (id: TransactionalIdentity, partitions: number[]): Request => ({
  api: "addPartitionsToTxn",
  ...id,
  partitions: partitions.map((partition) => ({ topic: "t", partition })),
});
const end = (id: TransactionalIdentity, commit: boolean): Request => ({ api: "endTxn", ...id, commit });
const offsets = (id: TransactionalIdentity, groupId: string, generation?: number): Request => ({
  api: "txnOffsetCommit",
  ...id,
  groupId,
  offsets: [{ topic: "t", partition: 0, offset: 5 }, { topic: "t", partition: 1, offset: 7 }],
  ...(generation === undefined ? {} : { generation }),
});
const write = (id: TransactionalIdentity, baseSequence: number, partition = 0): Request => ({
  ...produceRequest("t", [enc("x")], { ...id, baseSequence }),
  partition,
} as Request);

test("a transactional id's own instance keeps its epoch on a repeated init; another instance, or none, bumps it", async () => {
  const { broker } = setup();
  const idempotent = await call(broker, { api: "initProducerId" });
  assert.equal([idempotent.producerId, idempotent.epoch], [0, 0]);
  const first = await init(broker, "a", { instanceId: "i1" });
  assert.equal([first.producerId, first.epoch], [1, 0]);
  assert.is((await init(broker, "a", { instanceId: "i1" })).epoch, 0);
  assert.is((await init(broker, "a", { instanceId: "i2" })).epoch, 1);
  assert.is((await init(broker, "a", { instanceId: "i2" })).epoch, 1);
  assert.is((await init(broker, "a")).epoch, 2);
  assert.is((await init(broker, "a")).epoch, 3, "without an instance id every init fences the last");
  assert.is((await init(broker, "b")).producerId, 2);
  assert.equal(broker.transaction("a"), { producerId: 1, epoch: 3, state: "empty", partitions: 0, pendingOffsets: 0 });
  assert.is(broker.transaction("c"), undefined);
});

test("an open transaction holds its partitions and offsets; a new instance aborts it with markers everywhere", async () => {
  const { broker } = setup();
  const a = await init(broker, "a", { instanceId: "i1" });
  await call(broker, add(a, [0]));
  await call(broker, add(a, [0, 1]));
  await call(broker, offsets(a, "g"));
  await call(broker, write(a, 0));
  assert.equal(broker.transaction("a"), {
    producerId: 0,
    epoch: 0,
    state: "ongoing",
    partitions: 2,
    pendingOffsets: 2,
  });
  assert.is((await init(broker, "a", { instanceId: "i2" })).epoch, 1);
  assert.equal(broker.transaction("a"), { producerId: 0, epoch: 1, state: "empty", partitions: 0, pendingOffsets: 0 });
  assert.equal(broker.partition("t", 0).abortedTransactions(), [{ producerId: 0, firstOffset: 0, lastOffset: 1 }]);
  assert.is(broker.partition("t", 1).log.endOffset, 1, "a marker also in the partition it never wrote to");
  assert.is(broker.committedOffset("g", "t", 0), null);
  await refused(
    broker,
    write(a, 1),
    ProducerFencedError,
    'transactional id "a": epoch 0 is fenced by a newer producer at epoch 1',
  );
});

test("a commit applies the transaction's offsets and ends it; endTxn answers a retry and refuses the opposite", async () => {
  const { broker } = setup();
  const a = await init(broker, "a");
  await refused(broker, end(a, true), InvalidTxnStateError, 'transactional id "a" has no open transaction to commit');
  await call(broker, offsets(a, "g", -1));
  assert.is(broker.transaction("a")!.state, "ongoing", "offsets alone start a transaction");
  await call(broker, end(a, true));
  assert.equal([broker.committedOffset("g", "t", 0), broker.committedOffset("g", "t", 1)], [5, 7]);
  assert.is(broker.transaction("a")!.state, "complete-commit");
  await call(broker, end(a, true));
  await refused(
    broker,
    end(a, false),
    InvalidTxnStateError,
    'transactional id "a": the last transaction already ended with commit, it cannot abort',
  );
  await call(broker, add(a, [1]));
  await call(broker, end(a, false));
  assert.is(broker.transaction("a")!.state, "complete-abort");
  await refused(
    broker,
    end(a, true),
    InvalidTxnStateError,
    'transactional id "a": the last transaction already ended with abort, it cannot commit',
  );
  // Empty lists change nothing, and start no transaction.
  await call(broker, add(a, []));
  await call(broker, { api: "txnOffsetCommit", ...a, groupId: "g", offsets: [] });
  assert.is(broker.transaction("a")!.state, "complete-abort");
  assert.is(broker.committedOffset("g", "t", 0), 5, "the aborted transaction had no offsets to drop");
});

test("a write to a partition not in the open transaction, or after it ended, is refused naming the partition", async () => {
  const { broker } = setup();
  const a = await init(broker, "a");
  await call(broker, add(a, [0]));
  const message = 't[1] was not added to a transaction of "a"; call addPartitionsToTxn before writing to it';
  await refused(broker, write(a, 0, 1), InvalidTxnStateError, message);
  await call(broker, write(a, 0));
  await call(broker, end(a, true));
  await refused(
    broker,
    write(a, 1),
    InvalidTxnStateError,
    't[0] was not added to a transaction of "a"; call addPartitionsToTxn before writing to it',
  );
});

test("an init carrying the current epoch bumps it, the previous one is answered with the current, others are refused", async () => {
  const { broker } = setup();
  const a = await init(broker, "a");
  await init(broker, "b");
  await refused(
    broker,
    { api: "initProducerId", transactionalId: "a", producerId: 9, epoch: 0 },
    InvalidProducerIdMappingError,
    'producer id 9 does not belong to transactional id "a" (it has 0)',
  );
  await refused(
    broker,
    add({ ...a, producerId: 1 }, [0]),
    InvalidProducerIdMappingError,
    'producer id 1 does not belong to transactional id "a" (it has 0)',
  );
  await refused(
    broker,
    add({ ...a, transactionalId: "z" }, [0]),
    InvalidProducerIdMappingError,
    'transactional id "z" is unknown; call initProducerId first',
  );
  assert.is((await init(broker, "a", { producerId: 0, epoch: 0 })).epoch, 1);
  assert.is((await init(broker, "a", { producerId: 0, epoch: 0 })).epoch, 1, "a retry of the bump");
  assert.is((await init(broker, "a", { producerId: 0, epoch: 1 })).epoch, 2);
  await refused(
    broker,
    { api: "initProducerId", transactionalId: "a", producerId: 0, epoch: 0 },
    ProducerFencedError,
    'transactional id "a": epoch 0 is fenced by a newer producer at epoch 2',
  );
  await refused(
    broker,
    { api: "initProducerId", transactionalId: "a", producerId: 0, epoch: 3 },
    InvalidProducerEpochError,
    `transactional id "a": epoch 3 is newer than the coordinator's 2`,
  );
  await init(broker, "a");
  await refused(
    broker,
    { api: "initProducerId", transactionalId: "a", producerId: 0, epoch: 2 },
    ProducerFencedError,
    'transactional id "a": epoch 2 is fenced by a newer producer at epoch 3',
  );
});

test("a transaction times out from its start; its epoch's requests are TRANSACTION_TIMED_OUT, and its init recovers", async () => {
  const { clock, broker } = setup({ transactionTimeoutMaxMs: 300 });
  const a = await init(broker, "a");
  await call(broker, add(a, [0]));
  await sleep(clock, 150);
  await call(broker, add(a, [1]));
  assert.is(broker.transaction("a")!.partitions, 2);
  await sleep(clock, 149);
  assert.is(broker.transaction("a")!.state, "ongoing");
  await sleep(clock, 1);
  assert.equal(broker.transaction("a"), {
    producerId: 0,
    epoch: 1,
    state: "complete-abort",
    partitions: 0,
    pendingOffsets: 0,
  });
  await refused(
    broker,
    end(a, true),
    TransactionTimedOutError,
    'transactional id "a": the transaction of epoch 0 exceeded its timeout of 300 ms and was aborted; the epoch is now 1',
  );
  assert.is((await init(broker, "a", { producerId: 0, epoch: 0 })).epoch, 1, "the timed-out holder recovers");
  await init(broker, "a", { instanceId: "other" });
  await refused(
    broker,
    end(a, true),
    ProducerFencedError,
    'transactional id "a": epoch 0 is fenced by a newer producer at epoch 2',
  );
  // A transaction that ended in time is not aborted when its timeout comes.
  const b = await init(broker, "b", { transactionTimeoutMs: 100 });
  await call(broker, add(b, [0]));
  await call(broker, add(b, [1]));
  await call(broker, end(b, true));
  await sleep(clock, 50);
  // The next transaction has its own timeout: the first one's timer is gone.
  await call(broker, add(b, [1]));
  await sleep(clock, 99);
  assert.is(broker.transaction("b")!.state, "ongoing");
  await sleep(clock, 1);
  assert.equal(broker.transaction("b"), {
    producerId: 1,
    epoch: 1,
    state: "complete-abort",
    partitions: 0,
    pendingOffsets: 0,
  });
  // A re-init sets the timeout of the transactions to come, up to the maximum.
  await init(broker, "c");
  const c = await init(broker, "c", { transactionTimeoutMs: 20 });
  await call(broker, add(c, [0]));
  await sleep(clock, 20);
  assert.is(broker.transaction("c")!.state, "complete-abort");
  await refused(
    broker,
    { api: "initProducerId", transactionalId: "c", transactionTimeoutMs: 301 },
    ConfigError,
    'invalid config "transactionTimeoutMs": expected an integer from 1 to 300, got 301',
  );
});

test("offsets from a fenced consumer generation are refused and start nothing", async () => {
  const { broker } = setup();
  const joined = await call(broker, { api: "joinGroup", groupId: "g", topic: "t", sessionTimeoutMs: 10_000 });
  const a = await init(broker, "a");
  await refused(broker, offsets(a, "g", (joined.generation as number) + 1), IllegalGenerationError);
  assert.is(broker.transaction("a")!.state, "empty");
  await call(broker, offsets(a, "g", joined.generation as number));
  assert.is(broker.transaction("a")!.pendingOffsets, 2);
});

test("each malformed field is REQUEST_INVALID naming it, not a broker failure, and starts nothing", async () => {
  const { broker } = setup();
  const a = await init(broker, "a");
  const cases: [string, Record<string, unknown>][] = [
    ["epoch", { api: "initProducerId", transactionalId: "a", producerId: 0 }],
    ["producerId", { api: "initProducerId", epoch: 0 }],
    ["transactionalId", { api: "initProducerId", transactionalId: "" }],
    ["instanceId", { api: "initProducerId", transactionalId: "a", instanceId: "" }],
    ["transactionalId", { ...add(a, []), transactionalId: "" }],
    ["producerId", { ...add(a, []), producerId: -1 }],
    ["epoch", { ...add(a, []), epoch: "0" }],
    ["partitions", { ...add(a, []), partitions: "t" }],
    ["partitions.topic", { ...add(a, []), partitions: [null] }],
    ["partitions.partition", { ...add(a, []), partitions: [{ topic: "t" }] }],
    ["groupId", { ...offsets(a, "g"), groupId: "" }],
    ["offsets", { ...offsets(a, "g"), offsets: {} }],
    ["offsets.topic", { ...offsets(a, "g"), offsets: [null] }],
    ["offsets.partition", { ...offsets(a, "g"), offsets: [{ topic: "t" }] }],
    ["offsets.offset", { ...offsets(a, "g"), offsets: [{ topic: "t", partition: 0 }] }],
    ["generation", { ...offsets(a, "g"), generation: "1" }],
    ["commit", { ...end(a, true), commit: "yes" }],
  ];
  for (const [field, request] of cases) {
    const error = await refused(broker, request as unknown as Request, AcktorError);
    assert.is(error.code, "REQUEST_INVALID", error.message);
    assert.ok(error.message.startsWith(`invalid request field "${field}"`), error.message);
  }
  const unknown = { ...offsets(a, "g"), offsets: [{ topic: "t", partition: 9, offset: 1 }] } as Request;
  assert.is((await refused(broker, unknown, AcktorError)).code, "PARTITION_UNKNOWN");
  assert.equal(broker.transaction("a"), { producerId: 0, epoch: 0, state: "empty", partitions: 0, pendingOffsets: 0 });
});

test("a new id has no previous or timed-out epoch; nor has one bumped by another holder", async () => {
  const { broker } = setup();
  const a = await init(broker, "a");
  const newer = `transactional id "a": epoch 1 is newer than the coordinator's 0`;
  await refused(broker, add({ ...a, epoch: 1 }, [0]), InvalidProducerEpochError, newer);
  await refused(broker, { api: "initProducerId", ...a, epoch: 1 }, InvalidProducerEpochError, newer);
  await init(broker, "a");
  await init(broker, "a");
  const fenced = 'transactional id "a": epoch 1 is fenced by a newer producer at epoch 2';
  await refused(broker, add({ ...a, epoch: 1 }, [0]), ProducerFencedError, fenced);
  await refused(broker, { api: "initProducerId", ...a, epoch: 1 }, ProducerFencedError, fenced);
  // The holder's own instance, giving its current epoch, resets itself: a bump.
  await init(broker, "a", { instanceId: "i" });
  assert.is((await init(broker, "a", { instanceId: "i", producerId: 0, epoch: 3 })).epoch, 4);
});

test("a timed-out transaction's records stay hidden from read-committed readers", async () => {
  const { clock, broker } = setup();
  const a = await init(broker, "a", { transactionTimeoutMs: 100 });
  await call(broker, add(a, [0]));
  await call(broker, write(a, 0));
  await sleep(clock, 100);
  assert.is(broker.transaction("a")!.state, "complete-abort");
  assert.equal(broker.read("t", 0), []);
  assert.is(broker.read("t", 0, { isolation: "read-uncommitted" }).length, 1);
});

test("idempotent ids: bumps stay above every epoch handed out; unknown and transactional ids are refused", async () => {
  const { broker } = setup();
  const { producerId } = await call(broker, { api: "initProducerId" });
  const bump = async (epoch: number) =>
    (await call(broker, { api: "initProducerId", producerId: producerId as number, epoch })).epoch;
  assert.is(await bump(0), 1);
  assert.is(await bump(0), 2, "a retry whose answer was lost gets a fresh epoch");
  assert.is(await bump(5), 6);
  await init(broker, "a");
  await refused(
    broker,
    { api: "initProducerId", producerId: 1, epoch: 0 },
    InvalidProducerIdMappingError,
    'producer id 1 belongs to transactional id "a"; send it with the request',
  );
  await refused(
    broker,
    { api: "initProducerId", producerId: 2, epoch: 0 },
    UnknownProducerIdError,
    "producer id 2 was not handed out by this broker",
  );
});

test("expiry forgets idle ids, never an open transaction, and keeps a transactional producer's state with its id", async () => {
  const { clock, broker } = setup({ transactionalIdExpirationMs: 1000, producerIdExpirationMs: 500 });
  const idle = await call(broker, { api: "initProducerId" });
  const active = await call(broker, { api: "initProducerId" });
  const a = await init(broker, "a");
  const b = await init(broker, "b", { transactionTimeoutMs: 900_000 });
  await init(broker, "c");
  await call(broker, add(a, [0]));
  await call(broker, write(a, 0));
  await call(broker, end(a, true));
  await call(broker, add(b, [1]));
  const id = (answer: Record<string, unknown>) => ({
    producerId: answer.producerId as number,
    epoch: answer.epoch as number,
  });
  await sleep(clock, 400);
  await call(broker, produceRequest("t", [enc("i")], { ...id(active), baseSequence: 0 }));
  await init(broker, "c");
  await sleep(clock, 99);
  broker.cleanup();
  assert.equal([broker.stats().transactionalIds, broker.stats().idempotentProducerIds], [3, 2]);
  await sleep(clock, 1);
  broker.cleanup();
  assert.is(broker.stats().idempotentProducerIds, 1, "the idle idempotent id, at 500 ms");
  const back = await call(broker, { api: "initProducerId", producerId: idle.producerId as number, epoch: 0 });
  assert.equal([back.producerId, back.epoch], [0, 1], "an expired id comes back under a new epoch");
  assert.is(broker.partition("t", 0).stats.producers, 2, "transactional a's state lasts with its id");
  await sleep(clock, 400);
  broker.cleanup();
  assert.is(broker.stats().idempotentProducerIds, 1, "the active one, 500 ms after its write; not the one back at 500");
  // Forgotten on both sides, it may still write from sequence 0; its id stays forgotten.
  await call(broker, produceRequest("t", [enc("j")], { ...id(active), baseSequence: 0 }));
  assert.is(broker.stats().idempotentProducerIds, 1);
  await call(broker, add(a, []));
  await sleep(clock, 499);
  broker.cleanup();
  assert.is(broker.stats().transactionalIds, 3, "c was used at 400, a at 900");
  await sleep(clock, 1);
  broker.cleanup();
  assert.is(broker.stats().transactionalIds, 2, "c is gone");
  await sleep(clock, 499);
  broker.cleanup();
  assert.is(broker.stats().transactionalIds, 2);
  await sleep(clock, 1);
  broker.cleanup();
  assert.is(broker.stats().transactionalIds, 1, "a is gone, b has its transaction open");
  assert.is(broker.stats().idempotentProducerIds, 0, "the one back at 500 is gone too");
  assert.ok(broker.transaction("b"));
  assert.is(broker.partition("t", 0).stats.producers, 0, "a's state went with its id");
  await refused(broker, add(a, [0]), InvalidProducerIdMappingError);
  assert.is(idle.producerId, 0);
});

test.run();
