/**
 * The soak benchmark (issue 13, "A broker that runs for days"): N 100-byte records through
 * the embedded broker, with log retention on, an idempotent producer and a consumer group
 * running concurrently, under seeded faults, sampling RSS and heap every second.
 *
 *   npm run bench -- --soak [--records N] [--fault-rate 0.01] [--retention-mib 64] [--json]
 *   npm run bench -- --soak --producer-only --records 10000000
 *
 * - Producer: exactly-once (idempotent), so the broker's dedup table is exercised; the
 *   benchmark's shared settings (128 KiB batches, 5 in flight, 20 ms request timeout, fixed
 *   1 ms retries) and the default `bufferSize` (32 MiB). `await send()` per record, so the
 *   producer is held back by its buffer: memory is bounded by backpressure, not by N.
 * - Consumer: one group member, `after-processing` commits (at-least-once on the read side),
 *   read-uncommitted, `autoOffsetReset: "earliest"`. It checks every record against a bitmap
 *   of sequence numbers (N bits, allocated once): at the end, records never read are lost
 *   unless retention deleted them first (the consumer's offset resets are counted and
 *   reported), and records read twice are redeliveries.
 * - Faults: `--fault-rate` split evenly between dropped requests and dropped responses, on
 *   the producer's produce requests and on the consumer's fetches (50 ms fetch timeout).
 * - Clock: the real one. The point is wall-clock throughput and RSS over time; a
 *   VirtualClock would make each fault's 20 ms timeout free, but then something must drive
 *   it, and a run's seconds would no longer be seconds. With 5 batches in flight, a timed-out
 *   request stalls only its partition's pipeline for 20 ms.
 * - Records are made on the fly, 1,024 at a time in one fresh buffer, so the input costs no
 *   memory of its own beyond what the producer and broker still reference.
 *
 * @module
 */
import process from "node:process";
import { defineCommand, readOptions } from "../src/cli/options.ts";
import {
  chaos,
  type ChaosTransport,
  createConsumer,
  createProducer,
  EmbeddedBroker,
  exactlyOnce,
  GroupConsumer,
} from "../src/internal.ts";
import { PARTITIONS, RETRY, SHARED_CONFIG } from "./cases.ts";
import { RECORD_BYTES, sequenceOf } from "./records.ts";
import { machine, runtime } from "./runtime.ts";

const MiB = 1024 * 1024;
const TOPIC = "soak";
const GROUP = "soak-group";
const CHUNK = 1024;
/** The producer's default `bufferSize` (32 MiB), stated here so it can be reported. */
const BUFFER_SIZE = 32 * MiB;

const command = defineCommand({
  usage: "npm run bench -- --soak",
  summary: "Soak: N records through broker (with retention), producer and consumer group; RSS and heap per second.",
  options: {
    soak: { kind: "boolean", help: "run the soak benchmark (this command)" },
    records: { kind: "integer", default: 50_000_000, min: 1, help: "records to push through" },
    "fault-rate": {
      kind: "string",
      default: "0.01",
      help: "fraction of produce and fetch requests lost (half requests, half responses)",
    },
    "retention-mib": { kind: "integer", default: 64, min: 1, help: "retentionBytes per partition, in MiB" },
    "producer-only": { kind: "boolean", help: "the producer alone (no consumer): peak RSS against bufferSize" },
    seed: { kind: "integer", default: 42, help: "seed of the injected faults" },
    every: {
      kind: "integer",
      default: null,
      help: "print one table row per N samples (about a second each); default ~20 rows in all",
    },
    json: { kind: "boolean", help: "one JSON object per sample and a summary object on stdout; report on stderr" },
  },
});

export interface SoakSample {
  readonly t: number;
  readonly produced: number;
  readonly consumed: number;
  /** Records produced (acked by `send()`) and consumed in the second before this sample. */
  readonly producedPerSec: number;
  readonly consumedPerSec: number;
  readonly rssMiB: number;
  readonly heapMiB: number;
  /** Key and value bytes the broker's log holds (over all partitions). */
  readonly logMiB: number;
}

export interface SoakResult {
  readonly records: number;
  readonly producerOnly: boolean;
  readonly seconds: number;
  readonly samples: SoakSample[];
  readonly baselineRssMiB: number;
  readonly read: number;
  readonly distinct: number;
  readonly lost: number;
  readonly redelivered: number;
  readonly offsetResets: number;
  readonly sendFailures: number;
  readonly faults: { droppedRequests: number; droppedResponses: number };
  readonly broker: ReturnType<EmbeddedBroker["stats"]>;
}

function memory(): { rssMiB: number; heapMiB: number } {
  // Node, Bun and Deno all have it; a browser bundle's `process` shim may not.
  if (typeof process.memoryUsage !== "function") return { rssMiB: 0, heapMiB: 0 };
  const m = process.memoryUsage();
  return { rssMiB: m.rss / MiB, heapMiB: m.heapUsed / MiB };
}

function chaosFor(broker: EmbeddedBroker, rate: number, seed: number, api: "produce" | "fetch"): ChaosTransport {
  return chaos(broker.transport(), { seed, dropRequest: rate / 2, dropResponse: rate / 2, apis: [api] });
}

/** Runs one soak; `onSample` sees each one-second sample as it is taken. */
export async function runSoak(options: {
  records: number;
  faultRate: number;
  retentionBytes: number;
  producerOnly: boolean;
  seed: number;
  onSample?: (sample: SoakSample) => void;
}): Promise<SoakResult> {
  const { records, faultRate, producerOnly, seed } = options;
  (globalThis as { gc?: () => void }).gc?.();
  const baselineRssMiB = memory().rssMiB;

  const broker = new EmbeddedBroker();
  broker.createTopic(TOPIC, {
    partitions: PARTITIONS,
    replicationFactor: 1,
    retentionBytes: options.retentionBytes,
  });
  const producerTransport = chaosFor(broker, faultRate, seed, "produce");
  const consumerTransport = chaosFor(broker, faultRate, seed + 1, "fetch");
  const producer = createProducer(producerTransport, TOPIC, {
    ...SHARED_CONFIG,
    bufferSize: BUFFER_SIZE,
    deliverySemantic: exactlyOnce({ retry: RETRY }),
  });

  const seen = new Uint8Array(Math.ceil(records / 8));
  let produced = 0, read = 0, distinct = 0, redelivered = 0, sendFailures = 0;
  const started = performance.now();
  const samples: SoakSample[] = [];
  let last = { produced: 0, consumed: 0, at: started };
  const sample = () => {
    const now = performance.now();
    const dt = (now - last.at) / 1000;
    const s: SoakSample = {
      t: Math.round((now - started) / 1000),
      produced,
      consumed: read,
      producedPerSec: dt > 0 ? (produced - last.produced) / dt : 0,
      consumedPerSec: dt > 0 ? (read - last.consumed) / dt : 0,
      ...memory(),
      logMiB: broker.stats().bytes / MiB,
    };
    last = { produced, consumed: read, at: now };
    samples.push(s);
    options.onSample?.(s);
  };
  const timer = setInterval(sample, 1000);

  const consumer = producerOnly ? null : createConsumer(consumerTransport, TOPIC, {
    groupId: GROUP,
    commit: "after-processing",
    isolation: "read-uncommitted",
    autoOffsetReset: "earliest",
    maxPollRecords: 500,
    requestTimeout: 50,
    pollIntervalMs: 5,
  });
  const stop = new AbortController();
  const consuming = consumer?.runBatches((batch) => {
    for (const record of batch.records) {
      const seq = sequenceOf(record.value);
      const byte = seq >>> 3, bit = 1 << (seq & 7);
      if (seen[byte]! & bit) redelivered++;
      else {
        seen[byte]! |= bit;
        distinct++;
      }
      read++;
    }
  }, { signal: stop.signal });

  // Let metadata and the producer id arrive before the loop (one turn, as in cases.ts).
  await new Promise((resolve) => setTimeout(resolve, 0));
  for (let base = 0; base < records; base += CHUNK) {
    const n = Math.min(CHUNK, records - base);
    const buffer = new Uint8Array(n * RECORD_BYTES).fill(0x61);
    for (let i = 0; i < n; i++) {
      const seq = base + i, o = i * RECORD_BYTES;
      const lo = seq >>> 0, hi = Math.floor(seq / 2 ** 32);
      buffer[o] = lo & 0xff;
      buffer[o + 1] = (lo >>> 8) & 0xff;
      buffer[o + 2] = (lo >>> 16) & 0xff;
      buffer[o + 3] = lo >>> 24;
      buffer[o + 4] = hi & 0xff;
      buffer[o + 5] = (hi >>> 8) & 0xff;
      buffer[o + 6] = (hi >>> 16) & 0xff;
      buffer[o + 7] = hi >>> 24;
    }
    for (let i = 0; i < n; i++) {
      try {
        await producer.send(null, buffer.subarray(i * RECORD_BYTES, (i + 1) * RECORD_BYTES));
        produced++;
      } catch {
        sendFailures++;
      }
    }
  }
  await producer.flush().catch(() => {
    sendFailures++;
  });

  if (consumer !== null) {
    // Done once the group's committed offsets reach every partition's end.
    const caughtUp = () =>
      Array.from(
        { length: PARTITIONS },
        (_, p) => broker.committedOffset(GROUP, TOPIC, p) === broker.partition(TOPIC, p).log.endOffset,
      ).every(Boolean);
    while (!caughtUp()) await new Promise((resolve) => setTimeout(resolve, 20));
    stop.abort();
    await consuming;
  }
  sample();
  clearInterval(timer);
  const seconds = (performance.now() - started) / 1000;
  broker.cleanup();
  const result: SoakResult = {
    records,
    producerOnly,
    seconds,
    samples,
    baselineRssMiB,
    read,
    distinct,
    lost: producerOnly ? 0 : records - distinct,
    redelivered,
    offsetResets: consumer instanceof GroupConsumer ? consumer.offsetResets : 0,
    sendFailures,
    faults: {
      droppedRequests: producerTransport.stats.droppedRequests + consumerTransport.stats.droppedRequests,
      droppedResponses: producerTransport.stats.droppedResponses + consumerTransport.stats.droppedResponses,
    },
    broker: broker.stats(),
  };
  await consumer?.close();
  await producer.close().catch(() => {});
  await producerTransport.close();
  await consumerTransport.close();
  return result;
}

/** The mean of `key` over samples with `from <= t < to`. */
function meanRate(samples: readonly SoakSample[], key: "producedPerSec" | "consumedPerSec", from: number, to: number) {
  const window = samples.filter((s) => s.t > from && s.t <= to);
  return window.length === 0 ? 0 : window.reduce((a, s) => a + s[key], 0) / window.length;
}

export interface SoakVerdict {
  readonly warmRssMiB: number;
  readonly maxRssMiB: number;
  readonly lastRssMiB: number;
  readonly peakRssMiB: number;
  readonly flat: boolean;
  readonly boundMiB: number;
  readonly bounded: boolean;
  readonly windowSeconds: number;
  readonly firstRate: number;
  readonly lastRate: number;
  readonly rateRatio: number;
}

/**
 * Judges a run: RSS after warm-up (the first sample once 10% of the records are through and
 * the log has filled to 90% of its retention, and, in runs of 2 minutes or more, 30 s in)
 * against the largest and the last after it;
 * throughput in the last window against the first (one minute each, or a quarter of the
 * run if it is shorter than four minutes).
 */
export function verdict(result: SoakResult, retentionBytes: number): SoakVerdict {
  const { samples } = result;
  const key = result.producerOnly ? "produced" : "consumed";
  const rateKey = result.producerOnly ? "producedPerSec" : "consumedPerSec";
  const total = samples.at(-1)?.t ?? 0;
  const warmAt = total >= 120 ? 30 : 0;
  const full = (retentionBytes * PARTITIONS * 0.9) / MiB;
  const warm = samples.find((s) => s[key] >= result.records / 10 && s.t >= warmAt && s.logMiB >= full) ??
    samples.find((s) => s[key] >= result.records / 10 && s.t >= warmAt) ?? samples[0]!;
  const after = samples.filter((s) => s.t >= warm.t);
  const maxRssMiB = Math.max(...after.map((s) => s.rssMiB));
  const peakRssMiB = Math.max(...samples.map((s) => s.rssMiB));
  const lastRssMiB = samples.at(-1)!.rssMiB;
  const windowSeconds = Math.max(1, Math.min(60, Math.floor(total / 4)));
  // The final sample covers the drain after the last send; leave it out of the rates.
  const end = samples.length > 1 ? samples.at(-2)!.t : total;
  const firstRate = meanRate(samples, rateKey, 0, windowSeconds);
  const lastRate = meanRate(samples, rateKey, end - windowSeconds, end);
  const boundMiB = result.baselineRssMiB + (BUFFER_SIZE + retentionBytes * PARTITIONS) / MiB;
  return {
    warmRssMiB: warm.rssMiB,
    maxRssMiB,
    lastRssMiB,
    peakRssMiB,
    flat: maxRssMiB <= warm.rssMiB * 1.2,
    boundMiB,
    bounded: peakRssMiB <= boundMiB,
    windowSeconds,
    firstRate,
    lastRate,
    rateRatio: firstRate > 0 ? lastRate / firstRate : 0,
  };
}

const pad = (v: string, w: number) => v.padStart(w);
const int = (v: number) => Math.round(v).toLocaleString("en-US");

export function sampleRow(s: SoakSample, producerOnly: boolean): string {
  const rate = producerOnly ? s.producedPerSec : s.consumedPerSec;
  return `${pad(String(s.t), 6)} ${pad(int(s.produced), 12)} ${pad(producerOnly ? "-" : int(s.consumed), 12)} ${
    pad(int(rate), 10)
  } ${pad(s.rssMiB.toFixed(0), 7)} ${pad(s.heapMiB.toFixed(0), 7)} ${pad(s.logMiB.toFixed(0), 7)}`;
}

export const SAMPLE_HEADER = `${pad("t (s)", 6)} ${pad("produced", 12)} ${pad("consumed", 12)} ${
  pad("records/s", 10)
} ${pad("RSS MB", 7)} ${pad("heap MB", 7)} ${pad("log MB", 7)}`;

/** The `--soak` command: parses `argv`, runs, prints. */
export async function soakMain(argv: readonly string[]): Promise<void> {
  const options = readOptions(command, argv);
  const faultRate = Number(options["fault-rate"]);
  if (!(faultRate >= 0 && faultRate <= 1)) {
    console.error(`--fault-rate must be a number in [0, 1], got ${options["fault-rate"]}`);
    process.exit(2);
  }
  const producerOnly = options["producer-only"];
  const retentionBytes = options["retention-mib"] * MiB;
  const log = options.json ? console.error : console.log;
  log(
    `soak: ${int(options.records)} x ${RECORD_BYTES}-byte records, ${PARTITIONS} partitions, retentionBytes ${
      options["retention-mib"]
    } MiB/partition, producer exactly-once (idempotent), bufferSize ${BUFFER_SIZE / MiB} MiB, ${
      producerOnly ? "no consumer" : "consumer group after-processing"
    }, ${faultRate * 100}% faults, real clock`,
  );
  log(`${runtime()}, ${machine()}`);
  log("");
  log(SAMPLE_HEADER);
  const every = options.every;
  let taken = 0;
  const result = await runSoak({
    records: options.records,
    faultRate,
    retentionBytes,
    producerOnly,
    seed: options.seed,
    onSample: (s) => {
      if (options.json) console.log(JSON.stringify({ sample: s }));
      if (every !== null && ++taken % every === 0) log(sampleRow(s, producerOnly));
    },
  });
  if (every === null) {
    // About 20 evenly spaced rows, always with the last.
    const step = Math.max(1, Math.ceil(result.samples.length / 20));
    result.samples.forEach((s, i) => {
      if ((i + 1) % step === 0 || i === result.samples.length - 1) log(sampleRow(s, producerOnly));
    });
  } else if (taken % every !== 0) {
    log(sampleRow(result.samples.at(-1)!, producerOnly));
  }
  const v = verdict(result, retentionBytes);
  const b = result.broker;
  log("");
  log(`${int(result.records)} records in ${result.seconds.toFixed(1)} s (${int(result.records / result.seconds)}/s)`);
  if (!producerOnly) {
    log(
      `consumer: ${int(result.read)} read, ${int(result.distinct)} distinct, ${int(result.lost)} never read, ${
        int(result.redelivered)
      } redelivered, ${result.offsetResets} offset resets`,
    );
  }
  log(
    `producer: ${result.sendFailures} failed sends; faults: ${result.faults.droppedRequests} requests and ${result.faults.droppedResponses} responses dropped`,
  );
  log(
    `RSS: baseline ${result.baselineRssMiB.toFixed(0)} MB, after warm-up ${v.warmRssMiB.toFixed(0)} MB, max after ${
      v.maxRssMiB.toFixed(0)
    } MB, last ${v.lastRssMiB.toFixed(0)} MB, peak ${v.peakRssMiB.toFixed(0)} MB: ${
      v.flat ? "flat within 20%" : "NOT flat within 20%"
    }; bound baseline + bufferSize + retention = ${v.boundMiB.toFixed(0)} MB: ${v.bounded ? "within" : "ABOVE"}`,
  );
  log(
    `throughput: last ${v.windowSeconds} s ${int(v.lastRate)}/s vs first ${v.windowSeconds} s ${int(v.firstRate)}/s = ${
      v.rateRatio.toFixed(2)
    }x (target >= 0.9x)`,
  );
  log(
    `broker: ${int(b.chunks)} batches retained (${
      (b.bytes / MiB).toFixed(1)
    } MiB), ${b.producers} producer entries, ${b.dedupBatches} dedup batches, ${b.aborted} aborted entries, ${b.transactionalIds} transactional ids, ${b.idempotentProducerIds} idempotent producer ids`,
  );
  if (options.json) {
    const { samples: _, ...summary } = result;
    console.log(JSON.stringify({ summary, verdict: v }));
  }
  // Records never read are a loss unless retention deleted some before the consumer got there.
  if (result.lost > 0 && result.offsetResets === 0) process.exitCode = 1;
}
