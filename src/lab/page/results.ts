/// <reference lib="dom" />
/**
 * The reconciliation table at the end of a run: the demo's own columns (`WIDE` of
 * `src/demo/table.ts`, the table `npm run demo -- --wide` prints), cell for cell, and under it
 * what the demo prints under its table: per semantic, where the consumers crashed and how long
 * the run took.
 *
 * @module
 */
import { describeCrash } from "../../demo/consume.ts";
import type { DemoRow } from "../../demo/semantics.ts";
import { WIDE } from "../../demo/table.ts";

/** Draws `rows` into `table` and `notes`; no rows: the header alone, rows to come. */
export function renderResults(table: HTMLTableElement, notes: HTMLElement, rows: readonly DemoRow[]): void {
  const head = document.createElement("thead");
  const headRow = head.insertRow();
  for (const column of WIDE) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = column.header;
    th.className = column.align === "left" ? "left" : "";
    headRow.append(th);
  }
  const body = document.createElement("tbody");
  for (const row of rows) {
    const tr = body.insertRow();
    tr.dataset.semantic = row.semantic;
    tr.className = row.guaranteeHeld ? "held" : "broken";
    WIDE.forEach((column, i) => {
      const cell = i === 0 ? document.createElement("th") : tr.insertCell();
      if (i === 0) {
        (cell as HTMLTableCellElement).scope = "row";
        tr.append(cell);
      }
      cell.textContent = column.cell(row);
      cell.className = column.align === "left" ? "left" : "num";
    });
  }
  if (rows.length === 0) {
    const cell = body.insertRow().insertCell();
    cell.colSpan = WIDE.length;
    cell.className = "pending";
    cell.textContent = "Run to fill the table.";
  }
  table.replaceChildren(head, body);
  notes.replaceChildren(
    ...rows.map((row) => {
      const item = document.createElement("li");
      const where = row.crashes.length === 0 ? "none" : row.crashes.map(describeCrash).join(", ");
      item.textContent = `${row.semantic}: ${row.consumers} consumer instances, crashed at: ${where}; ` +
        `${row.simulatedMs.toLocaleString("en-US")} ms simulated` +
        row.consumerFailures.map((failure) => `; a consumer failed by itself: ${failure}`).join("");
      return item;
    }),
  );
}
