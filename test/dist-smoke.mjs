// Imports the built package as ESM, as a published consumer would, delivers a record, and
// checks that the entries share their classes: an error thrown inside `acktor/nats` (either
// build: Node's, or the browser's that package.json's "browser" condition selects) must be
// `instanceof` the class a caller imported from `acktor`.
import * as acktor from "../dist/index.js";
import * as nats from "../dist/nats.js";
import * as natsBrowser from "../dist/nats.browser.js";
import * as internal from "../dist/internal.js";

const { EmbeddedBroker, atLeastOnce, AcktorError, ConfigError, Consumer, producerMachine } = acktor;
const broker = new EmbeddedBroker();
broker.createTopic("smoke", { partitions: 2 });
const producer = broker.producer("smoke", { deliverySemantic: atLeastOnce() });
const meta = await (await producer.send("k", "v")).wait();
await producer.close();
if (meta.topic !== "smoke" || typeof meta.offset !== "number") {
  throw new Error(`unexpected metadata ${JSON.stringify(meta)}`);
}
if (producerMachine.id !== "producer") throw new Error("producerMachine missing");

const refused = await nats.connectNats({ servers: [] }).then(() => null, (e) => e);
if (!(refused instanceof ConfigError) || !(refused instanceof AcktorError)) {
  throw new Error(`acktor/nats threw a ConfigError that is not acktor's ConfigError: ${refused}`);
}
if (!(nats.JetStreamConsumer.prototype instanceof Consumer)) {
  throw new Error("acktor/nats's JetStreamConsumer does not extend acktor's Consumer");
}
const mixed = await nats.connectNats({ servers: ["ws://127.0.0.1:1", "nats://127.0.0.1:2"] }).then(
  () => null,
  (e) => e,
);
if (!(mixed instanceof ConfigError) || mixed.field !== "servers") {
  throw new Error(`a list mixing ws:// and nats:// was not refused with a ConfigError: ${mixed}`);
}
if (Object.keys(natsBrowser).sort().join() !== Object.keys(nats).sort().join()) {
  throw new Error(`acktor/nats for browsers exports ${Object.keys(natsBrowser)}, for Node ${Object.keys(nats)}`);
}
const tcpInBrowser = await natsBrowser.connectNats({ servers: "nats://127.0.0.1:4222" }).then(() => null, (e) => e);
if (!(tcpInBrowser instanceof ConfigError) || !/WebSocket only/.test(tcpInBrowser.message)) {
  throw new Error(`acktor/nats for browsers took a nats:// address, or refused it with another error: ${tcpInBrowser}`);
}
if (natsBrowser.JetStreamConsumer !== nats.JetStreamConsumer || natsBrowser.NatsTransport !== nats.NatsTransport) {
  throw new Error("acktor/nats's browser and Node builds do not share their classes");
}
if (internal.EmbeddedBroker !== EmbeddedBroker || typeof internal.inProcessTransport !== "function") {
  throw new Error("acktor/internal does not share acktor's classes");
}
if ("inProcessTransport" in acktor || "Correlator" in acktor) throw new Error("internals leak into the public surface");
console.log("dist ESM ok:", JSON.stringify(meta));
