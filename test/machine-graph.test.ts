/**
 * Every machine path (issue 13): `@xstate/graph` lists every state and transition of each
 * exported machine and the shortest path to each state; real producers, consumers and a
 * broker, driven through the chaos transport into retries, timeouts, fencing, aborts,
 * rebalances, crashes and closes, are recorded through `inspect`; and the two must agree:
 * every transition of the graph taken by some live actor, and no live actor taking one the
 * graph lacks. The models are in `helpers/graph-models.ts`, the live runs in
 * `helpers/graph-scenarios-*.ts`.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { MACHINES } from "./helpers/graph-models.ts";
import { graphOf, type MachineGraph, PathRecorder, statesOf, transitionsOf } from "./helpers/graph-paths.ts";
import { CONSUMER_SCENARIOS } from "./helpers/graph-scenarios-consumer.ts";
import { PRODUCER_SCENARIOS } from "./helpers/graph-scenarios-producer.ts";

// ---- the graph ------------------------------------------------------------------------

const graphs = new Map<string, MachineGraph>(MACHINES.map((m) => [m.id, graphOf(m.machine, m.models)]));

for (const { id, machine } of MACHINES) {
  test(`graph of ${id}: every state is reached and every transition of its definition taken`, () => {
    const graph = graphs.get(id)!;
    assert.equal([...graph.states].sort(), statesOf(machine).sort(), "states reached by @xstate/graph");
    assert.equal([...graph.transitions].sort(), transitionsOf(machine), "transitions taken by @xstate/graph");
    for (const state of statesOf(machine)) assert.ok(graph.shortest.has(state), `a shortest path to ${state}`);
  });
}

// ---- live actors ----------------------------------------------------------------------

const recorder = new PathRecorder();
for (const [name, scenario] of Object.entries({ ...PRODUCER_SCENARIOS, ...CONSUMER_SCENARIOS })) {
  test(`scenario: ${name}`, () => scenario(recorder));
}

test("coverage: every transition of the graph was taken by a live actor, and none outside it", () => {
  const rows = ["machine        states  transitions"];
  for (const { id, machine } of MACHINES) {
    const graph = graphs.get(id)!;
    const taken = recorder.taken.get(id) ?? new Map<string, number>();
    const reached = recorder.reached.get(id) ?? new Set<string>();
    const all = transitionsOf(machine);
    const states = statesOf(machine);
    rows.push(
      `${id.padEnd(14)} ${`${states.filter((s) => reached.has(s)).length}/${states.length}`.padEnd(7)} ` +
        `${all.filter((t) => taken.has(t)).length}/${all.length}`,
    );
    assert.equal(
      [...taken.keys()].filter((t) => !graph.transitions.has(t)),
      [],
      `${id}: live transitions the graph lacks`,
    );
    assert.equal(states.filter((s) => !reached.has(s)), [], `${id}: states no live actor reached`);
    // None is left untaken: a transition no live run can take is dead, and was removed.
    assert.equal(all.filter((t) => !taken.has(t)), [], `${id}: transitions no live actor took`);
  }
  console.log(rows.join("\n"));
});

// ---- the shortest path to each state, run against the real implementation ------------------

// Not the consumer: a live consumer's first fetch takes in its assignment first
// (idle → joining → fetching → rebalancing → fetching).
for (const id of ["request", "batch", "producer", "transaction", "replica"]) {
  test(`paths of ${id}: the shortest path to each state is the start of some live actor's run`, () => {
    const traces = recorder.traces.filter((t) => t.machine === id);
    const unmatched: string[] = [];
    for (const [state, path] of graphs.get(id)!.shortest) {
      const taken = traces.some((t) =>
        path.events.every((e, i) => t.events[i] === e) && path.states.every((s, i) => t.states[i] === s)
      );
      if (!taken) unmatched.push(`${state}: ${path.states.join(" → ")} by ${path.events.join(", ")}`);
    }
    assert.equal(unmatched, [], `${id}: shortest paths no live actor took`);
  });
}

test.run();
