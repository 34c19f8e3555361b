/**
 * One codec for every Kafka message: it walks a table of {@link Field}s (see `schema.ts`) at
 * a given version. Kafka's rules: a field outside its versions is absent (default on decode,
 * skipped on encode); flexible versions use compact lengths and end every struct with a
 * tagged-fields section; a nullable struct is preceded by an int8 marker.
 *
 * A table is compiled once per (version, flexibility) into a plan that has already settled
 * which fields are on the wire and nullable, so decoding a request does no range checks.
 *
 * @module
 */
import type { Field, Scalar } from "./schema.ts";
import { within } from "./schema.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";
import { KafkaEncodeError, KafkaProtocolError } from "./protocol-error.ts";

const BOOL = 0, INT8 = 1, INT16 = 2, UINT16 = 3, INT32 = 4, INT64 = 5, FLOAT64 = 6;
const UUID = 7, STRING = 8, BYTES = 9, RECORDS = 10, STRUCT = 11;
const KINDS: Readonly<Record<Scalar | "struct", number>> = {
  bool: BOOL,
  int8: INT8,
  int16: INT16,
  uint16: UINT16,
  int32: INT32,
  int64: INT64,
  float64: FLOAT64,
  uuid: UUID,
  string: STRING,
  bytes: BYTES,
  records: RECORDS,
  struct: STRUCT,
};

/** A field as it is at one version. */
interface Compiled {
  readonly field: Field;
  readonly name: string;
  readonly kind: number;
  readonly array: boolean;
  /** Null may be on the wire (records always may: Kafka's records are nullable bytes). */
  readonly nullable: boolean;
  /** Nullable at this version by the table, so its own default is null. */
  readonly nullByDefault: boolean;
  /** A regular field that is on the wire at this version. */
  readonly regular: boolean;
  /** The struct's own plan, for a struct or an array of structs. */
  readonly nested: Plan | null;
}

/** A struct (or a whole message) at one version. */
interface Plan {
  readonly flexible: boolean;
  /** Every field in declaration order: the decoded object's keys. */
  readonly all: readonly Compiled[];
  /** The regular fields on the wire, in order. */
  readonly regular: readonly Compiled[];
  /** The tagged fields on the wire, by ascending tag. */
  readonly tagged: readonly Compiled[];
  readonly byTag: ReadonlyMap<number, Compiled>;
}

const plans = new WeakMap<readonly Field[], Map<number, Plan>>();

function planFor(fields: readonly Field[], version: number, flexible: boolean): Plan {
  let byVersion = plans.get(fields);
  if (byVersion === undefined) plans.set(fields, byVersion = new Map());
  const key = version * 2 + (flexible ? 1 : 0);
  let plan = byVersion.get(key);
  if (plan === undefined) byVersion.set(key, plan = compile(fields, version, flexible));
  return plan;
}

function compile(fields: readonly Field[], version: number, flexible: boolean): Plan {
  const all = fields.map((f): Compiled => {
    const kind = KINDS[f.type];
    if (kind === undefined) throw new KafkaEncodeError(`unknown field type ${JSON.stringify(f.type)}`, [f.name]);
    if ((kind === STRUCT) !== (f.fields !== null)) {
      throw new KafkaEncodeError("a struct field needs fields, and only a struct field has them", [f.name]);
    }
    return {
      field: f,
      name: f.name,
      kind,
      array: f.array,
      nullable: within(f.nullable, version) || (kind === RECORDS && !f.array),
      // A field nullable in some version and absent in this one is null here (Kafka's
      // "default": "null"): an old JoinGroup names no group instance id, not the id "".
      nullByDefault: within(f.nullable, version) || (!within(f.versions, version) && f.nullable !== null),
      regular: f.tag === null && within(f.versions, version),
      nested: f.fields === null ? null : planFor(f.fields, version, flexible),
    };
  });
  const tagged = flexible
    ? all.filter((c) => c.field.tag !== null && within(c.field.versions, version))
      .sort((a, b) => a.field.tag! - b.field.tag!)
    : [];
  return {
    flexible,
    all,
    regular: all.filter((c) => c.regular),
    tagged,
    byTag: new Map(tagged.map((c) => [c.field.tag!, c])),
  };
}

/**
 * Reads one message (a request or response body) of `fields` at `version`. Every field is in
 * the result: its value on the wire, or its default when absent in this version.
 * Throws {@link KafkaProtocolError} for anything malformed.
 */
export function decodeMessage(
  fields: readonly Field[],
  version: number,
  flexible: boolean,
  reader: Reader,
): Record<string, unknown> {
  return decodeStruct(planFor(fields, version, flexible), reader);
}

/**
 * Writes one message of `fields` at `version`. A field missing from `value` is written as
 * its default; a field absent in this version is skipped whatever its value. Throws
 * {@link KafkaEncodeError} for a value that does not fit its field.
 */
export function encodeMessage(
  fields: readonly Field[],
  version: number,
  flexible: boolean,
  value: Record<string, unknown>,
  writer: Writer,
): void {
  encodeStruct(planFor(fields, version, flexible), value, writer);
}

/** The default of a field: a fresh value each time, since callers may fill a decoded array or struct. */
function defaultOf(c: Compiled): unknown {
  const given = c.field.default;
  if (given !== null) {
    if (Array.isArray(given)) return given.slice();
    if (given instanceof Uint8Array) return given.slice();
    return given;
  }
  if (c.nullByDefault) return null;
  if (c.array) return [];
  switch (c.kind) {
    case BOOL:
      return false;
    case UUID:
      return new Uint8Array(16);
    case STRING:
      return "";
    case BYTES:
    case RECORDS:
      return new Uint8Array(0);
    case STRUCT:
      return structDefault(c.nested!);
    default:
      return 0;
  }
}

function structDefault(plan: Plan): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of plan.all) out[c.name] = defaultOf(c);
  return out;
}

function decodeStruct(plan: Plan, r: Reader): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of plan.all) out[c.name] = c.regular ? readField(c, plan.flexible, r) : defaultOf(c);
  if (plan.flexible) readTagged(plan, out, r);
  return out;
}

function readField(c: Compiled, flexible: boolean, r: Reader): unknown {
  try {
    if (c.array) {
      const n = flexible ? r.compactArrayLength(c.nullable) : r.arrayLength(c.nullable);
      if (n < 0) return null;
      const list: unknown[] = new Array(n);
      for (let i = 0; i < n; i++) list[i] = readOne(c, false, flexible, r);
      return list;
    }
    if (c.kind === STRUCT && c.nullable && r.int8() < 0) return null;
    return readOne(c, c.nullable, flexible, r);
  } catch (e) {
    throw e instanceof KafkaProtocolError ? e.within(c.name) : e;
  }
}

function readOne(c: Compiled, nullable: boolean, flexible: boolean, r: Reader): unknown {
  switch (c.kind) {
    case BOOL:
      return r.bool();
    case INT8:
      return r.int8();
    case INT16:
      return r.int16();
    case UINT16:
      return r.uint16();
    case INT32:
      return r.int32();
    case INT64:
      return r.int64();
    case FLOAT64:
      return r.float64();
    case UUID:
      return r.uuid();
    case STRING:
      return flexible ? r.compactString(nullable) : r.string(nullable);
    case BYTES:
    case RECORDS:
      return flexible ? r.compactBytes(nullable) : r.bytes(nullable);
    default:
      return decodeStruct(c.nested!, r);
  }
}

function readTagged(plan: Plan, out: Record<string, unknown>, r: Reader): void {
  const count = r.uvarint();
  for (let i = 0; i < count; i++) {
    const tag = r.uvarint();
    const size = r.uvarint();
    const c = plan.byTag.get(tag);
    // A tag this version does not know is from a newer client: skipping it is Kafka's rule.
    if (c === undefined) {
      r.skip(size);
      continue;
    }
    const start = r.position;
    if (size > r.remaining) {
      throw new KafkaProtocolError(`tagged field ${tag} of ${size} bytes runs past the end of the frame`, start, [
        c.name,
      ]);
    }
    out[c.name] = readField(c, true, r);
    if (r.position - start !== size) {
      throw new KafkaProtocolError(
        `tagged field ${tag} declares ${size} bytes but holds ${r.position - start}`,
        start,
        [c.name],
      );
    }
  }
}

function encodeStruct(plan: Plan, value: Record<string, unknown>, w: Writer): void {
  if (typeof value !== "object" || value === null) {
    throw new KafkaEncodeError(`expected an object, got ${value === null ? "null" : typeof value}`);
  }
  for (const c of plan.regular) writeField(c, plan.flexible, value[c.name], w);
  if (plan.flexible) writeTagged(plan, value, w);
}

function writeField(c: Compiled, flexible: boolean, value: unknown, w: Writer): void {
  try {
    if (value === undefined) value = defaultOf(c);
    if (value === null) return writeNull(c, flexible, w);
    if (c.array) {
      if (!Array.isArray(value)) throw new KafkaEncodeError(`expected an array, got ${typeof value}`);
      if (flexible) w.compactArrayLength(value.length);
      else w.arrayLength(value.length);
      for (const item of value) {
        if (item === null || item === undefined) throw new KafkaEncodeError("an array element is null");
        writeOne(c, flexible, item, w);
      }
      return;
    }
    if (c.kind === STRUCT && c.nullable) w.int8(1);
    writeOne(c, flexible, value, w);
  } catch (e) {
    throw e instanceof KafkaEncodeError ? e.within(c.name) : e;
  }
}

function writeNull(c: Compiled, flexible: boolean, w: Writer): void {
  if (!c.nullable) throw new KafkaEncodeError("null in a field that is not nullable in this version");
  if (c.array) {
    if (flexible) w.compactArrayLength(null);
    else w.arrayLength(null);
  } else if (c.kind === STRUCT) w.int8(-1);
  else if (c.kind === STRING) {
    if (flexible) w.compactString(null);
    else w.string(null);
  } else if (c.kind === BYTES || c.kind === RECORDS) {
    if (flexible) w.compactBytes(null);
    else w.bytes(null);
  } else throw new KafkaEncodeError(`a ${c.field.type} cannot be null`);
}

function writeOne(c: Compiled, flexible: boolean, value: unknown, w: Writer): void {
  switch (c.kind) {
    case BOOL:
      return w.bool(value as boolean);
    case INT8:
      return w.int8(value as number);
    case INT16:
      return w.int16(value as number);
    case UINT16:
      return w.uint16(value as number);
    case INT32:
      return w.int32(value as number);
    case INT64:
      return w.int64(value as number);
    case FLOAT64:
      return w.float64(value as number);
    case UUID:
      return w.uuid(value as Uint8Array);
    case STRING:
      return flexible ? w.compactString(value as string) : w.string(value as string);
    case BYTES:
    case RECORDS:
      return flexible ? w.compactBytes(value as Uint8Array) : w.bytes(value as Uint8Array);
    default:
      return encodeStruct(c.nested!, value as Record<string, unknown>, w);
  }
}

function writeTagged(plan: Plan, value: Record<string, unknown>, w: Writer): void {
  const written = plan.tagged.filter((c) => !isDefault(c, value[c.name]));
  w.uvarint(written.length);
  for (const c of written) {
    w.uvarint(c.field.tag!);
    const start = w.position;
    writeField(c, true, value[c.name], w);
    w.insertUvarint(start, w.position - start);
  }
}

/** Whether a tagged field's value is its default, so Kafka's rule leaves it off the wire. */
function isDefault(c: Compiled, value: unknown): boolean {
  if (value === undefined) return true;
  if (c.kind === STRUCT && !c.array && value !== null && c.field.default === null && !c.nullByDefault) {
    const struct = value as Record<string, unknown>;
    return c.nested!.all.every((f) => isDefault(f, struct[f.name]));
  }
  return sameValue(defaultOf(c), value);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  }
  if (typeof a === "object" && typeof b === "object" && a !== null && b !== null) {
    const x = a as Record<string, unknown>;
    const y = b as Record<string, unknown>;
    return Object.keys(x).every((k) => sameValue(x[k], y[k]));
  }
  return false;
}
