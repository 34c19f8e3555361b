/**
 * The live runs of group consumers (consumer machine) that `test/machine-graph.test.ts`
 * records: which faults bring which transitions is said by each one's name.
 */
import {
  atLeastOnce,
  chaos,
  createProducer,
  EmbeddedBroker,
  exactlyOnce,
  GroupConsumer,
  sleep,
  UnknownTopicError,
  VirtualClock,
} from "../../src/internal.ts";
import { linked, until } from "./harness.ts";
import type { PathRecorder } from "./graph-paths.ts";
import { commitFailingConsumer, type Scenarios, sendAll, settle, SHORT_SESSION } from "./graph-scenario-kit.ts";
import { routed } from "./routed-transport.ts";

/** How a test transport answers a request: undefined passes it on. */
type Route = Parameters<typeof routed>[1];

async function consumerSetup(count: number, partitions = 1) {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("in", { partitions });
  broker.createTopic("out", { partitions: 1 });
  const producer = broker.producer("in", { deliverySemantic: atLeastOnce(), partitioner: "round-robin" });
  await sendAll(producer, Array.from({ length: count }, (_, i) => `r${i}`));
  await producer.close();
  return { clock, broker };
}

/** Runs `c` until `done`, then `idleMs` more of the clock (so that it polls), and stops it. */
async function consumeUntil(
  c: GroupConsumer,
  clock: VirtualClock,
  handler: () => unknown,
  done: () => boolean,
  idleMs = 0,
) {
  const stop = new AbortController();
  const running = c.run(handler, { signal: linked(stop) });
  try {
    await until(clock, done, "the consumer's handler to be done", { step: 1 });
    if (idleMs > 0) await sleep(clock, idleMs);
  } finally {
    stop.abort();
    await running.catch(() => {});
  }
}

/**
 * A transactional consumer of "in" (2 records) whose output producer's requests go through
 * `route`, run until it has handled `handled` records, or (null) until its loop ends.
 */
async function transactionalRun(r: PathRecorder, route: Route, handled: number | null) {
  const { clock, broker } = await consumerSetup(2);
  const producer = createProducer(routed(broker.transport(), route), "out", {
    clock,
    deliverySemantic: exactlyOnce({ transactionalId: "o" }),
  });
  const c = broker.consumer("in", {
    groupId: "g",
    commit: "transactional",
    pollIntervalMs: 10,
    producer,
    inspect: r.inspect,
  });
  let n = 0;
  if (handled === null) await settle(c.run(() => {}, { signal: linked() }));
  else await consumeUntil(c, clock, () => void n++, () => n >= handled);
  await c.close();
  await settle(producer.close());
}

/** One real run each, recorded through the recorder's `inspect`. */
export const CONSUMER_SCENARIOS: Scenarios = {
  "consumers: each commit strategy takes its batch path; polling when nothing is new; stop; close": async (r) => {
    // (idempotent needs an engine that drops duplicate writes by id: NATS, not the embedded broker.)
    for (const commit of ["before-processing", "after-processing", "transactional", "manual"] as const) {
      const { clock, broker } = await consumerSetup(3);
      const producer = commit === "transactional"
        ? broker.producer("out", { deliverySemantic: exactlyOnce({ transactionalId: `out-${commit}` }) })
        : undefined;
      const c = broker.consumer("in", {
        groupId: "g",
        commit,
        pollIntervalMs: 10,
        producer,
        inspect: r.inspect,
      });
      let n = 0;
      await consumeUntil(c, clock, () => void n++, () => n >= 3, 30);
      await c.close();
      await settle(producer?.close() ?? Promise.resolve());
    }
  },
  "consumers: a handler failure is redelivered (after committing what came before, or not); a transaction aborts":
    async (
      r,
    ) => {
      for (const commit of ["after-processing", "manual", "transactional"] as const) {
        const { clock, broker } = await consumerSetup(2);
        const producer = commit === "transactional"
          ? broker.producer("out", { deliverySemantic: exactlyOnce({ transactionalId: "out-fail" }) })
          : undefined;
        const c = broker.consumer("in", { groupId: "g", commit, pollIntervalMs: 10, producer, inspect: r.inspect });
        let calls = 0;
        await consumeUntil(c, clock, () => {
          if (++calls === 2) throw new Error("fails once");
        }, () => calls >= 3);
        await c.close();
        await settle(producer?.close() ?? Promise.resolve());
      }
    },
  "consumers: a second member joins (rebalance); a lost session rejoins": async (r) => {
    const { clock, broker } = await consumerSetup(200, 2);
    const net = chaos(broker.transport(), { seed: 7, clock, apis: ["heartbeat"] });
    const c = new GroupConsumer(net, "in", { ...SHORT_SESSION, clock, maxPollRecords: 1, inspect: r.inspect });
    const other = broker.consumer("in", { groupId: "g", pollIntervalMs: 10 });
    const otherStop = new AbortController();
    let n = 0;
    let otherRun: Promise<void> = Promise.resolve();
    await consumeUntil(c, clock, async () => {
      if (++n === 5) otherRun = other.run(() => {}, { signal: linked(otherStop) });
      if (n === 10) net.configure({ dropRequest: 1 });
      if (n === 11) {
        await sleep(clock, 1_000);
        net.configure({ dropRequest: 0 });
      }
    }, () => n >= 30);
    otherStop.abort();
    await settle(otherRun);
    await c.close();
    await other.close();
  },
  "consumers: a commit that keeps failing fails the loop; a new reader starts again; close from failed": async (r) => {
    const { clock, broker } = await consumerSetup(3);
    const c = commitFailingConsumer(clock, broker, r.inspect);
    await settle(c.run(() => {}, { signal: linked() }));
    await settle(c.run(() => {}, { signal: linked() }));
    await c.close();
  },
  "consumers: a transaction whose commit is refused aborts, and its batch comes again": async (r) => {
    let refused = false;
    await transactionalRun(r, (request) => {
      if (request.api !== "endTxn" || refused) return undefined;
      refused = true;
      return Promise.reject(new UnknownTopicError("coordinator"));
    }, 3);
  },
  "consumers: an output transaction that can neither commit nor abort fails the loop": async (r) => {
    await transactionalRun(
      r,
      (request) => request.api === "endTxn" ? Promise.reject(new UnknownTopicError("coordinator")) : undefined,
      null,
    );
  },
  "consumers: a failed record whose dead-letter write fails fails the loop": async (r) => {
    const { clock, broker } = await consumerSetup(2);
    broker.createTopic("dlq");
    const net = chaos(broker.transport(), { seed: 6, clock, apis: ["produce"], dropRequest: 1 });
    const c = new GroupConsumer(net, "in", {
      groupId: "g",
      clock,
      requestTimeout: 50,
      pollIntervalMs: 10,
      maxDeliveries: 1,
      deadLetterTopic: "dlq",
      inspect: r.inspect,
    });
    await settle(c.run(() => {
      throw new Error("poison");
    }, { signal: linked() }));
    await c.close();
  },
  "consumers: a reader that stops while its commit is fenced by a new member stops from committing": async (r) => {
    const { clock, broker } = await consumerSetup(20, 2);
    const c = broker.consumer("in", { groupId: "g", pollIntervalMs: 10, maxPollRecords: 1, inspect: r.inspect });
    const other = broker.consumer("in", { groupId: "g", pollIntervalMs: 10 });
    const stop = new AbortController();
    const otherStop = new AbortController();
    let otherRun: Promise<void> = Promise.resolve();
    let n = 0;
    await settle(c.run(async () => {
      if (++n !== 3) return;
      // A second member joins (a new generation), and this reader stops before it commits.
      const generation = broker.group("g")!.generation;
      otherRun = other.run(() => {}, { signal: linked(otherStop) });
      await until(clock, () => broker.group("g")!.generation > generation, "the new generation", { step: 1 });
      stop.abort();
    }, { signal: linked(stop) }));
    otherStop.abort();
    await settle(otherRun);
    await c.close();
    await other.close();
  },
  "consumers: a join, or a rebalance's offset fetch, that keeps failing fails the loop": async (r) => {
    for (const api of ["joinGroup", "offsetFetch"] as const) {
      const { clock, broker } = await consumerSetup(2);
      const net = chaos(broker.transport(), { seed: 5, clock, apis: [api], dropRequest: 1 });
      const c = new GroupConsumer(net, "in", {
        groupId: "g",
        clock,
        commit: "before-processing",
        requestTimeout: 50,
        pollIntervalMs: 10,
        inspect: r.inspect,
      });
      await settle(c.run(() => {}, { signal: linked() }));
      await c.close();
    }
  },
  "consumers: a commit that reaches the coordinator after the member's session expired rejoins from committing": async (
    r,
  ) => {
    const { clock, broker } = await consumerSetup(3);
    let held = false;
    const transport = routed(broker.transport(), (request, pass) => {
      if (request.api !== "offsetCommit" || held) return undefined;
      held = true;
      // On its way longer than the session: the heartbeats wait behind it on the consumer's
      // serial lane, so the coordinator expires the member before the commit arrives.
      return sleep(clock, 1_000).then(pass);
    });
    const c = new GroupConsumer(transport, "in", {
      groupId: "g",
      clock,
      sessionTimeoutMs: 300,
      heartbeatIntervalMs: 100,
      requestTimeout: 5_000,
      pollIntervalMs: 10,
      inspect: r.inspect,
    });
    let n = 0;
    await consumeUntil(c, clock, () => void n++, () => n >= 4);
    await c.close();
  },
};
