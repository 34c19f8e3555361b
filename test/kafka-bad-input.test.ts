/**
 * What the embedded broker's Kafka listener does with bad input: garbage bytes, a truncated
 * frame and a 100 MB size prefix on a raw socket each close that connection only, while a
 * kafkajs producer on another connection keeps producing; an unknown topic gets
 * UNKNOWN_TOPIC_OR_PARTITION (a raw Metadata request, and kafkajs); a fenced transactional
 * producer gets INVALID_PRODUCER_EPOCH or PRODUCER_FENCED.
 */
import { Buffer } from "node:buffer";
import { connect, type Socket } from "node:net";
import * as assert from "uvu/assert";
import type { Producer } from "kafkajs";
import { test } from "./helpers/harness.ts";
import { type KafkaFixture, kafkajs, logValues, readLog, startKafka, uniqueTopic } from "./helpers/kafka.ts";

/** Connects a raw socket to the listener; resolves once connected. */
function rawSocket(fx: KafkaFixture): Promise<Socket> {
  const { host, port } = fx.server.address;
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port }, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Resolves with how the server ended the connection, or rejects after `ms`. */
function closedWithin(socket: Socket, ms: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let how = "closed";
    socket.on("error", (e) => void (how = `error ${e.message}`));
    socket.on("end", () => void (how = "ended"));
    socket.resume(); // drain whatever comes, so that 'end' can fire
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open ${ms} ms after ${what}`));
    }, ms);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(how);
    });
  });
}

const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const kstring = (s: string) => Buffer.concat([Buffer.from([s.length >> 8, s.length & 0xff]), Buffer.from(s)]);

/** A Metadata v1 request for `topics` (non-flexible: plain strings and arrays), framed. */
function metadataV1(correlationId: number, topics: string[]): Buffer {
  const header = Buffer.concat([Buffer.from([0, 3, 0, 1]), int32(correlationId), kstring("raw")]);
  const body = Buffer.concat([int32(topics.length), ...topics.map(kstring)]);
  return Buffer.concat([int32(header.length + body.length), header, body]);
}

/** Reads one response frame from `socket`. */
function oneFrame(socket: Socket, ms: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => reject(new Error(`no complete response within ${ms} ms (${got.length} bytes)`)), ms);
    socket.on("data", (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 4 && got.length >= 4 + got.readInt32BE(0)) {
        clearTimeout(timer);
        resolve(got.subarray(4, 4 + got.readInt32BE(0)));
      }
    });
    socket.once("close", () => reject(new Error("the server closed the connection instead of answering")));
  });
}

/** The topics' error codes in a Metadata v1 response body (after the correlation id). */
function metadataV1TopicErrors(frame: Buffer): Record<string, number> {
  let at = 4; // correlation id
  const str = () => {
    const n = frame.readInt16BE(at);
    at += 2;
    if (n < 0) return null;
    const s = frame.toString("utf8", at, at + n);
    at += n;
    return s;
  };
  const brokers = frame.readInt32BE(at);
  at += 4;
  for (let i = 0; i < brokers; i++) {
    at += 4; // node id
    str(); // host
    at += 4; // port
    str(); // rack
  }
  at += 4; // controller id
  const topics = frame.readInt32BE(at);
  at += 4;
  const errors: Record<string, number> = {};
  for (let i = 0; i < topics; i++) {
    const code = frame.readInt16BE(at);
    at += 2;
    const name = str()!;
    at += 1; // is_internal
    const partitions = frame.readInt32BE(at);
    at += 4;
    for (let p = 0; p < partitions; p++) {
      at += 2 + 4 + 4; // error, index, leader
      at += 4 * frame.readInt32BE(at) + 4; // replicas
      at += 4 * frame.readInt32BE(at) + 4; // isr
    }
    errors[name] = code;
  }
  return errors;
}

/** Every error in a kafkajs error's chain of causes. */
function chain(error: unknown): { type?: string; code?: number; message: string }[] {
  const out: { type?: string; code?: number; message: string }[] = [];
  for (let e = error as Record<string, unknown> | undefined; e && out.length < 10;) {
    out.push({ type: e.type as string, code: e.code as number, message: String(e.message) });
    e = (e.originalError ?? e.cause) as Record<string, unknown> | undefined;
  }
  return out;
}

test(
  "garbage, a truncated frame and a 100 MB size prefix each close only their connection; another client keeps producing",
  {
    deadlineMs: 60_000,
  },
  async () => {
    const topic = uniqueTopic("survivor");
    let fx: KafkaFixture | null = null;
    let producer: Producer | null = null;
    const sockets: Socket[] = [];
    try {
      fx = await startKafka({ [topic]: 1 });
      producer = (await kafkajs(fx.url, "survivor")).producer();
      await producer.connect();
      let sent = 0;
      const produce = async (what: string) => {
        await producer!.send({ topic, messages: [{ value: `after ${what}` }] });
        sent++;
      };
      await produce("start");
      const cases: [string, (s: Socket) => void][] = [
        // A negative size prefix, then bytes that are no Kafka request.
        [
          "garbage",
          (s) =>
            s.write(
              Buffer.concat([Buffer.from([0xde, 0xad, 0xbe, 0xef]), Buffer.from("\x00\x01garbage".repeat(20))]),
            ),
        ],
        ["an HTTP request", (s) => s.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")],
        // A well-sized frame whose request header is cut short: API key and version, no correlation id.
        ["a frame too short for its header", (s) => s.write(Buffer.concat([int32(3), Buffer.from([0, 3, 0])]))],
        // A header whose client id claims 1,000 bytes the frame does not have.
        [
          "a header overrunning its frame",
          (s) => s.write(Buffer.concat([int32(10), Buffer.from([0, 3, 0, 1, 0, 0, 0, 9, 0x03, 0xe8])])),
        ],
        // A sound Metadata v1 header, then a body claiming a billion topics.
        ["a body overrunning its frame", (s) => {
          const header = Buffer.concat([Buffer.from([0, 3, 0, 1]), int32(9), kstring("raw")]);
          s.write(Buffer.concat([int32(header.length + 4), header, int32(1e9)]));
        }],
        ["a truncated frame, then end", (s) => s.end(Buffer.concat([int32(100), Buffer.from("0123456789")]))],
        ["a 100 MB size prefix", (s) => s.write(int32(0x06400000))],
        ["a 2 GB size prefix", (s) => s.write(int32(0x7fffffff))],
      ];
      for (const [what, send] of cases) {
        const bystander = await rawSocket(fx); // an idle connection, which must survive
        const socket = await rawSocket(fx);
        sockets.push(bystander, socket);
        const logsBefore = fx.logs.length;
        const closed = closedWithin(socket, 5_000, what);
        send(socket);
        const how = await closed;
        assert.ok(!bystander.destroyed, `${what} (${how}) closed another connection too`);
        // The idle bystander still gets answers.
        const answer = oneFrame(bystander, 5_000);
        bystander.write(metadataV1(7, [topic]));
        assert.equal(metadataV1TopicErrors(await answer), { [topic]: 0 }, `a bystander after ${what}`);
        await produce(what);
        if (what !== "a truncated frame, then end") {
          assert.ok(fx.logs.length > logsBefore, `the server logged why it closed the connection on ${what}`);
        }
      }
      assert.is(logValues(fx.broker, topic, 1).flat().length, sent, `logs: ${fx.logs.join("\n")}`);
    } finally {
      for (const s of sockets) s.destroy();
      await producer?.disconnect().catch(() => {});
      await fx?.close();
    }
  },
);

test("an unknown topic gets UNKNOWN_TOPIC_OR_PARTITION: a raw Metadata request, and a kafkajs send", {
  deadlineMs: 30_000,
}, async () => {
  const known = uniqueTopic("known");
  const unknown = uniqueTopic("unknown");
  let fx: KafkaFixture | null = null;
  let producer: Producer | null = null;
  let socket: Socket | null = null;
  try {
    fx = await startKafka({ [known]: 2 });
    socket = await rawSocket(fx);
    const answer = oneFrame(socket, 5_000);
    socket.write(metadataV1(1, [known, unknown]));
    assert.equal(metadataV1TopicErrors(await answer), { [known]: 0, [unknown]: 3 });
    assert.not.ok(fx.broker.topics().includes(unknown), "the unknown topic was not created");
    const kafka = await kafkajs(fx.url, "unknown", { retry: { retries: 1, initialRetryTime: 50 } });
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const error = await producer.send({ topic: unknown, messages: [{ value: "x" }] }).then(() => null, (e) => e);
    const causes = chain(error);
    assert.ok(causes.some((c) => c.type === "UNKNOWN_TOPIC_OR_PARTITION"), JSON.stringify(causes));
    assert.not.ok(fx.broker.topics().includes(unknown), "the unknown topic was not created");
  } finally {
    socket?.destroy();
    await producer?.disconnect().catch(() => {});
    await fx?.close();
  }
});

test("a record over the broker's maxRecordBytes gets MESSAGE_TOO_LARGE and is not written; one under it is", {
  deadlineMs: 30_000,
}, async () => {
  const topic = uniqueTopic("large");
  let fx: KafkaFixture | null = null;
  let producer: Producer | null = null;
  try {
    fx = await startKafka({ [topic]: 1 });
    producer = (await kafkajs(fx.url, "large")).producer();
    await producer.connect();
    const max = fx.broker.maxRecordBytes;
    const tooLarge = [{ value: Buffer.alloc(max + 1_000, 97) }];
    const error = await producer.send({ topic, messages: tooLarge }).then(() => null, (e) => e);
    assert.ok(chain(error).some((c) => c.type === "MESSAGE_TOO_LARGE"), JSON.stringify(chain(error)));
    await producer.send({ topic, messages: [{ value: Buffer.alloc(max - 1_000, 98) }] });
    const log = readLog(fx.broker, topic, 0);
    assert.equal(log.map((r) => r.value.length), [max - 1_000], "only the record under the limit is in the log");
  } finally {
    await producer?.disconnect().catch(() => {});
    await fx?.close();
  }
});

test(
  "with autoCreateTopics, the same send creates the topic in the configured shape",
  { deadlineMs: 30_000 },
  async () => {
    const topic = uniqueTopic("auto");
    let fx: KafkaFixture | null = null;
    let producer: Producer | null = null;
    try {
      fx = await startKafka({}, { listen: { autoCreateTopics: { partitions: 3, replicationFactor: 2 } } });
      producer = (await kafkajs(fx.url, "auto")).producer({ allowAutoTopicCreation: true });
      await producer.connect();
      await producer.send({ topic, messages: [{ value: "first" }] });
      assert.ok(fx.broker.topics().includes(topic), `created: ${fx.broker.topics()}`);
      assert.equal(logValues(fx.broker, topic, 3).flat(), ["first"]);
      assert.is(fx.broker.partitionState(topic, 0).isr.length, 2, "replication factor 2");
    } finally {
      await producer?.disconnect().catch(() => {});
      await fx?.close();
    }
  },
);

test(
  "a fenced transactional producer (same transactionalId, newer epoch) gets INVALID_PRODUCER_EPOCH or PRODUCER_FENCED",
  {
    deadlineMs: 30_000,
  },
  async () => {
    const topic = uniqueTopic("fenced");
    const transactionalId = uniqueTopic("tx");
    let fx: KafkaFixture | null = null;
    const producers: Producer[] = [];
    try {
      fx = await startKafka({ [topic]: 1 });
      const kafka = await kafkajs(fx.url, "fencing");
      for (let i = 0; i < 2; i++) {
        producers.push(kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 }));
      }
      const [old, young] = producers as [Producer, Producer];
      await old.connect();
      const stale = await old.transaction();
      await stale.send({ topic, messages: [{ value: "old-1" }] });
      await young.connect(); // InitProducerId with the same transactionalId: a new epoch, the old transaction aborted
      const fresh = await young.transaction();
      await fresh.send({ topic, messages: [{ value: "young-1" }] });
      await fresh.commit();
      const sendError = await stale.send({ topic, messages: [{ value: "old-2" }] }).then(() => null, (e) => e);
      const commitError = await stale.commit().then(() => null, (e) => e);
      const fenced = (e: unknown) =>
        chain(e).some((c) =>
          c.type === "INVALID_PRODUCER_EPOCH" || c.type === "PRODUCER_FENCED" || c.code === 47 || c.code === 90
        );
      assert.ok(
        fenced(sendError) || fenced(commitError),
        JSON.stringify({ send: chain(sendError), commit: chain(commitError) }),
      );
      assert.equal(
        logValues(fx.broker, topic, 1).flat(),
        ["young-1"],
        "only the young producer's transaction committed",
      );
    } finally {
      await Promise.allSettled(producers.map((p) => p.disconnect()));
      await fx?.close();
    }
  },
);

test.run();
