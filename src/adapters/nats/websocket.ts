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
import type { WsSocketFactory } from "@nats-io/nats-core";

/** A `wsFactory` for `wsconnect`: the global `WebSocket`, closed with 1000 when no status is given. */
export const closingWebSocket: WsSocketFactory = (url) => {
  const socket = new WebSocket(url);
  const close = socket.close.bind(socket);
  socket.close = (code?: number, reason?: string) => close(code ?? 1000, reason);
  return Promise.resolve({ socket, encrypted: /^wss:/i.test(url) });
};
