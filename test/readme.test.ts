/**
 * The README's examples are code: every ```ts block in README.md type-checks against the
 * source (with "acktor", "acktor/nats" and "acktor/internal" mapped to it), and the blocks
 * that run on the embedded broker alone are run, each under a deadline. Blocks that are not
 * meant to compile use another fence (```ts-sketch), and are left alone.
 *
 * A few blocks use a placeholder for the reader's own code (`bill()`, `invoiceFor()`) or
 * continue an earlier block (`producer`, `output`); their declarations are listed below,
 * per block, rather than written into the README.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";
import * as assert from "uvu/assert";
import { test } from "./helpers/harness.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const ENTRIES: Record<string, string> = {
  "acktor": "src/index.ts",
  "acktor/nats": "src/adapters/nats/index.ts",
  "acktor/internal": "src/internal.ts",
};

interface Block {
  /** 1-based line of the block's first code line in README.md. */
  readonly line: number;
  readonly code: string;
}

function readmeBlocks(): Block[] {
  const lines = readFileSync(join(root, "README.md"), "utf8").split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\S*)/.exec(lines[i]!);
    if (!fence) continue;
    let end = i + 1;
    while (end < lines.length && !lines[end]!.startsWith("```")) end++;
    if (fence[1] === "ts") blocks.push({ line: i + 2, code: lines.slice(i + 1, end).join("\n") });
    i = end;
  }
  return blocks;
}

interface Expectation {
  /** Text the block contains: how a block is recognised (and a renamed block noticed). */
  readonly contains: string;
  /** Declarations for the reader's own code, appended for the type-check only. */
  readonly placeholders?: string;
  /** Run it (on the embedded broker), and check what it printed. */
  readonly run?: (printed: string[]) => void;
}

/** Every ```ts block of the README, in order. */
const EXPECTED: Expectation[] = [
  {
    contains: `broker.createTopic("greetings"`,
    run: (printed) => assert.equal(printed, []),
  },
  {
    contains: `await producer.transaction(async (tx)`,
    run: (printed) => assert.match(printed.join("\n"), /^committed 2 /, "one committed transaction of 2 records"),
  },
  {
    contains: `commit: "after-processing"`,
    placeholders: `declare function bill(key: Uint8Array | null, value: Uint8Array): Promise<void>;`,
  },
  {
    contains: `commit: "transactional", producer: out`,
    placeholders: `declare function invoiceFor(value: Uint8Array): string;`,
  },
  {
    contains: `payments.records$.pipe(`,
    placeholders: `declare function bill(key: Uint8Array | null, value: Uint8Array): Promise<void>;`,
  },
  {
    contains: `producer.outcomes$.subscribe`,
    placeholders: [
      `import type { ProduceOutput, Producer } from "acktor";`,
      `declare const producer: Producer;`,
      `declare const output: ProduceOutput;`,
    ].join("\n"),
  },
  {
    contains: `broker.producer("orders", { inspect })`,
    run: (printed) =>
      assert.equal(printed, [
        "producer: open",
        "batch: open",
        "batch: sealed",
        "request: sending",
        "request: awaiting-ack",
        "batch: in-flight",
        "batch: delivered",
        "request: delivered",
        "producer: closing",
        "producer: closed",
      ]),
  },
  {
    contains: `broker.partitionState("orders", 0)`,
    run: (printed) => assert.equal(printed, []),
  },
  {
    contains: `const page = broker.read("orders", 0, { offset, maxRecords: 100 })`,
    run: (printed) => {
      assert.is(printed.length, 250, "every record, once, over three pages");
      assert.equal(printed.slice(0, 2), ["0 order-0", "1 order-1"]);
      assert.is(printed.at(-1), "249 order-249");
    },
  },
  {
    contains: `const net = chaos(broker.transport()`,
    run: (printed) => assert.equal(printed, [], "no request was made, so no fault"),
  },
  { contains: `const nats = await connectNats(` },
  { contains: `servers: "ws://localhost:8080"` },
  { contains: `await using server = await broker.listen({ port: 0 })` },
];

const blocks = readmeBlocks();
const virtualName = (i: number): string => join(root, "test", `readme-block-${i}.ts`);

test("every ts block of the README is one this test knows", () => {
  assert.is(blocks.length, EXPECTED.length, "a ts block was added or removed: list it in EXPECTED");
  blocks.forEach((block, i) => {
    assert.ok(
      block.code.includes(EXPECTED[i]!.contains),
      `README.md:${block.line}: block ${i} should contain ${JSON.stringify(EXPECTED[i]!.contains)}`,
    );
  });
});

test("every ts block of the README type-checks against the source", { deadlineMs: 120_000 }, () => {
  const config = ts.readConfigFile(join(root, "tsconfig.json"), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const options: ts.CompilerOptions = {
    ...parsed.options,
    // Examples name what they show (`const { offset } = …`) without always using it.
    noUnusedLocals: false,
    noUnusedParameters: false,
    baseUrl: root,
    paths: Object.fromEntries(Object.entries(ENTRIES).map(([name, path]) => [name, [`./${path}`]])),
  };
  // The placeholders go after the block, so the block's line numbers stay the README's.
  const sources = new Map(
    blocks.map((b, i) => [virtualName(i), `${b.code}\n${EXPECTED[i]?.placeholders ?? ""}\nexport {};\n`]),
  );
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (name) => sources.has(name) || fileExists(name);
  host.readFile = (name) => sources.get(name) ?? readFile(name);
  host.getSourceFile = (name, language, ...rest) => {
    const text = sources.get(name);
    return text === undefined
      ? getSourceFile(name, language, ...rest)
      : ts.createSourceFile(name, text, language, true);
  };
  const program = ts.createProgram([...sources.keys()], options, host);
  const problems: string[] = [];
  blocks.forEach((block, i) => {
    const file = program.getSourceFile(virtualName(i))!;
    for (const d of [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]) {
      const { line } = file.getLineAndCharacterOfPosition(d.start ?? 0);
      const where = line < block.code.split("\n").length ? `README.md:${block.line + line}` : `block ${i} placeholders`;
      problems.push(`${where}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
    }
  });
  assert.equal(problems, [], "README examples that do not compile");
});

test("the README blocks that need only the embedded broker run", { deadlineMs: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "acktor-readme-"));
  const log = console.log;
  try {
    for (const [i, block] of blocks.entries()) {
      const check = EXPECTED[i]?.run;
      if (!check) continue;
      // "acktor" becomes the source's own file URL; a fresh file per block, so each runs once.
      const code = block.code.replace(
        /from "(acktor(?:\/\w+)?)"/g,
        (whole, name: string) =>
          ENTRIES[name] ? `from ${JSON.stringify(pathToFileURL(join(root, ENTRIES[name])).href)}` : whole,
      );
      const file = join(dir, `block-${i}.mts`); // .mts: an ES module wherever it lies
      writeFileSync(file, `${code}\nexport {};\n`);
      const printed: string[] = [];
      console.log = (...args: unknown[]) =>
        void printed.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      try {
        await import(pathToFileURL(file).href);
      } catch (error) {
        throw new Error(`README.md:${block.line}: the block threw: ${(error as Error)?.stack ?? error}`);
      } finally {
        console.log = log;
      }
      check(printed);
    }
  } finally {
    console.log = log;
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
