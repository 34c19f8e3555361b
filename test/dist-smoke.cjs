// Requires the built package as CommonJS, as a published consumer would, delivers a record,
// and checks that `acktor`, `acktor/nats` and `acktor/internal` share one copy of each class.
const acktor = require("../dist/index.cjs");
const nats = require("../dist/nats.cjs");
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
  if (internal.EmbeddedBroker !== EmbeddedBroker) throw new Error("acktor/internal does not share acktor's classes");
  console.log("dist CJS ok:", JSON.stringify(meta));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
