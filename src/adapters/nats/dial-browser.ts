/**
 * The NATS connection seam for browsers: WebSocket only, through `@nats-io/nats-core`'s
 * `wsconnect`. Nothing here, or in what it imports, needs a `node:*` module. package.json's
 * "browser" condition on `acktor/nats` selects the entry built on it (`browser.ts`).
 *
 * @module
 */
import { ConfigError } from "../../errors.ts";
import { type Dial, type NatsConnectOptions, openNats } from "./connect.ts";
import type { NatsTransport } from "./nats-transport.ts";
import { wsDial } from "./websocket.ts";

const dial: Dial = (kind, options) => {
  if (kind === "tcp") {
    const addresses = [options.servers ?? []].flat().join(",");
    return Promise.reject(
      new ConfigError(
        "servers",
        `${addresses}: browsers connect to NATS over WebSocket only, so use ws:// or wss:// addresses ` +
          `(a nats-server with a websocket block), not nats://, tls:// or host:port`,
      ),
    );
  }
  return wsDial(options);
};

/**
 * Connects to a NATS server with JetStream over WebSocket (`ws://`, `wss://`: the server's
 * `websocket` block) and returns a transport that `createProducer` and `createConsumer`
 * accept unchanged, plus `createTopic`. This is the browser's `connectNats`: a TCP address
 * (`nats://`, `tls://`, `host:port`) is refused with a `ConfigError`; otherwise it behaves as
 * on Node (reconnects by itself, waits up to `timeoutMs` for JetStream, and throws
 * `EngineUnavailableError` naming the server and the cause when it cannot connect).
 */
export function connectNats(options: NatsConnectOptions): Promise<NatsTransport> {
  return openNats(options, dial);
}
