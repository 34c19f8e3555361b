/**
 * The page side of `test/browser/run.ts`: runs the suite's files in one uvu session, counted
 * as `test/run.ts` counts it on Node (`helpers/session.ts`), and hands uvu's output and the
 * result to Node through the functions the runner exposes to the page.
 */
import { openSession, type SessionResult } from "../helpers/session.ts";

/** What `test/browser/run.ts` exposes to the page (`page.exposeFunction`). */
export interface Bridge {
  /** The files to run, of those the bundle holds. */
  acktorFiles(): Promise<string[]>;
  /** A chunk of uvu's output, for Node's stdout. */
  acktorWrite(text: string): Promise<void>;
  acktorDone(result: SessionResult): Promise<void>;
  /** The page runner itself failed. */
  acktorFailed(error: string): Promise<void>;
}

/** Runs the files of `loaders` (file name to its `import()`) that Node asks for. */
export function runInPage(loaders: Record<string, () => Promise<unknown>>): void {
  const bridge = globalThis as unknown as Bridge;
  run(bridge, loaders).catch((error: unknown) =>
    bridge.acktorFailed(error instanceof Error ? (error.stack ?? error.message) : String(error))
  );
}

async function run(bridge: Bridge, loaders: Record<string, () => Promise<unknown>>): Promise<void> {
  const files = await bridge.acktorFiles();
  // In a page uvu writes through `console.log`, and keeps the one it finds when it loads. It
  // gets one that writes to Node's stdout as uvu writes on Node, without line breaks of its
  // own; chunks go out together every 100 ms, as each trip to Node takes a while.
  let tee: ((text: string) => void) | null = null;
  let pending = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (pending !== "") void bridge.acktorWrite(pending);
    pending = "";
  };
  const log = console.log;
  console.log = (text: unknown) => {
    tee?.(String(text));
    pending += String(text);
    timer ??= setTimeout(flush, 100);
  };
  let session;
  try {
    session = await openSession();
  } finally {
    console.log = log;
  }
  for (const file of files) {
    const load = loaders[file];
    await session.add(file, load ?? (() => Promise.reject(new Error(`${file} is not in the bundle`))));
  }
  const result = await session.run({
    capture(sink) {
      tee = sink;
      return () => void (tee = null);
    },
  });
  flush();
  await bridge.acktorDone(result);
}
