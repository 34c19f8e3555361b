/**
 * `macrotask()`, and the MessageChannel one browsers get, run callbacks as macrotasks: after
 * every pending microtask, in call order, with microtasks drained between two callbacks.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { channelMacrotask, macrotask } from "../src/runtime/macrotask.ts";

type Schedule = (fn: () => void) => unknown;

/** A log of what ran in which order: microtask chains against two scheduled callbacks. */
function ordering(schedule: Schedule): Promise<string[]> {
  const log: string[] = [];
  return new Promise((resolve) => {
    schedule(() => {
      log.push("task 1");
      queueMicrotask(() => log.push("micro queued by task 1"));
    });
    schedule(() => {
      log.push("task 2");
      resolve(log);
    });
    // A chain three microtasks deep, and a resolved promise's callback: all before task 1.
    queueMicrotask(() => {
      log.push("micro 1");
      queueMicrotask(() => {
        log.push("micro 2");
        queueMicrotask(() => log.push("micro 3"));
      });
    });
    void Promise.resolve().then(() => log.push("then"));
    log.push("sync");
  });
}

const EXPECTED = ["sync", "micro 1", "then", "micro 2", "micro 3", "task 1", "micro queued by task 1", "task 2"];

test("macrotask: after every pending microtask, in call order, microtasks drained in between", async () => {
  assert.equal(await ordering(macrotask), EXPECTED);
});

// Deno never gets the channel (it has setImmediate, and macrotask.ts would not pick a port
// there): its ports deliver through promise callbacks, which can run between microtasks.
const deno = (globalThis as { Deno?: unknown }).Deno !== undefined;

test("the MessageChannel macrotask (browsers) orders the same way", async () => {
  if (deno) return;
  assert.equal(await ordering(channelMacrotask()), EXPECTED);
});

test("the MessageChannel macrotask keeps working after it went idle, and from inside its own callbacks", async () => {
  const schedule = channelMacrotask();
  const ran: number[] = [];
  for (let round = 0; round < 3; round++) {
    // Idle between rounds: the channel was closed and must be opened again.
    await new Promise<void>((resolve) => setTimeout(resolve, 1));
    await new Promise<void>((resolve) => {
      let n = 0;
      const step = (): void => {
        ran.push(round * 100 + n);
        if (++n < 20) schedule(step);
        else resolve();
      };
      schedule(step);
    });
  }
  assert.equal(ran, [0, 100, 200].flatMap((base) => Array.from({ length: 20 }, (_, i) => base + i)));
});

test.run();
