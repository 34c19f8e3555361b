/**
 * A minimal Kafka client for tests of the wire server itself: one socket, requests encoded
 * with the server's own tables (so it checks the server's framing, routing and handlers, not
 * the tables, which the kafkajs oracle tests check), raw bytes when a test wants garbage.
 */
import { connect, type Socket } from "node:net";
import { decodeResponseHeader, responseHeaderVersion, writeRequestHeader } from "../../src/kafka/codec/headers.ts";
import { decodeMessage, encodeMessage } from "../../src/kafka/codec/message-codec.ts";
import { Reader } from "../../src/kafka/codec/reader.ts";
import type { MessageSpec } from "../../src/kafka/codec/schema.ts";
import { Writer } from "../../src/kafka/codec/writer.ts";

/** One connection to a Kafka server. */
export class WireClient {
  readonly #socket: Socket;
  #buffer = new Uint8Array(0);
  /** Answers awaited, by correlation id: a lost answer leaves its request waiting, not the next one misrouted. */
  readonly #waiting = new Map<number, (frame: Uint8Array) => void>();
  #correlation = 0;
  /** Resolves once the server (or we) closed the connection. */
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => {});
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
  }

  static connect(port: number, host = "127.0.0.1"): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host }, () => resolve(new WireClient(socket)));
      socket.once("error", reject);
    });
  }

  /** Sends one request of `spec` at `version`; resolves with the decoded response. */
  async request(spec: MessageSpec, version: number, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const flexible = version >= spec.flexibleFrom;
    const correlationId = ++this.#correlation;
    const writer = new Writer(256);
    const size = writer.reserveInt32();
    writeRequestHeader(
      writer,
      { apiKey: spec.apiKey, apiVersion: version, correlationId, clientId: "wire-test" },
      flexible ? 2 : 1,
    );
    encodeMessage(spec.request, version, flexible, body, writer);
    const bytes = writer.finish();
    writer.patchInt32(size, bytes.length - 4);
    const frame = await this.send(bytes.slice());
    const reader = new Reader(frame);
    const got = decodeResponseHeader(reader, responseHeaderVersion(spec.apiKey, flexible) === 1);
    if (got !== correlationId) throw new Error(`response correlation id ${got}, expected ${correlationId}`);
    return decodeMessage(spec.response, version, flexible, reader);
  }

  /** Sends one raw request frame; resolves with its response frame (without the size prefix). */
  send(bytes: Uint8Array): Promise<Uint8Array> {
    const correlationId = new DataView(bytes.buffer, bytes.byteOffset).getInt32(8);
    const answer = new Promise<Uint8Array>((resolve, reject) => {
      this.#waiting.set(correlationId, resolve);
      this.closed.then(() => reject(new Error("the connection closed before the response")));
    });
    this.#socket.write(bytes);
    return answer;
  }

  /** Sends raw bytes and expects no answer. */
  write(bytes: Uint8Array): void {
    this.#socket.write(bytes);
  }

  close(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Uint8Array): void {
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    this.#buffer = joined;
    while (this.#buffer.length >= 4) {
      const size = new DataView(this.#buffer.buffer, this.#buffer.byteOffset).getInt32(0);
      if (this.#buffer.length < 4 + size) return;
      const frame = this.#buffer.slice(4, 4 + size);
      this.#buffer = this.#buffer.slice(4 + size);
      const correlationId = new DataView(frame.buffer, frame.byteOffset).getInt32(0);
      this.#waiting.get(correlationId)?.(frame);
      this.#waiting.delete(correlationId);
    }
  }
}
