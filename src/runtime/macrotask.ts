/**
 * The runtime seam for "run after the current burst of work". A linger of 0 ms sends a
 * partial batch here rather than on a microtask: a caller awaiting `send()` in a loop never
 * yields to macrotasks, so its records fill batches instead of leaving one request each.
 *
 * @module
 */

type Immediate = (fn: () => void) => unknown;

/**
 * A macrotask per call on a `MessageChannel`, for runtimes without `setImmediate` (browsers).
 * Each message is a task of its own, so microtasks drain between two callbacks as they do
 * between two `setImmediate`s, and messages arrive in the order they were posted.
 *
 * The channel is closed whenever its queue runs dry and opened again on the next call: a port
 * that is listened to keeps a server-side runtime alive (Deno's does), and a closed one does
 * not, so an idle process can still exit.
 */
export function channelMacrotask(): Immediate {
  const queue: (() => void)[] = [];
  let channel: MessageChannel | null = null;
  const run = (): void => {
    const fn = queue.shift();
    try {
      fn?.();
    } finally {
      // `fn` may have queued the next one on this channel; only an idle channel is closed.
      if (queue.length === 0 && channel !== null) {
        channel.port1.close();
        channel.port2.close();
        channel = null;
      }
    }
  };
  return (fn) => {
    queue.push(fn);
    if (channel === null) {
      channel = new MessageChannel();
      channel.port1.onmessage = run;
    }
    channel.port2.postMessage(null);
  };
}

// `setImmediate` where the runtime has it (Node, Bun, Deno 2). Otherwise, in browsers, a
// MessageChannel task: `setTimeout(fn, 0)` is clamped to 4 ms once timers nest five deep (the
// HTML spec's rule, which every browser follows), so a VirtualClock firing one timer per
// macrotask, or a producer yielding once per filled batch, would crawl at 250 steps a second.
// Not on Deno, should one lack `setImmediate`: its ports deliver messages through promise
// callbacks, so a message can run between two microtasks of the same burst, which is not a
// macrotask. `setTimeout` is the fallback there and wherever there is neither.
const g = globalThis as { setImmediate?: Immediate; MessageChannel?: unknown; Deno?: unknown };
const immediate: Immediate = typeof g.setImmediate === "function"
  ? g.setImmediate
  : typeof g.MessageChannel === "function" && g.Deno === undefined
  ? channelMacrotask()
  : (fn) => setTimeout(fn, 0);

/** Runs `fn` as a macrotask, after pending microtasks and I/O callbacks. */
export function macrotask(fn: () => void): void {
  immediate(fn);
}
