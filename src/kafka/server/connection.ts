/**
 * One client connection: Kafka's framing (an int32 size, then the request) and its ordering
 * rule. Requests are handed on in arrival order, and the handlers apply them synchronously in
 * that order, so pipelined requests (an idempotent producer's five in flight) reach the broker
 * as sent; answers may be ready out of order (a fetch long-polls, an acks=all write waits for
 * its replicas), but they are written in request order, as Kafka clients require.
 *
 * A frame that cannot be a request (a negative or oversized size prefix, garbage that does
 * not decode) closes this connection only, with a logged reason: nothing of it reached the
 * broker, and the other connections never notice.
 *
 * @module
 */
import type { Socket } from "node:net";
import type { ChaosVerdict } from "./server-chaos.ts";

/** What the server makes of one request frame. */
export interface FrameOutcome {
  /** The response frame (size prefix included), or null when the request takes none (acks=0). */
  readonly response: Promise<Uint8Array | null> | Uint8Array | null;
  /** What the chaos layer decided for the answer. */
  readonly verdict: ChaosVerdict;
}

/** Handles one request frame (the bytes after the size prefix); throws to close the connection. */
export type FrameHandler = (frame: Uint8Array, connection: Connection) => FrameOutcome;

interface Slot {
  ready: boolean;
  bytes: Uint8Array | null;
  verdict: ChaosVerdict;
}

/** A client connection: frames in, answers out in request order. */
export class Connection {
  readonly #socket: Socket;
  readonly #maxFrameBytes: number;
  readonly #handle: FrameHandler;
  readonly #log: (line: string) => void;
  readonly #sizeBytes = new Uint8Array(4);
  #sizeFilled = 0;
  #frame: Uint8Array | null = null;
  #filled = 0;
  readonly #slots: Slot[] = [];
  #closed = false;
  /** `host:port` of the client, for logs and group member hosts. */
  readonly peer: string;

  constructor(socket: Socket, options: { maxFrameBytes: number; handle: FrameHandler; log: (line: string) => void }) {
    this.#socket = socket;
    this.#maxFrameBytes = options.maxFrameBytes;
    this.#handle = options.handle;
    this.#log = options.log;
    this.peer = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    socket.on("error", () => this.#destroy());
    socket.on("close", () => this.#destroy());
  }

  /** Whether the connection is gone. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the connection, logging why. */
  close(reason: string): void {
    if (this.#closed) return;
    this.#log(`acktor kafka server: closing connection from ${this.peer}: ${reason}`);
    this.#destroy();
  }

  /** Closes the connection without a log line: the server is shutting down, nothing went wrong. */
  end(): void {
    this.#destroy();
  }

  #destroy(): void {
    this.#closed = true;
    this.#frame = null;
    this.#slots.length = 0;
    this.#socket.destroy();
  }

  #onData(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length && !this.#closed) {
      if (this.#frame === null) {
        // Fast path: a whole frame inside this chunk is handed on as a view, without a copy.
        if (this.#sizeFilled === 0 && chunk.length - at >= 4) {
          const size = readInt32(chunk, at);
          if (!this.#checkSize(size)) return;
          if (chunk.length - at - 4 >= size) {
            this.#dispatch(chunk.subarray(at + 4, at + 4 + size));
            at += 4 + size;
            continue;
          }
          this.#frame = new Uint8Array(size);
          this.#filled = 0;
          at += 4;
          continue;
        }
        while (this.#sizeFilled < 4 && at < chunk.length) this.#sizeBytes[this.#sizeFilled++] = chunk[at++]!;
        if (this.#sizeFilled < 4) return;
        this.#sizeFilled = 0;
        const size = readInt32(this.#sizeBytes, 0);
        if (!this.#checkSize(size)) return;
        this.#frame = new Uint8Array(size);
        this.#filled = 0;
        continue;
      }
      const take = Math.min(this.#frame.length - this.#filled, chunk.length - at);
      this.#frame.set(chunk.subarray(at, at + take), this.#filled);
      this.#filled += take;
      at += take;
      if (this.#filled === this.#frame.length) {
        const frame = this.#frame;
        this.#frame = null;
        this.#dispatch(frame);
      }
    }
  }

  #checkSize(size: number): boolean {
    if (size < 8 || size > this.#maxFrameBytes) {
      this.close(
        size < 8
          ? `a frame size of ${size} bytes cannot hold a request header (garbage on the socket?)`
          : `a frame size of ${size} bytes exceeds maxFrameBytes (${this.#maxFrameBytes})`,
      );
      return false;
    }
    return true;
  }

  #dispatch(frame: Uint8Array): void {
    let outcome: FrameOutcome;
    try {
      outcome = this.#handle(frame, this);
    } catch (error) {
      this.close(error instanceof Error ? error.message : String(error));
      return;
    }
    const { response, verdict } = outcome;
    if (response === null && verdict === "answer") return;
    const slot: Slot = { ready: false, bytes: null, verdict };
    this.#slots.push(slot);
    if (response instanceof Uint8Array || response === null) {
      slot.ready = true;
      slot.bytes = response;
      this.#flush();
      return;
    }
    response.then(
      (bytes) => {
        slot.ready = true;
        slot.bytes = bytes;
        this.#flush();
      },
      (error: unknown) => this.close(`request failed: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  #flush(): void {
    while (this.#slots.length > 0 && this.#slots[0]!.ready && !this.#closed) {
      const slot = this.#slots.shift()!;
      if (slot.verdict === "disconnect") {
        this.#destroy();
        return;
      }
      if (slot.verdict === "answer" && slot.bytes !== null) this.#socket.write(slot.bytes);
    }
  }
}

function readInt32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
}
