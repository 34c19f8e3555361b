/**
 * An idempotent consumer whose output stream stops answering for a while (as during a leader
 * election or a failover) must hold its inputs and retry their writes, not burn the inputs'
 * deliveries: the server counts every redelivery against `maxDeliveries`, and an input it
 * gives up on never gets its output. A failover's redelivery storm lost 3,908 outputs of a
 * 3-node cluster this way. Here the outage is made exact on one server: the output stream
 * stops taking its subjects (publishes meet "no responders", and the stream still exists:
 * retriable), then takes them again. Without a server these tests fail and say how to start
 * one; only ACKTOR_SKIP_ENGINES=1 skips them.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { durableName, streamName } from "../src/adapters/nats/index.ts";
import { atLeastOnce, type ConsumerOutcome, createConsumer, createProducer } from "../src/index.ts";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { History, idOf } from "./helpers/history.ts";
import { dec, readAll, server, SKIP, uniqueTopic, URL } from "./helpers/nats.ts";
import { sleep } from "./helpers/nats-process.ts";

const PARTITIONS = 3;
const N = 300;
const OUTAGE_MS = 2_000;

if (SKIP) {
  console.log("SKIPPED: the NATS output outage test (ACKTOR_SKIP_ENGINES=1)");
} else {
  test("idempotent on JetStream: an output stream that stops answering for a while costs no input its deliveries", {
    deadlineMs: 45_000,
  }, async ({ signal }) => {
    const admin = await server();
    const nc = await connect({ servers: URL });
    const input = uniqueTopic("outage-in");
    const output = uniqueTopic("outage-out");
    const groupId = uniqueTopic("outage");
    const stop = new AbortController();
    signal.addEventListener("abort", () => stop.abort(), { once: true });
    try {
      const jsm = await jetstreamManager(nc);
      await admin.createTopic(input, { partitions: PARTITIONS, storage: "memory" });
      await admin.createTopic(output, { partitions: PARTITIONS, storage: "memory" });
      const producer = createProducer(admin, input, { deliverySemantic: atLeastOnce() });
      for (let i = 0; i < N; i++) await producer.send(`k${i % 7}`, `r${i}`);
      await producer.close();

      // The outage: the output stream keeps existing but takes none of its partitions' subjects.
      const stream = streamName(output);
      const subjects = (await jsm.streams.info(stream)).config.subjects!;
      const hide = async (hidden: boolean) => {
        const { config } = await jsm.streams.info(stream);
        await jsm.streams.update(stream, { ...config, subjects: hidden ? [`${output}-hidden`] : subjects });
      };
      await hide(true);

      const consumer = createConsumer(admin, input, {
        groupId,
        commit: "idempotent",
        outputTopic: output,
        // Few deliveries: the outage must not spend them, whatever the redelivery policy.
        maxDeliveries: 3,
        maxPollRecords: 50,
        requestTimeout: 1_000,
      });
      const outcomes: ConsumerOutcome[] = [];
      const watching = consumer.outcomes$.subscribe((o) => outcomes.push(o));
      let handled = 0;
      const running = consumer.run((r, context) => {
        handled++;
        void context.output!.send(r.key, `out-${dec(r.value).slice(1)}`);
      }, { signal: stop.signal });
      running.catch(() => {});
      try {
        await sleep(OUTAGE_MS);
        const duringOutage = handled;
        await hide(false);
        for (;;) {
          const info = await jsm.consumers.info(streamName(input), durableName(groupId));
          if (info.num_pending === 0 && info.num_ack_pending === 0) break;
          await sleep(100, stop.signal);
        }
        const history = new History(`idempotent output through a ${OUTAGE_MS} ms outage`);
        for (let i = 0; i < N; i++) history.send(i);
        for (let p = 0; p < PARTITIONS; p++) {
          for (const r of await readAll(admin, output, p)) history.read(idOf(r.value), p, r.offset);
        }
        const report = history.check();
        const exhausted = outcomes.filter((o) => o.type === "exhausted");
        assert.ok(duringOutage > 0, "records were handled while the output was away");
        assert.equal(exhausted.length, 0, `no input was given up on (${exhausted.length} exhausted)`);
        assert.equal(report.lost, [], "every input has its output");
        assert.equal(report.duplicated, [], "and only one");
      } finally {
        stop.abort();
        await running.catch(() => {});
        await consumer.close().catch(() => {});
        watching.unsubscribe();
      }
    } finally {
      await admin.deleteTopic(input).catch(() => {});
      await admin.deleteTopic(output).catch(() => {});
      await admin.close();
      await nc.close();
    }
  });
}

test.run();
