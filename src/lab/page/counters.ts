/// <reference lib="dom" />
/**
 * A block of named counters. Each value sits in a cell of fixed width with tabular numerals
 * (see `style.css`), so a counter going from 9 to 10,000 moves nothing around it; a value not
 * known yet shows as a dash in the same space. Cells are written only when their text changes.
 *
 * @module
 */

/** A counter: its key, its label, and what it means (the label's tooltip). */
export interface CounterSpec {
  readonly key: string;
  readonly label: string;
  readonly help: string;
}

export class Counters {
  readonly #cells = new Map<string, { cell: HTMLElement; text: string }>();

  constructor(container: HTMLElement, specs: readonly CounterSpec[]) {
    const list = document.createElement("dl");
    list.className = "counters";
    for (const { key, label, help } of specs) {
      const item = document.createElement("div");
      item.title = help;
      const term = document.createElement("dt");
      term.textContent = label;
      const value = document.createElement("dd");
      value.className = "num";
      value.dataset.key = key;
      value.textContent = "0";
      item.append(term, value);
      list.append(item);
      this.#cells.set(key, { cell: value, text: "0" });
    }
    container.append(list);
  }

  /** Shows `value` under `key`; null for "not known yet". */
  set(key: string, value: number | null): void {
    const entry = this.#cells.get(key);
    if (!entry) return;
    const text = value === null ? "–" : value.toLocaleString("en-US");
    if (text === entry.text) return;
    entry.text = text;
    entry.cell.textContent = text;
  }

  /** Sets every key of `values` that this block shows. */
  setAll(values: Readonly<Record<string, number | null>>): void {
    for (const [key, value] of Object.entries(values)) this.set(key, value);
  }

  /** Marks a counter as good news or bad (a loss, a duplicate), or neither. */
  mark(key: string, tone: "good" | "bad" | null): void {
    const cell = this.#cells.get(key)?.cell;
    cell?.classList.toggle("good", tone === "good");
    cell?.classList.toggle("bad", tone === "bad");
  }
}
