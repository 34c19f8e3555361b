import { TransportClosedError } from "../errors.ts";
import { type Clock, systemClock } from "../runtime/clock.ts";
import { Correlator } from "./correlator.ts";
import type { Request, RequestHandler, ResponseFor } from "./protocol.ts";
import type { RequestOptions, Transport } from "./transport.ts";

/**
 * A transport to a broker in the same process. Requests and responses are handed over by
 * reference (a sealed batch is never mutated), but they still go through a correlator, so
 * timeouts, late answers and `close()` behave as over a network.
 */
export function inProcessTransport(handler: RequestHandler, options: { clock?: Clock } = {}): Transport {
  const correlator = new Correlator<unknown>(options.clock ?? systemClock);
  let closed = false;
  return {
    request<R extends Request>(request: R, { timeoutMs }: RequestOptions): Promise<ResponseFor<R>> {
      if (closed) return Promise.reject(new TransportClosedError());
      const { id, response } = correlator.open(timeoutMs);
      handler.handle(request).then(
        (answer) => correlator.settle(id, answer),
        (error: unknown) => correlator.fail(id, error),
      );
      return response as Promise<ResponseFor<R>>;
    },
    close() {
      closed = true;
      correlator.failAll(new TransportClosedError());
      return Promise.resolve();
    },
  };
}
