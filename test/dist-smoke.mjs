// Imports the built package as ESM, as a published consumer would, and delivers a record.
import { EmbeddedBroker, atLeastOnce, DeliveryFailedError, producerMachine } from "../dist/index.js";

const broker = new EmbeddedBroker();
broker.createTopic("smoke", { partitions: 2 });
const producer = broker.producer("smoke", { deliverySemantic: atLeastOnce() });
const output = await producer.send("k", "v");
const meta = await output.wait();
await producer.close();
if (meta.topic !== "smoke" || typeof meta.offset !== "number") throw new Error(`unexpected metadata ${JSON.stringify(meta)}`);
if (typeof DeliveryFailedError !== "function" || producerMachine.id !== "producer") throw new Error("exports missing");
console.log("dist ESM ok:", JSON.stringify(meta));
const nats = await import("../dist/nats.js");
if (typeof nats.connectNats !== "function") throw new Error("acktor/nats: connectNats missing");
