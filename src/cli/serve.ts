/**
 * `acktor serve`: an embedded broker behind the Kafka wire protocol, until interrupted. For
 * pointing an existing Kafka application, kcat or a Kafka test suite at acktor without
 * writing any code.
 *
 * @module
 */
import process from "node:process";
import { EmbeddedBroker } from "../broker/broker.ts";
import { ConfigError } from "../errors.ts";
import { defineCommand, exitWithUsageError, readOptions } from "./options.ts";

/** `serve`'s options. */
export const serveCommand = defineCommand({
  usage: "npx acktor serve",
  summary: "An embedded acktor broker that Kafka clients reach over the Kafka wire protocol; runs until interrupted.",
  options: {
    port: { kind: "integer", default: 9092, help: "TCP port (0: any free one)" },
    host: { kind: "string", default: "127.0.0.1", help: "interface to listen on" },
    topics: {
      kind: "string",
      default: null,
      help: "topics to create, NAME[:PARTITIONS[:REPLICAS]] separated by commas, e.g. orders:4:3,audit",
    },
    "auto-create": {
      kind: "boolean",
      help: "create a topic a client names that does not exist (1 partition, 1 replica)",
    },
  },
});

/** A topic named on the command line. */
export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
}

/** Parses `--topics`: `orders:4:3,audit` → orders (4 partitions, 3 replicas), audit (1, 1). */
export function parseTopics(text: string): TopicSpec[] {
  const seen = new Set<string>();
  return text.split(",").filter((part) => part.trim() !== "").map((part) => {
    const [name = "", partitions = "1", replicas = "1", ...rest] = part.trim().split(":");
    const count = (what: string, value: string) => {
      if (!/^[1-9]\d*$/.test(value)) {
        throw new ConfigError("topics", `${what} of "${part}" must be a positive whole number, got "${value}"`);
      }
      return Number(value);
    };
    if (name === "" || rest.length > 0) {
      throw new ConfigError("topics", `"${part}" is not NAME[:PARTITIONS[:REPLICAS]]`);
    }
    if (seen.has(name)) throw new ConfigError("topics", `topic "${name}" is named twice`);
    seen.add(name);
    return {
      name,
      partitions: count("the partition count", partitions),
      replicationFactor: count("the replica count", replicas),
    };
  });
}

/** Runs `acktor serve` with `argv` (the arguments after `serve`). */
export async function serve(argv: readonly string[]): Promise<void> {
  const options = readOptions(serveCommand, argv);
  const broker = new EmbeddedBroker();
  let specs: TopicSpec[] = [];
  try {
    specs = parseTopics(options.topics ?? "");
    for (const topic of specs) {
      try {
        broker.createTopic(topic.name, { partitions: topic.partitions, replicationFactor: topic.replicationFactor });
      } catch (error) {
        throw new ConfigError(
          "topics",
          `${topic.name}:${topic.partitions}:${topic.replicationFactor}: ${(error as Error).message}`,
        );
      }
    }
  } catch (error) {
    exitWithUsageError((error as Error).message);
  }
  const server = await broker.listen({
    port: options.port,
    host: options.host,
    ...(options["auto-create"] ? { autoCreateTopics: { partitions: 1, replicationFactor: 1 } } : {}),
  });
  const topics = specs.map((t) => `${t.name} ${t.partitions}×${t.replicationFactor}`).join(", ") || "none";
  console.log(`acktor: Kafka wire protocol on ${server.url} (topics: ${topics}); Ctrl-C stops it`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await server.close();
  console.log("acktor: stopped");
}
