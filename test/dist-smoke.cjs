// Requires the built package as CommonJS, as a published consumer would, and delivers a record.
const { EmbeddedBroker, atMostOnce, ProducerClosedError } = require("../dist/index.cjs");

(async () => {
  const broker = new EmbeddedBroker();
  broker.createTopic("smoke");
  const producer = broker.producer("smoke", { deliverySemantic: atMostOnce() });
  const meta = await (await producer.send(null, "v")).wait();
  await producer.close();
  const refused = await producer.send(null, "late").then(() => null, (e) => e);
  if (!(refused instanceof ProducerClosedError)) throw new Error("closed producer accepted a record");
  if (typeof require("../dist/nats.cjs").connectNats !== "function") throw new Error("acktor/nats: connectNats missing");
  console.log("dist CJS ok:", JSON.stringify(meta));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
