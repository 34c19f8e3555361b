/**
 * Exactly-once (idempotent) delivery against injected faults with fixed seeds: nothing lost,
 * nothing duplicated, each partition in send order, and every record its own offset.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { atLeastOnce, DeliveryFailedError, exactlyOnce } from "../src/index.ts";
import { assertWaitsMatchLog, idsWhere, produceThroughChaos, type Run } from "./helpers/reconcile.ts";

const patientRetry = { maxRetries: 200, initialDelay: 1, maxDelay: 20, timeout: 1_000_000, strategy: "fixed" } as const;
const everyFault = {
  dropRequest: 0.03,
  dropResponse: 0.03,
  duplicateRequest: 0.03,
  disconnect: 0.01,
  reconnectMs: 5,
  delay: { probability: 0.2, maxMs: 30 },
};

/** Every partition's log holds its records in the order they were sent. */
function assertSendOrder(run: Run): void {
  const sent = new Map<number, number[]>();
  run.outputs.forEach((output, id) => {
    const list = sent.get(output.partition) ?? [];
    list.push(id);
    sent.set(output.partition, list);
  });
  run.logs.forEach((log, partition) => assert.equal(log, sent.get(partition) ?? [], `partition ${partition} order`));
}

test("exactly-once through every fault: zero lost, zero duplicated, send order per partition", async () => {
  const run = await produceThroughChaos({
    seed: 61,
    faults: everyFault,
    config: { deliverySemantic: exactlyOnce({ retry: patientRetry }), batchSize: 400 },
  });
  const stats = run.transport.stats;
  assert.ok(
    stats.droppedRequests >= 5 && stats.droppedResponses >= 5 && stats.duplicatedRequests >= 5 &&
      stats.disconnects >= 3,
    JSON.stringify(stats),
  );
  assert.equal(idsWhere(run, (n) => n !== 1), [], "every record exactly once");
  assertSendOrder(run);
  assertWaitsMatchLog(run);
  assert.ok(run.waits.every((w) => !(w instanceof Error)));
  assert.ok(run.producer.stats.retries > 0);
  assert.is(run.flushError, undefined);
});

test("the same faults under at-least-once do duplicate: the test can tell the difference", async () => {
  const run = await produceThroughChaos({
    seed: 61,
    faults: everyFault,
    config: { deliverySemantic: atLeastOnce(patientRetry), batchSize: 400 },
  });
  assert.equal(idsWhere(run, (n) => n === 0), []);
  assert.ok(idsWhere(run, (n) => n > 1).length > 100, "lost acks and retransmissions duplicate");
});

test("exactly-once keeps order with one request in flight as well as five", async () => {
  for (const maxInFlight of [1, 5]) {
    const run = await produceThroughChaos({
      records: 3_000,
      seed: 62,
      faults: { dropResponse: 0.05, delay: { probability: 0.3, maxMs: 40 } },
      config: { deliverySemantic: exactlyOnce({ retry: patientRetry }), batchSize: 200, maxInFlight },
    });
    assert.equal(idsWhere(run, (n) => n !== 1), []);
    assertSendOrder(run);
  }
});

test("a batch that fails for good leaves no gap: later batches move to a new epoch and land once", async () => {
  const stingy = { maxRetries: 1, initialDelay: 1, maxDelay: 1, strategy: "fixed" } as const;
  const run = await produceThroughChaos({
    seed: 63,
    faults: { dropRequest: 0.35, apis: ["produce"] },
    config: { deliverySemantic: exactlyOnce({ retry: stingy }), batchSize: 400 },
  });
  const failed = run.waits.flatMap((w, id) => (w instanceof DeliveryFailedError ? [id] : []));
  assert.ok(failed.length > 0, "the seed must exhaust some policies");
  assert.equal(idsWhere(run, (n) => n > 1), [], "no duplicates");
  // Dropped requests never reach the broker, so failed means missing and missing means failed.
  assert.equal(idsWhere(run, (n) => n === 0), failed);
  assert.ok(run.waits.some((w) => !(w instanceof Error)), "records after a failed batch still land");
  assertWaitsMatchLog(run);
});

test("exactlyOnce config: maxInFlight above the broker's dedup window is refused", async () => {
  try {
    await produceThroughChaos({
      records: 1,
      seed: 1,
      faults: {},
      config: { deliverySemantic: exactlyOnce(), maxInFlight: 6 },
    });
    assert.unreachable();
  } catch (error) {
    assert.is((error as { field?: string }).field, "maxInFlight");
  }
  assert.throws(
    () => exactlyOnce({ transactionalId: "" }),
    (e: Error) => (e as { field?: string }).field === "deliverySemantic.transactionalId",
  );
});

test.run();
