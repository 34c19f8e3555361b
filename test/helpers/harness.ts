/**
 * The test harness every test file uses instead of importing `test` from "uvu": every test
 * gets a wall-clock deadline, and every "wait until" loop a bound, so a broken guarantee
 * fails the run instead of hanging it.
 *
 * Each test body runs under a deadline (`DEFAULT_DEADLINE_MS`, or `{ deadlineMs }` for the
 * few that need longer); past it the test fails with a message naming the test (and its
 * seed, when given), and the test's `signal` aborts, so that loops built on {@link until} or
 * on {@link linked} stop instead of spinning on a `VirtualClock` in the background. Hook
 * errors are recorded for `test/run.ts`: uvu swallows a throwing `before` (the suite's tests
 * silently do not run) and lets a throwing `after` end the whole run.
 */
import process from "node:process";
import { suite as uvuSuite } from "uvu";
import type { Clock } from "../../src/index.ts";

/** Per test, wall clock; `ACKTOR_TEST_DEADLINE_MS` overrides it (a slow or busy machine). */
export const DEFAULT_DEADLINE_MS = Number(process.env.ACKTOR_TEST_DEADLINE_MS ?? 60_000);

export interface TestOptions {
  /** Wall-clock ms this test may take; default {@link DEFAULT_DEADLINE_MS}. */
  readonly deadlineMs?: number;
  /** The seed the test runs with, named in its failure messages. */
  readonly seed?: number | string;
}

/** What a test body receives. */
export interface TestContext {
  /** Aborts when the test's deadline passes, and when the test ends: stop background loops on it. */
  readonly signal: AbortSignal;
  readonly name: string;
}

type Body = (context: TestContext) => unknown;

/** A hook failure, kept for `test/run.ts`. */
export interface HookFailure {
  readonly suite: string;
  readonly hook: "before" | "after";
  readonly error: unknown;
}

const registry = globalThis as unknown as { ACKTOR_HOOK_FAILURES?: HookFailure[] };
/** Hook failures of this run, in order; `test/run.ts` reports and counts them. */
export const hookFailures: HookFailure[] = (registry.ACKTOR_HOOK_FAILURES ??= []);

let current: AbortSignal | null = null;
/** The running test's signal (one that never aborts outside a test). */
export function testSignal(): AbortSignal {
  return current ?? new AbortController().signal;
}

/** Raised when a deadline or a bound passes; its message says which and why. */
export class DeadlineError extends Error {
  override name = "DeadlineError";
}

/**
 * Runs `body` under a wall-clock deadline: settles as the body does, or rejects with a
 * {@link DeadlineError} naming `label` once `ms` have passed. The body's signal aborts at the
 * deadline, when the body settles, and when an enclosing deadline's signal aborts, so whatever
 * is linked to it stops. Every test runs under one; a test may bound a part of itself with
 * another.
 */
export async function withDeadline<T>(
  label: string,
  ms: number,
  body: (signal: AbortSignal) => T | Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const previous = current;
  const follow = () => controller.abort(previous?.reason);
  previous?.addEventListener("abort", follow, { once: true });
  if (previous?.aborted) follow();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new DeadlineError(`${label} did not finish within its deadline of ${ms} ms (wall clock)`);
      controller.abort(error);
      reject(error);
    }, ms);
  });
  current = controller.signal;
  try {
    return await Promise.race([Promise.resolve().then(() => body(controller.signal)), expired]);
  } finally {
    clearTimeout(timer);
    previous?.removeEventListener("abort", follow);
    // A nested deadline that settles after its test ended must not bring back that test's signal.
    if (!previous?.aborted) current = previous;
    if (!controller.signal.aborted) controller.abort(new DeadlineError(`${label} ended`));
  }
}

/** A signal that aborts with `stop`, or when the running test ends or passes its deadline. */
export function linked(stop?: AbortController | AbortSignal): AbortSignal {
  const own = stop === undefined ? [] : [stop instanceof AbortController ? stop.signal : stop];
  return AbortSignal.any([...own, testSignal()]);
}

export interface UntilOptions {
  /** Sleep between checks, in `clock` ms; default 5. */
  readonly step?: number;
  /** Give up after this much `clock` time; default 10 minutes of it. */
  readonly within?: number;
  /** Said in the failure message: how far it got. */
  readonly progress?: () => string;
}

/**
 * Waits on `clock` until `done()` holds. Fails with a {@link DeadlineError} naming `what` (and
 * `progress()`) once `within` of clock time has passed, or once the running test ended or
 * passed its deadline. Never spins forever.
 */
export async function until(clock: Clock, done: () => boolean, what: string, options: UntilOptions = {}) {
  const step = options.step ?? 5;
  const within = options.within ?? 600_000;
  const signal = testSignal();
  const start = clock.now();
  while (!done()) {
    const state = options.progress ? ` (${options.progress()})` : "";
    if (signal.aborted) throw new DeadlineError(`stopped waiting for ${what}${state}: the test ended or timed out`);
    if (clock.now() - start >= within) {
      throw new DeadlineError(`gave up waiting for ${what} after ${within} ms of clock time${state}`);
    }
    await new Promise<void>((resolve) => clock.setTimeout(resolve, step));
  }
}

/** uvu's `Test`, with a deadline around every body and hook failures recorded. */
export interface Test {
  (name: string, body: Body): void;
  (name: string, options: TestOptions, body: Body): void;
  only(name: string, body: Body): void;
  only(name: string, options: TestOptions, body: Body): void;
  skip(name?: string, ...rest: unknown[]): void;
  before: Hook;
  after: Hook;
  run(): void;
}

interface Hook {
  (hook: () => unknown): void;
  each(hook: () => unknown): void;
}

/** A uvu suite whose tests run under deadlines. */
export function suite(title = ""): Test {
  const inner = uvuSuite(title);
  const wrap = (name: string, a: TestOptions | Body, b?: Body) => {
    const options = typeof a === "function" ? {} : a;
    const body = typeof a === "function" ? a : b!;
    const ms = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    const seed = options.seed === undefined ? "" : ` (seed ${options.seed})`;
    const label = `test "${title ? `${title}: ` : ""}${name}"${seed}`;
    return async () => {
      await withDeadline(label, ms, (signal) => body({ signal, name }));
    };
  };
  const guard = (hook: HookFailure["hook"], fn: () => unknown) => async () => {
    try {
      await fn();
    } catch (error) {
      hookFailures.push({ suite: title, hook, error });
      // A throwing `before` makes uvu skip the suite's tests (run.ts counts them failed); a
      // throwing `after` would escape uvu's runner and end the run, so it is only recorded.
      if (hook === "before") throw error;
    }
  };
  const t = ((name: string, a: TestOptions | Body, b?: Body) => inner(name, wrap(name, a, b))) as Test;
  t.only = ((name: string, a: TestOptions | Body, b?: Body) => inner.only(name, wrap(name, a, b))) as Test["only"];
  t.skip = (name?: string) => inner.skip(name);
  // A throwing `each` hook already fails its test in uvu, so those pass through unchanged.
  t.before = Object.assign((fn: () => unknown) => inner.before(guard("before", fn)), {
    each: (fn: () => unknown) => inner.before.each(async () => void (await fn())),
  });
  t.after = Object.assign((fn: () => unknown) => inner.after(guard("after", fn)), {
    each: (fn: () => unknown) => inner.after.each(async () => void (await fn())),
  });
  t.run = () => inner.run();
  return t;
}

/** The default suite, as uvu's `test`: each file registers its tests, then calls `test.run()`. */
export const test: Test = suite();
