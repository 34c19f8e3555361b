/**
 * A process crash, as a transport sees it: from some point on, nothing gets through. The
 * request at the crash point may have reached the broker (applied, answer lost) or not, and
 * answers still on their way are lost too. A consumer on it fails with TransportClosedError
 * and never commits, heartbeats or leaves again: to its group it simply goes silent.
 */
import { TransportClosedError } from "../errors.ts";
import type { Request, ResponseFor } from "../transport/protocol.ts";
import type { RequestOptions, Transport } from "../transport/transport.ts";

export interface CrashPoint {
  /** The crash happens at this request (1-based), or never. */
  readonly atRequest?: number;
  /** Whether that request reaches the broker before the crash. */
  readonly applied?: boolean;
}

export class CrashingTransport implements Transport {
  readonly #inner: Transport;
  readonly #point: CrashPoint;
  #requests = 0;
  #dead = false;
  #crashedOn: Request["api"] | null = null;

  constructor(inner: Transport, point: CrashPoint = {}) {
    this.#inner = inner;
    this.#point = point;
  }

  get dead(): boolean {
    return this.#dead;
  }

  /** The kind of request the crash point struck, if the crash came at one. */
  get crashedOn(): Request["api"] | null {
    return this.#crashedOn;
  }

  /** Crashes now (from inside a handler, say). */
  kill(): void {
    this.#dead = true;
  }

  async request<R extends Request>(request: R, options: RequestOptions): Promise<ResponseFor<R>> {
    if (this.#dead) throw new TransportClosedError();
    if (++this.#requests === this.#point.atRequest) {
      this.#dead = true;
      this.#crashedOn = request.api;
      if (this.#point.applied) void this.#inner.request(request, options).catch(() => {});
      throw new TransportClosedError();
    }
    const answer = await this.#inner.request(request, options);
    if (this.#dead) throw new TransportClosedError();
    return answer;
  }

  close(): Promise<void> {
    this.#dead = true;
    return this.#inner.close();
  }
}

/** What a handler throws when its process crashes in it. */
export const CRASHED = new Error("crashed");

/**
 * A crash in the middle of a consumer handler: the `atRecord`-th call (1-based; never, if
 * below 1) kills `transport` and throws before handling its record, and once the transport
 * is dead every call throws: a dead process handles nothing more.
 */
export function crashingHandler<A extends unknown[]>(
  transport: CrashingTransport,
  atRecord: number,
  handle: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  let calls = 0;
  return async (...args) => {
    if (transport.dead) throw CRASHED;
    if (++calls === atRecord) {
      transport.kill();
      throw CRASHED;
    }
    await handle(...args);
  };
}
