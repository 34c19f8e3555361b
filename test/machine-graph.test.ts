/**
 * Every machine path (issue 13): `@xstate/graph` lists every state and transition of each
 * exported machine and the shortest path to each state; real producers, consumers and a
 * broker, driven through the chaos transport into retries, timeouts, fencing, aborts,
 * rebalances, crashes and closes, are recorded through `inspect`; and the two must agree:
 * every transition of the graph taken by some live actor, and no live actor taking one the
 * graph lacks.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import type { AnyMachineSnapshot, AnyStateMachine } from "xstate";
import { replicaMachine } from "../src/broker/replica-machine.ts";
import { consumerMachine } from "../src/consumer/machines/consumer-machine.ts";
import { DeliveryFailedError, RequestTimedOutError, UnknownTopicError } from "../src/errors.ts";
import { batchMachine } from "../src/producer/machines/batch-machine.ts";
import { producerMachine } from "../src/producer/machines/producer-machine.ts";
import { requestMachine } from "../src/producer/machines/request-machine.ts";
import { transactionMachine } from "../src/producer/machines/transaction-machine.ts";
import { retryPolicy } from "../src/retry/policy.ts";
import {
  graphOf,
  type MachineGraph,
  type Model,
  PathRecorder,
  type SampleEvent,
  statesOf,
  transitionsOf,
} from "./helpers/graph-paths.ts";
import { firstValue, routed } from "./helpers/routed-transport.ts";
import { linked, until } from "./helpers/harness.ts";
import {
  atLeastOnce,
  atMostOnce,
  chaos,
  createProducer,
  DisconnectedError,
  EmbeddedBroker,
  exactlyOnce,
  GroupConsumer,
  type Producer,
  VirtualClock,
} from "../src/index.ts";
import { sleep } from "../src/runtime/clock.ts";

// ---- the graph ------------------------------------------------------------------------

const POLICY = retryPolicy({ maxRetries: 2, initialDelay: 1, maxDelay: 1, timeout: 1_000, strategy: "fixed" });
const BACKOFF_DONE = { type: "xstate.after.backoff.request.backoff" };
const ctx = (s: AnyMachineSnapshot) => s.context as Record<string, unknown>;

/**
 * `myTurn` is the producer's (exactly-once: no retry before every earlier batch of its
 * partition is resolved); the model makes the first retry wait for a `TURN`.
 */
const requestModel = requestMachine.provide({
  guards: { myTurn: ({ context, event }) => event.type === "TURN" || context.attempts > 1 },
});
const requestModels: Model[] = [true, false].map((awaitAck) => ({
  machine: requestModel,
  input: { batch: null, policy: POLICY, awaitAck, startedAt: 0 },
  events: [
    { type: "SENT" },
    { type: "ACK", baseOffset: 0 },
    { type: "ERROR", error: new RequestTimedOutError(1), at: 0 },
    { type: "ERROR", error: new UnknownTopicError("t"), at: 0 },
    BACKOFF_DONE,
    { type: "TURN", at: 0 },
    { type: "TURN", at: POLICY.timeout },
  ],
  key: (s) => [ctx(s).attempts, ctx(s).awaitAck],
}));

const done = (output: unknown) => ({ type: "xstate.done.actor.request", output });
const batchModels: Model[] = [{
  input: { batch: null, policy: POLICY, awaitAck: true },
  events: [
    { type: "SEAL" },
    { type: "DISPATCH", at: 0 },
    { type: "REJECT", error: new DeliveryFailedError(0, "not-retriable", null) },
    done({ status: "delivered", baseOffset: 0, attempts: 1 }),
    done({ status: "sent", attempts: 1 }),
    done({ status: "failed", error: new DeliveryFailedError(1, "not-retriable", null), attempts: 1 }),
    { type: "xstate.error.actor.request", error: new Error("crashed") },
  ],
}];

/** Every event type a machine names, without a payload (the machines that need none). */
const bare = (machine: AnyStateMachine): SampleEvent[] => machine.events.map((type: string) => ({ type }));

const consumerModels: Model[] = ["before-processing", "after-processing", "idempotent", "transactional", "manual"]
  .map((commit) => ({ input: { commit }, events: bare(consumerMachine), key: () => commit }));

const replicaModels: Model[] = [0, 5].map((lagMs) => ({
  input: { id: 1, lagMs },
  events: [
    { type: "APPENDED", leo: 1, at: 0 },
    { type: "COPY", upTo: 1, asOf: 0 },
    { type: "STOP" },
    { type: "RESUME", leo: 1, at: 0 },
    { type: "SET_LAG", lagMs: 0 },
    { type: "SET_LAG", lagMs: 5 },
  ],
  key: (s) => [ctx(s).leo, ctx(s).lagMs],
}));

const MACHINES: { id: string; machine: AnyStateMachine; models: Model[] }[] = [
  { id: "request", machine: requestMachine, models: requestModels },
  { id: "batch", machine: batchMachine, models: batchModels },
  { id: "producer", machine: producerMachine, models: [{ events: bare(producerMachine) }] },
  { id: "transaction", machine: transactionMachine, models: [{ events: bare(transactionMachine) }] },
  { id: "consumer", machine: consumerMachine, models: consumerModels },
  { id: "replica", machine: replicaMachine, models: replicaModels },
];

const graphs = new Map<string, MachineGraph>(MACHINES.map((m) => [m.id, graphOf(m.machine, m.models)]));

for (const { id, machine } of MACHINES) {
  test(`graph of ${id}: every state is reached and every transition of its definition taken`, () => {
    const graph = graphs.get(id)!;
    assert.equal([...graph.states].sort(), statesOf(machine).sort(), "states reached by @xstate/graph");
    assert.equal([...graph.transitions].sort(), transitionsOf(machine), "transitions taken by @xstate/graph");
    for (const state of statesOf(machine)) assert.ok(graph.shortest.has(state), `a shortest path to ${state}`);
  });
}

// ---- live actors ----------------------------------------------------------------------

const FAST = { maxRetries: 3, initialDelay: 1, maxDelay: 1, strategy: "fixed" } as const;
const settle = (p: Promise<unknown>) => p.then(() => undefined, () => undefined);
const sendAll = async (producer: Producer, values: string[], key: string | null = null) => {
  const outputs = [];
  for (const v of values) outputs.push(await producer.send(key, v));
  return Promise.allSettled(outputs.map((o) => o.wait()));
};

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

/** One real run each, recorded: which faults bring which transitions is said by its name. */
const SCENARIOS: Record<string, (r: PathRecorder) => Promise<void>> = {
  "at-least-once: a lost response, a retry after the backoff, delivered; close": async (r) => {
    const clock = new VirtualClock();
    const broker = new EmbeddedBroker({ clock });
    broker.createTopic("t");
    const net = chaos(broker.transport(), { seed: 11, clock, dropResponse: 1, apis: ["produce"] });
    const producer = createProducer(net, "t", {
      clock,
      requestTimeout: 50,
      deliverySemantic: atLeastOnce({ ...FAST, initialDelay: 10, maxDelay: 10 }),
      inspect: r.inspect,
    });
    producer.batches$.subscribe((report) => {
      if (report.type === "retry") net.configure({ dropResponse: 0 });
    });
    await (await producer.send("k", "v")).wait();
    await producer.close();
  },
  "at-least-once: the transport throws a retriable error before sending; a non-retriable answer fails": async (r) => {
    const clock = new VirtualClock();
    const broker = new EmbeddedBroker({ clock });
    broker.createTopic("t");
    let thrown = false;
    const transport = routed(broker.transport(), (request) => {
      if (firstValue(request) === "throws" && !thrown) {
        thrown = true;
        throw new DisconnectedError();
      }
      if (firstValue(request) === "refused") return Promise.reject(new UnknownTopicError("t"));
      return undefined;
    });
    const producer = createProducer(transport, "t", { clock, deliverySemantic: atLeastOnce(FAST), inspect: r.inspect });
    await (await producer.send(null, "throws")).wait();
    await settle((await producer.send(null, "refused")).wait());
    await settle(producer.close());
  },
  "at-most-once: written and let go; a transport that throws fails the batch at once": async (r) => {
    const clock = new VirtualClock();
    const broker = new EmbeddedBroker({ clock });
    broker.createTopic("t");
    const transport = routed(broker.transport(), (request) => {
      if (firstValue(request) === "boom") throw new TypeError("cannot encode this batch");
      return undefined;
    });
    const producer = createProducer(transport, "t", { clock, deliverySemantic: atMostOnce(), inspect: r.inspect });
    await (await producer.send(null, "fine")).wait();
    await settle((await producer.send(null, "boom")).wait());
    await settle(producer.close());
  },
  "exactly-once: a refused retry waits for its turn, goes on TURN; one whose turn comes too late fails": async (r) => {
    for (const holdMs of [5, 5_000]) {
      const clock = new VirtualClock();
      const broker = new EmbeddedBroker({ clock });
      broker.createTopic("t");
      let release = () => {};
      const transport = routed(broker.transport(), (request, pass) => {
        // The first batch's only attempt is held back; the second is refused as out of order.
        if (firstValue(request) !== "first") return undefined;
        return new Promise((resolve) => (release = () => resolve(pass())));
      });
      const producer = createProducer(transport, "t", {
        clock,
        deliverySemantic: exactlyOnce({ retry: { ...FAST, maxRetries: 10, timeout: 1_000 } }),
        inspect: r.inspect,
      });
      const first = await producer.send(null, "first");
      await sleep(clock, 1);
      const second = await producer.send(null, "second");
      await sleep(clock, holdMs);
      release();
      await settle(first.wait());
      await settle(second.wait());
      await settle(producer.close());
    }
  },
  "transactions: one partition cannot join (abortable), then another's join is fenced": async (r) => {
    const clock = new VirtualClock();
    const broker = new EmbeddedBroker({ clock });
    broker.createTopic("t", { partitions: 2 });
    let release = () => {};
    const transport = routed(broker.transport(), (request, pass) => {
      if (request.api !== "addPartitionsToTxn") return undefined;
      if (request.partitions[0]!.partition === 0) return Promise.reject(new UnknownTopicError("t"));
      return new Promise((resolve) => (release = () => resolve(pass())));
    });
    const older = createProducer(transport, "t", {
      clock,
      partitioner: "round-robin",
      deliverySemantic: exactlyOnce({ transactionalId: "tx-e" }),
      inspect: r.inspect,
    });
    await settle(older.transaction(async (tx) => {
      const a = await tx.send(null, "a");
      const b = await tx.send(null, "b");
      await settle(a.wait());
      // A newer producer takes the id over before the second partition's join is answered.
      const newer = broker.producer("t", { deliverySemantic: exactlyOnce({ transactionalId: "tx-e" }) });
      await newer.transaction(async (t2) => void (await t2.send(null, "c")));
      await newer.close();
      release();
      await settle(b.wait());
    }));
    release();
    await settle(older.close());
  },
  "exactly-once: a retry whose transport threw before sending waits for its turn behind a held batch": async (r) => {
    const clock = new VirtualClock();
    const broker = new EmbeddedBroker({ clock });
    broker.createTopic("t");
    let release = () => {};
    let thrown = false;
    const transport = routed(broker.transport(), (request, pass) => {
      if (firstValue(request) === "second" && !thrown) {
        thrown = true;
        throw new DisconnectedError();
      }
      if (firstValue(request) !== "first") return undefined;
      return new Promise((resolve) => (release = () => resolve(pass())));
    });
    const producer = createProducer(transport, "t", {
      clock,
      deliverySemantic: exactlyOnce({ retry: { ...FAST, maxRetries: 10, timeout: 1_000 } }),
      inspect: r.inspect,
    });
    const first = await producer.send(null, "first");
    await sleep(clock, 1);
    const second = await producer.send(null, "second");
    await sleep(clock, 5);
    release();
    await settle(first.wait());
    await settle(second.wait());
    await settle(producer.close());
  },
  "transactions: commit, abort; a lost endTxn makes the commit abortable and the abort fatal": async (r) => {
    const clock = new VirtualClock();
    const broker = new EmbeddedBroker({ clock });
    broker.createTopic("t", { partitions: 2 });
    const net = chaos(broker.transport(), { seed: 3, clock, apis: ["endTxn"] });
    const producer = createProducer(net, "t", {
      clock,
      requestTimeout: 50,
      deliverySemantic: exactlyOnce({ transactionalId: "tx-a" }),
      inspect: r.inspect,
    });
    await producer.transaction(async (tx) => void (await tx.send("a", "1")));
    await settle(producer.transaction(async (tx) => {
      await tx.send("b", "2");
      throw new Error("changed my mind");
    }));
    net.configure({ dropRequest: 1 });
    await settle(producer.transaction(async (tx) => void (await tx.send("c", "3"))));
    await settle(producer.close());
  },
  "transactions: a partition that cannot join rejects its batch; the transaction aborts": async (r) => {
    const clock = new VirtualClock();
    const broker = new EmbeddedBroker({ clock });
    broker.createTopic("t");
    const net = chaos(broker.transport(), { seed: 4, clock, apis: ["addPartitionsToTxn"], dropRequest: 1 });
    const producer = createProducer(net, "t", {
      clock,
      requestTimeout: 50,
      deliverySemantic: exactlyOnce({ transactionalId: "tx-b" }),
      inspect: r.inspect,
    });
    await settle(producer.transaction(async (tx) => void (await (await tx.send("a", "1")).wait())));
    await settle(producer.close());
  },
  "transactions: a newer producer with the same id fences the older one mid-transaction": async (r) => {
    const clock = new VirtualClock();
    const broker = new EmbeddedBroker({ clock });
    broker.createTopic("t");
    const older = broker.producer("t", {
      deliverySemantic: exactlyOnce({ transactionalId: "tx-c" }),
      inspect: r.inspect,
    });
    await older.transaction(async (tx) => void (await tx.send("a", "1")));
    await settle(older.transaction(async (tx) => {
      const newer = broker.producer("t", { deliverySemantic: exactlyOnce({ transactionalId: "tx-c" }) });
      await newer.transaction(async (t2) => void (await t2.send("b", "2")));
      await (await tx.send("a", "3")).wait();
      await newer.close();
    }));
    await settle(older.close());
  },
  "transactions: fenced while committing, and while aborting": async (r) => {
    for (const fail of [false, true]) {
      const clock = new VirtualClock();
      const broker = new EmbeddedBroker({ clock });
      broker.createTopic("t");
      const id = `tx-d-${fail}`;
      const older = broker.producer("t", {
        deliverySemantic: exactlyOnce({ transactionalId: id }),
        inspect: r.inspect,
      });
      await older.transaction(async (tx) => void (await tx.send("a", "1")));
      let newer: Promise<unknown> = Promise.resolve();
      const other = broker.producer("t", { deliverySemantic: exactlyOnce({ transactionalId: id }) });
      await settle(older.transaction(async (tx) => {
        await tx.send("a", "2");
        // The newer producer's init reaches the coordinator before the older one's endTxn.
        newer = other.transaction(async (t2) => void (await t2.send("b", "3")));
        if (fail) throw new Error("abort it");
      }));
      await settle(newer);
      await settle(other.close());
      await settle(older.close());
    }
  },
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
    const options = {
      groupId: "g",
      clock,
      sessionTimeoutMs: 300,
      heartbeatIntervalMs: 100,
      requestTimeout: 50,
      pollIntervalMs: 10,
      maxPollRecords: 1,
      inspect: r.inspect,
    };
    const c = new GroupConsumer(net, "in", options);
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
    const net = chaos(broker.transport(), { seed: 3, clock, apis: ["offsetCommit"], dropRequest: 1 });
    const c = new GroupConsumer(net, "in", {
      groupId: "g",
      clock,
      sessionTimeoutMs: 300,
      heartbeatIntervalMs: 100,
      requestTimeout: 50,
      pollIntervalMs: 10,
      inspect: r.inspect,
    });
    await settle(c.run(() => {}, { signal: linked() }));
    await settle(c.run(() => {}, { signal: linked() }));
    await c.close();
  },
  "replicas: followers copy after their lag, or at once; one stops, misses appends, resumes and catches up": async (
    r,
  ) => {
    const clock = new VirtualClock();
    const broker = new EmbeddedBroker({ clock });
    broker.createTopic("t", { replicationFactor: 3, replicaLagMs: 5, minInsyncReplicas: 1 });
    const partition = broker.partition("t", 0);
    const subscriptions = [1, 2].map((id) => r.attach(partition.follower(id)!));
    // Follower 2 is stopped before anything is written, and resumes at once.
    partition.follower(2)!.send({ type: "STOP" });
    partition.resume(2);
    const producer = broker.producer("t", { deliverySemantic: atLeastOnce(FAST) });
    await sendAll(producer, ["a", "b"]);
    await sleep(clock, 20);
    // Fault injection as the broker tests do it: a replica stops, its lag changes.
    partition.follower(1)!.send({ type: "STOP" });
    partition.follower(1)!.send({ type: "SET_LAG", lagMs: 0 });
    partition.follower(2)!.send({ type: "SET_LAG", lagMs: 0 });
    await sendAll(producer, ["c", "d"]);
    partition.resume(1);
    await sleep(clock, 20);
    await producer.close();
    for (const s of subscriptions) s.unsubscribe();
  },
  "consumers: a transaction whose commit is refused aborts, and its batch comes again": async (r) => {
    const { clock, broker } = await consumerSetup(2);
    let refused = false;
    const transport = routed(broker.transport(), (request) => {
      if (request.api !== "endTxn" || refused) return undefined;
      refused = true;
      return Promise.reject(new UnknownTopicError("coordinator"));
    });
    const producer = createProducer(transport, "out", {
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
    await consumeUntil(c, clock, () => void n++, () => n >= 3);
    await c.close();
    await settle(producer.close());
  },
  "consumers: an output transaction that can neither commit nor abort fails the loop": async (r) => {
    const { clock, broker } = await consumerSetup(2);
    const transport = routed(
      broker.transport(),
      (request) => request.api === "endTxn" ? Promise.reject(new UnknownTopicError("coordinator")) : undefined,
    );
    const producer = createProducer(transport, "out", {
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
    await settle(c.run(() => {}, { signal: linked() }));
    await c.close();
    await settle(producer.close());
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
};

const recorder = new PathRecorder();
for (const [name, scenario] of Object.entries(SCENARIOS)) test(`scenario: ${name}`, () => scenario(recorder));

/**
 * Transitions of the graph no scenario takes, each with the reason. The coverage test fails
 * both when one of them is taken (take it off this list) and when any other is not (a
 * scenario was lost, or the implementation changed).
 */
const NOT_TAKEN: Record<string, Record<string, string>> = {
  request: {},
  batch: {
    "in-flight —xstate.error.actor.request→ failed":
      "only if a provided action of the request actor throws; the producer's transmit catches its transport's throws",
  },
  producer: {},
  transaction: {
    "initializing —FATAL→ failed": "FATAL is sent only by abort(), in aborting",
    "ready —FATAL→ failed": "FATAL is sent only by abort(), in aborting",
    "in-transaction —FATAL→ failed": "FATAL is sent only by abort(), in aborting",
    "committing —FATAL→ failed": "FATAL is sent only by abort(), in aborting",
    "abortable —FATAL→ failed": "FATAL is sent only by abort(), in aborting",
    "initializing —FENCED→ fenced": "initProducerId's failure throws from the producer without an event",
    "ready —FENCED→ fenced": "FENCED comes from a write, commit or abort of an open transaction",
  },
  consumer: {
    ...Object.fromEntries(
      ["joining", "fetching", "polling", "processing", "committing", "committing-transaction", "rebalancing"].map(
        (s) => [`${s} —CLOSE→ closed`, "close() stops the reader and awaits its loop (STOP or FAIL) before CLOSE"],
      ),
    ),
    ...Object.fromEntries(
      ["STOP", "FAIL", "REBALANCE", "REJOIN"].map((e) => [
        `polling —${e}→ ${({ STOP: "idle", FAIL: "failed", REBALANCE: "rebalancing", REJOIN: "joining" })[e]}`,
        "the loop sends IDLE, awaits the poll interval (which cannot throw, and ends on abort), then WAKE",
      ]),
    ),
    "joining —STOP→ idle": "#read sends JOINED once the join resolves; an abort is seen only after it",
    "rebalancing —REBALANCE→ rebalancing": "the loop sends REBALANCE, awaits the rebalance, then DONE (or FAIL)",
    "rebalancing —REJOIN→ joining": "the loop sends REBALANCE, awaits the rebalance, then DONE (or FAIL)",
    "rebalancing —STOP→ idle": "the loop sends REBALANCE, awaits the rebalance, then DONE (or FAIL)",
    "processing —REBALANCE→ rebalancing":
      "#steps always leaves processing (COMMIT, REDELIVER, DONE or ABORTED) unless it throws",
    "processing —REJOIN→ joining":
      "#steps always leaves processing (COMMIT, REDELIVER, DONE or ABORTED) unless it throws",
    "processing —STOP→ idle": "#steps always leaves processing (COMMIT, REDELIVER, DONE or ABORTED) unless it throws",
    "committing-transaction —REBALANCE→ rebalancing": "processInTransaction sends DONE or ABORTED after COMMIT",
    "committing-transaction —REJOIN→ joining": "processInTransaction sends DONE or ABORTED after COMMIT",
    "committing-transaction —STOP→ idle": "processInTransaction sends DONE or ABORTED after COMMIT",
    "committing —REJOIN→ joining":
      "a commit fenced by an expired session while the member still thinks itself joined (it marks itself lost by its own clock first): no scenario yet",
  },
  replica: {},
};

test("coverage: every transition of the graph was taken by a live actor (but those listed), and none outside it", () => {
  const rows = ["machine        states  transitions"];
  for (const { id, machine } of MACHINES) {
    const graph = graphs.get(id)!;
    const taken = recorder.taken.get(id) ?? new Map<string, number>();
    const reached = recorder.reached.get(id) ?? new Set<string>();
    const all = transitionsOf(machine);
    const states = statesOf(machine);
    rows.push(
      `${id.padEnd(14)} ${`${states.filter((s) => reached.has(s)).length}/${states.length}`.padEnd(7)} ` +
        `${all.filter((t) => taken.has(t)).length}/${all.length}`,
    );
    assert.equal(
      [...taken.keys()].filter((t) => !graph.transitions.has(t)),
      [],
      `${id}: live transitions the graph lacks`,
    );
    assert.equal(states.filter((s) => !reached.has(s)), [], `${id}: states no live actor reached`);
    assert.equal(
      all.filter((t) => !taken.has(t)),
      Object.keys(NOT_TAKEN[id]!).sort(),
      `${id}: transitions no live actor took`,
    );
  }
  console.log(rows.join("\n"));
});

// ---- the shortest path to each state, run against the real implementation ------------------

// Not the transaction (its shortest ways to fenced and failed are from initializing, which the
// producer never takes) nor the consumer (a live consumer's first fetch takes in its
// assignment first: idle → joining → fetching → rebalancing → fetching).
for (const id of ["request", "batch", "producer", "replica"]) {
  test(`paths of ${id}: the shortest path to each state is the start of some live actor's run`, () => {
    const traces = recorder.traces.filter((t) => t.machine === id);
    const unmatched: string[] = [];
    for (const [state, path] of graphs.get(id)!.shortest) {
      const taken = traces.some((t) =>
        path.events.every((e, i) => t.events[i] === e) && path.states.every((s, i) => t.states[i] === s)
      );
      if (!taken) unmatched.push(`${state}: ${path.states.join(" → ")} by ${path.events.join(", ")}`);
    }
    assert.equal(unmatched, [], `${id}: shortest paths no live actor took`);
  });
}

test.run();
