/// <reference lib="dom" />
/**
 * The live actors of a run, by machine and state, from XState inspection events (the
 * producer's and the consumers' `inspect` option): every `@xstate.snapshot` moves its actor to
 * its new state, and a snapshot that is no longer active (done, stopped, failed) removes it.
 * Events only update counts; the view is drawn at most once per animation frame.
 *
 * @module
 */
import type { InspectionEvent } from "xstate";

/** The machines shown, with the states an actor can wait in (final states are not live). */
const MACHINES: readonly { readonly id: string; readonly label: string; readonly states: readonly string[] }[] = [
  { id: "producer", label: "producer", states: ["open", "closing"] },
  { id: "batch", label: "batch", states: ["open", "sealed", "in-flight"] },
  { id: "request", label: "request", states: ["sending", "awaiting-ack", "backoff", "waiting-turn"] },
  {
    id: "consumer",
    label: "consumer",
    states: ["joining", "fetching", "polling", "processing", "committing", "committing-transaction", "rebalancing"],
  },
  {
    id: "transaction",
    label: "transaction",
    states: ["ready", "in-transaction", "committing", "aborting", "abortable"],
  },
];

/** Live actors per machine and state, and actors started per machine. */
export class MachineCounts {
  readonly #live = new Map<object, string>();
  readonly #started = new Map<string, number>();
  #counts: Map<string, number> | null = null;

  /** The `inspect` observer: cheap, and it never throws. */
  readonly inspect = (event: InspectionEvent): void => {
    const machine = (event.actorRef as { logic?: { id?: unknown } }).logic?.id;
    if (typeof machine !== "string") return;
    if (event.type === "@xstate.actor") {
      this.#started.set(machine, (this.#started.get(machine) ?? 0) + 1);
    } else if (event.type === "@xstate.snapshot") {
      const snapshot = event.snapshot as { status?: string; value?: unknown };
      if (snapshot.status === "active") this.#live.set(event.actorRef, `${machine}:${stateName(snapshot.value)}`);
      else this.#live.delete(event.actorRef);
    } else {
      return;
    }
    this.#counts = null;
  };

  /** Live actors in `machine`'s `state`. */
  count(machine: string, state: string): number {
    if (this.#counts === null) {
      this.#counts = new Map();
      for (const key of this.#live.values()) this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    }
    return this.#counts.get(`${machine}:${state}`) ?? 0;
  }

  started(machine: string): number {
    return this.#started.get(machine) ?? 0;
  }
}

/** A state value as one name: "fetching", or "a.b" for a nested one. */
function stateName(value: unknown): string {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object") {
    const [key, inner] = Object.entries(value)[0] ?? ["?", ""];
    return inner === undefined || inner === "" ? key : `${key}.${stateName(inner)}`;
  }
  return String(value);
}

/** The view: one line per machine, a fixed cell per state, so nothing moves as counts change. */
export class MachinesView {
  readonly #cells: { machine: string; state: string; cell: HTMLElement }[] = [];
  readonly #started: { machine: string; cell: HTMLElement }[] = [];
  readonly #shown = new Map<HTMLElement, string>();

  constructor(container: HTMLElement) {
    container.replaceChildren();
    for (const { id, label, states } of MACHINES) {
      const row = document.createElement("div");
      row.className = "machine";
      const name = document.createElement("span");
      name.className = "machine-name";
      const started = document.createElement("span");
      started.className = "started num";
      started.title = `${label} actors started in this run`;
      name.append(label, " ", started);
      this.#started.push({ machine: id, cell: started });
      const list = document.createElement("span");
      list.className = "states";
      for (const state of states) {
        const chip = document.createElement("span");
        chip.className = "state";
        const count = document.createElement("b");
        count.className = "num";
        chip.append(count, ` ${state}`);
        list.append(chip);
        this.#cells.push({ machine: id, state, cell: count });
      }
      row.append(name, list);
      container.append(row);
    }
  }

  /** Draws `counts` (no argument: before a run, all zero). */
  render(counts?: MachineCounts): void {
    for (const { machine, state, cell } of this.#cells) {
      const n = counts?.count(machine, state) ?? 0;
      this.#set(cell, String(n));
      cell.parentElement!.classList.toggle("zero", n === 0);
    }
    for (const { machine, cell } of this.#started) {
      this.#set(cell, `×${(counts?.started(machine) ?? 0).toLocaleString("en-US")}`);
    }
  }

  #set(cell: HTMLElement, text: string): void {
    if (this.#shown.get(cell) === text) return;
    this.#shown.set(cell, text);
    cell.textContent = text;
  }
}
