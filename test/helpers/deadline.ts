/**
 * Deadlines for tests. A VirtualClock runs as fast as the CPU allows, so a few real seconds
 * is an eternity; a test that is still waiting by then is stuck, and must fail rather than hang.
 */
import type { Request, ResponseFor, Transport } from "../../src/internal.ts";

/** Runs `body`, failing with a message naming `what` if it takes longer than `ms` of real time. */
export async function within<T>(what: string, body: () => Promise<T>, ms = 5_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms of real time`)), ms);
  });
  try {
    return await Promise.race([body(), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a produce request carries, decoded: the first value names the batch in these tests. */
export const firstValue = (request: Request): string =>
  request.api === "produce" ? new TextDecoder().decode(request.values[0]) : "";

/**
 * A transport that lets `route` answer a request in its own way (return undefined to pass it
 * on to `inner`): the tests' way to fail, hold or throw for one chosen batch.
 */
export function routed(
  inner: Transport,
  route: (request: Request, pass: () => Promise<unknown>) => Promise<unknown> | undefined,
): Transport {
  return {
    request<R extends Request>(request: R, options: { timeoutMs: number }): Promise<ResponseFor<R>> {
      const pass = () => inner.request(request, options);
      return (route(request, pass) ?? pass()) as Promise<ResponseFor<R>>;
    },
    close: () => inner.close(),
  };
}
