import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { ConfigError, DisconnectedError, RequestTimedOutError, TransportClosedError } from "../src/errors.ts";
import { sleep } from "../src/runtime/clock.ts";
import { VirtualClock } from "../src/runtime/virtual-clock.ts";
import { chaos, type ChaosFault, type ChaosOptions, type ChaosTransport } from "../src/transport/chaos.ts";
import { inProcessTransport } from "../src/transport/in-process.ts";
import type {
  ProduceRequest,
  ProduceResponse,
  Request,
  RequestHandler,
  ResponseFor,
} from "../src/transport/protocol.ts";
import type { Transport } from "../src/transport/transport.ts";

// The chaos layer is what is under test, so the broker behind it is a stand-in that records
// what it applied and hands out consecutive offsets.
interface Recorder extends RequestHandler {
  readonly applied: Request[];
}

function recordingHandler(clock: VirtualClock, latencyMs = 0): Recorder {
  const applied: Request[] = [];
  let nextOffset = 0;
  return {
    applied,
    async handle<R extends Request>(request: R): Promise<ResponseFor<R>> {
      applied.push(request);
      let answer: unknown;
      switch (request.api) {
        case "produce":
          answer = { ok: true, baseOffset: nextOffset };
          nextOffset += Math.max(1, request.values.length);
          break;
        case "fetch":
          answer = { ok: true, records: [], nextOffset: request.offset, highWatermark: 0, logEndOffset: 0 };
          break;
        case "metadata":
          answer = { ok: true, topic: request.topic, partitions: 1 };
          break;
      }
      // The answer is fixed when the request is applied; latency only delays its delivery.
      if (latencyMs > 0) await sleep(clock, latencyMs);
      return answer as ResponseFor<R>;
    },
  };
}

interface Rig {
  clock: VirtualClock;
  broker: Recorder;
  inner: Transport & { closed: boolean };
  layer: ChaosTransport;
  faults: ChaosFault[];
}

function rig(options: Omit<ChaosOptions, "clock">, latencyMs = 0): Rig {
  const clock = new VirtualClock();
  const broker = recordingHandler(clock, latencyMs);
  const base = inProcessTransport(broker, { clock });
  const inner = {
    closed: false,
    request: base.request.bind(base),
    close() {
      inner.closed = true;
      return base.close();
    },
  };
  const layer = chaos(inner, { ...options, clock });
  const faults: ChaosFault[] = [];
  layer.events.on("fault", (fault) => faults.push(fault));
  return { clock, broker, inner, layer, faults };
}

function produce(partition: number, topic = "t"): ProduceRequest {
  return {
    api: "produce",
    topic,
    partition,
    isolation: "read-uncommitted",
    timeoutMs: 1_000,
    keys: [null],
    values: [new Uint8Array([partition & 0xff])],
  };
}

type Outcome = { ok: true; value: unknown; at: number } | { ok: false; error: unknown; at: number };

/** Settles `promise` into a value, noting the virtual time it settled at. */
function outcome(clock: VirtualClock, promise: Promise<unknown>): Promise<Outcome> {
  return promise.then(
    (value) => ({ ok: true as const, value, at: clock.now() }),
    (error: unknown) => ({ ok: false as const, error, at: clock.now() }),
  );
}

function failure(o: Outcome): unknown {
  if (o.ok) assert.unreachable(`expected a rejection, got ${JSON.stringify(o.value)}`);
  return (o as { error: unknown }).error;
}

function offset(o: Outcome): number {
  if (!o.ok) throw o.error;
  return (o.value as Extract<ProduceResponse, { ok: true }>).baseOffset;
}

test("without faults the layer is transparent and draws no fault", async () => {
  const { clock, broker, layer, faults } = rig({ seed: 1 });
  const a = await outcome(clock, layer.request(produce(0), { timeoutMs: 100 }));
  const b = await outcome(clock, layer.request(produce(1), { timeoutMs: 100 }));
  assert.is(offset(a), 0);
  assert.is(offset(b), 1);
  assert.is(broker.applied.length, 2);
  assert.is(faults.length, 0);
  assert.equal({ ...layer.stats }, {
    requests: 2,
    droppedRequests: 0,
    droppedResponses: 0,
    duplicatedRequests: 0,
    delayedRequests: 0,
    disconnects: 0,
  });
});

test("drop-request: the broker never sees it; the caller times out at its timeoutMs", async () => {
  const { clock, broker, layer, faults } = rig({ seed: 1, dropRequest: 1 });
  const request = produce(7);
  const o = await outcome(clock, layer.request(request, { timeoutMs: 250 }));
  const error = failure(o);
  assert.instance(error, RequestTimedOutError);
  assert.is((error as RequestTimedOutError).timeoutMs, 250);
  assert.is(o.at, 250);
  assert.is(broker.applied.length, 0);
  assert.equal(faults, [{ kind: "drop-request", request }]);
  assert.is(faults[0]!.request, request);
  assert.is(layer.stats.droppedRequests, 1);
});

test("drop-response: the broker applies it; the caller times out at its original deadline", async () => {
  const { clock, broker, layer, faults } = rig({ seed: 1, dropResponse: 1 });
  const request = produce(3);
  const o = await outcome(clock, layer.request(request, { timeoutMs: 400 }));
  const error = failure(o);
  assert.instance(error, RequestTimedOutError);
  assert.is((error as RequestTimedOutError).timeoutMs, 400);
  assert.is(o.at, 400);
  assert.equal(broker.applied, [request]);
  assert.equal(faults, [{ kind: "drop-response", request }]);
  assert.is(layer.stats.droppedResponses, 1);
});

test("duplicate-request: the broker applies it twice, the caller gets one (the first) answer", async () => {
  const { clock, broker, layer, faults } = rig({ seed: 1, duplicateRequest: 1 });
  const request = produce(5);
  const o = await outcome(clock, layer.request(request, { timeoutMs: 100 }));
  assert.is(offset(o), 0);
  assert.is(o.at, 0);
  assert.is(broker.applied.length, 2);
  assert.is(broker.applied[0], request);
  assert.is(broker.applied[1], request);
  assert.equal(faults, [{ kind: "duplicate-request", request }]);
  assert.is(layer.stats.duplicatedRequests, 1);
  // The copy really was applied: the next write lands after it.
  layer.configure({ duplicateRequest: 0 });
  assert.is(offset(await outcome(clock, layer.request(produce(6), { timeoutMs: 100 }))), 2);
  assert.is(broker.applied.length, 3);
});

test("duplicate with a slow broker: the copy arrives right after the original and its answer is discarded", async () => {
  const { clock, broker, layer } = rig({ seed: 1, duplicateRequest: 1 }, 10);
  const o = await outcome(clock, layer.request(produce(0), { timeoutMs: 100 }));
  assert.is(offset(o), 0);
  assert.is(o.at, 10);
  assert.is(broker.applied.length, 2);
});

test("delay: the answer arrives later on the virtual clock, and a delayed request can be overtaken", async () => {
  const { clock, broker, layer, faults } = rig({ seed: 9, delay: { probability: 1, maxMs: 80 } });
  const first = produce(1);
  const pending = outcome(clock, layer.request(first, { timeoutMs: 1_000 }));
  assert.is(faults.length, 1);
  const fault = faults[0]!;
  assert.is(fault.kind, "delay");
  assert.is(fault.request, first);
  const delayMs = fault.delayMs!;
  assert.ok(Number.isInteger(delayMs) && delayMs >= 0 && delayMs <= 80, `delayMs ${delayMs}`);
  assert.is(broker.applied.length, 0, "not forwarded before its delay");

  layer.configure({ delay: { probability: 0, maxMs: 0 } });
  const second = produce(2);
  const overtaking = await outcome(clock, layer.request(second, { timeoutMs: 1_000 }));
  const delayed = await pending;
  assert.ok(delayMs > 0, "seed 9 draws a non-zero delay");
  assert.equal(broker.applied, [second, first], "the undelayed request overtook the delayed one");
  assert.is(offset(overtaking), 0);
  assert.is(offset(delayed), 1);
  assert.is(delayed.at, delayMs);
  assert.is(layer.stats.delayedRequests, 1);
});

test("delay amounts are whole ms spread over [0, maxMs]", async () => {
  const { clock, layer, faults } = rig({ seed: 4, delay: { probability: 1, maxMs: 9 } });
  await Promise.all(Array.from({ length: 500 }, (_, i) => layer.request(produce(i), { timeoutMs: 100 })));
  const seen = new Set(faults.map((f) => f.delayMs));
  assert.equal([...seen].sort((a, b) => a! - b!), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.is(clock.pending, 0);
});

test("a delayed request can time out and still reach the broker", async () => {
  const { clock, broker, layer } = rig({ seed: 2, delay: { probability: 1, maxMs: 1_000 } });
  // Find a seed-determined delay longer than the timeout by sending until one shows up.
  let o: Outcome | undefined;
  let delayMs = 0;
  layer.events.on("fault", (f) => (delayMs = f.delayMs ?? 0));
  for (let i = 0; i < 50; i++) {
    o = await outcome(clock, layer.request(produce(i), { timeoutMs: 100 }));
    if (delayMs > 100) break;
  }
  assert.ok(delayMs > 100);
  const error = failure(o!);
  assert.instance(error, RequestTimedOutError);
  const before = broker.applied.length;
  await sleep(clock, delayMs);
  assert.is(broker.applied.length, before + 1, "applied after the caller gave up");
});

test("disconnect: it and every outstanding request reject at once; late answers are discarded", async () => {
  const { clock, broker, layer, faults } = rig({ seed: 1 }, 50);
  const outstanding = [0, 1, 2].map((i) => outcome(clock, layer.request(produce(i), { timeoutMs: 1_000 })));
  const unsubject = outcome(clock, layer.request({ api: "metadata", topic: "t" }, { timeoutMs: 1_000 }));
  layer.configure({ disconnect: 1 });
  const trigger = produce(3);
  const last = outcome(clock, layer.request(trigger, { timeoutMs: 1_000 }));
  layer.configure({ disconnect: 0 });

  const all = await Promise.all([...outstanding, unsubject, last]);
  for (const o of all) {
    assert.instance(failure(o), DisconnectedError);
    assert.is(o.at, 0, "rejected at once, not at a deadline");
  }
  assert.is(broker.applied.length, 5, "the triggering request was forwarded before the drop");
  assert.equal(faults, [{ kind: "disconnect", request: trigger }]);
  assert.is(layer.stats.disconnects, 1);
  // The broker's answers still come back (at 50 ms) and must go nowhere.
  await sleep(clock, 100);
  assert.is(clock.pending, 0);

  // With reconnectMs 0 the next request goes straight through.
  const after = await outcome(clock, layer.request(produce(4), { timeoutMs: 1_000 }));
  assert.is(offset(after), 4);
});

test("disconnect: during reconnectMs new requests reject at once without reaching the broker", async () => {
  const { clock, broker, layer } = rig({ seed: 1, disconnect: 1, reconnectMs: 500 });
  const first = await outcome(clock, layer.request(produce(0), { timeoutMs: 1_000 }));
  assert.instance(failure(first), DisconnectedError);
  assert.is(broker.applied.length, 1);
  layer.configure({ disconnect: 0 });

  const refused = await outcome(clock, layer.request(produce(1), { timeoutMs: 1_000 }));
  assert.instance(failure(refused), DisconnectedError);
  assert.is(refused.at, 0);
  const refusedFetch = await outcome(
    clock,
    layer.request({ api: "fetch", topic: "t", partition: 0, offset: 0, maxRecords: 1, isolation: "read-uncommitted" }, {
      timeoutMs: 1,
    }),
  );
  assert.instance(failure(refusedFetch), DisconnectedError);
  assert.is(broker.applied.length, 1);

  await sleep(clock, 499);
  assert.instance(failure(await outcome(clock, layer.request(produce(2), { timeoutMs: 1_000 }))), DisconnectedError);
  await sleep(clock, 1);
  assert.is(clock.now(), 500);
  const ok = await outcome(clock, layer.request(produce(3), { timeoutMs: 1_000 }));
  assert.is(offset(ok), 1);
  assert.is(layer.stats.requests, 5);
  assert.is(layer.stats.disconnects, 1);
});

test("disconnect loses delayed requests that were not yet forwarded", async () => {
  const { clock, broker, layer, faults } = rig({ seed: 3, delay: { probability: 1, maxMs: 100 } });
  const delayed = outcome(clock, layer.request(produce(0), { timeoutMs: 1_000 }));
  layer.disconnectNow();
  assert.instance(failure(await delayed), DisconnectedError);
  await sleep(clock, 200);
  assert.is(broker.applied.length, 0);
  assert.equal(faults.map((f) => f.kind), ["delay"]);
  assert.is(layer.stats.disconnects, 1);
});

test("disconnectNow() rejects everything outstanding and starts the reconnect window", async () => {
  const { clock, layer, faults } = rig({ seed: 1, reconnectMs: 20 }, 10);
  const a = outcome(clock, layer.request(produce(0), { timeoutMs: 100 }));
  const b = outcome(clock, layer.request(produce(1), { timeoutMs: 100 }));
  layer.disconnectNow();
  for (const o of await Promise.all([a, b])) assert.instance(failure(o), DisconnectedError);
  assert.instance(failure(await outcome(clock, layer.request(produce(2), { timeoutMs: 100 }))), DisconnectedError);
  await sleep(clock, 20);
  assert.ok((await outcome(clock, layer.request(produce(3), { timeoutMs: 100 }))).ok);
  assert.is(layer.stats.disconnects, 1);
  assert.is(faults.length, 0, "a forced disconnect is not a drawn fault");
});

// A run long enough to meet every fault many times, with requests in small concurrent waves
// so that disconnects hit several requests at once.
async function run(seed: number, count = 2_000) {
  const { clock, broker, layer, faults } = rig(
    {
      seed,
      dropRequest: 0.05,
      dropResponse: 0.05,
      duplicateRequest: 0.05,
      delay: { probability: 0.1, maxMs: 30 },
      disconnect: 0.02,
      reconnectMs: 5,
    },
    2,
  );
  const outcomes: string[] = [];
  for (let wave = 0; wave < count; wave += 8) {
    const results = await Promise.all(
      Array.from(
        { length: Math.min(8, count - wave) },
        (_, i) => outcome(clock, layer.request(produce(wave + i), { timeoutMs: 50 })),
      ),
    );
    for (const o of results) outcomes.push(o.ok ? `ok@${o.at}` : `${(o.error as Error).name}@${o.at}`);
  }
  await sleep(clock, 100);
  return {
    faults: faults.map((f) => `${f.kind}:${(f.request as ProduceRequest).partition}:${f.delayMs ?? ""}`),
    stats: { ...layer.stats },
    applied: broker.applied.map((r) => (r as ProduceRequest).partition),
    outcomes,
    end: clock.now(),
  };
}

test("the same seed over 2,000 requests replays identical faults, stats and outcomes", async () => {
  const a = await run(42);
  const b = await run(42);
  assert.equal(a, b);
  assert.is(a.stats.requests, 2_000);
  for (
    const key of [
      "droppedRequests",
      "droppedResponses",
      "duplicatedRequests",
      "delayedRequests",
      "disconnects",
    ] as const
  ) {
    assert.ok(a.stats[key] > 0, `${key} happened`);
  }
  const c = await run(43);
  assert.not.equal(c.faults, a.faults);
  assert.not.equal(c.stats, a.stats);
});

test("seeds beyond 32 bits are distinct", async () => {
  const faultsOf = async (seed: number) => {
    const { clock, layer, faults } = rig({ seed, dropRequest: 0.5 });
    await Promise.allSettled(Array.from({ length: 64 }, (_, i) => layer.request(produce(i), { timeoutMs: 1 })));
    await sleep(clock, 2);
    return faults.map((f) => (f.request as ProduceRequest).partition);
  };
  assert.not.equal(await faultsOf(1), await faultsOf(2 ** 32 + 1));
  assert.equal(await faultsOf(2 ** 32 + 1), await faultsOf(2 ** 32 + 1));
});

test("every request draws the same values, so one fault's decisions never shift another's", async () => {
  const dropped = async (options: Omit<ChaosOptions, "clock" | "seed">) => {
    const { clock, layer, faults } = rig({ seed: 7, ...options });
    await Promise.allSettled(Array.from({ length: 300 }, (_, i) => layer.request(produce(i), { timeoutMs: 10 })));
    await sleep(clock, 20);
    // Sorted: a delayed request's drop takes effect (and is reported) after its delay.
    return faults.filter((f) => f.kind === "drop-request").map((f) => (f.request as ProduceRequest).partition).sort((
      a,
      b,
    ) => a - b);
  };
  const alone = await dropped({ dropRequest: 0.3 });
  assert.ok(alone.length > 0);
  assert.equal(await dropped({ dropRequest: 0.3, duplicateRequest: 0.5, dropResponse: 0.5 }), alone);
  assert.equal(await dropped({ dropRequest: 0.3, delay: { probability: 0.9, maxMs: 5 } }), alone);
});

test("observed fault rates are near the configured probabilities", async () => {
  const N = 5_000;
  const p = 0.1;
  const cases = [
    ["dropRequest", "droppedRequests"],
    ["dropResponse", "droppedResponses"],
    ["duplicateRequest", "duplicatedRequests"],
    ["delay", "delayedRequests"],
    ["disconnect", "disconnects"],
  ] as const;
  for (const [option, counter] of cases) {
    const options = option === "delay" ? { seed: 11, delay: { probability: p, maxMs: 3 } } : { seed: 11, [option]: p };
    const { clock, layer, faults } = rig(options);
    await Promise.allSettled(Array.from({ length: N }, (_, i) => layer.request(produce(i), { timeoutMs: 5 })));
    await sleep(clock, 10);
    const rate = layer.stats[counter] / N;
    assert.ok(rate > p * 0.7 && rate < p * 1.3, `${option}: observed ${rate}, configured ${p}`);
    assert.is(faults.length, layer.stats[counter], `${option}: one event per counted fault`);
    assert.is(layer.stats.requests, N);
  }
});

test("apis: only the listed request kinds are subject to faults", async () => {
  const { clock, broker, layer, faults } = rig({ seed: 1, dropRequest: 1, apis: ["fetch"] });
  const fetch: Request = {
    api: "fetch",
    topic: "t",
    partition: 0,
    offset: 0,
    maxRecords: 10,
    isolation: "read-committed",
  };
  const [p, f, m] = await Promise.all([
    outcome(clock, layer.request(produce(0), { timeoutMs: 30 })),
    outcome(clock, layer.request(fetch, { timeoutMs: 30 })),
    outcome(clock, layer.request({ api: "metadata", topic: "t" }, { timeoutMs: 30 })),
  ]);
  assert.is(offset(p), 0);
  assert.instance(failure(f), RequestTimedOutError);
  assert.ok(m.ok);
  assert.equal(broker.applied.map((r) => r.api), ["produce", "metadata"]);
  assert.equal(faults.map((x) => x.kind), ["drop-request"]);
  assert.is(faults[0]!.request, fetch);
  assert.is(layer.stats.requests, 3);

  // Requests not subject to faults draw nothing: interleaving them leaves the faults of the
  // others unchanged.
  const producePattern = async (withMetadata: boolean) => {
    const r = rig({ seed: 5, dropRequest: 0.5, apis: ["produce"] });
    for (let i = 0; i < 100; i++) {
      if (withMetadata) await outcome(r.clock, r.layer.request({ api: "metadata", topic: "t" }, { timeoutMs: 5 }));
      await outcome(r.clock, r.layer.request(produce(i), { timeoutMs: 5 }));
    }
    return r.faults.map((x) => (x.request as ProduceRequest).partition);
  };
  assert.equal(await producePattern(true), await producePattern(false));

  layer.configure({ apis: [] });
  assert.ok((await outcome(clock, layer.request(fetch, { timeoutMs: 30 }))).ok);
});

test("configure() changes faults mid-run, all or nothing", async () => {
  const { clock, broker, layer } = rig({ seed: 1, dropRequest: 1 });
  assert.instance(failure(await outcome(clock, layer.request(produce(0), { timeoutMs: 10 }))), RequestTimedOutError);

  // An invalid update changes nothing, even the valid keys listed before the bad one.
  assert.throws(
    () => layer.configure({ dropRequest: 0, dropResponse: 2 }),
    (e: unknown) => e instanceof ConfigError && e.field === "chaos.dropResponse",
  );
  assert.instance(failure(await outcome(clock, layer.request(produce(1), { timeoutMs: 10 }))), RequestTimedOutError);

  layer.configure({ dropRequest: 0 });
  assert.is(offset(await outcome(clock, layer.request(produce(2), { timeoutMs: 10 }))), 0);
  // undefined leaves a setting unchanged.
  layer.configure({ dropRequest: undefined });
  assert.is(offset(await outcome(clock, layer.request(produce(3), { timeoutMs: 10 }))), 1);
  assert.is(broker.applied.length, 2);
  assert.is(layer.stats.droppedRequests, 2);

  for (
    const [update, field] of [
      [{ seed: 2 }, "chaos.seed"],
      [{ clock: new VirtualClock() }, "chaos.clock"],
      [{ dropRequests: 0.1 }, "chaos.dropRequests"],
      [{ delay: { probability: 0.1, maxMs: -1 } }, "chaos.delay.maxMs"],
      [{ apis: ["produce", "bogus"] }, "chaos.apis[1]"],
    ] as const
  ) {
    assert.throws(
      () => layer.configure(update as never),
      (e: unknown) => e instanceof ConfigError && e.field === field,
      `configure(${JSON.stringify(update)}) names ${field}`,
    );
  }
});

test("invalid options throw ConfigError naming the field", () => {
  const inner = inProcessTransport(recordingHandler(new VirtualClock()));
  const cases: [unknown, string][] = [
    [undefined, "chaos"],
    [null, "chaos"],
    [{}, "chaos.seed"],
    [{ seed: 1.5 }, "chaos.seed"],
    [{ seed: "1" }, "chaos.seed"],
    [{ seed: Number.NaN }, "chaos.seed"],
    [{ seed: 2 ** 60 }, "chaos.seed"],
    [{ seed: 1, dropRequest: -0.1 }, "chaos.dropRequest"],
    [{ seed: 1, dropRequest: 1.1 }, "chaos.dropRequest"],
    [{ seed: 1, dropResponse: Number.NaN }, "chaos.dropResponse"],
    [{ seed: 1, dropResponse: "0.1" }, "chaos.dropResponse"],
    [{ seed: 1, duplicateRequest: 2 }, "chaos.duplicateRequest"],
    [{ seed: 1, duplicateRequest: null }, "chaos.duplicateRequest"],
    [{ seed: 1, disconnect: -1 }, "chaos.disconnect"],
    [{ seed: 1, delay: 0.5 }, "chaos.delay"],
    [{ seed: 1, delay: { probability: 0.5 } }, "chaos.delay.maxMs"],
    [{ seed: 1, delay: { probability: 1.5, maxMs: 10 } }, "chaos.delay.probability"],
    [{ seed: 1, delay: { probability: 0.5, maxMs: -1 } }, "chaos.delay.maxMs"],
    [{ seed: 1, delay: { probability: 0.5, maxMs: Infinity } }, "chaos.delay.maxMs"],
    [{ seed: 1, delay: { probability: 0.5, maxMs: 1, jitter: 1 } }, "chaos.delay.jitter"],
    [{ seed: 1, reconnectMs: -5 }, "chaos.reconnectMs"],
    [{ seed: 1, reconnectMs: "5" }, "chaos.reconnectMs"],
    [{ seed: 1, clock: {} }, "chaos.clock"],
    [{ seed: 1, apis: "produce" }, "chaos.apis"],
    [{ seed: 1, apis: ["produce", "nope"] }, "chaos.apis[1]"],
    [{ seed: 1, dropResponses: 0.1 }, "chaos.dropResponses"],
  ];
  for (const [options, field] of cases) {
    let caught: unknown;
    try {
      chaos(inner, options as ChaosOptions);
    } catch (error) {
      caught = error;
    }
    assert.instance(caught, ConfigError, `${JSON.stringify(options)} throws ConfigError`);
    assert.is((caught as ConfigError).field, field, `${JSON.stringify(options)} names ${field}`);
    assert.is((caught as ConfigError).code, "CONFIG_INVALID");
  }
  // The boundaries themselves are valid.
  chaos(inner, {
    seed: -3,
    dropRequest: 0,
    dropResponse: 1,
    delay: { probability: 1, maxMs: 0 },
    reconnectMs: 0,
    apis: [],
  });
});

test("close() rejects outstanding and delayed requests, refuses new ones and closes the inner transport", async () => {
  const { clock, broker, inner, layer } = rig({ seed: 1 }, 20);
  const outstanding = outcome(clock, layer.request(produce(0), { timeoutMs: 100 }));
  layer.configure({ delay: { probability: 1, maxMs: 10 } });
  const delayed = outcome(clock, layer.request(produce(1), { timeoutMs: 100 }));
  await layer.close();
  assert.ok(inner.closed);
  assert.instance(failure(await outstanding), TransportClosedError);
  assert.instance(failure(await delayed), TransportClosedError);
  assert.instance(failure(await outcome(clock, layer.request(produce(2), { timeoutMs: 100 }))), TransportClosedError);
  await sleep(clock, 50);
  assert.is(broker.applied.length, 1, "the delayed request was never forwarded");
  assert.is(layer.stats.requests, 2);
  layer.disconnectNow();
  assert.is(layer.stats.disconnects, 0, "a closed layer has no connection to drop");
  await layer.close();
});

test.run();
