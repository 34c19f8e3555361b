// Requires the built package as CommonJS, as a published consumer would, delivers a record,
// and checks that `acktor`, `acktor/nats` (Node's build and the browser's) and `acktor/internal`
// share one copy of each class.
const acktor = require("../dist/index.cjs");
const nats = require("../dist/nats.cjs");
const natsBrowser = require("../dist/nats.browser.cjs");
const internal = require("../dist/internal.cjs");

(async () => {
  const { EmbeddedBroker, atMostOnce, ProducerClosedError, AcktorError, ConfigError, Consumer } = acktor;
  const broker = new EmbeddedBroker();
  broker.createTopic("smoke");
  const producer = broker.producer("smoke", { deliverySemantic: atMostOnce() });
  const meta = await (await producer.send(null, "v")).wait();
  await producer.close();
  const refused = await producer.send(null, "late").then(() => null, (e) => e);
  if (!(refused instanceof ProducerClosedError)) throw new Error("closed producer accepted a record");
  const natsError = await nats.connectNats({ servers: [] }).then(() => null, (e) => e);
  if (!(natsError instanceof ConfigError) || !(natsError instanceof AcktorError)) {
    throw new Error(`acktor/nats threw a ConfigError that is not acktor's ConfigError: ${natsError}`);
  }
  if (!(nats.JetStreamConsumer.prototype instanceof Consumer)) {
    throw new Error("acktor/nats's JetStreamConsumer does not extend acktor's Consumer");
  }
  const tcpInBrowser = await natsBrowser.connectNats({ servers: "127.0.0.1:4222" }).then(() => null, (e) => e);
  if (!(tcpInBrowser instanceof ConfigError) || !/WebSocket only/.test(tcpInBrowser.message)) {
    throw new Error(
      `acktor/nats for browsers took a host:port address, or refused it with another error: ${tcpInBrowser}`,
    );
  }
  if (natsBrowser.JetStreamConsumer !== nats.JetStreamConsumer) {
    throw new Error("acktor/nats's browser and Node builds do not share their classes");
  }
  if (internal.EmbeddedBroker !== EmbeddedBroker) throw new Error("acktor/internal does not share acktor's classes");
  console.log("dist CJS ok:", JSON.stringify(meta));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
