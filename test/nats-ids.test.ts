/**
 * Exactly-once on NATS JetStream rests on message ids derived from (producer id, epoch,
 * partition, sequence): a retry of a publish whose PubAck was lost carries the same ids, and
 * the stream's duplicate window drops it. These tests lose exactly one PubAck (the first
 * produce answer, after the server stored the records) and check that the retry stored
 * nothing twice, and that every stored `Nats-Msg-Id` is the one its (producer id, epoch,
 * partition, sequence) names. A random id per publish fails both, in both framings.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { type Framing, streamName } from "../src/adapters/nats/index.ts";
import { chaos, createProducer, exactlyOnce, type RecordMetadata, type Transport } from "../src/index.ts";
import type { ProduceRequest } from "../src/transport/protocol.ts";
import { readAll, server, SKIP, uniqueTopic, URL } from "./helpers/nats.ts";

const COUNT = 40;
const PARTITIONS = 2;

/** The `Nats-Msg-Id` of every message stored in the topic's stream, in stream order. */
async function storedIds(topic: string): Promise<string[]> {
  const nc = await connect({ servers: URL });
  try {
    const jsm = await jetstreamManager(nc);
    const stream = streamName(topic);
    const last = (await jsm.streams.info(stream)).state.last_seq;
    const ids: string[] = [];
    for (let seq = 1; seq <= last; seq++) {
      const message = await jsm.direct.getMessage(stream, { seq });
      ids.push(message?.header?.get("Nats-Msg-Id") ?? "<none>");
    }
    return ids;
  } finally {
    await nc.close();
  }
}

if (SKIP) {
  test("NATS message-id tests skipped (ACKTOR_SKIP_ENGINES=1)", () => {});
} else {
  for (const framing of ["message", "batch"] as const satisfies readonly Framing[]) {
    test(`${framing} framing, exactly-once: a lost PubAck's retry is dropped as a duplicate, by ids derived from (producer id, epoch, partition, sequence)`, async () => {
      const nats = await server();
      const topic = uniqueTopic(`ids-${framing}`);
      await nats.createTopic(topic, { partitions: PARTITIONS, framing, storage: "memory", duplicateWindowMs: 60_000 });
      // The first produce request reaches the server and is stored, but its answer is lost;
      // after that, nothing more is lost. The producer must retry with the same ids.
      const faulty = chaos(nats, { seed: 10, dropResponse: 1, apis: ["produce"] });
      faulty.events.on("fault", () => faulty.configure({ dropResponse: 0 }));
      const produces: ProduceRequest[] = [];
      const logged: Transport = {
        request(request, options) {
          if (request.api === "produce") produces.push(request as ProduceRequest);
          return faulty.request(request, options);
        },
        close: () => faulty.close(),
      };
      const producer = createProducer(logged, topic, {
        deliverySemantic: exactlyOnce({ retry: { maxRetries: 10, initialDelay: 20, maxDelay: 200, timeout: 30_000 } }),
        requestTimeout: 500,
        batchSize: 64 * 1024,
      });
      const waits: Promise<RecordMetadata | Error>[] = [];
      for (let i = 0; i < COUNT; i++) {
        const output = await producer.send(`k${i % 5}`, `r${i}`);
        waits.push(output.wait().catch((e: Error) => e));
      }
      await producer.flush();
      const settled = await Promise.all(waits);
      assert.equal(settled.filter((m) => m instanceof Error).map((e) => (e as Error).message), [], "all delivered");
      await producer.close();
      await logged.close();
      assert.is(faulty.stats.droppedResponses, 1, "exactly one PubAck was lost");
      const first = produces[0]!;
      const retried = produces.slice(1).some((r) =>
        r.partition === first.partition && r.baseSequence === first.baseSequence && r.producerId === first.producerId
      );
      assert.ok(retried, "the producer re-published the request whose answer was lost");

      // Read back: every record once, in send order per partition.
      const admin = await server();
      const partitions: string[][] = [];
      for (let p = 0; p < PARTITIONS; p++) partitions.push((await readAll(admin, topic, p)).map((r) => r.value));
      const seen = partitions.flat();
      const duplicates = seen.length - new Set(seen).size;
      assert.is(
        duplicates,
        0,
        `the retry stored ${duplicates} record(s) twice: its message ids differ from the first try's`,
      );
      assert.equal([...seen].sort(), Array.from({ length: COUNT }, (_, i) => `r${i}`).sort(), "nothing lost");
      partitions.forEach((values, p) => {
        const ids = values.map((v) => Number(v.slice(1)));
        assert.equal(ids, [...ids].sort((a, b) => a - b), `partition ${p} in send order`);
      });

      // Every stored message's id is the one (producer id, epoch, partition, sequence) names:
      // one per record in message framing, one per frame (its base sequence) in batch framing.
      const expected = new Set<string>();
      for (const r of produces) {
        const n = framing === "batch" ? 1 : r.values.length;
        for (let i = 0; i < n; i++) expected.add(`${r.producerId}.${r.epoch}.${r.partition}.${r.baseSequence! + i}`);
      }
      const stored = await storedIds(topic);
      assert.is(new Set(stored).size, stored.length, "no message id stored twice");
      assert.equal(
        stored.filter((id) => !expected.has(id)),
        [],
        "stored ids not derived from (producer id, epoch, partition, sequence)",
      );
      assert.is(stored.length, expected.size, "one stored message per derived id");

      await admin.deleteTopic(topic);
      await admin.close();
    });
  }
}

test.run();
