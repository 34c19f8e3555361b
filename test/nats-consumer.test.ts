/**
 * Consumers on a real NATS JetStream server: every commit strategy through consumer crashes
 * (the connection dies with acks unsent, as when a process is killed) and connection cuts,
 * redelivery, dead letters and the max-deliveries advisory. Without a server these tests
 * fail and say how to start one; only ACKTOR_SKIP_ENGINES=1 skips them.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { connectNats, durableName, type Framing, type NatsTransport, streamName } from "../src/adapters/nats/index.ts";
import {
  atLeastOnce,
  type CommitStrategy,
  ConfigError,
  type ConsumedRecord,
  type ConsumerConfig,
  type ConsumerOutcome,
  createConsumer,
  createProducer,
  EmbeddedBroker,
  exactlyOnce,
  type HandlerContext,
  UnknownTopicError,
  UnsupportedError,
} from "../src/index.ts";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { History, idOf } from "./helpers/history.ts";
import { dec, proxyToServer, readAll, server, SKIP, uniqueTopic, URL } from "./helpers/nats.ts";

const PARTITIONS = 3;
/** AckWait: how long a crashed member's messages wait before they come again. */
const SESSION_MS = 1_500;

async function topicWith(
  admin: NatsTransport,
  what: string,
  count: number,
  framing: Framing = "message",
): Promise<string> {
  const topic = uniqueTopic(what);
  await admin.createTopic(topic, { partitions: PARTITIONS, framing, storage: "memory" });
  const producer = createProducer(admin, topic, { deliverySemantic: atLeastOnce(), batchSize: 4 * 1024 });
  for (let i = 0; i < count; i++) await producer.send(`k${i % 11}`, `r${i}`);
  await producer.close();
  return topic;
}

/** A plain JetStream manager, for asking the server about a group's durable consumer. */
let manager: Promise<{ jsm: JetStreamManager; nc: NatsConnection }> | null = null;
function plainManager(): Promise<{ jsm: JetStreamManager; nc: NatsConnection }> {
  manager ??= connect({ servers: URL }).then(async (nc) => ({ nc, jsm: await jetstreamManager(nc) }));
  return manager;
}

/** True once the group's durable consumer has nothing left to deliver and nothing awaiting an ack. */
async function drained(topic: string, groupId: string): Promise<boolean> {
  const { jsm } = await plainManager();
  const info = await jsm.consumers.info(streamName(topic), durableName(groupId)).catch(() => null);
  if (info === null) return false;
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

type Handler = (record: ConsumedRecord, context: HandlerContext) => unknown;

/**
 * Runs consumer "lives" one after another, each on its own connection through a proxy. A
 * life kills its connection at its `crashes[i]`-th record (acks and naks still unsent are
 * lost, as with a killed process) and is abandoned: `before` the handler got to the record
 * (killed mid-record), or `after` it finished but before the consumer acked it;
 * the next life gets what the server redelivers after AckWait. The second life also has its
 * connection cut once and must reconnect by itself. Every life ends early once `done()`;
 * the last one also after 20 s.
 */
async function lives(
  topic: string,
  config: ConsumerConfig,
  handler: Handler,
  crashes: number[],
  when: "before" | "after",
  done: () => Promise<boolean>,
): Promise<{ crashes: number; cuts: number }> {
  let crashed = 0;
  let cuts = 0;
  for (let life = 0; life <= crashes.length; life++) {
    const proxy = await proxyToServer();
    const nats = await connectNats({ servers: `127.0.0.1:${proxy.port}` });
    const consumer = createConsumer(nats, topic, {
      sessionTimeoutMs: SESSION_MS,
      heartbeatIntervalMs: 400,
      requestTimeout: 2_000,
      ...config,
    });
    const stop = new AbortController();
    let handled = 0;
    let dead = false;
    const running = consumer.run(
      async (record, context) => {
        if (dead) throw new Error("dead");
        handled++;
        if (life === 1 && handled === 100) cuts += proxy.cutAll();
        const crash = handled === crashes[life];
        if (!crash || when === "after") await handler(record, context);
        if (crash) {
          // Killed after working on the record a while: whatever the consumer sent before
          // the handler (an ack, under the wrong strategy) has reached the server by then.
          await new Promise((r) => setTimeout(r, 20));
          dead = true;
          crashed++;
          await proxy.close();
          stop.abort();
          throw new Error("crashed");
        }
      },
      { signal: stop.signal },
    );
    // A guarantee that does not hold shows up as an assertion after the deadline, not a hang.
    const deadline = Date.now() + 20_000;
    while (!dead && Date.now() < deadline && !(await done())) await new Promise((r) => setTimeout(r, 200));
    stop.abort();
    await running.catch(() => {});
    await consumer.close();
    await nats.close();
    await proxy.close();
    if (!dead) break;
  }
  return { crashes: crashed, cuts };
}

/** What the history checker makes of `count` inputs and the values handled (or written) for them. */
function tally(values: string[], count: number): { lost: number; duplicates: number } {
  const history = new History(`NATS consumer, ${count} records`);
  for (let i = 0; i < count; i++) history.send(i);
  values.forEach((value, at) => history.read(idOf(value), 0, at));
  const report = history.check();
  assert.equal(report.phantom, [], "nothing handled that was never sent");
  return { lost: report.lost.length, duplicates: report.extraCopies };
}

if (SKIP) {
  console.log("SKIPPED: the NATS JetStream consumer tests (ACKTOR_SKIP_ENGINES=1)");
} else {
  for (const framing of ["message", "batch"] as const) {
    test(`after-processing on JetStream (${framing} framing): crashes and a cut lose nothing, and redeliver`, async () => {
      const admin = await server();
      const N = 1_200;
      const topic = await topicWith(admin, "alo", N, framing);
      const seen: string[] = [];
      const groupId = "alo";
      const { crashes, cuts } = await lives(
        topic,
        { groupId, maxPollRecords: 200 },
        (r) => void seen.push(dec(r.value)),
        [250, 300, 300],
        "before",
        async () => new Set(seen).size === N && (await drained(topic, groupId)),
      );
      const { lost, duplicates } = tally(seen, N);
      assert.is(lost, 0, "nothing lost");
      assert.ok(duplicates > 0, "the crashes made the server redeliver what was handled but not acked");
      assert.is(crashes, 3);
      assert.ok(cuts > 0, "a connection was cut");
      await admin.deleteTopic(topic);
      await admin.close();
    });
  }

  test("before-processing on JetStream: crashes lose what was acked, never process a record twice", async () => {
    const admin = await server();
    const N = 1_200;
    const topic = await topicWith(admin, "amo", N);
    const seen: string[] = [];
    const groupId = "amo";
    const { crashes } = await lives(
      topic,
      { groupId, commit: "before-processing", maxPollRecords: 100 },
      (r) => void seen.push(dec(r.value)),
      [250, 300, 300],
      "before",
      () => drained(topic, groupId),
    );
    assert.is(crashes, 3);
    const { lost, duplicates } = tally(seen, N);
    assert.is(duplicates, 0, "no record processed twice");
    assert.ok(lost > 0, "a crash between ack and handling loses the rest of the batch");
    await admin.deleteTopic(topic);
    await admin.close();
  });

  test("idempotent on JetStream: the output holds each input once, through crashes, lost acks and a cut", async () => {
    const admin = await server();
    const N = 1_200;
    const topic = await topicWith(admin, "eos-in", N);
    const output = uniqueTopic("eos-out");
    await admin.createTopic(output, { partitions: PARTITIONS, storage: "memory" });
    const groupId = "eos";
    let handled = 0;
    // Awaiting the write means every crash comes after an output was stored and before its
    // input was acked: the redelivered input writes it again, and only the derived id stops a copy.
    const handler: Handler = async (r, context) => {
      handled++;
      await context.output!.send(r.key, `out-${dec(r.value).slice(1)}`);
    };
    const { crashes } = await lives(
      topic,
      { groupId, commit: "idempotent", outputTopic: output, maxPollRecords: 200 },
      handler,
      [250, 300, 300],
      "after",
      () => drained(topic, groupId),
    );
    assert.is(crashes, 3);
    const out: string[] = [];
    for (let p = 0; p < PARTITIONS; p++) out.push(...(await readAll(admin, output, p)).map((r) => r.value));
    const { lost, duplicates } = tally(out, N);
    assert.ok(handled > N, "some inputs were handled twice (a crash came between output and ack)");
    assert.is(lost, 0, "every input has its output");
    assert.is(duplicates, 0, "and only one");
    await admin.deleteTopic(topic);
    await admin.deleteTopic(output);
    await admin.close();
  });

  test("two members of a group on JetStream share the records; one leaving hands its part to the other", async () => {
    const admin = await server();
    const N = 2_000;
    const topic = await topicWith(admin, "members", N);
    const seen: string[] = [];
    const byMember = [0, 0];
    const config = { groupId: "two", maxPollRecords: 50, sessionTimeoutMs: SESSION_MS, heartbeatIntervalMs: 400 };
    const members = [createConsumer(admin, topic, config), createConsumer(admin, topic, config)];
    const stops = [new AbortController(), new AbortController()];
    const running = members.map((member, i) =>
      member.run(
        async (r) => {
          seen.push(dec(r.value));
          byMember[i]!++;
          // The first member leaves part-way; what it pulled and did not handle goes to the other.
          if (i === 0 && byMember[0] === 300) stops[0]!.abort();
          await new Promise((resolve) => setTimeout(resolve, 0));
        },
        { signal: stops[i]!.signal },
      )
    );
    await running[0];
    await members[0]!.close();
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !(new Set(seen).size === N && (await drained(topic, "two")))) {
      await new Promise((r) => setTimeout(r, 100));
    }
    stops[1]!.abort();
    await running[1];
    await members[1]!.close();
    assert.is(tally(seen, N).lost, 0, "nothing lost");
    assert.ok(byMember[0]! >= 300 && byMember[1]! > 0, `both members handled records (${byMember.join(", ")})`);
    await admin.deleteTopic(topic);
    await admin.close();
  });

  test("manual on JetStream: only committed records stay consumed", async () => {
    const admin = await server();
    const topic = await topicWith(admin, "manual", 30);
    const first = createConsumer(admin, topic, {
      groupId: "m",
      commit: "manual",
      sessionTimeoutMs: SESSION_MS,
      heartbeatIntervalMs: 400,
    });
    const handled: ConsumedRecord[] = [];
    const stop = new AbortController();
    await first.run(
      (r) => {
        handled.push(r);
        if (handled.length === 30) stop.abort();
      },
      { signal: stop.signal },
    );
    // Commit the records of partition 0 only; the rest come again to the next member.
    const p0 = handled.filter((r) => r.partition === 0);
    await first.commit([{ partition: 0, offset: Math.max(...p0.map((r) => r.offset)) + 1 }]);
    await first.close();
    // What was not committed comes again (the server counting its earlier delivery); what was, never.
    const again: ConsumedRecord[] = [];
    const second = createConsumer(admin, topic, {
      groupId: "m",
      sessionTimeoutMs: SESSION_MS,
      heartbeatIntervalMs: 400,
    });
    const stop2 = new AbortController();
    const running = second.run((r) => void again.push(r), { signal: stop2.signal });
    while (!(await drained(topic, "m"))) await new Promise((r) => setTimeout(r, 100));
    stop2.abort();
    await running;
    await second.close();
    assert.ok(p0.length > 0 && p0.length < 30);
    const values = (records: ConsumedRecord[]): string[] => [...new Set(records.map((r) => dec(r.value)))].sort();
    assert.equal(values(again), values(handled.filter((r) => r.partition !== 0)));
    await admin.deleteTopic(topic);
    await admin.close();
  });

  for (const withDlq of [true, false]) {
    test(`a poison record on JetStream: redelivered up to maxDeliveries, then ${withDlq ? "dead-lettered" : "given up by the server (advisory)"}`, async () => {
      const admin = await server();
      const topic = await topicWith(admin, "poison", 20, "batch");
      const dlq = uniqueTopic("dlq");
      if (withDlq) await admin.createTopic(dlq, { partitions: 1, storage: "memory" });
      const consumer = createConsumer(admin, topic, {
        groupId: "p",
        maxDeliveries: 3,
        sessionTimeoutMs: SESSION_MS,
        heartbeatIntervalMs: 400,
        ...(withDlq ? { deadLetterTopic: dlq } : {}),
      });
      const outcomes: ConsumerOutcome[] = [];
      consumer.outcomes$.subscribe((o) => outcomes.push(o));
      const attempts: number[] = [];
      const good = new Set<string>();
      const stop = new AbortController();
      const finished = (): boolean =>
        good.size === 19 && outcomes.some((o) => o.type === (withDlq ? "dead-lettered" : "exhausted"));
      const running = consumer.run(
        (r) => {
          if (dec(r.value) === "r7") {
            attempts.push(r.deliveries);
            throw new Error("poison");
          }
          good.add(dec(r.value));
        },
        { signal: stop.signal },
      );
      while (!finished()) await new Promise((r) => setTimeout(r, 100));
      stop.abort();
      await running;
      await consumer.close();
      assert.equal(attempts, [1, 2, 3], "handed out maxDeliveries times, the server counting");
      assert.is(outcomes.filter((o) => o.type === "redelivered").length, 2);
      if (withDlq) {
        const letters = await readAll(admin, dlq, 0);
        assert.equal(letters.map((r) => r.value), ["r7"]);
        await admin.deleteTopic(dlq);
      } else {
        const exhausted = outcomes.find((o) => o.type === "exhausted") as Extract<
          ConsumerOutcome,
          { type: "exhausted" }
        >;
        const stored = (await readAll(admin, topic, exhausted.partition)).find((r) => r.value === "r7");
        assert.is(exhausted.deliveries, 3);
        // Batch framing: the advisory names the frame; r7 is one of its records.
        assert.ok(stored !== undefined && Math.floor(stored.offset / 65_536) === Math.floor(exhausted.offset / 65_536));
      }
      await admin.deleteTopic(topic);
      await admin.close();
    });
  }

  test("runBatches on JetStream hands over runs of one partition; bad input gets typed errors", async () => {
    const admin = await server();
    const topic = await topicWith(admin, "batches", 300, "batch");
    const consumer = createConsumer(admin, topic, { groupId: "b" });
    let total = 0;
    const stop = new AbortController();
    await consumer.runBatches(
      (batch) => {
        assert.ok(batch.records.every((r) => r.partition === batch.partition));
        total += batch.records.length;
        if (total === 300) stop.abort();
      },
      { signal: stop.signal },
    );
    assert.is(total, 300);
    assert.equal(consumer.assignment, [0, 1, 2]);
    assert.throws(() => consumer.seek(0, 1), (e: unknown) => e instanceof UnsupportedError);
    assert.throws(() => consumer.pause([0]), (e: unknown) => e instanceof UnsupportedError);
    await consumer.close();

    const transactional = createProducer(admin, topic, { deliverySemantic: exactlyOnce({ transactionalId: "t" }) });
    assert.throws(
      () => createConsumer(admin, topic, { groupId: "t", commit: "transactional", producer: transactional }),
      (e: unknown) => e instanceof UnsupportedError && /idempotent/.test((e as Error).message),
    );
    await transactional.close();
    assert.throws(
      () => createConsumer(admin, topic, { groupId: "i", commit: "idempotent" }),
      (e: unknown) => e instanceof ConfigError && /outputTopic/.test((e as Error).message),
    );
    const idempotent = createConsumer(admin, topic, {
      groupId: "i",
      commit: "idempotent",
      outputTopic: uniqueTopic("nowhere"),
    });
    assert.instance(
      await idempotent[Symbol.asyncIterator]().next().catch((e: unknown) => e),
      ConfigError,
      "its handler needs the output context",
    );
    const unknownOutput = await idempotent.run(() => {}).catch((e: unknown) => e);
    assert.instance(unknownOutput, UnknownTopicError, "an unknown output topic is named before anything is read");
    await idempotent.close();
    const missing = createConsumer(admin, uniqueTopic("missing"), { groupId: "x" });
    assert.instance(await missing.run(() => {}).catch((e: unknown) => e), UnknownTopicError);
    await missing.close();
    const broker = new EmbeddedBroker();
    broker.createTopic("t", { partitions: 1 });
    assert.throws(
      () => broker.consumer("t", { groupId: "g", commit: "idempotent" as CommitStrategy, outputTopic: "t" }),
      (e: unknown) => e instanceof UnsupportedError,
    );
    await admin.deleteTopic(topic);
    await admin.close();
  });

  test.after(async () => {
    if (manager !== null) await (await manager).nc.close();
  });
}

test.run();
