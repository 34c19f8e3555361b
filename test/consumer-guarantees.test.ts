/**
 * The consumer side of delivery semantics under faults: 10,000 records, a seeded chaos
 * transport under every consumer, and consumers crashed at seeded points (at a request that
 * did or did not reach the broker, or in the middle of a handler), each crash followed by a
 * new consumer instance in the same group.
 */
import { linked, test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { unsafeUniformIntDistribution, xoroshiro128plus } from "pure-rand";
import {
  atLeastOnce,
  chaos,
  type CommitStrategy,
  type ConsumedRecord,
  createConsumer,
  createProducer,
  EmbeddedBroker,
  exactlyOnce,
  type HandlerContext,
  VirtualClock,
} from "../src/index.ts";
import { crashingHandler, CrashingTransport } from "./helpers/crash.ts";

const RECORDS = 10_000;
/** Clock time a crash run may take in all (a passing run takes 28-36 s of it). */
const VIRTUAL_BUDGET_MS = 300_000;
const PARTITIONS = 4;
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const idOf = (value: Uint8Array): number => Number(dec(value).slice(1));

interface Outcome {
  /** Per input id, how many times a handler completed it. */
  readonly processed: number[];
  readonly crashes: number;
  readonly broker: EmbeddedBroker;
  /** Per partition, the input ids in log order. */
  readonly input: number[][];
}

async function consumeWithCrashes(commit: CommitStrategy, seed: number): Promise<Outcome> {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("in", { partitions: PARTITIONS });
  broker.createTopic("out", { partitions: PARTITIONS });
  const producer = broker.producer("in", { deliverySemantic: exactlyOnce(), batchSize: 4096 });
  for (let i = 0; i < RECORDS; i++) await producer.send(`k${i % 64}`, `r${i}`);
  await producer.flush();
  await producer.close();
  const input = Array.from({ length: PARTITIONS }, (_, p) => broker.read("in", p).map((r) => idOf(r.value)));
  const ends = input.map((ids, p) => (ids.length === 0 ? null : broker.partition("in", p).log.endOffset));
  const done = (): boolean => ends.every((end, p) => end === null || broker.committedOffset("g", "in", p) === end);

  let rng = xoroshiro128plus(seed);
  const draw = (min: number, max: number): number => {
    const [n, next] = [unsafeUniformIntDistribution(min, max, rng), rng];
    rng = next;
    return n;
  };
  const processed = new Array<number>(RECORDS).fill(0);
  let crashes = 0;
  // Bounded twice, so that a consumer that stops making progress fails here instead of hanging
  // the run: at most 200 instances, and at most VIRTUAL_BUDGET_MS of clock time in all (each
  // instance is stopped once the budget is spent). The test's wall-clock deadline is the third bound.
  const progress = (): string =>
    ends.map((end, p) => `partition ${p}: committed ${broker.committedOffset("g", "in", p)} of ${end}`).join(", ");
  for (let incarnation = 0; !done(); incarnation++) {
    assert.ok(incarnation < 200, `the group keeps making progress (seed ${seed}; ${progress()})`);
    assert.ok(
      clock.now() < VIRTUAL_BUDGET_MS,
      `${commit} (seed ${seed}): not done after ${clock.now()} ms of clock time; ${progress()}`,
    );
    // The last incarnations run without crashing, so the run always ends.
    const crashing = incarnation < 30;
    const inHandler = crashing && draw(0, 2) === 0;
    const atRecord = inHandler ? draw(1, 300) : -1;
    const wire = chaos(broker.transport(), {
      seed: seed * 1000 + incarnation,
      clock,
      dropRequest: 0.02,
      dropResponse: 0.02,
      duplicateRequest: 0.02,
      disconnect: 0.005,
    });
    const transport = new CrashingTransport(
      wire,
      crashing && !inHandler ? { atRequest: draw(5, 40), applied: draw(0, 1) === 1 } : {},
    );
    const tx = commit === "transactional"
      ? createProducer(transport, "out", {
        clock,
        requestTimeout: 200,
        deliverySemantic: exactlyOnce({ transactionalId: "ctp", transactionTimeoutMs: 5_000 }),
      })
      : undefined;
    const consumer = createConsumer(transport, "in", {
      groupId: "g",
      commit,
      clock,
      maxPollRecords: 100,
      sessionTimeoutMs: 1_000,
      heartbeatIntervalMs: 300,
      pollIntervalMs: 20,
      requestTimeout: 200,
      ...(tx ? { producer: tx } : {}),
    });
    const stop = new AbortController();
    const budget = clock.setTimeout(() => stop.abort(), Math.max(0, VIRTUAL_BUDGET_MS - clock.now()));
    const handler = crashingHandler(
      transport,
      atRecord,
      async (record: ConsumedRecord, context: HandlerContext): Promise<void> => {
        if (context.tx) await context.tx.send(record.key, record.value);
        processed[idOf(record.value)]!++;
        if (done()) stop.abort();
      },
    );
    // The loop stops once the group's offsets cover everything.
    const watch = consumer.commits$.subscribe(() => done() && stop.abort());
    try {
      await consumer.run(handler, { signal: linked(stop) });
    } catch {
      assert.ok(transport.dead, "only a crash ends a run with an error");
      crashes++;
    } finally {
      watch.unsubscribe();
      clock.clearTimeout(budget);
    }
    await consumer.close();
    // A crashed producer is abandoned; the next instance's init fences it and aborts its transaction.
    if (tx && !transport.dead) await tx.close();
  }
  return { processed, crashes, broker, input };
}

test(
  "before-processing under crashes and faults: records are lost, none is processed twice",
  { seed: 11 },
  async () => {
    const { processed, crashes } = await consumeWithCrashes("before-processing", 11);
    const twice = processed.filter((n) => n > 1).length;
    const lost = processed.filter((n) => n === 0).length;
    assert.ok(crashes >= 10, `${crashes} crashes`);
    assert.is(twice, 0, "at-most-once never processes a record twice");
    assert.ok(lost > 0, "a crash between commit and processing loses records (else the test could not tell)");
  },
);

test(
  "after-processing under crashes and faults: every record is processed, duplicates counted",
  { seed: 12 },
  async () => {
    const { processed, crashes } = await consumeWithCrashes("after-processing", 12);
    const lost = processed.filter((n) => n === 0).length;
    const duplicates = processed.reduce((sum, n) => sum + Math.max(0, n - 1), 0);
    assert.ok(crashes >= 10, `${crashes} crashes`);
    assert.is(lost, 0, "at-least-once loses nothing");
    assert.ok(duplicates > 0, `a crash after processing, before the commit, redelivers (${duplicates} duplicates)`);
  },
);

test(
  "transactional consume-transform-produce under crashes and faults: output is the input, once each, in partition order",
  { seed: 13 },
  async () => {
    const { processed, crashes, broker, input } = await consumeWithCrashes("transactional", 13);
    assert.ok(crashes >= 10, `${crashes} crashes`);
    assert.ok(
      processed.some((n) => n > 1),
      "handlers did run twice for some records (aborted transactions), so the test can tell",
    );
    for (let p = 0; p < PARTITIONS; p++) {
      // Keys decide partitions in both topics alike, so output partition p holds input partition p's records.
      const output = broker.read("out", p, { isolation: "read-committed" }).map((r) => idOf(r.value));
      assert.equal(output, input[p], `partition ${p}: read-committed output equals input, once each, in order`);
    }
    const uncommitted = broker.read("out", 0, { isolation: "read-uncommitted" }).length;
    assert.ok(uncommitted >= input[0]!.length);
  },
);

test("at-least-once producer plus after-processing consumer: the chaos faults alone never lose a record", async () => {
  // A control without crashes: faults are retried and nothing is lost.
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("in", { partitions: 2 });
  const p = createProducer(chaos(broker.transport(), { seed: 5, clock, dropResponse: 0.05 }), "in", {
    clock,
    requestTimeout: 100,
    deliverySemantic: atLeastOnce(),
  });
  for (let i = 0; i < 2000; i++) await p.send(null, `r${i}`);
  await p.flush();
  const seen = new Set<number>();
  const c = createConsumer(
    chaos(broker.transport(), { seed: 6, clock, dropRequest: 0.05, dropResponse: 0.05, disconnect: 0.01 }),
    "in",
    { groupId: "g", clock, requestTimeout: 100 },
  );
  const stop = new AbortController();
  const budget = clock.setTimeout(() => stop.abort(), 600_000); // "nothing lost" must end, lost or not
  await c.run((r) => void (seen.add(idOf(r.value)), seen.size === 2000 && stop.abort()), { signal: linked(stop) });
  clock.clearTimeout(budget);
  assert.is(seen.size, 2000);
  await c.close();
});

test.run();
