/** Plain-text table printing for the benchmark report. @module */
import { type Column, tableLines } from "../src/cli/table.ts";

export type { Column } from "../src/cli/table.ts";

/** Renders rows as an aligned table with a header rule. */
export function renderTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  return tableLines(columns, rows).join("\n");
}

/** 1234567.8 → "1,234,568". */
export function formatInteger(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "-";
}

/** A fixed-point number, or "-" when there is none. */
export function formatFixed(value: number | null, digits: number): string {
  return value === null || !Number.isFinite(value) ? "-" : value.toFixed(digits);
}

/** 2345678 → "2.35" (millions, for compact ranges). */
export function formatMillions(value: number): string {
  return (value / 1e6).toFixed(2);
}
