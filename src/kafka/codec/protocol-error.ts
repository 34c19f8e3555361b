/**
 * The errors of the Kafka wire codec. {@link KafkaProtocolError} is the one error for bytes it
 * cannot read: a truncated frame, a length that runs past its end, a negative length where
 * null is not allowed, an over-long varint or text that is not UTF-8. The server answers it by
 * closing the connection, as Kafka's own broker does, so it is never retriable.
 * {@link KafkaEncodeError} is acktor's own bug: a value that does not fit its field.
 *
 * @module
 */
import { AcktorError } from "../../errors.ts";

/** A Kafka request (or response) is malformed. */
export class KafkaProtocolError extends AcktorError {
  override readonly name: string = "KafkaProtocolError";
  /** What is wrong, without the field and position. */
  readonly problem: string;
  /** The byte offset in the frame at which the problem was found, or null when unknown. */
  readonly position: number | null;
  /** The dotted path of the field being read, e.g. `topics.partitions.records`; empty when not known. */
  readonly path: readonly string[];
  constructor(problem: string, position: number | null = null, path: readonly string[] = []) {
    const where = (path.length === 0 ? "" : ` in field ${path.join(".")}`) +
      (position === null ? "" : ` at byte ${position}`);
    super("REQUEST_INVALID", `malformed request: ${problem}${where}`);
    this.problem = problem;
    this.position = position;
    this.path = path;
  }

  /** The same error, seen from the struct holding field `name`. */
  within(name: string): KafkaProtocolError {
    return new KafkaProtocolError(this.problem, this.position, [name, ...this.path]);
  }
}

/**
 * A value acktor's own server tried to write does not fit its field: a number out of the
 * type's range, a string too long for its length prefix, null in a field that is not
 * nullable. It is a bug in acktor, not in the client, hence `INTERNAL`.
 */
export class KafkaEncodeError extends AcktorError {
  override readonly name: string = "KafkaEncodeError";
  /** What is wrong, without the field. */
  readonly problem: string;
  /** The dotted path of the field being written; empty when not known. */
  readonly path: readonly string[];
  constructor(problem: string, path: readonly string[] = []) {
    super("INTERNAL", `cannot encode Kafka message: ${path.length === 0 ? "" : `field ${path.join(".")}: `}${problem}`);
    this.problem = problem;
    this.path = path;
  }

  /** The same error, seen from the struct holding field `name`. */
  within(name: string): KafkaEncodeError {
    return new KafkaEncodeError(this.problem, [name, ...this.path]);
  }
}
