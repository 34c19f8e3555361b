/// <reference lib="dom" />
/**
 * The delivery lab's page: the three pairings of the demo run side by side, in this page, on
 * the demo's own code (`runOne` of `src/demo/semantics.ts`), each watched by a
 * {@link ColumnModel} and drawn once per animation frame. Each run has its own embedded
 * broker and virtual clock: a virtual clock fires one timer per macrotask, so the page stays
 * responsive while it runs as fast as it can, and the three runs interleave without changing
 * one another (each clock advances by its own timers only). With the demo's settings the
 * final table is `npm run demo`'s for the same seed.
 *
 * @module
 */
import { animationFrames } from "rxjs";
import { MANUAL_CRASH_AFTER } from "../../demo/consume.ts";
import { type DemoRow, pairings, runOne } from "../../demo/semantics.ts";
import { RateChart } from "./chart.ts";
import { ColumnView } from "./column-view.ts";
import {
  defaultSettings,
  demoCommand,
  demoOptions,
  type LabSettings,
  readSettings,
  retryOf,
  writeSettings,
} from "./controls.ts";
import { ColumnModel } from "./model.ts";
import { renderResults } from "./results.ts";

const byId = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const form = byId<HTMLFormElement>("controls");
const runButton = byId<HTMLButtonElement>("run");
const statusLine = byId<HTMLElement>("status");
const table = byId<HTMLTableElement>("results");
const notes = byId<HTMLElement>("notes");
const equivalent = byId<HTMLElement>("equivalent");

const kinds = pairings("transactional").map((p) => p.semantic.kind);
const views = kinds.map((kind, i) => new ColumnView(byId("columns"), kind, i));
const chart = new RateChart(byId<HTMLCanvasElement>("chart"), kinds);
let models: ColumnModel[] | null = null;

writeSettings(defaultSettings());
renderResults(table, notes, []);
describeSettings();

function status(text: string, state: "ready" | "running" | "done" | "failed"): void {
  statusLine.textContent = text;
  document.body.dataset.state = state;
}

/** Says whether the form's settings are the demo's, and which command prints the same table. */
function describeSettings(): void {
  let settings: LabSettings;
  try {
    settings = plan().settings;
  } catch (error) {
    equivalent.textContent = (error as Error).message;
    return;
  }
  const command = demoCommand(settings);
  equivalent.replaceChildren();
  if (command === null) {
    equivalent.append("Custom settings: no demo command matches them, the table will be the lab's own.");
  } else {
    const code = document.createElement("code");
    code.textContent = command;
    equivalent.append("The demo's settings: ", code, " prints the same table.");
  }
}

/**
 * The form's settings and the three runs they make; throws, naming the field, when a value is
 * out of range or a policy the producer would refuse (a max delay below the initial delay).
 */
function plan() {
  const settings = readSettings();
  const retry = retryOf(settings);
  const runs = pairings("transactional", retry).map((p, i) => ({ ...p, commit: settings.commits[i]! }));
  return { settings, retry, runs };
}

async function run(): Promise<void> {
  if (models !== null) return;
  let planned: ReturnType<typeof plan>;
  try {
    planned = plan();
  } catch (error) {
    status(`Cannot run: ${(error as Error).message}`, "failed");
    return;
  }
  const { settings, retry, runs } = planned;
  const options = demoOptions(settings);
  const current = runs.map((p) => new ColumnModel(settings.records, p.commit === "transactional"));
  models = current;
  runButton.setAttribute("aria-disabled", "true");
  runButton.textContent = "Running…";
  const records = settings.records.toLocaleString("en-US");
  status(`Running seed ${settings.seed}: ${records} records per semantic…`, "running");
  views.forEach((view, i) => view.reset(runs[i]!.semantic.kind === "at-most-once" ? 1 : retry.maxDelay, "starting"));
  renderResults(table, notes, []);
  const started = performance.now();
  chart.reset(started);
  const totals = (): number[] =>
    current.flatMap((model) => {
      const p = model.producerCounts();
      return [p.acked + p.unconfirmed + p.failed, model.consumerCounts(false).handled];
    });
  const frames = animationFrames().subscribe(({ timestamp }) => {
    current.forEach((model, i) => {
      if (model.phase !== "done") views[i]!.render(model, timestamp);
    });
    chart.sample(performance.now(), totals());
  });
  try {
    const rows: DemoRow[] = await Promise.all(
      runs.map(async (pairing, i) => {
        const row = await runOne(pairing, i, { ...options, observe: current[i]! });
        current[i]!.finish();
        views[i]!.finish(row, current[i]!);
        return row;
      }),
    );
    chart.sample(performance.now(), totals(), true);
    renderResults(table, notes, rows);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const command = demoCommand(settings);
    const same = command === null ? "" : ` Same table as ${command}.`;
    status(`Done in ${seconds} s: seed ${settings.seed}, ${records} records per semantic.${same}`, "done");
  } catch (error) {
    // Said in the status line, where the user looks; the page stays usable for the next run.
    status(`The run failed: ${error instanceof Error ? error.message : String(error)}`, "failed");
  } finally {
    frames.unsubscribe();
    models = null;
    runButton.removeAttribute("aria-disabled");
    runButton.textContent = "Run";
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  void run();
});
// On the document: the fault, topic and retry fields sit outside the <form> element
// (form="controls"), and their events bubble past it.
document.addEventListener("input", describeSettings);
document.addEventListener("change", describeSettings);
// Enter runs from a select as from every input (a select does not submit its form by itself).
document.addEventListener("keydown", (event) => {
  const target = event.target as HTMLSelectElement | null;
  if (event.key === "Enter" && target?.tagName === "SELECT" && target.form === form) {
    event.preventDefault();
    void run();
  }
});
byId("reseed").addEventListener("click", () => {
  byId<HTMLInputElement>("seed").value = String(Math.floor(Math.random() * 1_000_000));
  describeSettings();
});
byId("defaults").addEventListener("click", () => {
  const { seed, records } = readSettingsLoosely();
  writeSettings({ ...defaultSettings(), seed, records });
  describeSettings();
});
views.forEach((view, i) => {
  view.crashButton.addEventListener("click", () => {
    if (!models?.[i]?.crash()) return;
    status(
      `A consumer instance of ${view.kind} crashes in its handler ${MANUAL_CRASH_AFTER} records on ` +
        "(the first one, if none runs yet); a new instance takes over.",
      "running",
    );
  });
});
status("Ready: set the faults, or keep the demo's, and run.", "ready");

/** Seed and records as typed, the demo's where they are not numbers. */
function readSettingsLoosely(): { seed: number; records: number } {
  const base = defaultSettings();
  const value = (id: string, fallback: number): number => {
    const n = Number(byId<HTMLInputElement>(id).value);
    return Number.isSafeInteger(n) && n > 0 ? n : fallback;
  };
  return { seed: value("seed", base.seed), records: value("records", base.records) };
}
