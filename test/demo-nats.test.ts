/**
 * The main job on NATS JetStream (`npm run demo -- --nats URL`), against the server at
 * ACKTOR_NATS_URL (default 127.0.0.1:4222); ACKTOR_SKIP_ENGINES=1 skips it. The rows must
 * add up, each semantic keep its invariant through the producer's seeded faults and the
 * consumer crashes, the crashes happen, and the topics the demo made be gone afterwards.
 */
import * as assert from "uvu/assert";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { EngineUnavailableError } from "../src/index.ts";
import { runNatsDemo } from "../src/demo/nats.ts";
import { DEMO_CRASHES, type DemoRow } from "../src/demo/semantics.ts";
import { test } from "./helpers/harness.ts";
import { SKIP, URL } from "./helpers/nats.ts";

const RECORDS = 3_000;
const SEED = 5;

/** The names of the streams the demo makes, as the server lists them now. */
async function demoStreams(): Promise<string[]> {
  const nc = await connect({ servers: URL });
  try {
    const names: string[] = [];
    for await (const name of (await jetstreamManager(nc)).streams.names()) {
      if (name.startsWith("ACKTOR_acktor-demo-")) names.push(name);
    }
    return names;
  } finally {
    await nc.close();
  }
}

if (SKIP) {
  console.log("SKIPPED: the demo on NATS JetStream (ACKTOR_SKIP_ENGINES=1)");
} else {
  test(`the demo on NATS (seed ${SEED}): every semantic keeps its invariant, the rows add up, the topics are gone`, {
    deadlineMs: 180_000,
  }, async () => {
    const before = await demoStreams();
    const rows = await runNatsDemo({ servers: URL, records: RECORDS, seed: SEED });
    assert.equal(
      rows.map((r) => [r.semantic, r.commit]),
      [["at-most-once", "before-processing"], ["at-least-once", "after-processing"], [
        "exactly-once",
        "idempotent",
      ]],
    );
    const row = (semantic: DemoRow["semantic"]): DemoRow => rows.find((r) => r.semantic === semantic)!;
    const seed = `(seed ${SEED})`;
    assert.is(row("at-most-once").duplicated, 0, `at-most-once: nothing written twice ${seed}`);
    assert.is(row("at-most-once").processedTwice, 0, `at-most-once: nothing processed twice ${seed}`);
    assert.is(row("at-least-once").lost, 0, `at-least-once: the producer lost nothing ${seed}`);
    assert.is(row("at-least-once").lostByConsumer, 0, `at-least-once: the consumers lost nothing ${seed}`);
    const eos = row("exactly-once");
    assert.equal(
      [eos.lost, eos.duplicated, eos.lostByConsumer, eos.processedTwice, eos.processed],
      [0, 0, 0, 0, RECORDS],
      `exactly-once: the output is the input, once each ${seed}`,
    );
    for (const r of rows) {
      assert.is(r.sent, RECORDS);
      assert.is(r.delivered + r.lost, r.sent, `${r.semantic}: in log + lost = sent`);
      assert.is(r.processed + r.lostByConsumer, r.delivered, `${r.semantic}: processed + lost by consumer = in log`);
      assert.is(r.crashes.length, DEMO_CRASHES, `${r.semantic}: the planned consumer crashes happened ${seed}`);
      assert.is(r.consumers, DEMO_CRASHES + 1, `${r.semantic}: one new instance per crash, and the last one finished`);
      assert.equal(r.consumerFailures, [], `${r.semantic}: no consumer gave up by itself`);
      assert.ok(r.guaranteeHeld, `${r.semantic}: the table's verdict agrees`);
    }
    // Before-processing acks ahead of the handler, so a crash loses the rest of what it held:
    // else the crashes would not be crashes.
    assert.ok(row("at-most-once").lostByConsumer > 0, `a crash lost records under before-processing ${seed}`);
    assert.equal(await demoStreams(), before, "the demo deleted the topics it made");
  });

  test("an unreachable server: one typed error naming it, quickly", { deadlineMs: 15_000 }, async () => {
    const error = await runNatsDemo({ servers: "127.0.0.1:1", records: 10, timeoutMs: 1_000 }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(error instanceof EngineUnavailableError, `got ${String(error)}`);
    assert.match(error.message, "127.0.0.1:1");
  });
}

test.run();
