import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { type BrokerOptions, EmbeddedBroker, type TopicConfig } from "../src/broker/broker.ts";
import { ConfigError } from "../src/errors.ts";
import { VirtualClock } from "../src/runtime/virtual-clock.ts";

// A misspelt option must not silently mean "the default": `{ partition: 2 }` once created a
// one-partition topic without a word, while the NATS engine's createTopic refused it.

function refused(fn: () => unknown, field: string): void {
  try {
    fn();
  } catch (error) {
    assert.instance(error, ConfigError);
    assert.is((error as ConfigError).field, field);
    assert.ok((error as Error).message.includes(field), `"${(error as Error).message}" should name ${field}`);
    return;
  }
  assert.unreachable(`expected a ConfigError naming ${field}`);
}

test("a misspelt or unknown topic option is a ConfigError naming it, and creates nothing", () => {
  const broker = new EmbeddedBroker({ clock: new VirtualClock() });
  refused(() => broker.createTopic("t", { partition: 2 } as TopicConfig), "topic.partition");
  refused(() => broker.createTopic("t", { replicas: 3 } as TopicConfig), "topic.replicas");
  refused(() => broker.createTopic("t", 4 as unknown as TopicConfig), "topic");
  refused(() => broker.createTopic("t", [] as unknown as TopicConfig), "topic");
  assert.equal(broker.topics(), []);
  broker.createTopic("t", { partitions: 2 });
  assert.equal(broker.topics(), ["t"]);
});

test("a misspelt or unknown broker option, or a clock that is not one, is a ConfigError naming it", () => {
  refused(() => new EmbeddedBroker({ maxRecordByte: 10 } as BrokerOptions), "broker.maxRecordByte");
  refused(() => new EmbeddedBroker({ clocks: new VirtualClock() } as BrokerOptions), "broker.clocks");
  refused(() => new EmbeddedBroker({ clock: Date } as unknown as BrokerOptions), "broker.clock");
  refused(() => new EmbeddedBroker("fast" as unknown as BrokerOptions), "broker");
  assert.is(new EmbeddedBroker({ clock: new VirtualClock(), maxRecordBytes: 10 }).maxRecordBytes, 10);
});

test.run();
