/**
 * How both benchmarks (producer and consumer) order their passes and summarise them.
 *
 * Order of work: `repeat` rounds, each running every case once, each round starting one case
 * later. Why: on a small VM successive passes of the same code differ by ±20% (GC
 * scavenges, JIT tiering of code that runs once per batch, neighbours); interleaving the
 * rounds keeps a case that runs early from always meeting colder code than one that runs
 * late, and no case always runs right after the same neighbour (whose garbage it would
 * collect). A case's reported row is its median-throughput round (all its fields from that
 * one round), with the min and max beside it: the median is robust to one disturbed round
 * without favouring the luckiest.
 *
 * @module
 */

/** What every pass reports: its throughput. */
export interface Pass {
  readonly recordsPerSec: number;
}

/**
 * Runs `repeat` interleaved rounds of every case; returns each case's passes, in round
 * order, indexed like `cases`. Before each pass it collects garbage when the runtime
 * exposes `gc` (node --expose-gc, deno --v8-flags=--expose-gc), so each pass starts on a
 * heap free of the previous pass's records.
 */
export async function interleavedRounds<C, R extends Pass>(
  cases: readonly C[],
  repeat: number,
  run: (spec: C) => Promise<R>,
  progress: (round: number, result: R) => void,
): Promise<R[][]> {
  const rounds: R[][] = cases.map(() => []);
  for (let round = 0; round < repeat; round++) {
    for (let k = 0; k < cases.length; k++) {
      const i = (k + round) % cases.length;
      (globalThis as { gc?: () => void }).gc?.();
      const result = await run(cases[i]!);
      rounds[i]!.push(result);
      progress(round, result);
    }
  }
  return rounds;
}

/** A case's reported row: its median-throughput pass, plus the spread over all passes. */
export type Summary<R extends Pass> = R & {
  readonly minRecordsPerSec: number;
  readonly maxRecordsPerSec: number;
  readonly rounds: number;
};

/** The lower median for an even count: never the better of two middle rounds. */
function lowerMedian<T>(sorted: readonly T[]): T {
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

export function summarise<R extends Pass>(passes: readonly R[]): Summary<R> {
  const sorted = [...passes].sort((a, b) => a.recordsPerSec - b.recordsPerSec);
  return {
    ...lowerMedian(sorted),
    minRecordsPerSec: sorted[0]!.recordsPerSec,
    maxRecordsPerSec: sorted[sorted.length - 1]!.recordsPerSec,
    rounds: passes.length,
  };
}

/** records/s of one case over another's: the median of the per-round ratios, and their range. */
export interface Ratio {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/**
 * Paired by round: the cases of a round run back to back, so a slow spell of the machine
 * hits both. The median of the per-round ratios is steadier than a ratio of medians.
 */
export function pairedRatio(top: readonly Pass[], bottom: readonly Pass[]): Ratio {
  const ratios = bottom.map((r, i) => top[i]!.recordsPerSec / r.recordsPerSec).sort((a, b) => a - b);
  return { median: lowerMedian(ratios), min: ratios[0]!, max: ratios[ratios.length - 1]! };
}

/** "0.853 (rounds 0.77..1.27)". */
export function ratioText(r: Ratio): string {
  return `${r.median.toFixed(3)} (rounds ${r.min.toFixed(2)}..${r.max.toFixed(2)})`;
}
