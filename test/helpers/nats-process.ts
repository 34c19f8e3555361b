/**
 * nats-server processes a test owns: started from the `nats-server` binary with a config file
 * of their own, killed only by their own process id, and SIGKILLed when the test process exits
 * however it ends. Runs on Node, Deno and Bun (node:child_process, node:net, node:fs).
 *
 * It never touches a server it did not start (such as the machine's own on 127.0.0.1:4222):
 * ports come from the kernel (bind port 0), and a kill goes only to a pid this module spawned.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { DeadlineError, testSignal } from "./harness.ts";

/** The binary; `ACKTOR_NATS_SERVER` overrides it. */
export const NATS_SERVER_BIN = process.env.ACKTOR_NATS_SERVER ?? "nats-server";

let checked: string | null = null;
/** The binary's version line; throws, saying how to install it, when it is missing. */
export function natsServerVersion(): string {
  if (checked !== null) return checked;
  const result = spawnSync(NATS_SERVER_BIN, ["--version"], { encoding: "utf8" });
  if (result.error || result.status !== 0) {
    const why = result.error ? result.error.message : `exit code ${result.status}: ${result.stderr}`;
    throw new Error(
      `cannot run "${NATS_SERVER_BIN}" (${why}). Install it: apt-get install nats-server (Debian), ` +
        `or put a nats-server binary on PATH, or set ACKTOR_NATS_SERVER to one`,
    );
  }
  return (checked = String(result.stdout).trim());
}

/**
 * Below the kernel's ephemeral range, so that no outgoing connection takes a server's port
 * while the server is down for a restart (and bind(0) never hands it out either).
 */
function portRange(): [number, number] {
  let ephemeral = 32_768;
  try {
    ephemeral = Number(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) ||
      ephemeral;
  } catch { /* not Linux: keep the common default */ }
  // Well away from 4222/6222/8222 and other well-known ports.
  const low = 15_000;
  return ephemeral - low >= 2_000 ? [low, ephemeral] : [low, 32_768];
}

async function tryListen(port: number): Promise<net.Server | null> {
  const server = net.createServer();
  return await new Promise<net.Server | null>((resolve) => {
    server.once("error", () => resolve(null));
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

/**
 * `n` distinct free TCP ports on 127.0.0.1, from a random place below the ephemeral range,
 * each checked by binding it (all held until every one is found, then released).
 */
export async function freePorts(n: number): Promise<number[]> {
  const [low, high] = portRange();
  const span = high - low;
  const servers: net.Server[] = [];
  try {
    let at = Math.floor(Math.random() * span);
    for (let tried = 0; servers.length < n; tried++, at = (at + 1) % span) {
      if (tried >= span) throw new Error(`no ${n} free ports in ${low}-${high}`);
      const server = await tryListen(low + at);
      if (server) servers.push(server);
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

// Temp dirs this module made and has not removed yet: removed when the test process exits.
const dirs = new Set<string>();

/** A fresh temp directory, `acktor-nats-<what>-XXXX`, removed at exit if not before. */
export function tempDir(what: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `acktor-nats-${what}-`));
  dirs.add(dir);
  hookExit();
  return dir;
}

/** Removes a directory tree this module made; never throws. */
export function removeDir(dir: string): void {
  dirs.delete(dir);
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch { /* best effort: a leftover temp dir is harmless */ }
}

// Every live child this module spawned, SIGKILLed if the test process exits with them still up.
const live = new Set<ChildProcess>();
let hooked = false;
function killStragglers(): void {
  for (const child of live) {
    try {
      if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
    } catch { /* already gone */ }
  }
  live.clear();
  // A SIGKILLed server writes nothing more, so its store can go at once.
  for (const dir of [...dirs]) removeDir(dir);
}
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", killStragglers);
  // A signal ends the process without 'exit': kill the children, then end as the signal would.
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    try {
      process.once(signal, () => {
        killStragglers();
        process.exit(code);
      });
    } catch { /* a runtime that cannot listen for this signal */ }
  }
}

/** How many processes this module started are still running (for tests of the harness itself). */
export function liveProcessCount(): number {
  return live.size;
}

/** Sleeps `ms`, or rejects once `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal = testSignal()): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export interface PollOptions {
  /** Give up after this many ms (wall clock). */
  readonly within: number;
  /** Between attempts; default 100 ms. */
  readonly step?: number;
  /** Stops waiting; default the running test's signal. */
  readonly signal?: AbortSignal;
  /** Added to the failure message: the state of things (ports, pids, logs). */
  readonly describe?: () => string;
}

/**
 * Calls `attempt` until it returns a value other than `undefined`/`false` (a throw counts as
 * not yet), then returns that value. Fails with a {@link DeadlineError} naming `what`, the
 * last error and `describe()` once `within` ms pass or the signal aborts.
 */
export async function poll<T>(
  what: string,
  attempt: () => Promise<T | undefined | false> | T | undefined | false,
  options: PollOptions,
): Promise<T> {
  const signal = options.signal ?? testSignal();
  const start = Date.now();
  let last = "";
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined && value !== false) return value;
      last = "";
    } catch (error) {
      last = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    const timedOut = Date.now() - start >= options.within;
    if (timedOut || signal.aborted) {
      const why = timedOut ? `after ${options.within} ms` : "the test ended or timed out";
      const detail = options.describe ? `\n${options.describe()}` : "";
      throw new DeadlineError(`gave up waiting for ${what} (${why})${last ? `; last error: ${last}` : ""}${detail}`);
    }
    await sleep(options.step ?? 100, signal).catch(() => {});
  }
}

export interface NatsProcessOptions {
  /** A short name, used for the config and log file names. */
  readonly name: string;
  /** The nats-server config file's text. */
  readonly config: string;
  /** Where the config and log files go. */
  readonly dir: string;
  /**
   * Also accept WebSocket clients (browsers, `ws://127.0.0.1:<port>`) on this port: a
   * `websocket { listen: "127.0.0.1:<port>", no_tls: true }` block is added to `config`.
   */
  readonly websocketPort?: number;
}

/**
 * One nats-server process, from a config file: start, kill by its own pid, start again on the
 * same config (same ports, same store).
 */
export class NatsProcess {
  readonly name: string;
  readonly configFile: string;
  readonly logFile: string;
  /** The port of its `websocket` block, or null without one. */
  readonly websocketPort: number | null;
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #lastExit = "";
  #starts = 0;

  constructor(options: NatsProcessOptions) {
    natsServerVersion();
    this.name = options.name;
    this.configFile = path.join(options.dir, `${options.name}.conf`);
    this.logFile = path.join(options.dir, `${options.name}.log`);
    this.websocketPort = options.websocketPort ?? null;
    const websocket = this.websocketPort === null
      ? ""
      : `\nwebsocket {\n  listen: "127.0.0.1:${this.websocketPort}"\n  no_tls: true\n}\n`;
    fs.writeFileSync(this.configFile, options.config + websocket);
  }

  /** The running process's pid, or null when it is not running. */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  get running(): boolean {
    return this.#child !== null;
  }

  /** How it last ended ("" before it ever did): an exit code or a signal. */
  get lastExit(): string {
    return this.#lastExit;
  }

  /** Spawns the server (it must not be running). Does not wait for it to accept connections. */
  start(): void {
    if (this.#child) throw new Error(`${this.name} is already running (pid ${this.#child.pid})`);
    hookExit();
    this.#starts++;
    fs.appendFileSync(this.logFile, `--- acktor harness: start #${this.#starts} ---\n`);
    const child = spawn(NATS_SERVER_BIN, ["-c", this.configFile], { stdio: ["ignore", "ignore", "pipe"] });
    // The server logs to its log_file; stderr only carries a failure to start (a bad config).
    child.stderr?.on("data", (b: Uint8Array) => {
      try {
        fs.appendFileSync(this.logFile, b);
      } catch { /* the directory is gone: the harness stopped */ }
    });
    child.on("error", (error) => {
      this.#lastExit = `spawn failed: ${error.message}`;
    });
    this.#child = child;
    live.add(child);
    this.#exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        this.#lastExit = signal ? `killed by ${signal}` : `exited with code ${code}`;
        live.delete(child);
        if (this.#child === child) this.#child = null;
        resolve();
      });
    });
  }

  /**
   * Sends `signal` to this process's own pid and waits until it has exited (SIGTERM gets
   * `graceMs` before a SIGKILL follows). No-op when it is not running.
   */
  async kill(signal: "SIGKILL" | "SIGTERM" = "SIGKILL", graceMs = 10_000): Promise<void> {
    const child = this.#child;
    if (!child || child.pid === undefined) return;
    const exited = this.#exited;
    try {
      process.kill(child.pid, signal);
    } catch { /* exited meanwhile */ }
    if (signal !== "SIGKILL") {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), graceMs)));
      const outcome = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (outcome !== "late") return;
      try {
        process.kill(child.pid, "SIGKILL");
      } catch { /* exited meanwhile */ }
    }
    await exited;
  }

  /** The last `lines` lines of its log. */
  logTail(lines = 15): string {
    try {
      return fs.readFileSync(this.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }
}

/** A single nats-server of a test's own, started by {@link startNatsServer}. */
export interface OwnNatsServer {
  readonly process: NatsProcess;
  /** Its client port, and `127.0.0.1:<port>`. */
  readonly port: number;
  readonly url: string;
  /** `ws://127.0.0.1:<port>` of its websocket block, or null without one. */
  readonly wsUrl: string | null;
  /** Kills it (SIGKILL, by its own pid) and removes its store and logs; never throws. */
  stop(): Promise<void>;
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = net.createConnection(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/**
 * Starts one nats-server of the caller's own on free ports (never 4222), with JetStream in a
 * temp store (unless `jetStream: false`) and, with `websocket: true`, a websocket block
 * without TLS; resolves once every port it has accepts connections. Ports picked by
 * {@link freePorts} can be taken before the server binds them: then it tries again on others.
 */
export async function startNatsServer(
  options: { name: string; jetStream?: boolean; websocket?: boolean; within?: number },
): Promise<OwnNatsServer> {
  for (let attempt = 1;; attempt++) {
    const [port, websocketPort] = await freePorts(2) as [number, number];
    const dir = tempDir(options.name);
    const server = new NatsProcess({
      name: options.name,
      dir,
      config: [
        `listen: "127.0.0.1:${port}"`,
        `log_file: "${path.join(dir, `${options.name}.log`)}"`,
        ...(options.jetStream === false ? [] : [`jetstream {`, `  store_dir: "${path.join(dir, "store")}"`, `}`]),
        "",
      ].join("\n"),
      ...(options.websocket ? { websocketPort } : {}),
    });
    const stop = async (): Promise<void> => {
      await server.kill("SIGKILL");
      removeDir(dir);
    };
    server.start();
    try {
      await poll(`nats-server ${options.name} listening`, async () => {
        if (!server.running) throw new Error(`it ended (${server.lastExit})`);
        return await listening(port) && (!options.websocket || await listening(websocketPort));
      }, { within: options.within ?? 10_000, step: 50, describe: () => server.logTail() });
    } catch (error) {
      const taken = server.logTail(20).includes("address already in use");
      await stop();
      if (taken && attempt < 3) continue;
      throw error;
    }
    return {
      process: server,
      port,
      url: `127.0.0.1:${port}`,
      wsUrl: options.websocket ? `ws://127.0.0.1:${websocketPort}` : null,
      stop,
    };
  }
}
