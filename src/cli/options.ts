/**
 * One strict command-line option parser for the demo and the benchmarks, on `node:util`
 * `parseArgs` (the same on Node, Deno and Bun). Each command declares its options as data;
 * {@link parseOptions} reads an argv against them without side effects, and
 * {@link readOptions} does it for the running process: it prints `--help`, and exits with
 * code 2 and one line on anything it does not understand, so a misspelt flag can never fall
 * back to a default unnoticed.
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";

/** What every kind of option says about itself. */
interface OptionBase {
  /** One line for `--help`. */
  readonly help: string;
}

/** A whole number, `--name N`. A `null` default means "not given", which the command interprets. */
export interface IntegerOption extends OptionBase {
  readonly kind: "integer";
  readonly default: number | null;
  /** The smallest value accepted. Default 0: no command here takes a negative number. */
  readonly min?: number;
  /** What `--help` says the default is, when it is `null` and the command picks one: "100000, or 10000 with --nats". */
  readonly defaultHelp?: string;
}

/** Free text, `--name TEXT`. */
export interface StringOption extends OptionBase {
  readonly kind: "string";
  readonly default: string | null;
}

/** A switch, `--name`: false unless given, and it takes no value. */
export interface BooleanOption extends OptionBase {
  readonly kind: "boolean";
}

/** One of a fixed list of words, `--name a|b|c`. */
export interface EnumOption extends OptionBase {
  readonly kind: "enum";
  readonly values: readonly string[];
  readonly default: string;
}

/** Any option. */
export type OptionSpec = IntegerOption | StringOption | BooleanOption | EnumOption;

/** A command's options, by long name without the dashes (`"consumer-records"`). */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** A command: how to call it, what it does, and its options. */
export interface CommandSpec<O extends OptionSpecs = OptionSpecs> {
  /** How to run it, e.g. `npm run demo --`; the usage line appends `[options]`. */
  readonly usage: string;
  /** One line on what it does. */
  readonly summary: string;
  readonly options: O;
}

/** The value type one option parses to. */
export type OptionValue<S extends OptionSpec> = S extends BooleanOption ? boolean
  : S extends EnumOption ? S["values"][number]
  : S extends IntegerOption ? S["default"] extends number ? number
    : number | null
  : S extends StringOption ? S["default"] extends string ? string
    : string | null
  : never;

/** Parsed values, by the same names as the spec. */
export type OptionValues<O extends OptionSpecs> = { -readonly [K in keyof O]: OptionValue<O[K]> };

/** The outcome of {@link parseOptions}: values, a request for help, or one line on what is wrong. */
export type ParseOutcome<O extends OptionSpecs> =
  | { readonly kind: "values"; readonly values: OptionValues<O> }
  | { readonly kind: "help"; readonly text: string }
  | { readonly kind: "error"; readonly message: string };

/**
 * Declares a command; it only exists so TypeScript keeps the literal types (enum values,
 * null defaults) that {@link OptionValues} is computed from.
 */
export function defineCommand<const O extends OptionSpecs>(command: CommandSpec<O>): CommandSpec<O> {
  return command;
}

const HELP = "help";

/** Reads `argv` (without the runtime and script) against a command's options. Pure. */
export function parseOptions<O extends OptionSpecs>(command: CommandSpec<O>, argv: readonly string[]): ParseOutcome<O> {
  const specs: Readonly<Record<string, OptionSpec>> = command.options;
  // Not strict: its errors are worded for JavaScript callers and some cases (an option
  // given where a value belongs) are let through. The tokens let every case be judged here.
  const config: Record<string, { type: "string" | "boolean"; short?: string }> = {
    [HELP]: { type: "boolean", short: "h" },
  };
  for (const [name, spec] of Object.entries(specs)) {
    config[name] = { type: spec.kind === "boolean" ? "boolean" : "string" };
  }
  const { tokens } = parseArgs({
    args: [...argv],
    options: config,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });

  // Help wins over any mistake next to it: it is what someone unsure of the options asks.
  if (tokens.some((t) => t.kind === "option" && t.name === HELP)) return { kind: "help", text: helpText(command) };

  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) values[name] = spec.kind === "boolean" ? false : spec.default;
  let afterTerminator = false;
  for (const token of tokens) {
    if (token.kind === "option-terminator") {
      afterTerminator = true;
      continue;
    }
    if (token.kind === "positional") {
      const hint = afterTerminator ? "" : " (options start with --; see --help)";
      return error(`unexpected argument ${JSON.stringify(token.value)}${hint}`);
    }
    const spec = Object.hasOwn(specs, token.name) ? specs[token.name] : undefined;
    if (spec === undefined) {
      const near = closest(token.name, Object.keys(specs));
      return error(`unknown option ${token.rawName}${near === null ? "" : ` (did you mean --${near}?)`}; see --help`);
    }
    const parsed = readValue(`--${token.name}`, spec, token.value, token.inlineValue ?? false);
    if (!parsed.ok) return error(parsed.error);
    values[token.name] = parsed.value;
  }
  return { kind: "values", values: values as OptionValues<O> };
}

type Read = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

/** A value, or one line on why it is refused. */
function readValue(flag: string, spec: OptionSpec, raw: string | undefined, inline: boolean): Read {
  const refuse = (error: string): Read => ({ ok: false, error });
  if (spec.kind === "boolean") {
    return raw === undefined ? { ok: true, value: true } : refuse(`${flag} takes no value, got ${JSON.stringify(raw)}`);
  }
  // `--records --seed 3` would otherwise read "--seed" as the record count.
  if (raw === undefined || (!inline && raw.startsWith("--"))) {
    return refuse(`${flag} needs a value (${expected(spec)})`);
  }
  if (spec.kind === "string") return { ok: true, value: raw };
  if (spec.kind === "enum") {
    return spec.values.includes(raw)
      ? { ok: true, value: raw }
      : refuse(`${flag} must be ${expected(spec)}, got ${JSON.stringify(raw)}`);
  }
  // Digits only: Number() would also take "", " 7", "1e3" and "0x10".
  const value = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value)) return refuse(`${flag} must be a whole number, got ${JSON.stringify(raw)}`);
  const min = spec.min ?? 0;
  if (value < min) return refuse(`${flag} must be at least ${min}, got ${raw}`);
  return { ok: true, value };
}

function error(message: string): { kind: "error"; message: string } {
  return { kind: "error", message };
}

/** What an option takes, in words, for messages. */
function expected(spec: Exclude<OptionSpec, BooleanOption>): string {
  if (spec.kind === "integer") return `a whole number >= ${spec.min ?? 0}`;
  if (spec.kind === "enum") return `one of ${spec.values.join(", ")}`;
  return "text";
}

/** What an option takes, as in the usage line: " N", " TEXT", " a|b|c", or nothing. */
function placeholder(spec: OptionSpec): string {
  if (spec.kind === "integer") return " N";
  if (spec.kind === "string") return " TEXT";
  if (spec.kind === "enum") return ` ${spec.values.join("|")}`;
  return "";
}

/** The usage line, then every option with what it takes, its help and its default. */
export function helpText(command: CommandSpec): string {
  const rows: [string, string][] = Object.entries(command.options).map((
    [name, spec],
  ) => [`--${name}${placeholder(spec)}`, `${spec.help}${defaultText(spec)}`]);
  rows.push(["-h, --help", "print this help and exit"]);
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return [
    `usage: ${command.usage} [options]`,
    "",
    command.summary,
    "",
    "options:",
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`),
  ].join("\n");
}

function defaultText(spec: OptionSpec): string {
  if (spec.kind === "boolean") return "";
  if (spec.kind === "integer") {
    return ` (default ${spec.default ?? spec.defaultHelp ?? "none"}${spec.min ? `, at least ${spec.min}` : ""})`;
  }
  return ` (default ${spec.default ?? "none"})`;
}

/** The known name nearest to a misspelt one, if it is near enough to be what was meant. */
function closest(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best !== null && (bestDistance <= Math.max(1, Math.floor(best.length / 3)) || best.startsWith(name))
    ? best
    : null;
}

/** Edit distance with adjacent swaps (optimal string alignment): "recrods" is one from "records". */
function distance(a: string, b: string): number {
  const d = Array.from(
    { length: a.length + 1 },
    (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = value;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * {@link parseOptions} on this process's arguments: prints the help and exits 0, or prints
 * `error: …` on stderr and exits 2, or returns the values.
 */
export function readOptions<O extends OptionSpecs>(
  command: CommandSpec<O>,
  argv: readonly string[] = process.argv.slice(2),
): OptionValues<O> {
  const outcome = parseOptions(command, argv);
  if (outcome.kind === "values") return outcome.values;
  if (outcome.kind === "help") {
    console.log(outcome.text);
    process.exit(0);
  }
  return exitWithUsageError(outcome.message);
}

/**
 * Prints `error: <message>` on stderr and exits with code 2, the exit code of a command
 * line that was not understood. For what only the command can judge, such as a filter
 * that matches nothing.
 */
export function exitWithUsageError(message: string): never {
  console.error(`error: ${message}`);
  process.exit(2);
}
