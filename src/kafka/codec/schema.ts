/**
 * The table format for Kafka's message layouts: each API's request and response are data
 * (lists of {@link Field}s with the versions they exist in), and one generic codec reads and
 * writes any of them at any version. The facts (names, types, versions, flexible versions,
 * tags) come from Kafka's published message definitions; the tables are acktor's own, written
 * only for the versions acktor's server advertises.
 *
 * @module
 */

/** An inclusive version range; `max` is `Infinity` for "this version and every later one". */
export interface Versions {
  readonly min: number;
  readonly max: number;
}

/** The scalar types of Kafka's message definitions. `records` is nullable bytes holding record batches. */
export type Scalar =
  | "bool"
  | "int8"
  | "int16"
  | "uint16"
  | "int32"
  | "int64"
  | "float64"
  | "uuid"
  | "string"
  | "bytes"
  | "records";

/**
 * One field. A struct (or array of structs) has `fields`; a scalar (or array of scalars) has a
 * `type`. Values decode to plain objects keyed by `name` (camelCase of Kafka's field name).
 */
export interface Field {
  readonly name: string;
  /** A scalar type, or "struct" for a nested struct with {@link fields}. */
  readonly type: Scalar | "struct";
  /** An array of `type` (Kafka's `[]int32`, `[]SomeStruct`). */
  readonly array: boolean;
  readonly fields: readonly Field[] | null;
  /** Versions in which the field is on the wire (or, for a tagged field, may be). */
  readonly versions: Versions;
  /** Versions in which the field may be null (strings, bytes, arrays, structs). */
  readonly nullable: Versions | null;
  /** The tag of a tagged field (flexible versions only); null for a regular field. */
  readonly tag: number | null;
  /**
   * The value used when the field is absent in a version (decoding) or missing from the
   * object (encoding). Null means the type's own default: 0, false, "", empty bytes, [], the
   * zero UUID; or null when the field is nullable in that version.
   */
  readonly default: unknown;
}

/** One API: its key, the versions acktor serves, from which version on it is flexible, and both layouts. */
export interface MessageSpec {
  readonly apiKey: number;
  readonly name: string;
  /** The versions acktor's server accepts and advertises in ApiVersions. */
  readonly valid: Versions;
  /** The first flexible version (compact strings, arrays and bytes; tagged fields), or `Infinity` for none. */
  readonly flexibleFrom: number;
  readonly request: readonly Field[];
  readonly response: readonly Field[];
}

/** Parses `"3+"`, `"0-7"` or `"5"` (Kafka's version-range notation). */
export function versions(range: string): Versions {
  const plus = /^(\d+)\+$/.exec(range);
  if (plus) return { min: Number(plus[1]), max: Infinity };
  const span = /^(\d+)-(\d+)$/.exec(range);
  if (span) return { min: Number(span[1]), max: Number(span[2]) };
  if (/^\d+$/.test(range)) return { min: Number(range), max: Number(range) };
  throw new Error(`bad version range ${JSON.stringify(range)}`);
}

/** Options of {@link field} beyond name, type and versions. */
export interface FieldOptions {
  /** Kafka's nullableVersions, e.g. `"1+"`. */
  readonly nullable?: string;
  /** Kafka's tag, for a tagged field (its versions are its taggedVersions). */
  readonly tag?: number;
  readonly default?: unknown;
}

/**
 * A scalar field, or an array of scalars with a `[]` prefix: `field("throttleTimeMs", "int32", "1+")`,
 * `field("partitions", "[]int32", "0+")`.
 */
export function field(name: string, type: Scalar | `[]${Scalar}`, range: string, options: FieldOptions = {}): Field {
  const array = type.startsWith("[]");
  return {
    name,
    type: (array ? type.slice(2) : type) as Scalar,
    array,
    fields: null,
    versions: versions(range),
    nullable: options.nullable === undefined ? null : versions(options.nullable),
    tag: options.tag ?? null,
    default: options.default ?? null,
  };
}

/** An array of structs: `structs("topics", "0+", [field(...), ...])`. */
export function structs(name: string, range: string, fields: readonly Field[], options: FieldOptions = {}): Field {
  return { ...struct(name, range, fields, options), array: true };
}

/** A single nested struct (not an array). */
export function struct(name: string, range: string, fields: readonly Field[], options: FieldOptions = {}): Field {
  return {
    name,
    type: "struct",
    array: false,
    fields,
    versions: versions(range),
    nullable: options.nullable === undefined ? null : versions(options.nullable),
    tag: options.tag ?? null,
    default: options.default ?? null,
  };
}

/** Whether `version` lies in `range`. */
export function within(range: Versions | null, version: number): boolean {
  return range !== null && version >= range.min && version <= range.max;
}
