import { InvalidTopicError } from "../errors.ts";

const LEGAL = /^[a-zA-Z0-9._-]+$/;
const MAX_LENGTH = 249;

/**
 * Kafka's topic naming rules, so that a topic created on the embedded broker can be created
 * unchanged on a real engine later (and `<topic>.<partition>` stays a valid NATS subject).
 */
export function validateTopicName(name: unknown): asserts name is string {
  if (typeof name !== "string") throw new InvalidTopicError(String(name), "a topic name must be a string");
  if (name.length === 0) throw new InvalidTopicError(name, "a topic name must not be empty");
  if (name.length > MAX_LENGTH) throw new InvalidTopicError(name, `longer than ${MAX_LENGTH} characters`);
  if (name === "." || name === "..") throw new InvalidTopicError(name, `"." and ".." are reserved`);
  if (!LEGAL.test(name)) throw new InvalidTopicError(name, "only ASCII letters, digits, '.', '_' and '-' are allowed");
}
