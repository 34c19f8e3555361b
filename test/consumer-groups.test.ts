import { linked, test, until } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { createActor } from "xstate";
import {
  chaos,
  type ConsumedRecord,
  type Consumer,
  consumerMachine,
  type ConsumerOutcome,
  createConsumer,
  createProducer,
  EmbeddedBroker,
  exactlyOnce,
  VirtualClock,
} from "../src/index.ts";
import { sleep } from "../src/runtime/clock.ts";

const idOf = (value: Uint8Array): number => Number(new TextDecoder().decode(value).slice(1));

async function filled(records: number, partitions: number) {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("in", { partitions });
  broker.createTopic("out", { partitions });
  const producer = broker.producer("in", { deliverySemantic: exactlyOnce() });
  for (let i = 0; i < records; i++) await producer.send(`k${i % 97}`, `r${i}`);
  await producer.flush();
  await producer.close();
  return { clock, broker };
}

test("rebalancing: three members join, one leaves mid-stream; no partition is read by two members at once, nothing is lost", async () => {
  const RECORDS = 6_000;
  const { clock, broker } = await filled(RECORDS, 6);
  const seen = new Array<number>(RECORDS).fill(0);
  const reading = new Map<number, string>();
  const members: {
    consumer: Consumer;
    stop: AbortController;
    running: Promise<void>;
    handled: number;
    outcomes: ConsumerOutcome[];
  }[] = [];
  const violations: string[] = [];
  const total = (): number => seen.filter((n) => n > 0).length;

  const start = (n: number): void => {
    const consumer = createConsumer(
      chaos(broker.transport(), { seed: 40 + n, clock, dropResponse: 0.01, dropRequest: 0.01 }),
      "in",
      {
        groupId: "g",
        clock,
        sessionTimeoutMs: 900,
        heartbeatIntervalMs: 300,
        pollIntervalMs: 10,
        maxPollRecords: 50,
        requestTimeout: 100,
      },
    );
    const member = {
      consumer,
      stop: new AbortController(),
      running: Promise.resolve(),
      handled: 0,
      outcomes: [] as ConsumerOutcome[],
    };
    consumer.outcomes$.subscribe((o) => o.type !== "processed" && member.outcomes.push(o));
    member.running = consumer.run(
      async (record: ConsumedRecord) => {
        const me = consumer.memberId!;
        const owner = broker.group("g")!.members.find((m) => m.owned.includes(record.partition))?.memberId;
        if (owner !== me) violations.push(`${me} read ${record.partition} owned by ${owner}`);
        const other = reading.get(record.partition);
        if (other !== undefined && other !== me) {
          violations.push(`${me} and ${other} both read partition ${record.partition}`);
        }
        reading.set(record.partition, me);
        // Handling takes (virtual) time, so heartbeats and rebalances happen mid-stream.
        await sleep(clock, 1);
        reading.delete(record.partition);
        seen[idOf(record.value)]!++;
        member.handled++;
      },
      { signal: linked(member.stop) },
    );
    members.push(member);
  };

  start(0);
  const progress = () => `${total()} of ${RECORDS} seen, ${members.length} member(s)`;
  const seenAtLeast = (n: number) => until(clock, () => total() >= n, `${n} records seen`, { step: 10, progress });
  await seenAtLeast(1_000);
  start(1);
  await seenAtLeast(2_000);
  start(2);
  await seenAtLeast(3_000);
  // All three have had partitions by now.
  for (const m of members) {
    assert.ok(m.outcomes.some((o) => o.type === "assigned"), `${m.consumer.memberId} was assigned partitions`);
  }
  members[1]!.stop.abort();
  await members[1]!.running;
  await members[1]!.consumer.close();
  await seenAtLeast(RECORDS); // bounded: "nothing lost" fails here rather than hang
  for (const m of [members[0]!, members[2]!]) {
    m.stop.abort();
    await m.running;
    await m.consumer.close();
  }
  assert.equal(violations, []);
  assert.is(seen.filter((n) => n === 0).length, 0, "nothing lost");
  assert.ok(members.every((m) => m.handled > 0), "every member read records");
  assert.ok(
    members[0]!.outcomes.some((o) => o.type === "revoked"),
    "the first member gave partitions up as others joined",
  );
  assert.ok(
    members[2]!.outcomes.filter((o) => o.type === "assigned").length >= 2,
    "the last member took over partitions of the one that left",
  );
  assert.is(broker.group("g")!.members.length, 0);
});

test("a zombie member whose partition moved cannot commit it: its transaction aborts, the new owner's output counts once", async () => {
  const { clock, broker } = await filled(200, 1);
  const config = {
    groupId: "g",
    commit: "transactional" as const,
    clock,
    sessionTimeoutMs: 900,
    heartbeatIntervalMs: 300,
    pollIntervalMs: 10,
    requestTimeout: 100,
  };
  // The zombie's network, which the test cuts and heals.
  const wire = chaos(broker.transport(), { seed: 1, clock });
  const zombieProducer = createProducer(wire, "out", {
    clock,
    requestTimeout: 100,
    deliverySemantic: exactlyOnce({ transactionalId: "zombie" }),
  });
  // A long request timeout: the zombie's first heartbeat after the cut waits 5 s to fail, so
  // for that long it still believes it owns the partition. Only the generation stops it.
  const zombie = createConsumer(wire, "in", { ...config, requestTimeout: 5_000, producer: zombieProducer });
  const outcomes: ConsumerOutcome[] = [];
  zombie.outcomes$.subscribe((o) => outcomes.push(o));
  let resume: (() => void) | null = null;
  const zombieStop = new AbortController();
  // The zombie stalls in its first record, and its heartbeats stop reaching the broker.
  // Settled whenever it ends; awaited at the end (its rejection must not go unhandled meanwhile).
  const zombieRun = zombie.run(
    async (record, { tx }) => {
      await tx!.send(record.key, record.value);
      if (resume === null) await new Promise<void>((r) => (resume = r));
    },
    { signal: linked(zombieStop) },
  ).catch((error: unknown) => error);
  await until(clock, () => resume !== null, "the zombie to stall in its first record");
  const zombieGeneration = zombie.generation;
  wire.configure({ dropRequest: 1, apis: ["heartbeat"] });

  const heir = createConsumer(broker.transport(), "in", {
    ...config,
    producer: broker.producer("out", { deliverySemantic: exactlyOnce({ transactionalId: "heir" }) }),
  });
  const heirStop = new AbortController();
  let heirCount = 0;
  const heirRun = heir.run(
    async (record, { tx }) => {
      await tx!.send(record.key, record.value);
      heirCount++;
    },
    { signal: linked(heirStop) },
  );
  // The zombie's session runs out and the partition moves to the heir.
  await until(clock, () => heir.assignment.includes(0), "the partition to move to the heir", { step: 10 });
  assert.ok(broker.group("g")!.generation > zombieGeneration);
  assert.ok(zombie.assignment.includes(0), "the zombie has not heard yet");
  (resume as unknown as () => void)();
  // Until the group has committed the whole partition, by whichever member could.
  const deadline = clock.now() + 60_000;
  while (broker.committedOffset("g", "in", 0) !== 200 && clock.now() < deadline) await sleep(clock, 10);
  heirStop.abort();
  await heirRun;
  assert.is(heirCount, 200, "the heir processed the partition");
  wire.configure({ dropRequest: 0 });
  await sleep(clock, 1_000);
  zombieStop.abort();
  assert.is(await zombieRun, undefined, "the zombie's loop ended without an error of its own");
  assert.not.ok(outcomes.some((o) => o.type === "committed"), "the zombie never committed the partition it lost");
  assert.is(
    broker.transaction("zombie")!.state,
    "complete-abort",
    "the zombie's transaction was aborted, not left open",
  );
  const output = broker.read("out", 0, { isolation: "read-committed" }).map((r) => idOf(r.value));
  assert.equal(output, Array.from({ length: 200 }, (_, i) => i), "read-committed output: every record once, in order");
  await zombie.close();
  await heir.close();
  await zombieProducer.close();
});

test("consumer machine: the loop's transitions", () => {
  const actor = createActor(consumerMachine).start();
  const path: string[] = [];
  actor.subscribe((s) => path.push(s.value as string));
  for (
    const type of [
      "START",
      "JOINED",
      "RECORDS",
      "COMMIT",
      "DONE",
      "IDLE",
      "WAKE",
      "REBALANCE",
      "DONE",
      "REJOIN",
      "JOINED",
      "STOP",
      "START",
      "FAIL",
      "CLOSE",
    ] as const
  ) {
    actor.send({ type });
  }
  assert.equal(path, [
    "joining",
    "fetching",
    "processing",
    "committing",
    "fetching",
    "polling",
    "fetching",
    "rebalancing",
    "fetching",
    "joining",
    "fetching",
    "idle",
    "joining",
    "failed",
    "closed",
  ]);
  // Events that make no sense in a state are ignored, never a stuck or wrong state.
  const fresh = createActor(consumerMachine).start();
  fresh.send({ type: "RECORDS" });
  fresh.send({ type: "COMMIT" });
  assert.is(fresh.getSnapshot().value, "idle");
});

test.run();
