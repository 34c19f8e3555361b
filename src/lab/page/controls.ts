/// <reference lib="dom" />
/**
 * The lab's settings: what the form holds, read and written as one plain object. The
 * defaults are the demo's own, so a run with them and a seed is `npm run demo` with that seed.
 *
 * @module
 */
import type { CommitStrategy } from "../../consumer/config.ts";
import {
  DEMO_CRASHES,
  DEMO_FAULTS,
  DEMO_RECORDS,
  DEMO_RETRY,
  type DemoOptions,
  pairings,
} from "../../demo/semantics.ts";
import type { RetryStrategy } from "../../retry/policy.ts";
import type { ChaosUpdate } from "../../transport/chaos.ts";

/** Fault rates in percent, as the form shows them. */
export interface FaultPercents {
  dropRequest: number;
  dropResponse: number;
  duplicateRequest: number;
  disconnect: number;
  delay: number;
  delayMaxMs: number;
  reconnectMs: number;
}

export interface LabSettings {
  seed: number;
  records: number;
  crashes: number;
  partitions: number;
  batchKiB: number;
  faults: FaultPercents;
  maxRetries: number;
  initialDelay: number;
  maxDelay: number;
  strategy: RetryStrategy;
  /** Each column's consumer commit strategy, in the order of `pairings()`. */
  commits: CommitStrategy[];
}

const percent = (p: number | undefined): number => +((p ?? 0) * 100).toFixed(6);

/** The demo's settings, with the seed `npm run demo` defaults to. */
export function defaultSettings(): LabSettings {
  return {
    seed: 7,
    records: DEMO_RECORDS,
    crashes: DEMO_CRASHES,
    partitions: 4,
    batchKiB: 64,
    faults: {
      dropRequest: percent(DEMO_FAULTS.dropRequest),
      dropResponse: percent(DEMO_FAULTS.dropResponse),
      duplicateRequest: 0,
      disconnect: percent(DEMO_FAULTS.disconnect),
      delay: 0,
      delayMaxMs: 0,
      reconnectMs: 0,
    },
    maxRetries: DEMO_RETRY.maxRetries,
    initialDelay: DEMO_RETRY.initialDelay,
    maxDelay: DEMO_RETRY.maxDelay,
    strategy: DEMO_RETRY.strategy,
    commits: pairings("transactional").map((p) => p.commit),
  };
}

const NUMBERS = [
  "seed",
  "records",
  "crashes",
  "partitions",
  "batchKiB",
  "maxRetries",
  "initialDelay",
  "maxDelay",
] as const;
const FAULTS = Object.keys(defaultSettings().faults) as (keyof FaultPercents)[];

const field = (id: string): HTMLInputElement | HTMLSelectElement => {
  const element = document.getElementById(id);
  if (!(element instanceof HTMLInputElement || element instanceof HTMLSelectElement)) {
    throw new Error(`no field #${id}`);
  }
  return element;
};

/** Fills the form (and the columns' commit switches) with `settings`. */
export function writeSettings(settings: LabSettings): void {
  for (const key of NUMBERS) field(key).value = String(settings[key]);
  for (const key of FAULTS) field(key).value = String(settings.faults[key]);
  field("strategy").value = settings.strategy;
  settings.commits.forEach((commit, i) => (field(`commit-${i}`).value = commit));
}

/** What the form holds; throws with the field's label when a value is out of range. */
export function readSettings(): LabSettings {
  const number = (id: string): number => {
    const input = field(id) as HTMLInputElement;
    if (!input.checkValidity() || input.value.trim() === "") {
      const name = input.labels?.[0]?.textContent?.trim() ?? id;
      throw new RangeError(`${name}: ${input.validationMessage || "a number is needed"}`);
    }
    return Number(input.value);
  };
  const settings = defaultSettings();
  for (const key of NUMBERS) settings[key] = number(key);
  for (const key of FAULTS) settings.faults[key] = number(key);
  settings.strategy = field("strategy").value as RetryStrategy;
  settings.commits = settings.commits.map((_, i) => field(`commit-${i}`).value as CommitStrategy);
  return settings;
}

/** The settings as the demo takes them. The faults name only what strikes, as `DEMO_FAULTS` does. */
export function demoOptions(settings: LabSettings): DemoOptions & { faults: ChaosUpdate } {
  const f = settings.faults;
  const faults: { -readonly [K in keyof ChaosUpdate]: ChaosUpdate[K] } = {};
  for (const key of ["dropRequest", "dropResponse", "duplicateRequest", "disconnect"] as const) {
    if (f[key] > 0) faults[key] = f[key] / 100;
  }
  if (f.delay > 0) faults.delay = { probability: f.delay / 100, maxMs: f.delayMaxMs };
  if (f.reconnectMs > 0) faults.reconnectMs = f.reconnectMs;
  return {
    records: settings.records,
    seed: settings.seed,
    crashes: settings.crashes,
    partitions: settings.partitions,
    batchSize: settings.batchKiB * 1024,
    faults,
  };
}

/** The retry policy of the at-least-once and exactly-once producers. */
export function retryOf(settings: LabSettings) {
  const { maxRetries, initialDelay, maxDelay, strategy } = settings;
  return { maxRetries, initialDelay, maxDelay, strategy };
}

/**
 * The command that prints the same table, or null when a setting has no demo option (then
 * the table is the lab's own).
 */
export function demoCommand(settings: LabSettings): string | null {
  const base = defaultSettings();
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  const { seed: _s, records: _r, crashes: _c, ...rest } = settings;
  const { seed: _bs, records: _br, crashes: _bc, ...baseRest } = base;
  if (!same(rest, baseRest)) return null;
  const crashes = settings.crashes === base.crashes ? "" : ` --crashes ${settings.crashes}`;
  return `npm run demo -- --seed ${settings.seed} --records ${settings.records}${crashes}`;
}
