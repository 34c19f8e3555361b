/// <reference lib="dom" />
/**
 * One semantic's column: its producer's counters, the backoff timeline of its retries, its
 * live actors, and its consumer side with the commit-strategy switch and the crash button.
 * It draws a {@link ColumnModel}; `main.ts` calls {@link ColumnView.render} once per frame.
 *
 * @module
 */
import type { CommitStrategy } from "../../consumer/config.ts";
import type { DemoRow } from "../../demo/semantics.ts";
import type { DeliverySemantic } from "../../producer/config.ts";
import { BackoffView } from "./backoff.ts";
import { Counters } from "./counters.ts";
import { MachinesView } from "./machines-view.ts";
import type { ColumnModel } from "./model.ts";

const ABOUT: Record<DeliverySemantic["kind"], { readonly producer: string; readonly promise: string }> = {
  "at-most-once": { producer: "atMostOnce(): each batch sent once, never waited for", promise: "none processed twice" },
  "at-least-once": { producer: "atLeastOnce(retry): waits for acks, retries", promise: "none lost" },
  "exactly-once": {
    producer: "exactlyOnce({ retry }): idempotent; the consumer copies in transactions",
    promise: "output = input, once each",
  },
};

const COMMITS: readonly CommitStrategy[] = ["before-processing", "after-processing", "transactional"];

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, className = "", text = ""): HTMLElementTagNameMap[K] => {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text) element.textContent = text;
  return element;
};

export class ColumnView {
  readonly kind: DeliverySemantic["kind"];
  readonly crashButton: HTMLButtonElement;
  readonly #producer: Counters;
  readonly #consumer: Counters;
  readonly #backoff: BackoffView;
  readonly #machines: MachinesView;
  readonly #phase: HTMLElement;
  readonly #verdict: HTMLElement;
  #lastTally = 0;

  constructor(parent: HTMLElement, kind: DeliverySemantic["kind"], index: number) {
    this.kind = kind;
    const card = el("section", `column ${kind}`);
    card.setAttribute("aria-labelledby", `title-${index}`);
    const head = el("header", "column-head");
    const title = el("h2", "", kind);
    title.id = `title-${index}`;
    this.#phase = el("span", "phase", "waiting");
    title.append(" ", this.#phase);
    head.append(title, el("p", "about", ABOUT[kind].producer), el("p", "promise", `promise: ${ABOUT[kind].promise}`));

    const producer = el("div", "block");
    producer.append(el("h3", "", "Producer"));
    this.#producer = new Counters(producer, [
      { key: "sent", label: "sent", help: "records accepted by send()" },
      kind === "at-most-once"
        ? { key: "unconfirmed", label: "unconfirmed", help: "outcomes$: sent once, never acknowledged" }
        : { key: "acked", label: "delivered", help: "outcomes$: acknowledged by the broker" },
      { key: "failed", label: "failed", help: "outcomes$: failed, reported by the producer" },
      { key: "retries", label: "retries", help: "batches$: batch retries" },
      { key: "inLog", label: "in log", help: "distinct records in the topic's log" },
      { key: "lost", label: "lost", help: "records never in the log (known once the producer is done)" },
      { key: "duplicated", label: "duplicated", help: "extra copies in the log" },
    ]);

    const backoff = el("div", "block");
    backoff.append(el("h3", "", "Backoff timeline"));
    const backoffBox = el("div");
    backoff.append(backoffBox);
    this.#backoff = new BackoffView(backoffBox);

    const machines = el("div", "block");
    machines.append(el("h3", "", "Live actors by state (inspect)"));
    const machinesBox = el("div", "machines");
    machines.append(machinesBox);
    this.#machines = new MachinesView(machinesBox);

    const consumer = el("div", "block consumer");
    const consumerHead = el("div", "consumer-head");
    const label = el("label", "commit");
    const select = el("select");
    select.id = `commit-${index}`;
    for (const commit of COMMITS) select.append(new Option(commit, commit));
    label.append("Consumer commit ", select);
    this.crashButton = el("button", "crash", "Crash a consumer");
    this.crashButton.type = "button";
    this.crashButton.id = `crash-${index}`;
    this.crashButton.disabled = true;
    this.crashButton.title = "crash the running consumer instance in its handler, mid-batch; a new one takes over";
    consumerHead.append(label, this.crashButton);
    consumer.append(el("h3", "", "Consumers"), consumerHead);
    this.#consumer = new Counters(consumer, [
      { key: "processed", label: "processed", help: "distinct records processed (exactly-once: in the output)" },
      { key: "lostByConsumer", label: "lost", help: "records committed past and never processed" },
      { key: "processedTwice", label: "processed twice", help: "records processed more than once, end to end" },
      { key: "handlerReruns", label: "handler reruns", help: "records handed to a handler again" },
      { key: "crashes", label: "crashes", help: "consumer instances that crashed" },
    ]);
    this.#verdict = el("p", "verdict");
    card.append(head, producer, backoff, machines, consumer, this.#verdict);
    parent.append(card);
    this.reset(1, "");
  }

  /** Back to zero before a run whose retries wait at most `maxDelay` ms. */
  reset(maxDelay: number, phase: string): void {
    this.#phase.textContent = phase;
    this.#lastTally = -Infinity;
    this.#producer.setAll({ sent: 0, unconfirmed: 0, acked: 0, failed: 0, retries: 0, inLog: 0, lost: null });
    this.#producer.set("duplicated", 0);
    this.#consumer.setAll({ processed: 0, lostByConsumer: null, processedTwice: 0, handlerReruns: 0, crashes: 0 });
    for (const key of ["lost", "duplicated", "failed"]) this.#producer.mark(key, null);
    for (const key of ["lostByConsumer", "processedTwice"]) this.#consumer.mark(key, null);
    this.#backoff.reset(
      maxDelay,
      this.kind === "at-most-once" ? "No retries: at-most-once sends each batch once." : "No retries yet.",
    );
    this.#machines.render();
    this.#verdict.textContent = "";
    this.#verdict.className = "verdict";
    this.crashButton.disabled = true;
  }

  /** Draws the model; the consumer side is recounted at most every 100 ms (a scan of the log). */
  render(model: ColumnModel, now: number): void {
    this.#phase.textContent = `${model.phase}, ${Math.round(model.simulatedMs).toLocaleString("en-US")} ms simulated`;
    this.#producer.setAll({ ...model.producerCounts() });
    const refresh = now - this.#lastTally >= 100 || model.phase === "done";
    if (refresh) this.#lastTally = now;
    const tally = model.consumerCounts(refresh);
    this.#consumer.setAll({
      processed: tally.processed,
      lostByConsumer: model.phase === "consuming" || model.phase === "done" ? tally.lost : null,
      processedTwice: tally.processedTwice,
      handlerReruns: tally.handlerReruns,
      crashes: Math.max(0, model.instances - 1),
    });
    this.#backoff.render(model.retries);
    this.#machines.render(model.machines);
    this.crashButton.disabled = !model.crashable;
  }

  /** The run's row: the counters take its exact values, the actors their last states, and the verdict shows. */
  finish(row: DemoRow, model: ColumnModel): void {
    this.render(model, Infinity);
    this.#phase.textContent = `done, ${row.simulatedMs.toLocaleString("en-US")} ms simulated`;
    this.#producer.setAll({
      inLog: row.delivered,
      lost: row.lost,
      duplicated: row.duplicated,
      failed: row.reportedFailed,
    });
    this.#consumer.setAll({
      processed: row.processed,
      lostByConsumer: row.lostByConsumer,
      processedTwice: row.processedTwice,
      handlerReruns: row.handlerReruns,
      crashes: row.crashes.length,
    });
    this.#producer.mark("lost", row.lost > 0 ? "bad" : "good");
    this.#producer.mark("duplicated", row.duplicated > 0 ? "bad" : "good");
    this.#producer.mark("failed", row.reportedFailed > 0 ? "bad" : null);
    this.#consumer.mark("lostByConsumer", row.lostByConsumer > 0 ? "bad" : "good");
    this.#consumer.mark("processedTwice", row.processedTwice > 0 ? "bad" : "good");
    this.#verdict.textContent = row.guaranteeHeld ? `✓ kept its promise: ${ABOUT[row.semantic].promise}` : "✗ BROKEN";
    this.#verdict.className = `verdict ${row.guaranteeHeld ? "held" : "broken"}`;
    this.crashButton.disabled = true;
    if (model.retries.length === 0 && this.kind !== "at-most-once") this.#backoff.reset(1, "No retries in this run.");
  }
}
