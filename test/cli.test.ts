/**
 * The command lines: the shared option parser as a pure function (a misspelt flag or a bad
 * value is one line naming it, never a silent default), and the demo's report, which must
 * fit 120 columns by default with its numbers right-aligned.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { defineCommand, helpText, type OptionValues, parseOptions } from "../src/cli/options.ts";
import type { DemoRow } from "../src/demo/semantics.ts";
import { DEMO_WIDTH, renderDemoTable, wrap } from "../src/demo/table.ts";

const command = defineCommand({
  usage: "npm run thing --",
  summary: "Does the thing.",
  options: {
    records: { kind: "integer", default: 1_000, min: 1, help: "records per pass" },
    warmup: { kind: "integer", default: null, help: "records to warm up with" },
    seed: { kind: "integer", default: 42, help: "seed of the faults" },
    only: { kind: "string", default: null, help: "only cases containing TEXT" },
    json: { kind: "boolean", help: "JSON lines" },
    "consumer-records": { kind: "integer", default: 500, min: 1, help: "records to consume" },
    suite: { kind: "enum", values: ["all", "producer", "consumer"], default: "all", help: "which suite" },
  },
});
type Values = OptionValues<typeof command.options>;

const values = (argv: string[]): Values => {
  const outcome = parseOptions(command, argv);
  if (outcome.kind !== "values") {
    throw new Error(`expected values for ${argv.join(" ")}, got ${JSON.stringify(outcome)}`);
  }
  return outcome.values;
};
const failure = (argv: string[]): string => {
  const outcome = parseOptions(command, argv);
  if (outcome.kind !== "error") {
    throw new Error(`expected an error for ${argv.join(" ")}, got ${JSON.stringify(outcome)}`);
  }
  assert.not.match(outcome.message, "\n", "one line");
  return outcome.message;
};

test("no arguments: every default", () => {
  const parsed = values([]);
  // The types follow the spec: an enum is its words, a null default may stay null.
  const suite: "all" | "producer" | "consumer" = parsed.suite;
  const warmup: number | null = parsed.warmup;
  const only: string | null = parsed.only;
  const records: number = parsed.records;
  assert.equal({ suite, warmup, only, records }, { suite: "all", warmup: null, only: null, records: 1_000 });
  assert.equal(parsed, {
    records: 1_000,
    warmup: null,
    seed: 42,
    only: null,
    json: false,
    "consumer-records": 500,
    suite: "all",
  });
});

test("values: separate or after =, a switch, an enum word, the last of a repeated option", () => {
  const parsed = values([
    "--records",
    "10",
    "--seed=0",
    "--json",
    "--suite",
    "producer",
    "--only",
    "exactly",
    "--consumer-records=7",
    "--records",
    "20",
  ]);
  assert.equal(parsed, {
    records: 20,
    warmup: null,
    seed: 0,
    only: "exactly",
    json: true,
    "consumer-records": 7,
    suite: "producer",
  });
});

test("an unknown or misspelt option is an error naming it, with the likely one", () => {
  assert.is(failure(["--recrods", "10"]), "unknown option --recrods (did you mean --records?); see --help");
  assert.match(failure(["--jsno"]), "unknown option --jsno (did you mean --json?)");
  assert.match(failure(["--consumer-record", "5"]), "(did you mean --consumer-records?)");
  assert.is(failure(["--bogus"]), "unknown option --bogus; see --help");
  assert.is(failure(["-x"]), "unknown option -x; see --help");
  // After a good option too: nothing falls back to a default.
  assert.match(failure(["--records", "5", "--sede", "3"]), "unknown option --sede (did you mean --seed?)");
});

test("a bad value is one line naming the option and the value", () => {
  assert.is(failure(["--records", "abc"]), '--records must be a whole number, got "abc"');
  assert.is(failure(["--seed", "1.5"]), '--seed must be a whole number, got "1.5"');
  // What Number() would have let through.
  for (const raw of ["1e3", "0x10", " 7", ""]) {
    assert.match(failure(["--seed", raw]), `--seed must be a whole number, got ${JSON.stringify(raw)}`);
  }
  assert.is(failure(["--records", "0"]), "--records must be at least 1, got 0");
  assert.is(failure(["--seed=-1"]), "--seed must be at least 0, got -1");
  assert.is(failure(["--json=yes"]), '--json takes no value, got "yes"');
});

test("a missing value is an error, also when the next word is another option", () => {
  assert.is(failure(["--records"]), "--records needs a value (a whole number >= 1)");
  assert.is(failure(["--records", "--seed", "3"]), "--records needs a value (a whole number >= 1)");
  assert.is(failure(["--only"]), "--only needs a value (text)");
  assert.is(failure(["--suite"]), "--suite needs a value (one of all, producer, consumer)");
  // A value that starts with dashes can still be given after =.
  assert.is(values(["--only=--odd"]).only, "--odd");
});

test("an enum refuses other words and says which it takes", () => {
  assert.is(failure(["--suite", "both"]), '--suite must be one of all, producer, consumer, got "both"');
  assert.is(failure(["--suite", "Producer"]), '--suite must be one of all, producer, consumer, got "Producer"');
});

test("positional arguments are refused", () => {
  assert.is(failure(["10"]), 'unexpected argument "10" (options start with --; see --help)');
  assert.match(failure(["--records", "10", "20"]), 'unexpected argument "20"');
  assert.is(failure(["--", "x"]), 'unexpected argument "x"');
});

test("--help and -h: the usage line and every option with its default and help, even next to a mistake", () => {
  const text = helpText(command);
  for (const argv of [["--help"], ["-h"], ["--recrods", "1", "--help"], ["--records", "abc", "-h"]]) {
    assert.equal(parseOptions(command, argv), { kind: "help", text }, argv.join(" "));
  }
  const lines = text.split("\n");
  assert.is(lines[0], "usage: npm run thing -- [options]");
  assert.ok(lines.includes("Does the thing."));
  const line = (flag: string): string => {
    const found = lines.find((l) => l.trimStart().startsWith(`${flag} `));
    assert.ok(found, `a help line for ${flag}`);
    return found;
  };
  assert.match(line("--records N"), "records per pass (default 1000, at least 1)");
  assert.match(line("--warmup N"), "records to warm up with (default none)");
  assert.match(line("--seed N"), "seed of the faults (default 42)");
  assert.match(line("--only TEXT"), "only cases containing TEXT (default none)");
  assert.match(line("--json"), "JSON lines");
  assert.match(line("--consumer-records N"), "records to consume (default 500, at least 1)");
  assert.match(line("--suite all|producer|consumer"), "which suite (default all)");
  assert.match(line("-h, --help"), "help");
  // The descriptions start in one column.
  const starts = new Set(lines.filter((l) => l.startsWith("  -")).map((l) => l.search(/ {2}\S/g)));
  assert.is(starts.size, 1, "one column of descriptions");
});

/** A row as the demo makes it, with numbers as large as a long run gives. */
function demoRow(semantic: DemoRow["semantic"], n: number, overrides: Partial<DemoRow> = {}): DemoRow {
  const commit = ({
    "at-most-once": "before-processing",
    "at-least-once": "after-processing",
    "exactly-once": "transactional",
  } as const)[semantic];
  return {
    semantic,
    commit,
    sent: n,
    delivered: n - 1_310,
    lost: 1_310,
    duplicated: n,
    reportedFailed: n,
    processed: n,
    lostByConsumer: n,
    processedTwice: n,
    handlerReruns: n,
    crashes: [{ at: "handler" }, { at: "request", api: "addPartitionsToTxn", applied: true }, {
      at: "request",
      api: "offsetCommit",
      applied: false,
    }],
    consumers: 4,
    consumerFailures: [],
    recordsPerSecond: 12_345_678,
    simulatedMs: 123_456_789,
    guaranteeHeld: true,
    ...overrides,
  };
}
const settings = {
  records: 100_000,
  seed: 7,
  crashes: 3,
  faults: { dropRequest: 0.02, dropResponse: 0.02, disconnect: 0.005 },
};
const SEMANTICS = ["at-most-once", "at-least-once", "exactly-once"] as const;

test("the demo's report fits 120 columns, for large numbers, many crashes and a long failure", () => {
  for (const n of [100_000, 1_000_000, 10_000_000]) {
    const many = Array.from(
      { length: 12 },
      () => ({ at: "request", api: "addPartitionsToTxn", applied: false }) as const,
    );
    const rows = [
      demoRow("at-most-once", n),
      demoRow("at-least-once", n, { crashes: many, consumers: 13 }),
      demoRow("exactly-once", n, {
        guaranteeHeld: false,
        consumerFailures: [`EngineUnavailableError: ${"x".repeat(300)} and then some words`],
      }),
    ];
    const lines = renderDemoTable(rows, { ...settings, records: n, crashes: 12 });
    for (const line of lines) assert.ok(line.length <= DEMO_WIDTH, `${line.length} > ${DEMO_WIDTH}: ${line}`);
    assert.ok(lines.some((l) => l.includes("BROKEN ✗")), "a broken guarantee says so");
    assert.ok(lines.some((l) => l.includes("none processed twice ✓")));
  }
});

test("the demo's table: numbers right-aligned under their headers, one row per semantic", () => {
  const rows = SEMANTICS.map((s, i) =>
    demoRow(s, 100_000, { processedTwice: [0, 1_731, 0][i]!, handlerReruns: [0, 421, 2_141][i]! })
  );
  const lines = renderDemoTable(rows, settings);
  const header = lines.findIndex((l) => l.startsWith("semantic "));
  assert.ok(header >= 0, "a header line");
  const [head, rule, ...body] = lines.slice(header, header + 2 + rows.length) as [string, string, ...string[]];
  assert.match(rule, /^-+( {2}-+)+$/);
  assert.equal(
    body.map((l) => l.split(/ +/)[0]),
    [...SEMANTICS],
  );
  // Each number column ends where its header and its rule end.
  for (const name of ["in log", "lost prod", "dup prod", "processed", "lost cons", "proc twice", "reruns", "crashes"]) {
    const end = head.indexOf(name) + name.length;
    assert.ok(head.indexOf(name) >= 0, `a "${name}" column`);
    assert.is(rule[end - 1], "-", `${name}: the rule reaches the header's end`);
    assert.is(rule[end] ?? " ", " ");
    for (const line of body) {
      assert.ok(/\d/.test(line[end - 1]!), `${name}: a digit at the column's end in "${line}"`);
      assert.is(line[end] ?? " ", " ", `${name}: nothing after the column's end in "${line}"`);
    }
  }
});

test("the wide layout keeps every column and the guarantee in the table", () => {
  const rows = SEMANTICS.map((s) => demoRow(s, 100_000));
  const lines = renderDemoTable(rows, { ...settings, wide: true });
  const head = lines.find((l) => l.startsWith("semantic "))!;
  for (
    const name of [
      "consumer commit",
      "sent",
      "lost (producer)",
      "dup (producer)",
      "reported failed",
      "processed twice",
      "handler reruns",
      "records/s",
      "guarantee",
    ]
  ) {
    assert.ok(head.includes(name), name);
  }
  assert.ok(lines.some((l) => l.startsWith("exactly-once ") && l.endsWith("output = input, once each ✓")));
});

test("wrap: at spaces, indented continuation, long words cut, never over the width", () => {
  assert.equal(wrap("aa bb cc", 5), ["aa bb", "cc"]);
  assert.equal(wrap("  aa bb cc", 8, "  "), ["  aa bb", "    cc"]);
  assert.equal(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
  assert.equal(wrap("", 10), [""]);
  const text = Array.from({ length: 200 }, (_, i) => "w".repeat(i % 17)).join(" ");
  for (const line of wrap(`  ${text}`, 30, "  ")) assert.ok(line.length <= 30, line);
});

test.run();
