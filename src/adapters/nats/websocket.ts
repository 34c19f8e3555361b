/**
 * The WebSocket a `ws://` or `wss://` connection runs on: the runtime's own `WebSocket`, as
 * `@nats-io/nats-core` makes it, except that closing it sends the status "normal closure"
 * (1000). nats-core closes its socket with `close()`, which sends a close frame without a
 * status, and nats-server before 2.10.24 answers such a frame with the status 1005, which
 * RFC 6455 reserves for "no status received" and forbids on the wire (nats-io/nats-server
 * #6259). Browsers then report "Received a broken close frame containing a reserved status
 * code" as a console error on every close. With a status, the server echoes 1000.
 *
 * @module
 */
import { type ConnectionOptions, type NatsConnection, wsconnect, type WsSocketFactory } from "@nats-io/nats-core";

/** A `wsFactory` for `wsconnect`: the global `WebSocket`, closed with 1000 when no status is given. */
export const closingWebSocket: WsSocketFactory = (url) => {
  const socket = new WebSocket(url);
  const close = socket.close.bind(socket);
  socket.close = (code?: number, reason?: string) => close(code ?? 1000, reason);
  return Promise.resolve({ socket, encrypted: /^wss:/i.test(url) });
};

/**
 * Opens a NATS connection over WebSocket, settling within `options.timeout` whatever happens.
 * nats-core's own connect timeout does not cover every way a WebSocket fails: a port the
 * Fetch standard blocks (such as 1) fails the socket before nats-core listens to it, no error
 * or close reaches it, and the connect never settled. A connection that arrives after the
 * deadline is closed.
 */
export function wsDial(options: ConnectionOptions): Promise<NatsConnection> {
  const attempt = wsconnect({ ...options, wsFactory: closingWebSocket });
  const ms = options.timeout ?? 20_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no answer within ${ms} ms`));
      attempt.then((late) => late.close(), () => {});
    }, ms);
    attempt.then(
      (nc) => {
        clearTimeout(timer);
        resolve(nc);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
