/// <reference lib="dom" />
/**
 * The backoff timeline of a producer's retries, from its `batches$` retry reports: the latest
 * few, oldest first, each with when it happened (simulated ms), which batch and attempt, why,
 * and how long the producer waits before it, as a bar on a log scale up to the policy's
 * `maxDelay`, so exponential growth reads as equal steps. Fixed rows: nothing moves.
 *
 * @module
 */
import type { RetryEvent } from "./model.ts";

const ROWS = 6;

export class BackoffView {
  readonly #summary: HTMLElement;
  readonly #rows: { row: HTMLElement; text: HTMLElement; bar: HTMLElement; delay: HTMLElement }[] = [];
  #shown = -1;
  #maxDelay = 1;

  constructor(container: HTMLElement) {
    container.replaceChildren();
    this.#summary = document.createElement("p");
    this.#summary.className = "backoff-summary";
    const list = document.createElement("ol");
    list.className = "backoff";
    for (let i = 0; i < ROWS; i++) {
      const row = document.createElement("li");
      const text = document.createElement("span");
      text.className = "num what";
      const track = document.createElement("span");
      track.className = "track";
      const bar = document.createElement("span");
      bar.className = "bar";
      track.append(bar);
      const delay = document.createElement("span");
      delay.className = "num delay";
      row.append(text, track, delay);
      list.append(row);
      this.#rows.push({ row, text, bar, delay });
    }
    container.append(this.#summary, list);
  }

  /** Starts over for a run whose retries wait at most `maxDelay` ms; `note` replaces an empty list. */
  reset(maxDelay: number, note: string): void {
    this.#maxDelay = Math.max(1, maxDelay);
    this.#shown = -1;
    this.#summary.dataset.empty = note;
    this.render([]);
  }

  render(retries: readonly RetryEvent[]): void {
    if (retries.length === this.#shown) return;
    this.#shown = retries.length;
    const waited = retries.reduce((sum, r) => sum + r.delayMs, 0);
    const longest = retries.reduce((max, r) => Math.max(max, r.delayMs), 0);
    this.#summary.textContent = retries.length === 0
      ? (this.#summary.dataset.empty ?? "")
      : `${retries.length.toLocaleString("en-US")} retries, ${fmt(waited)} ms of backoff in all, longest ${
        fmt(longest)
      } ms`;
    const latest = retries.slice(-ROWS);
    this.#rows.forEach(({ row, text, bar, delay }, i) => {
      const r = latest[i];
      row.classList.toggle("empty", r === undefined);
      text.textContent = r ? `${fmt(Math.round(r.at))} ms  p${r.partition} batch ${r.batchId} try ${r.attempt}` : "";
      row.title = r ? `attempt ${r.attempt - 1} failed: ${r.error}; waiting ${fmt(r.delayMs)} ms` : "";
      const share = r ? Math.log1p(r.delayMs) / Math.log1p(this.#maxDelay) : 0;
      bar.style.width = `${Math.min(100, share * 100).toFixed(1)}%`;
      delay.textContent = r ? `${fmt(r.delayMs)} ms` : "";
    });
  }
}

const fmt = (n: number): string => n.toLocaleString("en-US", { maximumFractionDigits: 1 });
