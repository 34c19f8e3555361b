/**
 * The NATS JetStream server the engine tests run against (ACKTOR_NATS_URL, default
 * 127.0.0.1:4222), and what they share: unique topics, reading a partition back, a proxy
 * in front of the server.
 */
import process from "node:process";
import { connectNats, type NatsTransport } from "../../src/adapters/nats/index.ts";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.ts";

export const URL = process.env.ACKTOR_NATS_URL ?? "127.0.0.1:4222";
export const SKIP = process.env.ACKTOR_SKIP_ENGINES === "1";
const START =
  'nats-server -js -a 127.0.0.1 -p 4222 -sd "$(mktemp -d)"   (Debian: apt-get install nats-server), or run .ci/run';
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
let topicCount = 0;
export const uniqueTopic = (what: string): string => `acktor-test-${what}-${Date.now().toString(36)}-${topicCount++}`;

/** A transport straight to the server; fails with the command that starts one. */
export async function server(): Promise<NatsTransport> {
  try {
    return await connectNats({ servers: URL, timeoutMs: 2_000 });
  } catch (error) {
    throw new Error(`no NATS JetStream server answers at ${URL} (${(error as Error).message}). Start one: ${START}`);
  }
}

/** A TCP proxy to the server, for cutting connections. */
export function proxyToServer(): Promise<TcpProxy> {
  const [host, port] = URL.replace(/^nats:\/\//, "").split(":");
  return startTcpProxy({ host: host!, port: Number(port ?? 4222) });
}

/** Every record of a partition, read back through acktor's fetch. */
export async function readAll(
  nats: NatsTransport,
  topic: string,
  partition: number,
): Promise<{ offset: number; key: string | null; value: string }[]> {
  const out: { offset: number; key: string | null; value: string }[] = [];
  let offset = 0;
  for (;;) {
    const answer = await nats.request({
      api: "fetch",
      topic,
      partition,
      offset,
      maxRecords: 700,
      isolation: "read-committed",
    }, { timeoutMs: 10_000 });
    if (!answer.ok) throw new Error(answer.error.message);
    for (const r of answer.records) out.push({ offset: r.offset, key: r.key && dec(r.key), value: dec(r.value) });
    if (answer.records.length === 0) return out;
    offset = answer.nextOffset;
  }
}
