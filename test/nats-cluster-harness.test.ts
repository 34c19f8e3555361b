/**
 * The harness of test/helpers/nats-cluster.ts on the runtime at hand: nats-server processes
 * of the test's own (never the machine's server on 4222), a single server SIGKILLed and
 * restarted on its store, a 3-node JetStream cluster whose stream leader is SIGKILLed and
 * comes back, and a node partitioned by cutting its routes, then healed. Needs the
 * `nats-server` binary (apt-get install nats-server); ACKTOR_SKIP_ENGINES=1 skips it.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import process from "node:process";
import { jetstream, jetstreamManager, type PubAck } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { connectNats, streamName } from "../src/adapters/nats/index.ts";
import { describeReplicas, type NatsCluster, type NodeRef, withNatsCluster } from "./helpers/nats-cluster.ts";
import { liveProcessCount, poll } from "./helpers/nats-process.ts";
import { SKIP, uniqueTopic } from "./helpers/nats.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Publishes one message on a fresh connection to `url`; rejects when no stream leader takes it. */
async function publishTo(url: string, subject: string, value: string, timeout = 2_000): Promise<PubAck> {
  const nc = await connect({ servers: url, timeout, reconnect: false });
  try {
    return await jetstream(nc, { timeout }).publish(subject, enc(value));
  } finally {
    await nc.close().catch(() => {});
  }
}

/** A replicas-3 (or 1), one-partition, file-storage topic made by acktor; its stream's name. */
async function createTopic(cluster: NatsCluster, what: string, replicas: number): Promise<[string, string]> {
  const nats = await connectNats({ servers: cluster.clientUrls(), timeoutMs: 5_000 });
  try {
    const topic = uniqueTopic(what);
    await nats.createTopic(topic, { partitions: 1, replicas, storage: "file" });
    return [topic, streamName(topic)];
  } finally {
    await nats.close();
  }
}

/**
 * The values the stream holds, asked over a connection to `via`; retried while the cluster
 * answers "JetStream system temporarily unavailable" (a meta leader change) or not at all.
 */
function storedValues(cluster: NatsCluster, stream: string, via: NodeRef): Promise<string[]> {
  return poll(`the values of stream ${stream}`, () => readStream(cluster, stream, via), {
    within: 10_000,
    describe: () => cluster.describe(),
  });
}

async function readStream(cluster: NatsCluster, stream: string, via: NodeRef): Promise<string[]> {
  const nc = await connect({ servers: cluster.clientUrl(via), timeout: 2_000, reconnect: false });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 2_000 });
    const info = await jsm.streams.info(stream);
    const out: string[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const message = await jsm.streams.getMessage(stream, { seq });
      if (message) out.push(dec(message.data));
    }
    return out;
  } finally {
    await nc.close().catch(() => {});
  }
}

/** Asserts that `promise` rejects; returns its error. */
async function fails(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.unreachable("expected a failure, got success");
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

if (SKIP) {
  console.log("SKIPPED: the nats-server cluster harness tests (ACKTOR_SKIP_ENGINES=1)");
} else {
  test("a single server: SIGKILLed (and SIGTERMed) and restarted on its store, it still holds what it acknowledged", {
    deadlineMs: 30_000,
  }, async () => {
    let pids: number[] = [];
    await withNatsCluster({ size: 1 }, async (server) => {
      const [node] = server.nodes;
      assert.ok(node && node.running && node.pid !== null, "the server runs");
      assert.not.ok([4222, 6222, 8222].includes(node.clientPort), "ports of its own, away from the machine's server");
      const [topic, stream] = await createTopic(server, "single", 1);
      const ack = await publishTo(server.clientUrl(), `${topic}.0`, "before the crash");
      assert.is(ack.seq, 1);
      const first = node.pid!;
      await server.kill(node, "SIGKILL");
      assert.not.ok(node.running, "the process is gone");
      assert.not.ok(isAlive(first), `pid ${first} has exited`);
      assert.match(node.process.lastExit, /SIGKILL/);
      await server.restart(node);
      assert.ok(node.pid !== null && node.pid !== first, "a new process");
      pids = [first, node.pid!];
      assert.equal(await storedValues(server, stream, node), ["before the crash"], "the record survived the crash");
      await publishTo(server.proxiedUrl(), `${topic}.0`, "after the restart, through the client proxy");
      assert.equal((await server.streamInfo(stream)).state.messages, 2);
      // SIGTERM: the server shuts down by itself; restarted, it still holds both.
      const second = node.pid!;
      await server.kill(node, "SIGTERM");
      assert.not.ok(isAlive(second), `pid ${second} has exited`);
      await server.restart(node);
      pids.push(node.pid!);
      assert.is((await storedValues(server, stream, node)).length, 2, "both records survived the shutdown");
    });
    for (const pid of pids) assert.not.ok(isAlive(pid), `pid ${pid} is gone after stop()`);
    assert.is(liveProcessCount(), 0, "every process the harness started has exited");
  });

  test("a 3-node cluster: SIGKILL of the stream leader elects another, and the restarted node rejoins", {
    deadlineMs: 60_000,
  }, async () => {
    await withNatsCluster({ size: 3 }, async (cluster) => {
      assert.ok(await cluster.metaLeader(), "a meta leader");
      const [topic, stream] = await createTopic(cluster, "leader-kill", 3);
      const info = await cluster.streamInfo(stream);
      assert.is(info.config.num_replicas, 3);
      const leader = await cluster.streamLeader(stream);
      const states = await cluster.waitStreamCurrent(stream, 3);
      assert.equal(states.map((s) => s.node.name).sort(), ["n1", "n2", "n3"], "a replica on every node");
      await publishTo(cluster.clientUrl(leader), `${topic}.0`, "m1");

      await cluster.kill(leader, "SIGKILL");
      assert.not.ok(leader.running);
      const next = await cluster.streamLeader(stream, { not: leader });
      assert.is.not(next.name, leader.name, "another leader");
      const survivor = cluster.nodes.find((n) => n.running)!;
      await publishTo(cluster.clientUrl(survivor), `${topic}.0`, "m2");

      await cluster.restart(leader);
      const back = await cluster.waitStreamCurrent(stream, 3);
      assert.ok(back.some((s) => s.node === leader && !s.leader), `${leader.name} rejoined as a follower`);
      assert.equal(await storedValues(cluster, stream, leader), ["m1", "m2"], "the restarted node caught up");
    });
  });

  test("a 3-node cluster: a node whose routes are cut is partitioned away, then heals", {
    deadlineMs: 75_000,
  }, async () => {
    await withNatsCluster({ size: 3 }, async (cluster) => {
      const [topic, stream] = await createTopic(cluster, "partition", 3);
      const leader = await cluster.streamLeader(stream);
      await cluster.waitStreamCurrent(stream, 3);
      // A follower that is not the meta leader either: cutting that one costs a meta election too.
      const meta = await cluster.metaLeader();
      const follower = cluster.nodes.find((n) => n !== leader && n !== meta)!;
      const other = cluster.nodes.find((n) => n !== leader && n !== follower)!;

      // A client through the follower's client proxy: cut, kept out, let back in.
      const nc = await connect({ servers: cluster.proxiedUrl(follower), timeout: 2_000, reconnectTimeWait: 100 });
      try {
        await jetstream(nc, { timeout: 2_000 }).publish(`${topic}.0`, enc("p0"));
        assert.ok(cluster.clientProxy(follower).block() >= 1, "the proxy dropped the client's connection");
        await fails(jetstream(nc, { timeout: 1_000 }).publish(`${topic}.0`, enc("lost")));
        cluster.clientProxy(follower).unblock();
        await poll("the proxied client to reconnect and publish", async () => {
          await jetstream(nc, { timeout: 1_000 }).publish(`${topic}.0`, enc("p1"));
          return true;
        }, { within: 10_000 });
      } finally {
        await nc.close().catch(() => {});
      }

      // The follower's routes cut: the others carry on without it, it cannot reach the leader.
      assert.ok(cluster.cutRoutes(follower) >= 2, "its route connections dropped");
      await poll(`${follower.name} to lose every route`, async () => {
        const routez = await cluster.monitor(follower, "routez") as { num_routes?: number };
        return (routez.num_routes ?? 0) === 0;
      }, { within: 10_000, describe: () => cluster.describe() });
      for (let i = 0; i < 5; i++) await publishTo(cluster.clientUrl(other), `${topic}.0`, `q${i}`);
      await fails(publishTo(cluster.clientUrl(follower), `${topic}.0`, "cut off", 1_000));
      const cut = await poll(`the leader to see ${follower.name} fall behind`, async () => {
        const states = await cluster.replicas(stream, leader);
        const state = states.find((s) => s.node === follower);
        return state && (state.lag > 0 || !state.current || state.offline) ? describeReplicas(states) : false;
      }, { within: 15_000, describe: () => cluster.describe() });
      assert.ok(cut.length > 0);

      // Healed: it gets its routes back, catches up, and takes publishes again.
      cluster.heal(follower);
      await cluster.waitNodeReady(follower);
      await cluster.waitStreamCurrent(stream, 3);
      await poll(`a publish through ${follower.name}`, async () => {
        await publishTo(cluster.clientUrl(follower), `${topic}.0`, "healed", 1_000);
        return true;
      }, { within: 10_000 });
      // ("lost" may have been stored after all: the client resends what it buffered while cut.)
      const values = (await storedValues(cluster, stream, follower)).filter((v) => v !== "lost");
      assert.equal(values, ["p0", "p1", "q0", "q1", "q2", "q3", "q4", "healed"]);

      // The stream leader itself cut off: the other two elect a leader between them.
      cluster.cutRoutes(leader);
      const elected = await cluster.streamLeader(stream, { not: leader, within: 30_000 });
      assert.ok(elected !== leader, `${elected.name} leads while ${leader.name} is cut off`);
      cluster.heal();
      await cluster.waitReady();
      await cluster.waitStreamCurrent(stream, 3);
    });
  });
}

test.run();
