/**
 * One uvu session, counted the way every runner of this suite counts it: `test/run.ts` on
 * Node, Deno and Bun, `test/browser/run.ts` in a Chromium page and for the browser-driving
 * tests. The part that runs the tests touches no Node built-in, so it runs in a page as well
 * (`node:process` is bundled there as an environment of the `ACKTOR_*` variables).
 *
 * The counts come from what each suite's runner returns, not from uvu's printed totals, and
 * every silent failure becomes a reported one: a `before` or `after` hook that threw (uvu
 * swallows a throwing `before` and would let an `after` end the run), a suite past its
 * deadline, a file that could not be loaded, and uvu's own error report.
 */
import process from "node:process";

/** What one uvu suite's runner returns: its error report (or `true`), ran, skipped, total. */
type SuiteResult = [errors: string | true, passed: number, skipped: number, total: number];
type Runner = () => Promise<SuiteResult>;

/** Tests passed, failed and skipped. */
export interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

/** What a session ends with; plain data, so a page can hand it to Node. */
export interface SessionResult extends Tally {
  suites: number;
  /** Per file, in load order. */
  readonly files: Record<string, Tally>;
  /** Why the run fails; empty when it passes. */
  readonly reasons: string[];
  readonly code: 0 | 1;
}

export interface RunOptions {
  /** A whole file's suites get this long (wall clock); default `ACKTOR_SUITE_DEADLINE_MS` or 5 minutes. */
  readonly suiteDeadlineMs?: number;
  /** Passes uvu's output to `sink` as well, until the returned function is called. */
  capture(sink: (text: string) => void): () => void;
}

export interface Session {
  /** Loads one test file, whose suites queue up under its name; a file that throws is a failure. */
  add(file: string, load: () => Promise<unknown>): Promise<void>;
  /** Runs every queued suite once. */
  run(options: RunOptions): Promise<SessionResult>;
}

const g = globalThis as unknown as {
  UVU_DEFER: number;
  UVU_INDEX: number;
  UVU_QUEUE: unknown[][];
  ACKTOR_HOOK_FAILURES?: { suite: string; hook: string; error: unknown }[];
  Deno?: { version: { deno: string } };
  Bun?: { version: string };
};

/** `node v…`, `deno …` or `bun …`. Bun also sets `process.version`, so it is asked first. */
export function runtimeName(): string {
  return g.Deno ? `deno ${g.Deno.version.deno}` : g.Bun ? `bun ${g.Bun.version}` : `node ${process.version}`;
}

/** The plain closing line: "N passed, N failed, N skipped". */
export function closingLine(t: Tally): string {
  return `${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped\n`;
}

const describe = (error: unknown): string =>
  error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
const report = (file: string, what: string, detail: string): string =>
  `  FAIL ${file}: ${what}\n    ${detail.split("\n").join("\n    ")}\n`;

/**
 * Sets uvu up for a deferred run (so files queue their suites instead of running them) and
 * loads it. Call it before anything imports uvu: in a page, uvu keeps the `console.log` it
 * finds when it loads as its writer.
 */
export async function openSession(): Promise<Session> {
  g.UVU_DEFER = 1;
  g.UVU_QUEUE = [];
  const hookFailures = (g.ACKTOR_HOOK_FAILURES ??= []);
  const { exec } = await import("uvu");
  const unloaded: { file: string; error: unknown }[] = [];
  return {
    async add(file, load) {
      g.UVU_INDEX = g.UVU_QUEUE.length;
      g.UVU_QUEUE.push([file]);
      try {
        await load();
      } catch (error) {
        unloaded.push({ file, error });
      }
    },
    run: (options) => runQueue(exec, hookFailures, unloaded, options),
  };
}

async function runQueue(
  exec: (bail?: boolean) => Promise<void>,
  hookFailures: NonNullable<typeof g.ACKTOR_HOOK_FAILURES>,
  unloaded: { file: string; error: unknown }[],
  options: RunOptions,
): Promise<SessionResult> {
  const deadlineMs = options.suiteDeadlineMs ?? Number(process.env.ACKTOR_SUITE_DEADLINE_MS ?? 300_000);
  const tally = { passed: 0, failed: 0, skipped: 0, suites: 0 };
  const files: Record<string, Tally> = {};

  /** Runs one suite, counting its results and turning every silent failure into a reported one. */
  async function guarded(file: string, run: Runner): Promise<SuiteResult> {
    const hooksBefore = hookFailures.length;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<"expired">((resolve) => (timer = setTimeout(() => resolve("expired"), deadlineMs)));
    let result: SuiteResult;
    try {
      const settled = await Promise.race([run(), expired]);
      result = settled === "expired"
        ? [report(file, `a suite did not finish within ${deadlineMs} ms (wall clock)`, "abandoned"), 0, 0, 1]
        : settled;
    } catch (error) {
      // An `after` hook threw (uvu's runner rethrows it from its `finally`): the counts are gone.
      result = [report(file, "a suite's runner threw (an `after` hook?)", describe(error)), 0, 0, 1];
    } finally {
      clearTimeout(timer);
    }
    let [errors, passed, skipped, total] = result;
    let failed = total - passed;
    const hooks = hookFailures.slice(hooksBefore);
    let extra = "";
    for (const h of hooks) {
      extra += report(file, `${h.suite ? `suite "${h.suite}": ` : ""}the \`${h.hook}\` hook threw`, describe(h.error));
      // A throwing `before` already counts every test of the suite as failed; an `after` counts itself.
      if (h.hook === "after") failed++;
    }
    if (errors === true && failed > 0 && hooks.length === 0) {
      // uvu's runner swallows a throwing `before` hook: the tests did not run and nothing says why.
      extra += report(file, `${failed} test(s) did not run`, "a `before` hook threw; uvu does not report its error");
    }
    if (extra) errors = (errors === true ? "" : errors) + extra;
    count(file, passed, failed, skipped);
    tally.suites++;
    // uvu adds `total` to its own "Total" and sets its exit code only for a string report.
    return [errors, passed, skipped, Math.max(total, passed + failed)];
  }

  function count(file: string, passed: number, failed: number, skipped: number): void {
    const f = (files[file] ??= { passed: 0, failed: 0, skipped: 0 });
    f.passed += passed;
    f.failed += failed;
    f.skipped += skipped;
    tally.passed += passed;
    tally.failed += failed;
    tally.skipped += skipped;
  }

  for (const group of g.UVU_QUEUE) {
    const file = String(group[0]);
    files[file] = { passed: 0, failed: 0, skipped: 0 };
    for (let i = 1; i < group.length; i++) {
      const run = group[i] as Runner;
      group[i] = () => guarded(file, run);
    }
  }
  // A file that threw while loading is one failed "suite", reported in its place in the queue.
  for (const { file, error } of unloaded) {
    const group = g.UVU_QUEUE.find((q) => q[0] === file)!;
    group.push((): Promise<SuiteResult> => {
      count(file, 0, 1, 0);
      return Promise.resolve([report(file, "the file could not be loaded", describe(error)), 0, 0, 1]);
    });
  }

  // Keep a copy of what uvu prints, to cross-check its totals.
  let printed = "";
  const release = options.capture((text) => (printed += text));
  let crashed: unknown = null;
  try {
    await exec(false);
  } catch (error) {
    crashed = error;
  } finally {
    release();
  }
  // deno-lint-ignore no-control-regex -- the escape is the point: it strips uvu's colour codes
  const plain = printed.replace(/\u001b\[\d+m/g, "");
  const uvuTotal = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? Number.NaN);
  const uvuPassed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? Number.NaN);
  const reasons: string[] = [];
  if (crashed !== null) reasons.push(`uvu's exec threw: ${describe(crashed)}`);
  if (tally.failed > 0) reasons.push(`${tally.failed} failed`);
  if (tally.passed + tally.failed === 0) reasons.push("no test ran");
  if (/ FAIL /.test(plain)) reasons.push("uvu reported failures");
  // (Where uvu writes elsewhere than through `capture`, nothing was captured.)
  if (!Number.isNaN(uvuTotal) && !(uvuTotal === uvuPassed + tally.failed && uvuPassed === tally.passed)) {
    reasons.push(`uvu's totals (${uvuTotal} total, ${uvuPassed} passed) disagree with the runners' counts`);
  }
  if (hookFailures.length > 0 && tally.failed === 0) reasons.push("a hook failed");
  return { ...tally, files, reasons, code: reasons.length > 0 ? 1 : 0 };
}

/** A {@link RunOptions.capture} for Node, Deno and Bun: uvu prints through `process.stdout`. */
export function captureStdout(sink: (text: string) => void): () => void {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    sink(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  return () => void (process.stdout.write = write);
}

/**
 * Says why the run fails (if it does), prints the closing line and exits with `code`, once the
 * line is out: a loop or timer a failed test leaked must not hold the process open.
 */
export async function exitWith(tally: Tally, reasons: readonly string[]): Promise<never> {
  const code = reasons.length > 0 ? 1 : 0;
  if (code !== 0) console.error(`failing the run: ${reasons.join("; ")}`);
  await new Promise<void>((resolve) => {
    const fallback = setTimeout(resolve, 2_000);
    process.stdout.write(closingLine(tally), () => {
      clearTimeout(fallback);
      resolve();
    });
  });
  process.exit(code);
}
