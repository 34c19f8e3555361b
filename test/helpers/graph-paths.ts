/**
 * Every state and every transition of acktor's flat machines, from `@xstate/graph`, and a
 * recorder of the transitions live actors take, keyed the same way, so that a test can hold
 * the two against each other.
 *
 * A transition is a macrostep of a live actor, written `from —EVENT→ to`:
 * - a transient state (one with `always`, such as the request's `deciding`) never rests, so
 *   `awaiting-ack —ERROR→ deciding → backoff` is the one transition `awaiting-ack —ERROR→ backoff`;
 * - a transition without a target (a context update, such as the replica's `APPENDED`) goes
 *   from a state to itself;
 * - where one state has several transitions for one event (guarded branches, or its own and
 *   the machine's), `EVENT#i` names the i-th of them, in the order xstate tries them.
 */
import { getAdjacencyMap } from "@xstate/graph";
import type { AnyActorRef, AnyMachineSnapshot, AnyStateMachine, EventObject, InspectionEvent } from "xstate";

// xstate's state nodes, as far as these helpers read them.
interface Node {
  readonly key: string;
  readonly type: string;
  readonly states: Record<string, Node>;
  readonly always?: readonly Transition[];
  readonly transitions: Map<string, Transition[]>;
}
interface Transition {
  readonly target?: readonly Node[];
}

const rootOf = (machine: AnyStateMachine): Node => machine.root as unknown as Node;

/** The transitions a state may take on `type`: its own first, then the machine's (root) ones. */
function candidates(machine: AnyStateMachine, state: string, type: string): Transition[] {
  const root = rootOf(machine);
  return [...(root.states[state]!.transitions.get(type) ?? []), ...(root.transitions.get(type) ?? [])];
}

/** Where transition `t` from `state` comes to rest, through a transient state's `always` branches. */
function restsAt(state: string, t: Transition): string[] {
  const target = t.target?.[0];
  if (target === undefined) return [state];
  if (target.always?.length) return target.always.flatMap((a) => restsAt(target.key, a));
  return [target.key];
}

function label(from: string, type: string, index: number, count: number, to: string): string {
  return `${from} —${type}${count > 1 ? `#${index}` : ""}→ ${to}`;
}

/** The states of a flat machine that an actor can rest in (every state but the transient ones). */
export function statesOf(machine: AnyStateMachine): string[] {
  return Object.values(rootOf(machine).states).filter((n) => !n.always?.length).map((n) => n.key);
}

/** Every transition of a flat machine, read from its definition (guards not evaluated). */
export function transitionsOf(machine: AnyStateMachine): string[] {
  const root = rootOf(machine);
  const out = new Set<string>();
  for (const node of Object.values(root.states)) {
    if (node.type === "final" || node.always?.length) continue;
    for (const type of new Set([...node.transitions.keys(), ...root.transitions.keys()])) {
      const all = candidates(machine, node.key, type);
      all.forEach((t, i) => {
        for (const to of restsAt(node.key, t)) out.add(label(node.key, type, i, all.length, to));
      });
    }
  }
  return [...out].sort();
}

/**
 * The label of the transition `snapshot` took on `event`, evaluating guards as the machine
 * does; null when no transition is enabled (xstate ignores the event).
 */
export function transitionTaken(
  machine: AnyStateMachine,
  snapshot: AnyMachineSnapshot,
  event: EventObject,
  next: AnyMachineSnapshot,
): string | null {
  const taken = machine.getTransitionData(snapshot, event) as unknown as Transition[];
  if (taken.length === 0) return null;
  const from = String(snapshot.value);
  const all = candidates(machine, from, event.type);
  return label(from, event.type, all.indexOf(taken[0]!), all.length, String(next.value));
}

/** The shortest way to one state: the events, and the states they lead through (the initial one first). */
export interface ShortestPath {
  readonly events: string[];
  readonly states: string[];
}

/** A sample event: a type, and whatever payload the machine's guards and actions read. */
export type SampleEvent = EventObject & Record<string, unknown>;

/** One traversal of a machine: its input, the sample events it is driven with, and how states are told apart. */
export interface Model<M extends AnyStateMachine = AnyStateMachine> {
  readonly input?: unknown;
  readonly events: readonly SampleEvent[];
  /** Which context matters to the guards; the state value is always part of the key. */
  readonly key?: (snapshot: AnyMachineSnapshot) => unknown;
  /** The machine traversed, when it is `machine` with model guards provided. */
  readonly machine?: M;
}

/** What `@xstate/graph` finds of a machine over one or more models. */
export interface MachineGraph {
  /** States any model reaches. */
  readonly states: Set<string>;
  /** Transitions any model takes. */
  readonly transitions: Set<string>;
  /** The shortest path to each reached state, over all models. */
  readonly shortest: Map<string, ShortestPath>;
}

export function graphOf(machine: AnyStateMachine, models: readonly Model[]): MachineGraph {
  const states = new Set<string>();
  const transitions = new Set<string>();
  const shortest = new Map<string, ShortestPath>();
  for (const model of models) {
    const logic = model.machine ?? machine;
    const key = model.key ?? (() => null);
    const serializeState = (s: AnyMachineSnapshot) => JSON.stringify([s.value, key(s)]);
    const adjacency = getAdjacencyMap(logic, {
      input: model.input,
      events: model.events as never,
      serializeState: serializeState as never,
      limit: 10_000,
    });
    // A breadth-first walk over the adjacency map gives the shortest paths (every step weighs 1).
    const entries = adjacency as unknown as Record<
      string,
      { state: AnyMachineSnapshot; transitions: Record<string, { event: EventObject; state: AnyMachineSnapshot }> }
    >;
    const [start] = Object.keys(entries);
    const paths = new Map<string, ShortestPath>([
      [start!, { events: [], states: [String(entries[start!]!.state.value)] }],
    ]);
    const queue = [start!];
    while (queue.length > 0) {
      const at = queue.shift()!;
      const { state, transitions: next } = entries[at]!;
      states.add(String(state.value));
      // A done actor takes no more events (xstate's pure transition would still answer them).
      if (state.status === "done") continue;
      for (const { event, state: to } of Object.values(next)) {
        const taken = transitionTaken(logic, state, event, to);
        if (taken !== null) transitions.add(taken);
        const id = serializeState(to);
        if (paths.has(id)) continue;
        const before = paths.get(at)!;
        paths.set(id, { events: [...before.events, event.type], states: [...before.states, String(to.value)] });
        queue.push(id);
      }
    }
    for (const path of paths.values()) {
      const value = path.states.at(-1)!;
      const known = shortest.get(value);
      if (!known || path.events.length < known.events.length) shortest.set(value, path);
    }
  }
  return { states, transitions, shortest };
}

/** One live actor's run: its machine's id, and the transitions it took in order. */
export interface Trace {
  readonly machine: string;
  readonly states: string[];
  readonly events: string[];
}

/**
 * Records, from XState inspection events, every transition live actors take: pass `inspect`
 * as a producer's or consumer's `inspect` option, or `attach()` an actor started elsewhere.
 */
export class PathRecorder {
  /** Machine id → transition label → how often live actors took it. */
  readonly taken: Map<string, Map<string, number>> = new Map();
  /** Machine id → states live actors rested in. */
  readonly reached: Map<string, Set<string>> = new Map();
  /** Machine id → `state —EVENT` pairs xstate ignored (no transition enabled). */
  readonly ignored: Map<string, Set<string>> = new Map();
  /** Every live actor's run, in the order the actors started. */
  readonly traces: Trace[] = [];
  readonly #last = new Map<unknown, { snapshot: AnyMachineSnapshot; trace: Trace }>();

  readonly inspect = (e: InspectionEvent): void => {
    if (e.type !== "@xstate.snapshot") return;
    const snapshot = e.snapshot as AnyMachineSnapshot;
    const machine = snapshot.machine as AnyStateMachine | undefined;
    if (!machine?.root || typeof snapshot.value !== "string") return;
    const last = this.#last.get(e.actorRef);
    if (last === undefined) {
      this.#start(e.actorRef, snapshot);
      return;
    }
    if (e.event.type === "xstate.init") return;
    const taken = transitionTaken(machine, last.snapshot, e.event, snapshot);
    if (taken === null) {
      this.#add(this.ignored, machine.id, `${String(last.snapshot.value)} —${e.event.type}`);
    } else {
      const counts = this.taken.get(machine.id) ?? new Map<string, number>();
      counts.set(taken, (counts.get(taken) ?? 0) + 1);
      this.taken.set(machine.id, counts);
      last.trace.states.push(String(snapshot.value));
      last.trace.events.push(e.event.type);
    }
    this.#add(this.reached, machine.id, String(snapshot.value));
    last.snapshot = snapshot;
  };

  /** Records an actor started without this recorder (the broker's replicas), from its present state on. */
  attach(actor: AnyActorRef): { unsubscribe(): void } {
    this.#start(actor, actor.getSnapshot() as AnyMachineSnapshot);
    return actor.system.inspect(this.inspect);
  }

  #start(actor: unknown, snapshot: AnyMachineSnapshot): void {
    const trace: Trace = {
      machine: (snapshot.machine as AnyStateMachine).id,
      states: [String(snapshot.value)],
      events: [],
    };
    this.traces.push(trace);
    this.#last.set(actor, { snapshot, trace });
    this.#add(this.reached, trace.machine, String(snapshot.value));
  }

  #add(map: Map<string, Set<string>>, machine: string, value: string): void {
    const set = map.get(machine) ?? new Set<string>();
    set.add(value);
    map.set(machine, set);
  }
}
