/**
 * NATS servers the tests own: a single JetStream server, or a JetStream cluster of nodes, each
 * started from the `nats-server` binary with its own client, cluster and monitoring ports,
 * `server_name` and `store_dir` (in a temp dir removed at the end). It waits until JetStream is
 * ready, finds stream leaders, kills a node by its own pid and restarts it on the same store
 * and ports, and cuts a node off:
 *
 * - every route runs through a TCP proxy per ordered pair of nodes, so `cutRoutes(node)`
 *   partitions a node from the others (both directions, new connections refused too) until
 *   `heal(node)`;
 * - `proxiedUrl(node)` reaches a node through a client proxy (`clientProxy(node).cutAll()` or
 *   `.block()`), `clientUrl(node)` reaches it straight.
 *
 * Each node advertises its cluster address as a port that accepts and closes at once, so
 * route gossip cannot open a direct route that would bypass the proxies. It never touches a
 * server it did not start (such as one on 127.0.0.1:4222). Runs on Node, Deno and Bun.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { type JetStreamManager, jetstreamManager, type StreamInfo } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.ts";
import { freePorts, NatsProcess, natsServerVersion, poll, removeDir, tempDir } from "./nats-process.ts";

export { natsServerVersion } from "./nats-process.ts";

/** One server of a {@link NatsCluster}. */
export interface NatsNode {
  /** 0-based. */
  readonly index: number;
  /** Its `server_name`, what stream info names as leader and replicas. */
  readonly name: string;
  readonly clientPort: number;
  /** Where it listens for routes (0 for a single server). */
  readonly clusterPort: number;
  /** Its monitoring port (/varz, /jsz, /routez). */
  readonly httpPort: number;
  readonly storeDir: string;
  /** Its process's pid, or null while it is down. */
  readonly pid: number | null;
  readonly running: boolean;
  /** The process, for its log. */
  readonly process: NatsProcess;
}

/** A node, by itself, its index, or its server name. */
export type NodeRef = NatsNode | number | string;

export interface NatsClusterOptions {
  /** Nodes; 1 gives a single server with no cluster block. Default 3. */
  readonly size?: number;
  /** How long starting may take until JetStream is ready everywhere. Default 30 000 ms. */
  readonly readyWithinMs?: number;
  /** A word in the temp dir and cluster name. */
  readonly label?: string;
}

export interface WaitOptions {
  /** Default 30 000 ms. */
  readonly within?: number;
  readonly signal?: AbortSignal;
}

const DEFAULT_WAIT_MS = 30_000;
/** JetStream API requests of the harness itself: short, so a dead node costs little. */
const API_TIMEOUT_MS = 1_500;

/** What the harness reads of /jsz. */
interface Jsz {
  meta_cluster?: { leader?: string; replicas?: { name: string; current?: boolean; offline?: boolean }[] };
}

interface Node extends NatsNode {
  readonly sink: net.Server;
}

/** Starts a single JetStream server with file storage of its own. */
export function startNatsServer(options: Omit<NatsClusterOptions, "size"> = {}): Promise<NatsCluster> {
  return NatsCluster.start({ ...options, size: 1 });
}

/** Starts a JetStream cluster (default 3 nodes) and waits until it has a meta leader. */
export function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  return NatsCluster.start(options);
}

/** What {@link NatsCluster.streamLeader} and friends look at, per node. */
export interface ReplicaState {
  readonly node: NatsNode;
  readonly leader: boolean;
  readonly current: boolean;
  readonly offline: boolean;
  readonly lag: number;
}

export class NatsCluster implements AsyncDisposable {
  readonly name: string;
  /** The temp dir holding every node's config, log and store; removed by {@link stop}. */
  readonly dir: string;
  readonly #nodes: Node[];
  readonly #clientProxies: TcpProxy[];
  /** `#routeProxies[i][j]`: node i's route to node j (null on the diagonal). */
  readonly #routeProxies: (TcpProxy | null)[][];
  readonly #cut = new Set<number>();
  #stopped = false;

  private constructor(
    name: string,
    dir: string,
    nodes: Node[],
    clientProxies: TcpProxy[],
    routeProxies: (TcpProxy | null)[][],
  ) {
    this.name = name;
    this.dir = dir;
    this.#nodes = nodes;
    this.#clientProxies = clientProxies;
    this.#routeProxies = routeProxies;
  }

  /**
   * Use {@link startNatsServer} or {@link startNatsCluster}. Starts afresh on other ports
   * (twice at most) when a port it chose was taken before a server could bind it.
   */
  static async start(options: NatsClusterOptions = {}): Promise<NatsCluster> {
    for (let attempt = 1;; attempt++) {
      try {
        return await NatsCluster.#start(options);
      } catch (error) {
        if (!(error instanceof PortTakenError) || attempt >= 3) throw error;
      }
    }
  }

  static async #start(options: NatsClusterOptions): Promise<NatsCluster> {
    natsServerVersion();
    const size = options.size ?? 3;
    if (!Number.isInteger(size) || size < 1) throw new Error(`size must be a positive integer, got ${size}`);
    const label = options.label ?? (size === 1 ? "server" : `cluster${size}`);
    const dir = tempDir(label);
    const name = `acktor-${label}-${path.basename(dir).slice(-6)}`;
    const opened: { close(): Promise<void> }[] = [];
    const processes: NatsProcess[] = [];
    let cluster: NatsCluster | null = null;
    try {
      // client, cluster, http per node; the ports are free now and the servers claim them soon.
      const ports = await freePorts(3 * size);
      const clientProxies: TcpProxy[] = [];
      const routeProxies: (TcpProxy | null)[][] = [];
      const nodes: Node[] = [];
      for (let i = 0; i < size; i++) {
        const client = ports[3 * i]!, clusterPort = size > 1 ? ports[3 * i + 1]! : 0, http = ports[3 * i + 2]!;
        const proxy = await startTcpProxy({ host: "127.0.0.1", port: client });
        opened.push(proxy);
        clientProxies.push(proxy);
        const sink = await startSink();
        opened.push({ close: () => new Promise<void>((resolve) => sink.close(() => resolve())) });
        const storeDir = path.join(dir, `n${i + 1}-store`);
        fs.mkdirSync(storeDir);
        nodes.push(
          { index: i, name: `n${i + 1}`, clientPort: client, clusterPort, httpPort: http, storeDir, sink } as Node,
        );
      }
      for (let i = 0; i < size; i++) {
        const row: (TcpProxy | null)[] = [];
        for (let j = 0; j < size; j++) {
          if (i === j) row.push(null);
          else {
            const proxy = await startTcpProxy({ host: "127.0.0.1", port: nodes[j]!.clusterPort });
            opened.push(proxy);
            row.push(proxy);
          }
        }
        routeProxies.push(row);
      }
      for (const node of nodes) {
        const routes = routeProxies[node.index]!.flatMap((p) => (p ? [`nats-route://127.0.0.1:${p.port}`] : []));
        const config = [
          `server_name: ${node.name}`,
          `listen: "127.0.0.1:${node.clientPort}"`,
          `http: "127.0.0.1:${node.httpPort}"`,
          `log_file: "${path.join(dir, `${node.name}.log`)}"`,
          `jetstream {`,
          `  store_dir: "${node.storeDir}"`,
          `}`,
          ...(size > 1
            ? [
              `cluster {`,
              `  name: "${name}"`,
              `  listen: "127.0.0.1:${node.clusterPort}"`,
              // Gossiped to the other nodes: a dead end, so every route goes through a proxy.
              `  advertise: "127.0.0.1:${(node.sink.address() as net.AddressInfo).port}"`,
              // Clients keep to the URLs they were given (a proxied client must not find a way around).
              `  no_advertise: true`,
              `  routes: [`,
              ...routes.map((r) => `    "${r}"`),
              `  ]`,
              `}`,
            ]
            : []),
          "",
        ].join("\n");
        const process = new NatsProcess({ name: node.name, config, dir });
        processes.push(process);
        Object.defineProperties(node, {
          process: { value: process, enumerable: true },
          pid: { get: () => process.pid, enumerable: true },
          running: { get: () => process.running, enumerable: true },
        });
      }
      cluster = new NatsCluster(name, dir, nodes, clientProxies, routeProxies);
      for (const node of nodes) node.process.start();
      await cluster.waitReady({ within: options.readyWithinMs ?? DEFAULT_WAIT_MS });
      return cluster;
    } catch (error) {
      const detail = cluster ? `\n${cluster.describe()}` : "";
      const taken = processes.some((p) => p.logTail(5).includes("address already in use"));
      for (const p of processes) await p.kill("SIGKILL");
      for (const o of opened) await o.close();
      removeDir(dir);
      if (error instanceof Error && detail && !error.message.includes("\n")) error.message += detail;
      throw taken ? new PortTakenError(error) : error;
    }
  }

  /** Every node, in order. */
  get nodes(): readonly NatsNode[] {
    return this.#nodes;
  }

  get size(): number {
    return this.#nodes.length;
  }

  node(ref: NodeRef): NatsNode {
    return this.#node(ref);
  }

  #node(ref: NodeRef): Node {
    const found = typeof ref === "number"
      ? this.#nodes[ref]
      : typeof ref === "string"
      ? this.#nodes.find((n) => n.name === ref)
      : this.#nodes[ref.index];
    if (!found) throw new Error(`no node ${typeof ref === "object" ? ref.name : ref} in ${this.name}`);
    return found;
  }

  /** `127.0.0.1:port` straight to the node (default the first). */
  clientUrl(ref: NodeRef = 0): string {
    return `127.0.0.1:${this.#node(ref).clientPort}`;
  }

  /** `127.0.0.1:port` to the node through its client proxy (see {@link clientProxy}). */
  proxiedUrl(ref: NodeRef = 0): string {
    return `127.0.0.1:${this.#clientProxies[this.#node(ref).index]!.port}`;
  }

  /** Every node's {@link clientUrl}. */
  clientUrls(): string[] {
    return this.#nodes.map((n) => this.clientUrl(n));
  }

  /** Every node's {@link proxiedUrl}. */
  proxiedUrls(): string[] {
    return this.#nodes.map((n) => this.proxiedUrl(n));
  }

  /** The proxy in front of the node's client port: `cutAll()` drops its clients, `block()` keeps them out. */
  clientProxy(ref: NodeRef = 0): TcpProxy {
    return this.#clientProxies[this.#node(ref).index]!;
  }

  /** Drops every client connection through every client proxy; returns how many. */
  cutAllClients(): number {
    return this.#clientProxies.reduce((n, p) => n + p.cutAll(), 0);
  }

  /**
   * Partitions the node from the others: drops its routes, both directions, and refuses new
   * ones until {@link heal}. Its clients stay connected to it. Returns how many route
   * connections were dropped.
   */
  cutRoutes(ref: NodeRef): number {
    const i = this.#node(ref).index;
    this.#cut.add(i);
    let dropped = 0;
    for (let j = 0; j < this.size; j++) {
      if (j === i) continue;
      dropped += this.#routeProxies[i]![j]!.block() + this.#routeProxies[j]![i]!.block();
    }
    return dropped;
  }

  /** Lets the node's routes through again (every cut node's without an argument). */
  heal(ref?: NodeRef): void {
    if (ref === undefined) this.#cut.clear();
    else this.#cut.delete(this.#node(ref).index);
    for (let i = 0; i < this.size; i++) {
      for (let j = 0; j < this.size; j++) {
        if (i !== j && !this.#cut.has(i) && !this.#cut.has(j)) this.#routeProxies[i]![j]!.unblock();
      }
    }
  }

  /** Whether the node's routes are cut. */
  isCut(ref: NodeRef): boolean {
    return this.#cut.has(this.#node(ref).index);
  }

  /** Kills the node's process (its own pid only) and waits until it has exited. */
  async kill(ref: NodeRef, signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<void> {
    await this.#node(ref).process.kill(signal);
  }

  /** Starts a stopped node again, same config, ports and store; waits until it is back (see {@link waitNodeReady}). */
  async restart(ref: NodeRef, options: WaitOptions = {}): Promise<void> {
    const node = this.#node(ref);
    if (!node.running) node.process.start();
    await this.waitNodeReady(node, options);
  }

  /** Waits until every running node is ready (see {@link waitNodeReady}). */
  async waitReady(options: WaitOptions = {}): Promise<void> {
    await Promise.all(this.#nodes.filter((n) => n.running).map((n) => this.waitNodeReady(n, options)));
  }

  /**
   * Waits until the node is back: it answers JetStream requests (account info through its
   * client port) and, in a cluster, has a route to every other node that is up and not cut,
   * and every such node names the same meta leader, which counts them all current. A node
   * whose routes are cut only has to accept client connections. Fails early when the
   * process exits.
   */
  async waitNodeReady(ref: NodeRef, options: WaitOptions = {}): Promise<void> {
    const node = this.#node(ref);
    await poll(`${node.name} to be ready`, async () => {
      if (!node.running) throw new Error(`${node.name} is not running (${node.process.lastExit || "never started"})`);
      if (this.#cut.has(node.index)) return await this.#withConnection(node, () => Promise.resolve(true));
      await this.#withJsm(node, (jsm) => jsm.getAccountInfo());
      if (this.size === 1) return true;
      const expected = this.#nodes.filter((n) => n !== node && n.running && !this.#cut.has(n.index)).length;
      const routez = await this.monitor(node, "routez") as { num_routes?: number };
      if ((routez.num_routes ?? 0) < expected) {
        throw new Error(`${node.name} has ${routez.num_routes ?? 0} of ${expected} routes`);
      }
      await this.#metaSettled();
      return true;
    }, this.#poll(options));
  }

  /** Throws unless every running node not cut off names one meta leader, among them, that counts the others current. */
  async #metaSettled(): Promise<void> {
    const up = this.#nodes.filter((n) => n.running && !this.#cut.has(n.index));
    const views = await Promise.all(up.map((n) => this.monitor(n, "jsz") as Promise<Jsz>));
    const named = views.map((v) => v.meta_cluster?.leader ?? "");
    const leader = named[0];
    if (!leader || named.some((l) => l !== leader)) {
      throw new Error(`meta leader: ${up.map((n, i) => `${n.name} says ${named[i] || "none"}`).join(", ")}`);
    }
    const at = up.findIndex((n) => n.name === leader);
    if (at < 0) throw new Error(`the meta leader ${leader} is down or cut off`);
    const replicas = views[at]!.meta_cluster?.replicas ?? [];
    const behind = up.filter((n) => n.name !== leader && !replicas.some((r) => r.name === n.name && r.current));
    if (behind.length > 0) {
      throw new Error(`meta leader ${leader} does not count ${behind.map((n) => n.name).join(", ")} current`);
    }
  }

  /** The node's monitoring endpoint (`varz`, `jsz`, `routez`, ...), parsed. */
  async monitor(ref: NodeRef, endpoint: string): Promise<unknown> {
    const node = this.#node(ref);
    const response = await fetch(`http://127.0.0.1:${node.httpPort}/${endpoint}`, {
      signal: AbortSignal.timeout(API_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`${node.name} /${endpoint}: HTTP ${response.status}`);
    return await response.json();
  }

  /** The meta leader as the node (default: any running one) sees it, or null. */
  async metaLeader(ref?: NodeRef): Promise<NatsNode | null> {
    const via = ref === undefined ? this.#nodes.filter((n) => n.running) : [this.#node(ref)];
    for (const node of via) {
      try {
        const jsz = await this.monitor(node, "jsz") as Jsz;
        const leader = jsz.meta_cluster?.leader;
        if (leader) return this.#node(leader);
      } catch { /* try the next */ }
    }
    return null;
  }

  /**
   * Stream info, asked through the node `via` (default: each running node not cut off, in
   * turn, until one answers).
   */
  async streamInfo(stream: string, via?: NodeRef): Promise<StreamInfo> {
    const nodes = via === undefined
      ? this.#nodes.filter((n) => n.running && !this.#cut.has(n.index))
      : [this.#node(via)];
    let last: unknown = new Error("no running node to ask");
    for (const node of nodes) {
      try {
        return await this.#withJsm(node, (jsm) => jsm.streams.info(stream));
      } catch (error) {
        last = error;
      }
    }
    throw last;
  }

  /**
   * Waits until the stream has a leader that is running (and is not `options.not`, e.g. the
   * leader just killed), and returns it.
   */
  streamLeader(stream: string, options: WaitOptions & { not?: NodeRef } = {}): Promise<NatsNode> {
    const not = options.not === undefined ? null : this.#node(options.not);
    return poll(`a leader of stream ${stream}${not ? ` other than ${not.name}` : ""}`, async () => {
      const leader = (await this.streamInfo(stream)).cluster?.leader;
      if (!leader) throw new Error(`stream ${stream} has no leader`);
      const node = this.#node(leader);
      if (node === not) throw new Error(`the leader is still ${leader}`);
      if (!node.running) throw new Error(`the leader is ${leader}, which is down`);
      return node;
    }, this.#poll(options));
  }

  /**
   * Asks the stream's leader to step down, and waits until another running node leads it.
   * nats-server 2.9 takes no preferred successor, so the new leader is the election's choice.
   */
  async stepDown(stream: string, options: WaitOptions = {}): Promise<NatsNode> {
    const leader = await this.streamLeader(stream, options);
    await poll(`stream ${stream} to accept a leader step-down`, async () => {
      const node = this.#nodes.find((n) => n.running && !this.#cut.has(n.index))!;
      return await this.#withConnection(node, async (nc) => {
        const reply = await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, undefined, {
          timeout: API_TIMEOUT_MS,
        });
        const answer = reply.json<{ success?: boolean; error?: { description?: string } }>();
        if (!answer.success) throw new Error(answer.error?.description ?? "step-down refused");
        return true;
      });
    }, this.#poll(options));
    return await this.streamLeader(stream, { ...options, not: leader });
  }

  /**
   * Steps the streams' leaders down until one node leads them all (a fault then hits every
   * stream's leader at once), and returns that node.
   */
  async alignLeaders(streams: readonly string[], options: WaitOptions = {}): Promise<NatsNode> {
    const first = await this.streamLeader(streams[0]!, options);
    for (const stream of streams.slice(1)) {
      let leader = await this.streamLeader(stream, options);
      for (let tries = 0; leader !== first; tries++) {
        if (tries >= 20) throw new Error(`stream ${stream} would not move its leader to ${first.name}`);
        leader = await this.stepDown(stream, options);
      }
    }
    return first;
  }

  /** Per node, how its replica of the stream stands, as the stream leader reports it. */
  async replicas(stream: string, via?: NodeRef): Promise<ReplicaState[]> {
    const info = await this.streamInfo(stream, via);
    const out: ReplicaState[] = [];
    // A single server's stream has no cluster info: the server is its only, current, replica.
    if (this.size === 1) return [{ node: this.#nodes[0]!, leader: true, current: true, offline: false, lag: 0 }];
    if (info.cluster?.leader) {
      out.push({ node: this.#node(info.cluster.leader), leader: true, current: true, offline: false, lag: 0 });
    }
    for (const r of info.cluster?.replicas ?? []) {
      out.push({
        node: this.#node(r.name),
        leader: false,
        current: r.current,
        offline: r.offline ?? false,
        lag: r.lag ?? 0,
      });
    }
    return out;
  }

  /** Waits until the stream has a leader and every one of its replicas is current, online and not lagging. */
  waitStreamCurrent(stream: string, replicas: number, options: WaitOptions = {}): Promise<ReplicaState[]> {
    return poll(`every replica of stream ${stream} to be current`, async () => {
      const states = await this.replicas(stream);
      const ok = states.length === replicas && states.every((s) => s.current && !s.offline && s.lag === 0);
      if (!ok) throw new Error(`replicas: ${describeReplicas(states)}`);
      return states;
    }, this.#poll(options));
  }

  /** Ports, pids, cut state and each node's log tail: for failure messages. */
  describe(logLines = 8): string {
    const lines = [`${this.name} (${this.dir}), ${natsServerVersion()}`];
    for (const n of this.#nodes) {
      const state = n.running ? `pid ${n.pid}` : `down (${n.process.lastExit || "not started"})`;
      const routes = this.size > 1
        ? ` cluster ${n.clusterPort} routes-via ${
          this.#routeProxies[n.index]!.flatMap((p, j) => p ? [`${this.#nodes[j]!.name}:${p.port}`] : []).join(",")
        }${this.#cut.has(n.index) ? " [ROUTES CUT]" : ""}`
        : "";
      lines.push(
        `  ${n.name}: ${state}, client ${n.clientPort} (proxied ${this.#clientProxies[n.index]!.port}), ` +
          `http ${n.httpPort}${routes}`,
      );
    }
    for (const n of this.#nodes) {
      lines.push(`  --- ${n.name} log tail ---`, ...n.process.logTail(logLines).split("\n").map((l) => `  ${l}`));
    }
    return lines.join("\n");
  }

  /** Kills every node (SIGKILL, own pids only), closes the proxies and removes the temp dir. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all(this.#nodes.map((n) => n.process.kill("SIGKILL")));
    const proxies = [...this.#clientProxies, ...this.#routeProxies.flat()].filter((p): p is TcpProxy => p !== null);
    await Promise.all(proxies.map((p) => p.close()));
    await Promise.all(this.#nodes.map((n) => new Promise<void>((resolve) => n.sink.close(() => resolve()))));
    removeDir(this.dir);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #poll(options: WaitOptions) {
    return {
      within: options.within ?? DEFAULT_WAIT_MS,
      step: 150,
      describe: () => this.describe(),
      ...(options.signal ? { signal: options.signal } : {}),
    };
  }

  /** Runs `body` on a short-lived connection straight to the node. */
  async #withConnection<T>(node: Node, body: (nc: NatsConnection) => Promise<T>): Promise<T> {
    let nc: NatsConnection | null = null;
    try {
      nc = await connect({
        servers: `127.0.0.1:${node.clientPort}`,
        timeout: API_TIMEOUT_MS,
        reconnect: false,
        name: "acktor-test-harness",
      });
      return await body(nc);
    } finally {
      await nc?.close().catch(() => {});
    }
  }

  /** Runs `body` with a JetStream manager on a short-lived connection straight to the node. */
  #withJsm<T>(node: Node, body: (jsm: JetStreamManager) => Promise<T>): Promise<T> {
    return this.#withConnection(
      node,
      async (nc) => await body(await jetstreamManager(nc, { timeout: API_TIMEOUT_MS })),
    );
  }
}

/** "n1 leader, n2 current, n3 offline lag 4". */
export function describeReplicas(states: readonly ReplicaState[]): string {
  return states.map((s) =>
    `${s.node.name} ${
      s.leader ? "leader" : [s.current ? "current" : "not current", s.offline ? "offline" : "", `lag ${s.lag}`]
        .filter(Boolean).join(" ")
    }`
  ).join(", ");
}

/** A server could not bind a port the harness chose for it. */
class PortTakenError extends Error {
  override name = "PortTakenError";
  constructor(cause: unknown) {
    super(`a port was taken before nats-server could bind it: ${(cause as Error)?.message ?? cause}`, { cause });
  }
}

/** A listener that closes every connection at once: the address each node advertises for routes. */
async function startSink(): Promise<net.Server> {
  const sink = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    sink.once("error", reject);
    sink.listen(0, "127.0.0.1", () => resolve());
  });
  return sink;
}

/**
 * Starts servers, runs `body` on them, and stops them however it ends; a failure's message
 * gains the ports, pids and log tails (unless it already names the cluster).
 */
export async function withNatsCluster<T>(
  options: NatsClusterOptions,
  body: (cluster: NatsCluster) => Promise<T>,
): Promise<T> {
  const cluster = await NatsCluster.start(options);
  try {
    return await body(cluster);
  } catch (error) {
    if (error instanceof Error && !error.message.includes(cluster.name)) error.message += `\n${cluster.describe()}`;
    throw error;
  } finally {
    await cluster.stop();
  }
}
