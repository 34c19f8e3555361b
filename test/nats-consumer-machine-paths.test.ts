/**
 * On NATS JetStream too, each commit strategy is a path through the consumer's machine:
 * the states a live consumer's actor goes through show where its acks (commits) happen.
 * Recorded from the actor of a consumer on a real server; without one these tests fail and
 * say how to start it, and only ACKTOR_SKIP_ENGINES=1 skips them.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import type { NatsTransport } from "../src/adapters/nats/index.ts";
import { atLeastOnce, type CommitStrategy, type Consumer, createConsumer, createProducer } from "../src/index.ts";
import { server, SKIP, uniqueTopic } from "./helpers/nats.ts";
import { statePath } from "./helpers/state-path.ts";

/** True when `path` holds `expected` as a contiguous run. */
function holdsRun(path: readonly string[], expected: readonly string[]): boolean {
  return path.some((_, i) => expected.every((state, j) => path[i + j] === state));
}

const paths: [CommitStrategy, string[], string[]][] = [
  // [strategy, the path a batch takes, a run that must never appear]
  ["before-processing", ["fetching", "committing", "processing", "fetching"], ["processing", "committing"]],
  ["after-processing", ["fetching", "processing", "committing", "fetching"], ["committing", "processing"]],
  ["idempotent", ["fetching", "processing", "committing", "fetching"], ["committing", "processing"]],
  ["manual", ["fetching", "processing", "fetching"], ["committing"]],
];

for (const [commit, expected, never] of paths) {
  test(`JetStream ${commit}: a batch takes the path ${expected.join(" → ")}`, async () => {
    if (SKIP) return;
    let nats: NatsTransport | null = null;
    let consumer: Consumer | null = null;
    let states: ReturnType<typeof statePath> | null = null;
    try {
      nats = await server();
      const topic = uniqueTopic(`path-${commit}`);
      const output = uniqueTopic(`path-${commit}-out`);
      await nats.createTopic(topic, { partitions: 1, storage: "memory" });
      await nats.createTopic(output, { partitions: 1, storage: "memory" });
      const producer = createProducer(nats, topic, { deliverySemantic: atLeastOnce() });
      for (let i = 0; i < 3; i++) await producer.send("k", `r${i}`);
      await producer.close();
      consumer = createConsumer(nats, topic, {
        groupId: "paths",
        commit,
        ...(commit === "idempotent" ? { outputTopic: output } : {}),
      });
      states = statePath(consumer);
      const done = new AbortController();
      let handled = 0;
      await consumer.run(async (r, context) => {
        if (commit === "idempotent") await context.output!.send(r.key, r.value);
        if (++handled === 3) done.abort();
      }, { signal: AbortSignal.any([done.signal, AbortSignal.timeout(20_000)]) });
      assert.is(handled, 3, "every record handled before the deadline");
      assert.ok(holdsRun(states.path, expected), `path ${states.path.join(" → ")} should hold ${expected.join(" → ")}`);
      assert.not.ok(holdsRun(states.path, never), `path ${states.path.join(" → ")} must not hold ${never.join(" → ")}`);
    } finally {
      states?.stop();
      await consumer?.close();
      await nats?.close();
    }
  });
}

test.run();
