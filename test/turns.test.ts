/**
 * Exactly-once turns, checked on the client's side alone: a retried batch goes again only once
 * every earlier batch of its partition is resolved, and a batch waiting for its turn goes as
 * soon as that is so. The broker's sequence check would hide a client that broke the rule
 * (it refuses the early retry), so these tests watch what the producer sends, not the log.
 */
import { test, until } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { waitFor } from "xstate";
import {
  chaos,
  createProducer,
  EmbeddedBroker,
  exactlyOnce,
  type ProduceOutput,
  type Transport,
  VirtualClock,
} from "../src/internal.ts";
import { heldFirstBatch } from "./helpers/held-batch.ts";
import { recordId } from "./helpers/reconcile.ts";
import { firstValue, routed } from "./helpers/routed-transport.ts";

const retry = { maxRetries: 1_000, initialDelay: 1, maxDelay: 5, timeout: 10_000_000, strategy: "fixed" } as const;

/**
 * Watches produce requests on their way out and answers on their way back. A batch is named
 * by its first record; it is resolved once an `ok` answer reached the producer.
 */
function watchTurns(inner: Transport) {
  const dispatched = new Map<number, string[]>();
  const resolved = new Set<string>();
  const violations: string[] = [];
  let violated = () => {};
  const firstViolation = new Promise<void>((resolve) => (violated = resolve));
  let retries = 0;
  const transport = routed(inner, (request, pass) => {
    if (request.api !== "produce") return undefined;
    const name = firstValue(request);
    const order = dispatched.get(request.partition) ?? [];
    dispatched.set(request.partition, order);
    const index = order.indexOf(name);
    if (index < 0) {
      order.push(name);
    } else {
      retries++;
      const early = order.slice(0, index).filter((earlier) => !resolved.has(earlier));
      if (early.length > 0) {
        violations.push(`${name} retried before ${early.join(", ")} resolved`);
        violated();
      }
    }
    const reply = pass() as Promise<{ ok: boolean }>;
    reply.then((answer) => answer.ok && resolved.add(name), () => {});
    return reply;
  });
  return { transport, violations, firstViolation, retries: () => retries };
}

test("under chaos with 5 in flight, no batch is retried before every earlier batch of its partition is resolved", async () => {
  for (const seed of [1, 2, 3]) {
    const clock = new VirtualClock();
    const broker = new EmbeddedBroker({ clock });
    broker.createTopic("t", { partitions: 2 });
    const net = chaos(broker.transport(), {
      seed,
      clock,
      dropRequest: 0.1,
      dropResponse: 0.1,
      delay: { probability: 0.3, maxMs: 30 },
      apis: ["produce"],
    });
    const watch = watchTurns(net);
    const producer = createProducer(watch.transport, "t", {
      clock,
      requestTimeout: 50,
      batchSize: 40,
      maxInFlight: 5,
      deliverySemantic: exactlyOnce({ retry }),
    });
    try {
      const run = async () => {
        const outputs: ProduceOutput[] = [];
        for (let i = 0; i < 400; i++) outputs.push(await producer.send(`k${i % 7}`, `r${i}`));
        await producer.flush();
        await Promise.all(outputs.map((o) => o.wait()));
      };
      // A client that breaks the rule may still finish, slowly: stop at the first break.
      await Promise.race([run(), watch.firstViolation]);
      assert.equal(watch.violations, [], `seed ${seed}`);
      assert.ok(watch.retries() > 20, `seed ${seed}: chaos made retries (${watch.retries()})`);
      for (let p = 0; p < 2; p++) {
        const log = broker.read("t", p).map((r) => recordId(r.value));
        assert.equal(log, [...log].sort((a, b) => a - b), `seed ${seed}: partition ${p} keeps send order`);
        assert.is(new Set(log).size, log.length, `seed ${seed}: no duplicates`);
      }
    } finally {
      // Closing the transport first fails whatever is still retrying, so close() cannot hang.
      await net.close();
      await producer.close().catch(() => {});
    }
  }
});

test("a batch waiting for its turn goes as soon as the earlier batch of its partition settles", async ({ signal }) => {
  // The first batch's only attempt is held back until released; the broker refuses "second"
  // (its sequence is ahead): it backs off and waits for its turn.
  const held = await heldFirstBatch({ retry });
  try {
    const request = await waitingTurn(held.clock, held.second, signal);
    assert.is(request.getSnapshot().value, "waiting-turn");
    held.release();
    assert.is((await held.first.wait()).offset, 0);
    assert.is((await held.second.wait()).offset, 1);
    assert.equal(held.broker.read("t", 0).map((r) => new TextDecoder().decode(r.value)), ["first", "second"]);
  } finally {
    await held.close();
  }
});

/** The request actor of `output`'s batch, once it waits for its turn. */
async function waitingTurn(clock: VirtualClock, output: ProduceOutput, signal: AbortSignal) {
  await until(clock, () => output.batch.request !== null, "the batch's request", { step: 1 });
  const request = output.batch.request!;
  await waitFor(request, (s) => s.value === "waiting-turn", { signal });
  return request;
}

test.run();
