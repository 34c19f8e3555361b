/**
 * kafkajs 2.2.4, unmodified, against the embedded broker's Kafka listener: the idempotent
 * producer under the server's seeded faults; a transactional consume-transform-produce loop
 * with `sendOffsets`; an aborted transaction; transactions under seeded faults; a group whose
 * second member joins mid-stream and whose first then leaves. Each test checks what the
 * client saw against the broker's own log (`broker.read`) and the group's committed offsets
 * (`broker.committedOffset`).
 */
import * as assert from "uvu/assert";
import type { Consumer, EachBatchPayload, Producer } from "kafkajs";
import { test } from "./helpers/harness.ts";
import {
  cleanUp,
  consumeUntil,
  dec,
  type KafkaFixture,
  kafkajs,
  logValues,
  onceEach,
  readLog,
  sendOrderBreaks,
  sleep,
  startKafka,
  uniqueTopic,
  waitFor,
} from "./helpers/kafka.ts";

test(
  "idempotent producer under server chaos (lost answers, dropped connections): the log holds every record once, in order",
  {
    deadlineMs: 150_000,
  },
  async ({ signal }) => {
    const SEED = 7;
    const N = 2_000;
    const BATCH = 10;
    const topic = uniqueTopic("idem");
    let fx: KafkaFixture | null = null;
    let producer: Producer | null = null;
    try {
      fx = await startKafka({ [topic]: 4 });
      // ApiVersions is spared by the server; the rest (metadata, producer id, produce) may be hit.
      fx.server.chaos({ seed: SEED, dropResponse: 0.05, disconnect: 0.04 });
      const kafka = await kafkajs(fx.url, "idempotent", {
        requestTimeout: 1_000,
        retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 500 },
      });
      producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await producer.connect();
      for (let i = 0; i < N && !signal.aborted; i += BATCH) {
        const messages = Array.from({ length: BATCH }, (_, j) => ({ key: `k${(i + j) % 16}`, value: `v${i + j}` }));
        await producer.send({ topic, acks: -1, messages });
      }
      const stats = fx.server.chaosStats();
      const at = `seed ${SEED}, faults ${JSON.stringify(stats)}`;
      const log = logValues(fx.broker, topic, 4);
      const { missing, duplicated } = onceEach(Array.from({ length: N }, (_, i) => `v${i}`), log.flat());
      assert.equal(missing, [], `${at}: records missing from the log`);
      assert.equal(duplicated, [], `${at}: records in the log more than once`);
      assert.is(log.flat().length, N, at);
      assert.equal(sendOrderBreaks(log), [], `${at}: out of send order`);
      assert.ok(stats.dropResponse > 0, `${at}: no answer was dropped, so the test proved nothing`);
      assert.ok(stats.disconnect > 0, `${at}: no connection was dropped, so the test proved nothing`);
    } finally {
      await cleanUp(fx, producer);
    }
  },
);

test(
  "transactional consume-transform-produce with sendOffsets: read-committed sees committed transactions only; offsets move with commits",
  {
    deadlineMs: 90_000,
  },
  async ({ signal }) => {
    const input = uniqueTopic("ctp-in");
    const output = uniqueTopic("ctp-out");
    const group = uniqueTopic("ctp-group");
    const N = 60;
    let fx: KafkaFixture | null = null;
    let plain: Producer | null = null;
    let txProducer: Producer | null = null;
    let consumer: Consumer | null = null;
    try {
      fx = await startKafka({ [input]: 2, [output]: 2 });
      const broker = fx.broker;
      const kafka = await kafkajs(fx.url, "ctp");
      plain = kafka.producer();
      await plain.connect();
      const inputs = Array.from({ length: N }, (_, i) => `in-${i}`);
      await plain.send({ topic: input, messages: inputs.map((value, i) => ({ key: `k${i % 5}`, value })) });
      const ends = [0, 1].map((p) => readLog(broker, input, p).length);
      txProducer = kafka.producer({ transactionalId: uniqueTopic("tx"), idempotent: true, maxInFlightRequests: 1 });
      await txProducer.connect();
      const tx = txProducer;
      /** What the coordinator held after each transaction, checked after the run. */
      const steps: { kind: "abort" | "commit"; partition: number; next: number; committed: number | null }[] = [];
      consumer = kafka.consumer({ groupId: group, readUncommitted: false, maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic: input, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset }: EachBatchPayload) => {
          if (batch.messages.length === 0) return;
          const next = Number(batch.lastOffset()) + 1;
          // Each batch is first written in a transaction that aborts, then in one that commits.
          for (const kind of ["abort", "commit"] as const) {
            const t = await tx.transaction();
            await t.send({
              topic: output,
              messages: batch.messages.map((m) => ({ key: m.key, value: `${kind}:${dec(m.value)}` })),
            });
            await t.sendOffsets({
              consumerGroupId: group,
              topics: [{ topic: input, partitions: [{ partition: batch.partition, offset: String(next) }] }],
            });
            await (kind === "abort" ? t.abort() : t.commit());
            steps.push({
              kind,
              partition: batch.partition,
              next,
              committed: broker.committedOffset(group, input, batch.partition),
            });
          }
          resolveOffset(batch.lastOffset());
        },
      });
      await waitFor(
        () => [0, 1].every((p) => broker.committedOffset(group, input, p) === ends[p]),
        "the group's offsets to reach the input's end",
        {
          withinMs: 40_000,
          signal,
          progress: () =>
            `committed ${
              [0, 1].map((p) => broker.committedOffset(group, input, p))
            } of ${ends}; ${steps.length} transactions`,
        },
      );
      const last = [null, null] as (number | null)[];
      for (const s of steps) {
        // An aborted sendOffsets leaves the offset where it was; a committed one moves it.
        const expected = s.kind === "abort" ? last[s.partition] : s.next;
        assert.is(s.committed, expected, `partition ${s.partition}'s offset after a ${s.kind} with offset ${s.next}`);
        last[s.partition] = s.committed;
      }
      const expected = inputs.map((v) => `commit:${v}`);
      const committed = logValues(broker, output, 2).flat();
      assert.equal(onceEach(expected, committed), { missing: [], duplicated: [] }, "the log, read committed");
      assert.is(committed.length, N, "the log, read committed: nothing from aborted transactions");
      const uncommitted = logValues(broker, output, 2, "read-uncommitted").flat();
      assert.is(uncommitted.filter((v) => v.startsWith("abort:")).length, N, "the aborted writes are in the log");
      const seen = await consumeUntil(fx, output, false, (v) => v.length >= N, signal);
      await sleep(300); // anything past the committed records would have come by now
      assert.equal(onceEach(expected, seen), { missing: [], duplicated: [] }, "the read-committed kafkajs consumer");
      assert.is(seen.filter((v) => !v.startsWith("commit:")).length, 0, `aborted records seen: ${seen.slice(0, 5)}`);
    } finally {
      await cleanUp(fx, consumer, txProducer, plain);
    }
  },
);

test(
  "an aborted transaction is invisible to a read-committed consumer, an open one holds it back; read-uncommitted sees all",
  {
    deadlineMs: 60_000,
  },
  async ({ signal }) => {
    const topic = uniqueTopic("abort");
    let fx: KafkaFixture | null = null;
    let producer: Producer | null = null;
    try {
      fx = await startKafka({ [topic]: 1 });
      const kafka = await kafkajs(fx.url, "aborter");
      producer = kafka.producer({ transactionalId: uniqueTopic("tx"), idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      for (const [end, values] of [["commit", ["c1", "c2"]], ["abort", ["a1", "a2"]], ["commit", ["c3"]]] as const) {
        const t = await producer.transaction();
        await t.send({ topic, messages: values.map((value) => ({ value })) });
        await (end === "commit" ? t.commit() : t.abort());
      }
      assert.equal(logValues(fx.broker, topic, 1).flat(), ["c1", "c2", "c3"], "the log, read committed");
      assert.equal(logValues(fx.broker, topic, 1, "read-uncommitted").flat(), ["c1", "c2", "a1", "a2", "c3"]);
      // c3 comes after the aborted records: a consumer that saw c3 has passed them.
      const committed = await consumeUntil(fx, topic, false, (v) => v.includes("c3"), signal);
      assert.equal(committed, ["c1", "c2", "c3"], "read committed");
      const all = await consumeUntil(fx, topic, true, (v) => v.includes("c3"), signal);
      assert.equal(all, ["c1", "c2", "a1", "a2", "c3"], "read uncommitted");
      // A transaction left open holds read-committed readers at its start until it commits.
      const open = await producer.transaction();
      await open.send({ topic, messages: [{ value: "o1" }] });
      let seenAtCommit: string[] | null = null;
      let committing: Promise<void> | null = null;
      const held = await consumeUntil(fx, topic, false, (v) => {
        if (v.includes("c3") && committing === null) {
          committing = sleep(500).then(() => {
            seenAtCommit = [...v];
            return open.commit();
          });
        }
        return v.includes("o1");
      }, signal);
      await committing;
      assert.equal(seenAtCommit, ["c1", "c2", "c3"], "read committed, while a transaction was open");
      assert.equal(held, ["c1", "c2", "c3", "o1"], "read committed, once it committed");
    } finally {
      await cleanUp(fx, producer);
    }
  },
);

test(
  "transactions under server chaos (lost answers, dropped connections): each one is all or nothing, offsets included",
  {
    deadlineMs: 120_000,
  },
  async ({ signal }) => {
    const SEED = 11;
    const TXNS = 40;
    const output = uniqueTopic("txchaos-out");
    const input = uniqueTopic("txchaos-in");
    const group = uniqueTopic("txchaos-g");
    let fx: KafkaFixture | null = null;
    let producer: Producer | null = null;
    try {
      fx = await startKafka({ [output]: 3, [input]: 1 });
      // Faults on the requests kafkajs gives up on cleanly (the transaction then aborts): Produce,
      // AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit. (kafkajs 2.2.4 cannot recover from
      // a lost EndTxn answer, and bails out of FindCoordinator on a timeout: its limits, not the server's.)
      fx.server.chaos({ seed: SEED, dropResponse: 0.05, disconnect: 0.04, apiKeys: [0, 24, 25, 28] });
      const kafka = await kafkajs(fx.url, "txchaos", {
        requestTimeout: 1_000,
        retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 500 },
      });
      producer = kafka.producer({ transactionalId: uniqueTopic("tx"), idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const committed: string[] = [];
      const aborted: string[] = [];
      let lastOffset: number | null = null;
      for (let k = 0; k < TXNS; k++) {
        const values = Array.from({ length: 10 }, (_, j) => `t${k}-${j}`);
        const t = await producer.transaction();
        try {
          await t.send({ topic: output, messages: values.map((value, j) => ({ key: `k${j}`, value })) });
          await t.sendOffsets({
            consumerGroupId: group,
            topics: [{ topic: input, partitions: [{ partition: 0, offset: String(k + 1) }] }],
          });
          await t.commit();
          committed.push(...values);
          lastOffset = k + 1;
        } catch {
          aborted.push(...values);
          await t.abort();
        }
        assert.is(
          fx.broker.committedOffset(group, input, 0),
          lastOffset,
          `seed ${SEED}: offset after transaction ${k}`,
        );
      }
      const stats = fx.server.chaosStats();
      const at = `seed ${SEED}, faults ${JSON.stringify(stats)}, ${aborted.length / 10} transactions aborted`;
      const log = logValues(fx.broker, output, 3).flat();
      assert.equal(
        onceEach(committed, log),
        { missing: [], duplicated: [] },
        `${at}: committed transactions in the log`,
      );
      assert.is(log.length, committed.length, `${at}: nothing of an aborted transaction is visible`);
      assert.ok(committed.length > 0 && aborted.length > 0, `${at}: both outcomes happened`);
      assert.ok(stats.dropResponse > 0 && stats.disconnect > 0, `${at}: faults of both kinds happened`);
      const seen = await consumeUntil(fx, output, false, (v) => v.length >= committed.length, signal);
      assert.equal(
        onceEach(committed, seen),
        { missing: [], duplicated: [] },
        `${at}: a read-committed kafkajs consumer`,
      );
    } finally {
      await cleanUp(fx, producer);
    }
  },
);

test(
  "a group: B joins mid-stream, then A leaves mid-stream: nothing lost, no partition read by two members at once",
  {
    deadlineMs: 120_000,
  },
  async ({ signal }) => {
    const topic = uniqueTopic("group");
    const group = uniqueTopic("g");
    const N = 1_200;
    let fx: KafkaFixture | null = null;
    let producer: Producer | null = null;
    const members: Consumer[] = [];
    try {
      fx = await startKafka({ [topic]: 4 });
      const kafka = await kafkajs(fx.url, "group");
      /** Every read, in the order this process saw them: one thread, so the order is the truth. */
      const reads: { member: string; partition: number; value: string }[] = [];
      /** Each member's assignments, from kafkajs's GROUP_JOIN events, in order. */
      const assignments: Record<string, number[][]> = { A: [], B: [] };
      /** Reads of a partition outside the reader's latest assignment. */
      const unassigned: string[] = [];
      const readsBy = (member: string) => reads.filter((r) => r.member === member).length;
      const join = async (name: string) => {
        const c = kafka.consumer({
          groupId: group,
          sessionTimeout: 6_000,
          rebalanceTimeout: 6_000,
          heartbeatInterval: 300,
          maxWaitTimeInMs: 100,
        });
        members.push(c);
        c.on(c.events.GROUP_JOIN, (e) => void assignments[name]!.push(e.payload.memberAssignment[topic] ?? []));
        await c.connect();
        await c.subscribe({ topic, fromBeginning: true });
        await c.run({
          eachMessage: async ({ partition, message }) => {
            reads.push({ member: name, partition, value: dec(message.value)! });
            if (!assignments[name]!.at(-1)?.includes(partition)) unassigned.push(`${name} read ${partition}`);
            await sleep(2); // slow enough that the stream is still going when members come and go
          },
        });
      };
      const progress = () => `${reads.length} reads (A ${readsBy("A")}); assignments ${JSON.stringify(assignments)}`;
      const wait = (done: () => boolean, what: string) => waitFor(done, what, { withinMs: 30_000, signal, progress });

      await join("A");
      await wait(() => assignments.A!.at(-1)?.length === 4, "A to hold all four partitions");
      producer = kafka.producer();
      await producer.connect();
      const values = Array.from({ length: N }, (_, i) => `m${i}`);
      const sending = (async () => {
        for (let i = 0; i < N; i += 20) {
          const messages = values.slice(i, i + 20).map((value, j) => ({ key: `k${i + j}`, value }));
          await producer!.send({ topic, messages });
          await sleep(30);
        }
      })();
      await wait(() => readsBy("A") >= 100, "A to read 100 records");
      await join("B"); // mid-stream: A must give up two partitions before B reads them
      await wait(() => ["A", "B"].every((m) => assignments[m]!.at(-1)?.length === 2), "two partitions each");
      const heldByA = assignments.A!.at(-1)!;
      const readByAAtSplit = readsBy("A");
      await wait(() => readsBy("A") >= readByAAtSplit + 50, "A to read 50 more after the split");
      await members[0]!.disconnect(); // mid-stream: A leaves, B takes its partitions over
      const readByA = readsBy("A");
      await sending;
      const consumed = () => new Set(reads.map((r) => r.value));
      await wait(() => consumed().size === N, "every record to be consumed");
      assert.is(readByA, readsBy("A"), "A read nothing after it left");
      assert.equal(onceEach(values, [...consumed()]).missing, [], "lost records");
      assert.equal(logValues(fx.broker, topic, 4).flat().length, N, "the log holds every record once");
      assert.equal(unassigned, [], "reads outside the reader's assignment");
      // Per partition, the span of each member's reads (first to last, in this process's order):
      // each partition changes hands at most once (A to B), so the spans must not overlap.
      for (let p = 0; p < 4; p++) {
        const spans = new Map<string, [number, number]>();
        reads.forEach((r, i) => {
          if (r.partition !== p) return;
          const s = spans.get(r.member);
          spans.set(r.member, s ? [s[0], i] : [i, i]);
        });
        const [a, b] = [spans.get("A"), spans.get("B")];
        assert.ok(a, `A read partition ${p} while it held all four`);
        if (b) assert.ok(a[1] < b[0], `partition ${p} read by A over reads ${a} and by B over ${b}: at once`);
      }
      assert.ok(reads.some((r) => r.member === "B" && heldByA.includes(r.partition)), "B took over A's partitions");
    } finally {
      await cleanUp(fx, ...members, producer);
    }
  },
);

test.run();
