/**
 * What `npm run bench:nats` reports: the throughput table, the open-loop latency table, and
 * every target as a ratio measured in the same run, as text or as one JSON document.
 *
 * @module
 */
import type { Result } from "./nats-cases.ts";
import type { OpenLoopResult } from "./nats-open-loop.ts";
import { type Column, formatFixed, formatInteger, renderTable } from "./table.ts";

/** A ratio of two cases of the run and the bound it should keep. */
export interface Target {
  readonly name: string;
  /** The ratio measured. */
  readonly value: number;
  /** `min`: value >= bound is met; `max`: value <= bound is met. */
  readonly kind: "min" | "max";
  readonly bound: number;
  readonly met: boolean;
  /** Why the ratio may not mean what its name says, if it may not. */
  readonly note?: string;
}

/** A ratio reported for context, with no bound. */
export interface Ratio {
  readonly name: string;
  readonly value: number;
}

/** Everything a run measured, and how it ran. */
export interface NatsBenchReport {
  readonly date: string;
  readonly runtime: string;
  readonly server: string;
  readonly records: number;
  readonly rounds: number;
  readonly partitions: number;
  readonly replicas: number;
  readonly window: number;
  readonly throughput: readonly Result[];
  readonly openLoop: readonly OpenLoopResult[];
  readonly targets: readonly Target[];
  readonly context: readonly Ratio[];
}

const target = (name: string, value: number, kind: "min" | "max", bound: number): Target => ({
  name,
  value,
  kind,
  bound,
  met: kind === "min" ? value >= bound : value <= bound,
});

/**
 * The targets, each against the raw baseline that does the same work on the wire: at-least-once
 * in message framing against windowed `js.publish`; exactly-once in message framing (one publish
 * in flight per partition, to keep order through failover) against `js.publish` with message ids
 * and one in flight per partition; batch framing against windowed `js.publish`, record for
 * record; and acktor's open-loop p99 against raw's.
 */
export function targetsOf(rows: readonly Result[], openLoop: readonly OpenLoopResult[]): Target[] {
  const rate = (id: string): number => rows.find((r) => r.id === id)?.recordsPerSec ?? Number.NaN;
  const p99 = (id: string): number => openLoop.find((r) => r.id === id)?.p99 ?? Number.NaN;
  return [
    target(
      "message at-least-once / raw js.publish (same window)",
      rate("acktor-message-alo") / rate("raw-window"),
      "min",
      0.9,
    ),
    target(
      "message exactly-once / raw js.publish + msgID, 1 in flight per partition",
      rate("acktor-message-eos") / rate("raw-msgid-per-partition"),
      "min",
      0.85,
    ),
    target("batch at-least-once / raw js.publish", rate("acktor-batch-alo") / rate("raw-window"), "min", 10),
    target("batch exactly-once / raw js.publish", rate("acktor-batch-eos") / rate("raw-window"), "min", 10),
    target("message at-most-once / raw nc.publish", rate("acktor-message-amo") / rate("raw-core"), "min", 0.9),
    {
      ...target(
        "open loop: acktor p99 / raw js.publish p99",
        p99("acktor-open-loop") / p99("raw-open-loop"),
        "max",
        1.5,
      ),
      ...behind(openLoop),
    },
  ];
}

/**
 * A publisher acked fewer records per second than were offered: it fell behind, its queue
 * grew for the whole run, and its p99 is that queue's length, not publish latency.
 */
function behind(openLoop: readonly OpenLoopResult[]): { note?: string } {
  const slow = openLoop.filter((r) => r.ackedPerSec < 0.95 * r.offeredPerSec).map((r) => r.case);
  return slow.length === 0 ? {} : {
    note: `${slow.join(" and ")} fell behind the offered rate: a queueing delay, not a latency comparison`,
  };
}

/** Ratios that explain the targets: what the server's dedup and the per-partition order cost. */
export function contextOf(rows: readonly Result[]): Ratio[] {
  const rate = (id: string): number => rows.find((r) => r.id === id)?.recordsPerSec ?? Number.NaN;
  return [
    { name: "raw js.publish + msgID / raw js.publish (window)", value: rate("raw-msgid-window") / rate("raw-window") },
    {
      name: "raw + msgID 1 in flight per partition / raw + msgID window",
      value: rate("raw-msgid-per-partition") / rate("raw-msgid-window"),
    },
    {
      name: "message exactly-once / raw js.publish + msgID (window)",
      value: rate("acktor-message-eos") / rate("raw-msgid-window"),
    },
  ];
}

/** The lowest and highest round's records/s: "9,117–16,983". */
function spread(r: Result): string {
  if (r.rounds === undefined || r.rounds.length < 2) return "-";
  return `${formatInteger(Math.min(...r.rounds))}–${formatInteger(Math.max(...r.rounds))}`;
}

/** The report as text lines: what ran, both tables, the targets. */
export function reportLines(report: NatsBenchReport): string[] {
  const raw = report.throughput.find((r) => r.id === "raw-window")!;
  const throughput: Column<Result>[] = [
    { header: "case", cell: (r) => r.case, align: "left" },
    { header: "records/s", cell: (r) => formatInteger(r.recordsPerSec) },
    { header: "vs raw js.publish", cell: (r) => formatFixed(r.recordsPerSec / raw.recordsPerSec, 2) },
    { header: "rounds min–max", cell: spread },
    { header: "ack p50 ms", cell: (r) => formatFixed(r.ackP50, 2) },
    { header: "ack p99 ms", cell: (r) => formatFixed(r.ackP99, 2) },
  ];
  const latency: Column<OpenLoopResult>[] = [
    { header: "open loop", cell: (r) => r.case, align: "left" },
    { header: "offered/s", cell: (r) => formatInteger(r.offeredPerSec) },
    { header: "acked/s", cell: (r) => formatInteger(r.ackedPerSec) },
    { header: "send→ack p50 ms", cell: (r) => formatFixed(r.p50, 2) },
    { header: "send→ack p99 ms", cell: (r) => formatFixed(r.p99, 2) },
  ];
  const bound = (t: Target): string => `${t.kind === "min" ? ">=" : "<="} ${t.bound}x`;
  return [
    `acktor over NATS JetStream (${report.server}), ${report.runtime}, ${report.records} records of 100 bytes, ` +
    `${report.partitions} partitions, replicas ${report.replicas}, window ${report.window}, ${report.rounds} rounds`,
    "",
    renderTable(throughput, report.throughput),
    "",
    renderTable(latency, report.openLoop),
    "",
    ...report.targets.map((t) =>
      `${t.met ? "met    " : "NOT met"}  ${t.name}: ${t.value.toFixed(2)}x (target ${bound(t)})` +
      (t.note === undefined ? "" : `; NB ${t.note}`)
    ),
    ...report.context.map((r) => `         ${r.name}: ${r.value.toFixed(2)}x`),
  ];
}
