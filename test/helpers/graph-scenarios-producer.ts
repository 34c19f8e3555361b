/**
 * The live runs of producers (request, batch, producer and transaction machines) and of a
 * replicated partition (replica machine) that `test/machine-graph.test.ts` records: which
 * faults bring which transitions is said by each one's name.
 */
import * as assert from "uvu/assert";
import {
  atLeastOnce,
  atMostOnce,
  chaos,
  createProducer,
  DeliveryFailedError,
  DisconnectedError,
  EmbeddedBroker,
  exactlyOnce,
  sleep,
  UnknownTopicError,
  VirtualClock,
} from "../../src/internal.ts";
import { FAST, type Scenarios, sendAll, settle } from "./graph-scenario-kit.ts";
import { heldFirstBatch } from "./held-batch.ts";
import { firstValue, routed } from "./routed-transport.ts";

/** One real run each, recorded through the recorder's `inspect`. */
export const PRODUCER_SCENARIOS: Scenarios = {
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
      const held = await heldFirstBatch({ retry: { ...FAST, maxRetries: 10, timeout: 1_000 }, inspect: r.inspect });
      try {
        await sleep(held.clock, holdMs);
        held.release();
        await settle(held.first.wait());
        await settle(held.second.wait());
      } finally {
        await held.close();
      }
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
    const held = await heldFirstBatch({
      retry: { ...FAST, maxRetries: 10, timeout: 1_000 },
      inspect: r.inspect,
      throwSecondOnce: true,
    });
    try {
      await sleep(held.clock, 5);
      held.release();
      await settle(held.first.wait());
      await settle(held.second.wait());
    } finally {
      await held.close();
    }
  },
  "at-least-once: a random source that throws when a retry draws its jitter crashes the request; the batch fails":
    async (r) => {
      const clock = new VirtualClock();
      const broker = new EmbeddedBroker({ clock });
      broker.createTopic("t");
      const net = chaos(broker.transport(), { seed: 12, clock, dropResponse: 1, apis: ["produce"] });
      const producer = createProducer(net, "t", {
        clock,
        requestTimeout: 50,
        // A user's seeded source that has run dry: the retry decision is the first to draw from it.
        random: () => {
          throw new RangeError("the random source ran dry");
        },
        deliverySemantic: atLeastOnce({ ...FAST, jitter: 0.5 }),
        inspect: r.inspect,
      });
      try {
        const failed = await (await producer.send("k", "v")).wait().then(() => null, (e: unknown) => e);
        assert.instance(failed, DeliveryFailedError, "the batch settles as failed rather than hanging");
      } finally {
        await settle(producer.close());
      }
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
    // In the older one's first transaction: the shortest way to fenced.
    await settle(older.transaction(async (tx) => {
      const newer = broker.producer("t", { deliverySemantic: exactlyOnce({ transactionalId: "tx-c" }) });
      await newer.transaction(async (t2) => void (await t2.send("b", "2")));
      await (await tx.send("a", "3")).wait();
      await newer.close();
    }));
    await settle(older.close());
  },
  "transactions: a first transaction that aborts; one whose abort is lost fails the producer": async (r) => {
    for (const lost of [false, true]) {
      const clock = new VirtualClock();
      const broker = new EmbeddedBroker({ clock });
      broker.createTopic("t");
      const net = chaos(broker.transport(), { seed: 8, clock, apis: ["endTxn"], dropRequest: lost ? 1 : 0 });
      const producer = createProducer(net, "t", {
        clock,
        requestTimeout: 50,
        deliverySemantic: exactlyOnce({ transactionalId: `tx-f-${lost}` }),
        inspect: r.inspect,
      });
      await settle(producer.transaction(async (tx) => {
        await tx.send("a", "1");
        throw new Error("changed my mind");
      }));
      await settle(producer.close());
    }
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
};
