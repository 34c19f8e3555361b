/**
 * Transactions end to end: producer, coordinator and read-committed readers, under seeded
 * faults on every request kind.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import {
  atLeastOnce,
  chaos,
  type ChaosOptions,
  createProducer,
  EmbeddedBroker,
  exactlyOnce,
  InvalidTxnStateError,
  type Producer,
  ProducerFencedError,
  sleep,
  type TransactionReport,
  TransactionTimedOutError,
  UndeliveredRecordsError,
  VirtualClock,
} from "../src/internal.ts";
import { recordId } from "./helpers/reconcile.ts";

const PARTITIONS = 3;
const retry = { maxRetries: 200, initialDelay: 1, maxDelay: 20, timeout: 1_000_000, strategy: "fixed" } as const;

function world(faults: Omit<ChaosOptions, "seed" | "clock"> = {}, seed = 1) {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("out", { partitions: PARTITIONS });
  const producer = (transactionalId = "tx", extra: { transactionTimeoutMs?: number } = {}) =>
    createProducer(chaos(broker.transport(), { seed: seed++, clock, ...faults }), "out", {
      clock,
      requestTimeout: 100,
      batchSize: 300,
      deliverySemantic: exactlyOnce({ transactionalId, retry, ...extra }),
    });
  const read = (isolation: "read-committed" | "read-uncommitted") =>
    Array.from({ length: PARTITIONS }, (_, p) => broker.read("out", p, { isolation }).map((r) => recordId(r.value)));
  return { clock, broker, producer, read };
}

function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.unreachable("expected a rejection"),
    (error: unknown) => error,
  );
}

test("under every fault, committed transactions are visible exactly once and aborted ones never", async () => {
  const { producer, read } = world({
    dropRequest: 0.03,
    dropResponse: 0.03,
    duplicateRequest: 0.03,
    disconnect: 0.01,
    reconnectMs: 5,
    delay: { probability: 0.1, maxMs: 20 },
  });
  const p = producer();
  const reports: TransactionReport[] = [];
  p.transactions$.subscribe((r) => reports.push(r));
  const committed: number[] = [];
  const aborted: number[] = [];
  let next = 0;
  for (let t = 0; t < 20; t++) {
    const ids = Array.from({ length: 500 }, () => next++);
    const abort = t % 3 === 2;
    const outcome = await p
      .transaction(async (tx) => {
        for (const id of ids) await tx.send(`key-${id % 40}`, `r${id}`);
        if (abort) throw new Error("changed my mind");
      })
      .then(
        () => "committed",
        (error: Error) => error.message,
      );
    assert.is(outcome, abort ? "changed my mind" : "committed");
    (abort ? aborted : committed).push(...ids);
  }
  const visible = read("read-committed").flat().sort((a, b) => a - b);
  assert.equal(visible, committed, "read-committed sees each committed record once and no aborted one");
  const everything = read("read-uncommitted").flat().sort((a, b) => a - b);
  assert.equal(
    everything,
    [...committed, ...aborted].sort((a, b) => a - b),
    "read-uncommitted also sees aborted records, once each",
  );
  for (const log of read("read-committed")) {
    assert.equal(
      log,
      [...log].sort((a, b) => a - b),
      "send order per partition",
    );
  }
  assert.equal(
    reports.map((r) => r.type),
    Array.from({ length: 20 }, (_, t) => (t % 3 === 2 ? "aborted" : "committed")),
  );
  assert.ok(reports.every((r) => r.records === 500));
  assert.is(p.transactionActor!.getSnapshot().value, "ready");
});

test("an open transaction holds read-committed readers at the last stable offset", async () => {
  const { producer, read } = world();
  const p = producer();
  await p.transaction(async (tx) => {
    await tx.send("a", "r0");
  });
  await p.beginTransaction();
  await p.send("a", "r1");
  await p.flush();
  assert.equal(read("read-committed").flat(), [0]);
  assert.equal(read("read-uncommitted").flat().sort(), [0, 1]);
  await p.commit();
  assert.equal(read("read-committed").flat().sort(), [0, 1]);
});

test("a zombie is fenced mid-transaction and nothing it wrote becomes visible", async () => {
  const { producer, read } = world();
  const zombie = producer("shared");
  await zombie.beginTransaction();
  for (let i = 0; i < 10; i++) await zombie.send(null, `r${i}`);
  await zombie.flush();

  const successor = producer("shared");
  await successor.beginTransaction(); // initialising the same id fences the zombie and aborts its transaction
  // The zombie does not know yet; its next write is refused and fences it.
  await zombie.send(null, "r10");
  const error = await rejection(zombie.commit());
  assert.instance(error, ProducerFencedError);
  assert.is(zombie.transactionActor!.getSnapshot().value, "fenced");
  assert.instance(await rejection(zombie.send(null, "r11")), ProducerFencedError);
  assert.instance(await rejection(zombie.beginTransaction()), ProducerFencedError);

  for (let i = 100; i < 105; i++) await successor.send(null, `r${i}`);
  await successor.commit();
  assert.equal(read("read-committed").flat().sort((a, b) => a - b), [100, 101, 102, 103, 104]);
});

test("a transaction that outlives its timeout is aborted by the broker, and commit() says so", async () => {
  const { clock, producer, read } = world();
  const p = producer("slow", { transactionTimeoutMs: 100 });
  await p.beginTransaction();
  await p.send(null, "r1");
  await p.flush();
  await sleep(clock, 500);
  assert.instance(await rejection(p.commit()), TransactionTimedOutError);
  assert.equal(read("read-committed").flat(), []);
  // The producer took a new epoch and works again.
  assert.is(p.transactionActor!.getSnapshot().value, "ready");
  await p.transaction(async (tx) => {
    await tx.send(null, "r2");
  });
  assert.equal(read("read-committed").flat(), [2]);
});

test("a timed-out transaction whose id another instance took meanwhile leaves the producer fenced, not stuck aborting", async () => {
  const { clock, producer, read } = world();
  const p = producer("taken", { transactionTimeoutMs: 100 });
  await p.beginTransaction();
  await p.send(null, "r1");
  await p.flush();
  await sleep(clock, 500);
  // The coordinator aborted p's transaction; a new instance now takes the transactional id.
  const q = producer("taken");
  await q.transaction(async (tx) => {
    await tx.send(null, "r2");
  });
  const refused = await rejection(p.commit());
  assert.ok(
    refused instanceof ProducerFencedError || refused instanceof TransactionTimedOutError,
    `commit() says why: ${String(refused)}`,
  );
  assert.is(p.transactionActor!.getSnapshot().value, "fenced");
  assert.instance(await rejection(p.beginTransaction()), ProducerFencedError, "and so does the next begin");
  assert.equal(read("read-committed").flat(), [2]);
});

test("misuse gets a typed error naming the state, and never a stuck producer", async () => {
  const { producer, read, broker } = world();
  const p = producer();
  assert.instance(await rejection(p.send(null, "r0")), InvalidTxnStateError, "send outside a transaction");
  assert.instance(await rejection(p.commit()), InvalidTxnStateError, "commit without a transaction");
  await p.beginTransaction();
  const twice = await rejection(p.beginTransaction());
  assert.instance(twice, InvalidTxnStateError);
  assert.match((twice as Error).message, /in-transaction/);
  await p.send(null, "r1");
  const committing = p.commit();
  assert.match(((await rejection(p.beginTransaction())) as Error).message, /committing/);
  await committing;
  // Two transaction() calls at once: the second is refused, the first commits.
  const first = p.transaction(async (tx) => {
    await tx.send(null, "r2");
  });
  assert.instance(await rejection(p.transaction(async () => {})), InvalidTxnStateError);
  await first;
  assert.equal(read("read-committed").flat().sort(), [1, 2]);
  const plain = broker.producer("out", { deliverySemantic: atLeastOnce() });
  assert.instance(await rejection(plain.beginTransaction()), InvalidTxnStateError);
  assert.instance(await rejection(plain.commit()), InvalidTxnStateError);
  assert.instance(await rejection(plain.abort()), InvalidTxnStateError);
  assert.instance(await rejection(plain.sendOffsets("g", [])), InvalidTxnStateError);
});

test("consumer offsets commit with the transaction and are dropped when it aborts", async () => {
  const { producer, broker } = world({ dropResponse: 0.1, duplicateRequest: 0.1 });
  broker.createTopic("in", { partitions: 2 });
  const fetchOffset = async (partition: number) => {
    const answer = await broker.transport().request({ api: "offsetFetch", groupId: "g", topic: "in", partition }, {
      timeoutMs: 100,
    });
    assert.ok(answer.ok);
    return answer.ok ? answer.offset : undefined;
  };
  const p: Producer = producer();
  await p.transaction(async (tx) => {
    await tx.send(null, "r1");
    await tx.sendOffsets("g", [{ topic: "in", partition: 0, offset: 42 }]);
  });
  assert.is(await fetchOffset(0), 42);
  await p
    .transaction(async (tx) => {
      await tx.sendOffsets("g", [{ topic: "in", partition: 0, offset: 99 }, { topic: "in", partition: 1, offset: 7 }]);
      throw new Error("crash before commit");
    })
    .catch(() => {});
  assert.is(await fetchOffset(0), 42);
  assert.is(await fetchOffset(1), null);
});

test("a fenced producer's write fails with the ProducerFencedError itself, in wait(), outcomes$ and flush()", async () => {
  const { producer } = world();
  const zombie = producer("shared");
  const successor = producer("shared");
  try {
    const failures: unknown[] = [];
    zombie.outcomes$.subscribe((o) => o.status === "failed" && failures.push(o.error));
    await zombie.beginTransaction();
    await successor.beginTransaction(); // fences the zombie
    const write = await zombie.send(null, "r1");
    assert.instance(await rejection(write.wait()), ProducerFencedError);
    assert.is(failures.length, 1);
    assert.instance(failures[0], ProducerFencedError);
    const flushed = await rejection(zombie.flush());
    assert.instance(flushed, UndeliveredRecordsError);
    assert.instance((flushed as UndeliveredRecordsError).errors[0], ProducerFencedError);
    assert.instance(await rejection(zombie.commit()), ProducerFencedError);
  } finally {
    await zombie.close().catch(() => {});
    await successor.close().catch(() => {});
  }
});

test.run();
