/**
 * kcat (librdkafka 2.x, from Debian), unmodified, against the embedded broker's Kafka
 * listener: 100,000 lines produced idempotently and read back once each in order;
 * `isolation.level=read_committed` hiding transactions acktor's own producer aborted or left
 * open; gzip accepted and snappy, lz4 and zstd refused; reading by offset and by time;
 * `kcat -G` joining a group. ACKTOR_SKIP_ENGINES=1 skips them (kcat is an engine binary,
 * installed by test/start-engines.sh).
 */
import * as assert from "uvu/assert";
import type { GroupDescription, Kafka } from "kafkajs";
import { exactlyOnce, type Producer } from "../src/index.ts";
import { test } from "./helpers/harness.ts";
import {
  describeKcat,
  type KafkaFixture,
  kafkajs,
  kcat,
  type KcatRun,
  logValues,
  SKIP_ENGINES,
  sleep,
  startKafka,
  uniqueTopic,
  waitFor,
} from "./helpers/kafka.ts";

const skipped = SKIP_ENGINES ? "the kcat tests (ACKTOR_SKIP_ENGINES=1)" : null;

if (skipped) {
  test(`SKIPPED: ${skipped}`, () => console.log(`SKIPPED: ${skipped}`));
} else {
  test("kcat -P with enable.idempotence writes 100,000 lines; kcat -C -e reads them back once each, in order", {
    deadlineMs: 120_000,
  }, async ({ signal }) => {
    const N = 100_000;
    const topic = uniqueTopic("lines");
    let fx: KafkaFixture | null = null;
    try {
      fx = await startKafka({ [topic]: 1 });
      const lines = Array.from({ length: N }, (_, i) => `line-${i}`);
      const produced = await kcat(
        ["-P", "-b", fx.url, "-t", topic, "-X", "enable.idempotence=true", "-X", "acks=all"],
        { timeoutMs: 60_000, stdin: lines.join("\n") + "\n", signal },
      );
      assert.is(produced.code, 0, describeKcat(produced));
      const log = logValues(fx.broker, topic, 1).flat();
      assert.is(log.length, N, `the log holds ${log.length} records; ${describeKcat(produced)}`);
      assert.ok(log.every((v, i) => v === lines[i]), "the log holds the lines once each, in order");
      const consumed = await kcat(["-C", "-b", fx.url, "-t", topic, "-e", "-o", "beginning", "-q"], {
        timeoutMs: 60_000,
        signal,
      });
      assert.is(consumed.code, 0, describeKcat(consumed));
      const read = consumed.stdout.split("\n").slice(0, -1);
      assert.is(read.length, N, describeKcat(consumed));
      const wrong = read.findIndex((v, i) => v !== lines[i]);
      assert.is(wrong, -1, `kcat -C read ${JSON.stringify(read[wrong])} at ${wrong}, expected ${lines[wrong]}`);
    } finally {
      await fx?.close();
    }
  });

  test("kcat with isolation.level=read_committed hides a transaction acktor's producer aborted and one it left open", {
    deadlineMs: 60_000,
  }, async ({ signal }) => {
    const topic = uniqueTopic("txn");
    let fx: KafkaFixture | null = null;
    let producer: Producer | null = null;
    try {
      fx = await startKafka({ [topic]: 1 });
      producer = fx.broker.producer(topic, { deliverySemantic: exactlyOnce({ transactionalId: uniqueTopic("tx") }) });
      const p = producer;
      await p.transaction(async (tx) => void (await Promise.all(["c1", "c2"].map((v) => tx.send(null, v)))));
      await p.beginTransaction();
      for (const v of ["a1", "a2"]) await p.send(null, v);
      await p.abort();
      await p.transaction(async (tx) => void (await tx.send(null, "c3")));
      await p.beginTransaction();
      const open = await Promise.all(["o1", "o2"].map((v) => p.send(null, v)));
      await Promise.all(open.map((o) => o.wait())); // in the log, the transaction still open
      assert.equal(logValues(fx.broker, topic, 1, "read-uncommitted").flat(), [
        "c1",
        "c2",
        "a1",
        "a2",
        "c3",
        "o1",
        "o2",
      ]);
      const read = (isolation: string) =>
        kcat(["-C", "-b", fx!.url, "-t", topic, "-e", "-o", "beginning", "-q", "-X", `isolation.level=${isolation}`], {
          timeoutMs: 20_000,
          signal,
        });
      const committed = await read("read_committed");
      assert.is(committed.code, 0, describeKcat(committed));
      assert.equal(committed.stdout.split("\n").slice(0, -1), ["c1", "c2", "c3"], describeKcat(committed));
      const uncommitted = await read("read_uncommitted");
      assert.is(uncommitted.code, 0, describeKcat(uncommitted));
      assert.equal(
        uncommitted.stdout.split("\n").slice(0, -1),
        ["c1", "c2", "a1", "a2", "c3", "o1", "o2"],
        describeKcat(uncommitted),
      );
    } finally {
      await producer?.close().catch(() => {});
      await fx?.close();
    }
  });

  test(
    "kcat -z gzip sends compressed batches and they are written; snappy, lz4 and zstd get UNSUPPORTED_COMPRESSION_TYPE",
    {
      deadlineMs: 60_000,
    },
    async ({ signal }) => {
      const topic = uniqueTopic("codec");
      let fx: KafkaFixture | null = null;
      try {
        fx = await startKafka({ [topic]: 1 });
        // Compressible lines, so that librdkafka does compress them (it sends a batch plain when
        // compressing does not make it smaller, or when the broker's ApiVersions rule the codec out).
        const lines = (tag: string) => Array.from({ length: 500 }, (_, i) => `${tag}-${i} ${"a".repeat(60)}`);
        const produce = (codec: string) =>
          kcat(["-P", "-b", fx!.url, "-t", topic, "-z", codec, "-d", "msg"], {
            timeoutMs: 20_000,
            stdin: lines(codec).join("\n") + "\n",
            signal,
          });
        for (const codec of ["snappy", "lz4", "zstd"]) {
          const refused = await produce(codec);
          assert.is.not(refused.code, 0, describeKcat(refused));
          assert.match(
            refused.stderr,
            new RegExp(`MessageSet with \\d+ message\\(s\\) \\(.*, ${codec}\\)`),
            `kcat sent ${codec}`,
          );
          assert.match(refused.stderr, /Unsupported compression type/, describeKcat(refused));
          assert.equal(logValues(fx.broker, topic, 1).flat(), [], `nothing of the ${codec} batches was written`);
        }
        const gzip = await produce("gzip");
        assert.is(gzip.code, 0, describeKcat(gzip));
        assert.match(
          gzip.stderr,
          /MessageSet with \d+ message\(s\) \(.*, gzip\)/,
          `kcat sent gzip: ${describeKcat(gzip)}`,
        );
        assert.equal(logValues(fx.broker, topic, 1).flat(), lines("gzip"));
      } finally {
        await fx?.close();
      }
    },
  );

  test("kcat reads by offset and time: -o -3, -o s@<timestamp>, -Q (ListOffsets), and fetch sizes below a batch", {
    deadlineMs: 60_000,
  }, async ({ signal }) => {
    const topic = uniqueTopic("offsets");
    let fx: KafkaFixture | null = null;
    try {
      fx = await startKafka({ [topic]: 1 });
      const producer = fx.broker.producer(topic);
      const T = 1_700_000_000_000;
      try {
        // Five batches of 200 records, record i stamped T + i.
        for (let b = 0; b < 5; b++) {
          for (let i = b * 200; i < (b + 1) * 200; i++) await producer.send(null, `r${i}`, { timestamp: T + i });
          await producer.flush();
        }
      } finally {
        await producer.close();
      }
      const url = fx.url;
      const read = (...args: string[]) =>
        kcat(["-C", "-b", url, "-t", topic, "-e", "-q", ...args], { timeoutMs: 20_000, signal });
      const tail = await read("-o", "-3", "-f", "%o %s\n");
      assert.equal(tail.stdout.split("\n").slice(0, -1), ["997 r997", "998 r998", "999 r999"], describeKcat(tail));
      const byTime = await read("-o", `s@${T + 405}`, "-c", "2", "-f", "%o %T %s\n");
      assert.equal(
        byTime.stdout.split("\n").slice(0, -1),
        [`405 ${T + 405} r405`, `406 ${T + 406} r406`],
        describeKcat(byTime),
      );
      const query = await kcat(["-Q", "-b", url, "-t", `${topic}:0:${T + 600}`], { timeoutMs: 20_000, signal });
      assert.match(query.stdout, /\[0\] offset 600\b/, describeKcat(query));
      // KIP-74: a fetch whose limits are smaller than the first batch still gets that batch.
      const small = await read(
        "-o",
        "beginning",
        "-X",
        "fetch.max.bytes=1024",
        "-X",
        "message.max.bytes=1000",
        "-X",
        "max.partition.fetch.bytes=512",
      );
      assert.is(small.code, 0, describeKcat(small));
      assert.is(small.lines, 1_000, describeKcat(small));
    } finally {
      await fx?.close();
    }
  });

  test("kcat -G joins a group, consumes, and the group is visible to DescribeGroups and the broker", {
    deadlineMs: 60_000,
  }, async ({ signal }) => {
    const topic = uniqueTopic("group");
    const group = uniqueTopic("kcat-g");
    const N = 200;
    let fx: KafkaFixture | null = null;
    let run: KcatRun | null = null;
    let admin: ReturnType<Kafka["admin"]> | null = null;
    try {
      fx = await startKafka({ [topic]: 2 });
      const producer = fx.broker.producer(topic);
      for (let i = 0; i < N; i++) await producer.send(`k${i}`, `g${i}`);
      await producer.close();
      run = kcat([
        "-G",
        group,
        "-b",
        fx.url,
        "-q",
        "-u", // unbuffered: lines come as they are read, not when kcat exits
        "-X",
        "auto.offset.reset=earliest",
        "-X",
        "session.timeout.ms=6000",
        "-X",
        "auto.commit.interval.ms=100",
        topic,
      ], { timeoutMs: 40_000, signal });
      admin = (await kafkajs(fx.url, "describer")).admin();
      await admin.connect();
      // The group as DescribeGroups shows it once kcat's member is in and reading.
      let group$: GroupDescription | undefined;
      for (const start = Date.now(); group$?.state !== "Stable" || group$.members.length !== 1;) {
        assert.ok(Date.now() - start < 20_000, `kcat's group as DescribeGroups shows it: ${JSON.stringify(group$)}`);
        await sleep(200);
        group$ = (await admin.describeGroups([group])).groups[0];
      }
      assert.match(group$.members[0]!.clientId, /rdkafka/);
      const listed = await admin.listGroups();
      assert.ok(listed.groups.some((g) => g.groupId === group), JSON.stringify(listed));
      const kcatRun = run;
      const broker = fx.broker;
      const committed = () => [0, 1].map((p) => broker.committedOffset(group, topic, p));
      const ends = [0, 1].map((p) => broker.partitionState(topic, p).logEndOffset);
      await waitFor(
        () => kcatRun.lines() >= N && committed().every((c, p) => c === ends[p]),
        "kcat to read all and commit",
        {
          withinMs: 20_000,
          signal,
          progress: () => `${kcatRun.lines()} lines, committed ${committed()} of ${ends}`,
        },
      );
      run.stop();
      const result = await run;
      assert.ok(!result.timedOut, describeKcat(result));
      const values = result.stdout.split("\n").slice(0, -1);
      assert.is(new Set(values).size, N, describeKcat(result));
    } finally {
      run?.stop();
      await run;
      await admin?.disconnect().catch(() => {});
      await fx?.close();
    }
  });
}

test.run();
