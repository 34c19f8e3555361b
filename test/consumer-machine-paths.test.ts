/**
 * Each commit strategy is a path through the consumer's machine, and each kind of fault a
 * transition: recorded from the live actor of a consumer on the embedded broker.
 */
import { linked, test, until } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import {
  atLeastOnce,
  chaos,
  type CommitStrategy,
  type Consumer,
  EmbeddedBroker,
  exactlyOnce,
  GroupConsumer,
  VirtualClock,
} from "../src/index.ts";
import { sleep } from "../src/runtime/clock.ts";
import { commitFailingConsumer, SHORT_SESSION } from "./helpers/graph-scenario-kit.ts";
import { statePath } from "./helpers/state-path.ts";

async function setup(count: number) {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("in", { partitions: 1 });
  broker.createTopic("out", { partitions: 1 });
  const producer = broker.producer("in", { deliverySemantic: atLeastOnce() });
  for (let i = 0; i < count; i++) await producer.send("k", `r${i}`);
  await producer.close();
  return { clock, broker };
}

/** Runs `c` until `done`; it stops, and the wait fails, once the test ends or passes its deadline. */
async function runUntil(c: Consumer, clock: VirtualClock, handler: () => unknown, done: () => boolean) {
  const stop = new AbortController();
  const running = c.run(handler, { signal: linked(stop) });
  try {
    await until(clock, done, "the consumer's handler to be done", { step: 1 });
  } finally {
    stop.abort();
    await running.catch(() => {});
  }
}

const paths: [CommitStrategy, string[]][] = [
  ["before-processing", ["fetching", "committing", "processing", "fetching"]],
  ["after-processing", ["fetching", "processing", "committing", "fetching"]],
  ["transactional", ["fetching", "processing", "committing-transaction", "fetching"]],
  ["manual", ["fetching", "processing", "fetching"]],
];

for (const [commit, expected] of paths) {
  test(`${commit}: a batch takes the path ${expected.join(" → ")}`, async () => {
    const { clock, broker } = await setup(3);
    const producer = commit === "transactional"
      ? broker.producer("out", { deliverySemantic: exactlyOnce({ transactionalId: "t" }) })
      : undefined;
    const c = broker.consumer("in", { groupId: "g", commit, pollIntervalMs: 10, producer });
    const states = statePath(c);
    try {
      let n = 0;
      await runUntil(c, clock, () => void n++, () => n >= 3);
      // Joining, then taking in the first assignment, before the first batch.
      assert.equal(states.path.slice(0, 4), ["joining", "fetching", "rebalancing", "fetching"]);
      assert.equal(states.path.slice(3, 3 + expected.length), expected);
      assert.is(states.path.at(-1), "idle");
    } finally {
      states.stop();
      await c.close();
      await producer?.close();
    }
  });
}

test("a handler failure: processing → committing (what came before) → fetching, and the record comes again", async () => {
  const { clock, broker } = await setup(1);
  const c = broker.consumer("in", { groupId: "g", pollIntervalMs: 10 });
  const states = statePath(c);
  try {
    let calls = 0;
    await runUntil(c, clock, () => {
      if (++calls === 1) throw new Error("fails once");
    }, () => calls >= 2);
    const first = states.path.indexOf("processing");
    assert.equal(states.path.slice(first, first + 5), [
      "processing",
      "committing",
      "fetching",
      "processing",
      "committing",
    ]);
  } finally {
    states.stop();
    await c.close();
  }
});

test("a lost session: the loop goes back to joining, then fetching", async () => {
  const { clock, broker } = await setup(200);
  const net = chaos(broker.transport(), { seed: 7, clock, apis: ["heartbeat"] });
  const c = new GroupConsumer(net, "in", { ...SHORT_SESSION, clock, maxPollRecords: 1 });
  const states = statePath(c);
  try {
    let n = 0;
    await runUntil(c, clock, async () => {
      // Heartbeats stop reaching the broker for longer than the session, mid-stream.
      if (++n === 5) net.configure({ dropRequest: 1 });
      if (n === 6) {
        await sleep(clock, 1_000);
        net.configure({ dropRequest: 0 });
      }
    }, () => n >= 20);
    const lost = states.path.indexOf("joining", 2);
    assert.ok(lost > 0, `rejoined: ${states.path.join(" → ")}`);
    assert.is(states.path[lost + 1], "fetching");
  } finally {
    states.stop();
    await c.close();
  }
});

test("a commit request that keeps failing: committing → failed", async () => {
  const { clock, broker } = await setup(3);
  const c = commitFailingConsumer(clock, broker);
  const states = statePath(c);
  try {
    const failure = await c.run(() => {}, { signal: linked() }).then(() => null, (e: unknown) => e);
    assert.ok(failure instanceof Error);
    assert.equal(states.path.slice(-2), ["committing", "failed"]);
  } finally {
    states.stop();
    await c.close();
  }
});

test.run();
