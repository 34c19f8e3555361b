/// <reference lib="dom" />
/**
 * Records/s over wall-clock time, per semantic: a small Chart.js line chart with, per
 * semantic, the producer's rate (outcomes settled: acknowledged, sent unconfirmed or failed)
 * solid and the consumers' (handler runs) dashed. Sampled every {@link SAMPLE_MS}.
 *
 * @module
 */
import {
  CategoryScale,
  Chart,
  type ChartDataset,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Legend, Tooltip);

/** How often the rates are sampled, in wall-clock ms. */
export const SAMPLE_MS = 250;

/** The semantics' colours, as in `style.css`. */
export const COLOURS = ["#c2410c", "#1d4ed8", "#047857"] as const;

export class RateChart {
  readonly #chart: Chart<"line", { x: number; y: number }[]>;
  #last: { at: number; totals: number[] } | null = null;
  #start = 0;

  constructor(canvas: HTMLCanvasElement, names: readonly string[]) {
    const datasets: ChartDataset<"line", { x: number; y: number }[]>[] = names.flatMap((name, i) => [
      { label: `${name} produced`, data: [], borderColor: COLOURS[i], backgroundColor: COLOURS[i] },
      { label: `${name} consumed`, data: [], borderColor: COLOURS[i], backgroundColor: COLOURS[i], borderDash: [5, 4] },
    ]);
    this.#chart = new Chart<"line", { x: number; y: number }[]>(canvas, {
      type: "line",
      data: { datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        normalized: true,
        elements: { point: { radius: 0 }, line: { borderWidth: 2, tension: 0.25 } },
        interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          x: { type: "linear", min: 0, title: { display: true, text: "seconds" } },
          y: {
            type: "linear",
            beginAtZero: true,
            title: { display: true, text: "records/s" },
            ticks: { callback: (v) => Number(v).toLocaleString("en-US") },
          },
        },
        plugins: { legend: { position: "right", labels: { boxWidth: 18, boxHeight: 2 } } },
      },
    });
  }

  /** Clears the lines for a run starting at wall-clock `now` (ms). */
  reset(now: number): void {
    this.#start = now;
    this.#last = null;
    for (const dataset of this.#chart.data.datasets) dataset.data = [];
    this.#chart.update("none");
  }

  /**
   * Adds a point per line if {@link SAMPLE_MS} has passed: `totals` holds, per semantic, records
   * produced and records consumed so far, in dataset order. `force` samples now (a run's end).
   */
  sample(now: number, totals: readonly number[], force = false): void {
    const last = this.#last;
    if (last === null) {
      this.#last = { at: now, totals: [...totals] };
      return;
    }
    if (!force && now - last.at < SAMPLE_MS) return;
    const seconds = (now - last.at) / 1000;
    if (seconds <= 0) return;
    const x = +((now - this.#start) / 1000).toFixed(2);
    totals.forEach((total, i) => {
      this.#chart.data.datasets[i]!.data.push({ x, y: Math.round((total - last.totals[i]!) / seconds) });
    });
    this.#last = { at: now, totals: [...totals] };
    this.#chart.update("none");
  }
}
