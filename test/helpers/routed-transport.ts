/**
 * A transport wrapper for tests that single out one batch: `routed()` lets a test fail, hold or
 * throw for the requests it picks, and pass every other request on; `firstValue()` names a
 * produce request by its first record.
 */
import type { Request, ResponseFor, Transport } from "../../src/internal.ts";

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
