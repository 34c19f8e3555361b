/**
 * KIP-447's guard against a zombie transactional consumer: while a transaction holds a
 * group's offsets for a partition (accepted by `txnOffsetCommit`, not yet ended), a member
 * that asks where to start that partition with `requireStable` is told to wait
 * (`UnstableOffsetCommitError`, retriable) instead of being handed the older offset. Without
 * it, a member paused between its offset commit and its `endTxn` for longer than its session
 * lost the partition, the new owner started from the older offset and processed the batch
 * again, and the paused member's `endTxn` then committed the same batch's output a second
 * time: 500 duplicated records in a generated exactly-once schedule.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { EmbeddedBroker, UnstableOffsetCommitError } from "../src/index.ts";
import { call } from "./helpers/broker-requests.ts";

const TOPIC = "in";

async function openTransactionWithOffsets(broker: EmbeddedBroker, offset: number) {
  broker.createTopic(TOPIC, { partitions: 2 });
  const { producerId, epoch } = await call(broker, {
    api: "initProducerId",
    transactionalId: "tx",
    instanceId: "a",
    transactionTimeoutMs: 60_000,
  }) as { producerId: number; epoch: number };
  const identity = { transactionalId: "tx", producerId, epoch };
  await call(broker, {
    api: "txnOffsetCommit",
    ...identity,
    groupId: "g",
    offsets: [{ topic: TOPIC, partition: 0, offset }],
  });
  return identity;
}

test("offsetFetch with requireStable waits out a transaction that holds the partition's offset", async () => {
  const broker = new EmbeddedBroker();
  const identity = await openTransactionWithOffsets(broker, 5);
  const stable = { api: "offsetFetch", groupId: "g", topic: TOPIC, requireStable: true } as const;
  try {
    await call(broker, { ...stable, partition: 0 });
    assert.unreachable("the offset held by the open transaction must not be handed out");
  } catch (error) {
    assert.instance(error, UnstableOffsetCommitError);
    assert.ok((error as UnstableOffsetCommitError).retriable, "retriable: the member asks again");
    assert.match((error as Error).message, /g/);
  }
  // Another partition of the group, which the transaction does not hold, answers at once.
  assert.equal((await call(broker, { ...stable, partition: 1 })).offset, null);
  // Without requireStable, the committed offset as it stands (Kafka's default for read-uncommitted).
  assert.equal((await call(broker, { api: "offsetFetch", groupId: "g", topic: TOPIC, partition: 0 })).offset, null);
  await call(broker, { api: "endTxn", ...identity, commit: true });
  assert.equal((await call(broker, { ...stable, partition: 0 })).offset, 5, "stable once the transaction committed");
});

test("an aborted transaction releases the offset it held, unchanged", async () => {
  const broker = new EmbeddedBroker();
  const identity = await openTransactionWithOffsets(broker, 9);
  await call(broker, { api: "endTxn", ...identity, commit: false });
  const answer = await call(broker, {
    api: "offsetFetch",
    groupId: "g",
    topic: TOPIC,
    partition: 0,
    requireStable: true,
  });
  assert.equal(answer.offset, null);
});

test.run();
