/**
 * The delivery guarantees, each shown against injected faults with fixed seeds over 10,000
 * records and reconciled exactly against the broker's log.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import {
  atLeastOnce,
  atMostOnce,
  DeliveryFailedError,
  RequestTimedOutError,
  UndeliveredRecordsError,
} from "../src/index.ts";
import { assertWaitsMatchLog, idsHitBy, produceThroughChaos, type Run } from "./helpers/reconcile.ts";
import {
  assertHolds,
  atLeastOnce as atLeastOnceHolds,
  atMostOnce as atMostOnceHolds,
  lossesReported,
  orderKept,
  reportsMatchLog,
} from "./helpers/history.ts";

const patient = atLeastOnce({ maxRetries: 100, initialDelay: 1, maxDelay: 50, timeout: 1_000_000, strategy: "fixed" });

function sorted(ids: Iterable<number>): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

test("at-most-once with dropped requests: the lost records are exactly those dropped, none duplicated", async () => {
  const run = await produceThroughChaos({
    seed: 11,
    faults: { dropRequest: 0.05 },
    config: { deliverySemantic: atMostOnce(), batchSize: 400 },
  });
  const dropped = sorted(idsHitBy(run, "drop-request"));
  assert.ok(dropped.length > 100, `the seed must actually drop something (dropped ${dropped.length})`);
  assertHolds(run.report, atMostOnceHolds);
  assert.equal(run.report.lost, dropped, "lost = exactly the records whose request was dropped");
  assert.is(run.transport.stats.droppedRequests, run.faults.filter((f) => f.kind === "drop-request").length);
  // Never retried: one request per batch.
  assert.is(run.producer.stats.retries, 0);
  assert.is(run.outcomes.length, 10_000);
  assert.ok(run.outcomes.every((o) => o.status === "sent-unconfirmed" && o.attempts === 1));
  assert.is(run.producer.stats.sentUnconfirmed, 10_000);
  // wait() reports the reply to the single attempt: the dropped ones time out, the rest have offsets.
  const waitFailed = sorted(run.waits.flatMap((w, id) => (w instanceof Error ? [id] : [])));
  assert.equal(waitFailed, dropped);
  for (const id of dropped) {
    const error = run.waits[id];
    assert.instance(error, DeliveryFailedError);
    assert.instance((error as DeliveryFailedError).cause, RequestTimedOutError);
  }
  assertWaitsMatchLog(run);
  assert.is(run.flushError, undefined, "flush() only waits for the writes under at-most-once");
});

test("at-most-once with dropped responses: records land once, wait() still reports the lost reply", async () => {
  const run = await produceThroughChaos({
    seed: 12,
    faults: { dropResponse: 0.05 },
    config: { deliverySemantic: atMostOnce(), batchSize: 400 },
  });
  assertHolds(run.report, atMostOnceHolds);
  assert.equal(run.report.lost, [], "every record exactly once: nothing was resent");
  assert.equal(
    sorted(run.waits.flatMap((w, id) => (w instanceof Error ? [id] : []))),
    sorted(idsHitBy(run, "drop-response")),
  );
});

test("at-least-once with dropped requests and responses: nothing lost, duplicates = records of lost acks", async () => {
  const run = await produceThroughChaos({
    seed: 21,
    faults: { dropRequest: 0.05, dropResponse: 0.05 },
    config: { deliverySemantic: patient, batchSize: 400 },
  });
  assertHolds(run.report, atLeastOnceHolds());
  const lostAcks = idsHitBy(run, "drop-response");
  assert.ok(lostAcks.length > 100, "the seed must actually lose acks");
  assert.is(run.report.extraCopies, lostAcks.length, "each lost ack re-appends its batch once");
  assert.ok(run.producer.stats.retries > 0);
  assert.ok(run.waits.every((w) => !(w instanceof Error)), "every wait() resolves");
  assert.ok(run.outcomes.every((o) => o.status === "delivered"));
  assert.ok(run.outcomes.some((o) => o.attempts > 1));
  assertWaitsMatchLog(run);
  assert.is(run.flushError, undefined);
});

test("at-least-once survives disconnects and duplicated requests without loss", async () => {
  const run = await produceThroughChaos({
    seed: 22,
    faults: { disconnect: 0.02, reconnectMs: 5, duplicateRequest: 0.02, delay: { probability: 0.1, maxMs: 20 } },
    config: { deliverySemantic: patient, batchSize: 400 },
  });
  assert.ok(run.transport.stats.disconnects > 5);
  assertHolds(run.report, atLeastOnceHolds());
  assert.ok(run.report.duplicated.length > 0, "lost acks and retransmissions duplicate");
  assertWaitsMatchLog(run);
});

test("exhausted policies: the failed outcomes are exactly the records missing from the log", async () => {
  const stingy = atLeastOnce({ maxRetries: 2, initialDelay: 1, maxDelay: 1, strategy: "fixed" });
  const run = await produceThroughChaos({
    seed: 31,
    faults: { dropRequest: 0.4 },
    config: { deliverySemantic: stingy, batchSize: 400 },
  });
  const failed = sorted(
    run.outcomes.flatMap((o) => (o.status === "failed" ? [Number(new TextDecoder().decode(o.value).slice(1))] : [])),
  );
  assert.ok(failed.length > 0, "the seed must exhaust some policies");
  assert.equal(failed, run.report.lost);
  assertHolds(run.report, atLeastOnceHolds({ policyLasts: false }), lossesReported, reportsMatchLog);
  for (const id of failed) {
    const error = run.waits[id] as DeliveryFailedError;
    assert.instance(error, DeliveryFailedError);
    assert.is(error.reason, "max-retries");
    assert.is(error.attempts, 3);
    assert.instance(error.cause, RequestTimedOutError);
  }
  assert.instance(run.flushError, UndeliveredRecordsError);
  assert.is((run.flushError as UndeliveredRecordsError).records, failed.length);
  assert.is(run.producer.stats.failed, failed.length);
});

test("a record is never missing without a failed outcome, even when lost acks make failure ambiguous", async () => {
  const stingy = atLeastOnce({ maxRetries: 1, initialDelay: 1, maxDelay: 1, strategy: "fixed" });
  const run = await produceThroughChaos({
    seed: 32,
    faults: { dropRequest: 0.3, dropResponse: 0.3 },
    config: { deliverySemantic: stingy, batchSize: 400 },
  });
  const failed = new Set(run.waits.flatMap((w, id) => (w instanceof Error ? [id] : [])));
  assert.ok(run.report.lost.length > 0);
  assert.ok(run.report.lost.every((id) => failed.has(id)), "every missing record's wait() reported failure");
  assertHolds(run.report, atLeastOnceHolds({ policyLasts: false }), lossesReported, reportsMatchLog);
  assert.ok(
    [...failed].some((id) => run.report.copies(id) > 0),
    "a failed batch whose ack was lost can still be in the log",
  );
});

test("the policy timeout bounds all attempts: no attempt starts after it", async () => {
  const bounded = atLeastOnce({ maxRetries: 1000, initialDelay: 10, maxDelay: 10, timeout: 500, strategy: "fixed" });
  const run = await produceThroughChaos({
    records: 100,
    seed: 33,
    faults: { dropRequest: 1, apis: ["produce"] },
    config: { deliverySemantic: bounded, batchSize: 100_000 },
  });
  const errors = run.waits.filter((w): w is DeliveryFailedError => w instanceof DeliveryFailedError);
  assert.is(errors.length, 100);
  assert.ok(errors.every((e) => e.reason === "timeout"));
  assert.ok(run.clock.now() <= 500 + 100, `gave up at ${run.clock.now()} ms`);
});

test("the same seed gives the same faults and the same outcome counts; another seed differs", async () => {
  const profile = {
    faults: { dropRequest: 0.05, dropResponse: 0.05, disconnect: 0.01 },
    config: { deliverySemantic: patient, batchSize: 400 },
  };
  const summary = (run: Run) => ({
    faults: run.faults.map((f) => f.kind).join(","),
    copies: run.copies.join(""),
    retries: run.producer.stats.retries,
    offsets: run.waits.map((w) => (w instanceof Error ? -1 : w.offset)).join(","),
  });
  const a = summary(await produceThroughChaos({ seed: 41, ...profile }));
  const b = summary(await produceThroughChaos({ seed: 41, ...profile }));
  const c = summary(await produceThroughChaos({ seed: 42, ...profile }));
  assert.equal(a, b);
  assert.not.equal(a.faults, c.faults);
});

test("with one request in flight per partition, at-least-once keeps each key's order of first arrival", async () => {
  const run = await produceThroughChaos({
    seed: 51,
    faults: { dropRequest: 0.05, dropResponse: 0.05 },
    config: { deliverySemantic: patient, batchSize: 400, maxInFlight: 1 },
  });
  assertHolds(run.report, atLeastOnceHolds(), orderKept, reportsMatchLog);
});

test.run();
