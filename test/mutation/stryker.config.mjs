// StrykerJS over the uvu suite: `npm run mutate` (all groups below), or narrowed with
// `npm run mutate -- --mutate 'src/retry/**/*.ts'`. The command runner runs one shell command
// per mutant, so the command runs only the test files that exercise the mutated files: this
// config reads `--mutate` and unions the test filters of the groups it touches.
import process from "node:process";

/** Mutated files, and the `test/run.ts` filters (file-name substrings) that cover them. */
const groups = [
  { mutate: ["src/retry/**/*.ts"], tests: ["retry", "attempt-timeout"] },
  {
    mutate: ["src/producer/sequencing.ts"],
    tests: ["sequencing", "idempotence", "turns", "producer-edges"],
  },
  {
    mutate: ["src/producer/machines/**/*.ts"],
    tests: [
      "machines.test",
      "machine-graph",
      "producer-edges",
      "producer.test",
      "attempt-timeout",
      "transactions.test",
      "barriers",
    ],
  },
  {
    mutate: [
      "src/broker/partition.ts",
      "src/broker/partition-transactions.ts",
      "src/broker/producer-state.ts",
      "src/broker/transaction-coordinator.ts",
      "src/broker/idempotent-ids.ts",
    ],
    tests: ["broker-partition", "broker-dedup", "broker-coordinator"],
  },
  {
    mutate: ["src/consumer/group/**/*.ts"],
    // consumer-strategies (about 1 s) was written for these files; the slow consumer files
    // (consumer.test, consumer-guarantees: 6-26 s a run) are left out to keep each mutant quick.
    tests: ["consumer-strategies", "consumer-groups", "consumer-abort"],
  },
];

function cliMutate() {
  const argv = process.argv;
  const out = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--mutate" || a === "-m") out.push(...(argv[i + 1] ?? "").split(","));
    else if (a.startsWith("--mutate=")) out.push(...a.slice("--mutate=".length).split(","));
  }
  return out.filter(Boolean);
}

/** A group is selected when a CLI pattern shares its directory or file prefix. */
function selected(group, patterns) {
  if (patterns.length === 0) return true;
  const strip = (p) => p.replace(/^\.\//, "").replace(/\*.*$/, "").replace(/:\d.*$/, "");
  return patterns.some((p) =>
    group.mutate.some((m) => {
      const a = strip(p);
      const b = strip(m);
      return a.startsWith(b) || b.startsWith(a);
    })
  );
}

const patterns = cliMutate();
const chosen = groups.filter((g) => selected(g, patterns));
// MUTATE_TESTS="a b" replaces the filters, e.g. to measure what one test file kills alone.
const tests = process.env.MUTATE_TESTS
  ? process.env.MUTATE_TESTS.split(/[\s,]+/).filter(Boolean)
  : [...new Set((chosen.length ? chosen : groups).flatMap((g) => g.tests))];

// MUTATE_TAG=name keeps one run's sandbox and reports apart, so that runs can go side by side.
const tag = process.env.MUTATE_TAG ? `-${process.env.MUTATE_TAG}` : "";

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  $schema: "../../node_modules/@stryker-mutator/core/schema/stryker-schema.json",
  packageManager: "npm",
  testRunner: "command",
  commandRunner: { command: `node --import tsx test/run.ts ${tests.join(" ")}` },
  coverageAnalysis: "off",
  mutate: groups.flatMap((g) => g.mutate),
  ignorePatterns: ["dist", "benchmarks", ".nats-data", ".ci", "*.log", ".stryker-tmp*", "test/mutation/reports"],
  tempDirName: `.stryker-tmp${tag}`,
  inPlace: false,
  // "ignoreStatic" needs coverageAnalysis "perTest", which the command runner cannot do.
  ignoreStatic: false,
  concurrency: 2,
  timeoutMS: 5000,
  timeoutFactor: 1.25,
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: `test/mutation/reports/mutation${tag}.html` },
  jsonReporter: { fileName: `test/mutation/reports/mutation${tag}.json` },
  cleanTempDir: true,
};
