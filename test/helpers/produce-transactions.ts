/**
 * The exactly-once producer side with transactions: chunks of records, each in a transaction
 * retried until it commits, as an application would (a failed transaction is retried by a new
 * producer instance with the same transactional id, which fences the old one and aborts
 * whatever it left open). Aborted and stalled attempts are scheduled; a zombie is fenced.
 */
import {
  type ChaosTransport,
  createProducer,
  type Producer,
  type ProducerConfig,
  type VirtualClock,
} from "../../src/index.ts";
import type { History } from "./history.ts";
import type { ReplicaStops } from "./replica-stops.ts";
import type { FaultCounts, Schedule, Transactions } from "./schedule.ts";

export interface TxContext {
  readonly clock: VirtualClock;
  readonly transport: ChaosTransport;
  readonly topic: string;
  readonly config: ProducerConfig;
  readonly history: History;
  readonly key: (i: number) => string;
  readonly stops: ReplicaStops;
  readonly counts: FaultCounts;
  readonly violations: string[];
}

/** Attempts of one transaction before the run reports it stuck. */
const MAX_ATTEMPTS = 200;

export async function produceTransactions(s: Schedule, tx: Transactions, c: TxContext): Promise<void> {
  const make = (): Producer => createProducer(c.transport, c.topic, c.config);
  const label = `[${s.semantic} seed ${s.seed}]`;
  let producer = make();
  let attempt = 0;
  for (let first = 0, txn = 0; first < s.records; txn++) {
    const last = Math.min(s.records, first + tx.size);
    if (tx.zombieAt === txn) producer = await takeOver(producer, make, s.records, c, label);
    for (let tries = 0;; tries++) {
      const thisAttempt = attempt++;
      if (tries > MAX_ATTEMPTS) {
        c.violations.push(`${label} transaction ${txn} never committed in ${MAX_ATTEMPTS} attempts`);
        return;
      }
      try {
        await producer.beginTransaction();
        for (let i = first; i < last; i++) {
          c.stops.step(i);
          const out = await producer.send(c.key(i), `r${i}`);
          if (tries === 0) c.history.send(i, { key: c.key(i), partition: out.partition });
        }
        if (tx.stallAt.includes(thisAttempt)) {
          c.counts.stall++;
          await new Promise<void>((resolve) => c.clock.setTimeout(resolve, tx.timeoutMs + 1_000));
        }
        if (tx.abortAt.includes(thisAttempt)) {
          c.counts.abort++;
          await producer.abort();
          continue;
        }
        await producer.commit();
        break;
      } catch {
        // A failed transaction: abandon this instance, as a restarted process would.
        const old = producer;
        producer = make();
        void old.close().catch(() => {});
      }
    }
    first = last;
  }
  await producer.close().catch(() => {});
}

/**
 * The current instance opens a transaction and writes into it; a new instance with the same
 * id takes over (fencing it and aborting that transaction); the old one wakes up and tries to
 * write and commit: it must be refused. (An instance that never initialised is no zombie: its
 * first init would legitimately fence the newer one.) Returns the new instance.
 */
async function takeOver(
  zombie: Producer,
  make: () => Producer,
  records: number,
  c: TxContext,
  label: string,
): Promise<Producer> {
  let initialised = true;
  try {
    await zombie.beginTransaction();
    await zombie.send("zombie", `z${records}`);
  } catch {
    initialised = false;
  }
  const producer = make();
  await producer.beginTransaction().catch(() => {});
  await producer.abort().catch(() => {});
  if (initialised) {
    c.counts.zombie++;
    if (await zombieCommits(zombie, records + 1)) {
      c.violations.push(`${label} zombie producer not fenced: it wrote and committed`);
    }
  }
  await zombie.close().catch(() => {});
  return producer;
}

/**
 * Whether a fenced zombie managed to write and commit. Any refusal (`ProducerFencedError`, or
 * another) kept it out; the visible log is judged separately (a `z` value there is a phantom).
 */
async function zombieCommits(zombie: Producer, id: number): Promise<boolean> {
  try {
    const out = await zombie.send("zombie", `z${id}`);
    await out.wait();
    await zombie.commit();
    return true;
  } catch {
    return false;
  }
}
