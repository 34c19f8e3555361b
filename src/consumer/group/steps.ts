/**
 * A fetched batch's way through the consumer machine: the machine's state names the next
 * step (`committing` or `processing`), and the commit strategy, a guard in the machine,
 * decides their order. Each strategy's path lives in its own module; this one dispatches.
 *
 * @module
 */
import type { Mode } from "../consumer.ts";
import type { Cursor } from "../cursor.ts";
import { handOutForAcks, processThenCommit } from "./after-processing.ts";
import { commitBeforeProcessing, processCommitted } from "./before-processing.ts";
import type { Fetch, StrategyHost } from "./strategy-host.ts";
import { processInTransaction } from "./transactional.ts";

/** The machine events a batch's steps send. */
export type StepEvent = "COMMIT" | "REDELIVER" | "DONE" | "ABORTED";

/** What the steps need of the consumer besides what its strategies use. */
export interface StepsHost extends StrategyHost {
  /** The machine's state, e.g. `"processing"`. */
  state(): string;
  send(event: StepEvent): void;
  /** Commits every processed offset ahead of its committed one; false when fenced. */
  commitProcessed(): Promise<boolean>;
  /** One fetch from each other ready partition, for a transaction to take along. */
  fetchOthers(first: Cursor, mode: Mode): Promise<Fetch[]>;
}

/** Takes a fetched batch through the steps the machine's state names, until it is back in `fetching` (or interrupted). */
export async function runSteps(host: StepsHost, fetch: Fetch, mode: Mode, signal: AbortSignal): Promise<void> {
  for (;;) {
    switch (host.state()) {
      case "committing": {
        const before = host.config.commit === "before-processing";
        const landed = before ? await commitBeforeProcessing(host, fetch) : await host.commitProcessed();
        // A fenced commit leaves the loop's next turn to rebalance or rejoin from here.
        if (!landed) return;
        host.send("DONE");
        break;
      }
      case "processing": {
        const ended = await process(host, fetch, mode, signal);
        if (ended !== null) host.send(ended);
        break;
      }
      default:
        return;
    }
  }
}

/** Hands out a batch under the strategy; the event that says how handling ended (a transaction sends its own). */
async function process(host: StepsHost, fetch: Fetch, mode: Mode, signal: AbortSignal): Promise<StepEvent | null> {
  switch (host.config.commit) {
    case "before-processing":
      await processCommitted(host, fetch, mode, signal);
      return "COMMIT";
    case "transactional": {
      // One transaction takes a fetch from every ready partition: its fixed cost (add
      // partitions, offsets, markers) is then shared by all of them.
      const batches = [fetch, ...(await host.fetchOthers(fetch.cursor, mode))];
      const committed = await processInTransaction(host, batches, mode, signal, () => host.send("COMMIT"));
      host.send(committed ? "DONE" : "ABORTED");
      return null;
    }
    default:
      if (mode.receiver !== undefined) {
        await handOutForAcks(host, fetch, mode.receiver, signal);
        return "COMMIT";
      }
      return (await processThenCommit(host, fetch, mode, signal)) ? "REDELIVER" : "COMMIT";
  }
}
