import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { EmbeddedBroker } from "../src/broker/broker.ts";
import { assignPartitions } from "../src/broker/group-assignment.ts";
import {
  type AcktorError,
  errorFromWire,
  IllegalGenerationError,
  InconsistentGroupProtocolError,
  OffsetOutOfRangeError,
  PartitionNotOwnedError,
  UnknownMemberIdError,
  UnknownPartitionError,
  UnknownTopicError,
  type WireError,
} from "../src/errors.ts";
import { sleep } from "../src/runtime/clock.ts";
import { VirtualClock } from "../src/runtime/virtual-clock.ts";
import type { Ack, HeartbeatResponse, JoinGroupResponse, Request } from "../src/transport/protocol.ts";
import type { Transport } from "../src/transport/transport.ts";

// ---- helpers -------------------------------------------------------------------------

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const OPTS = { timeoutMs: 3_600_000 };
const SESSION = 10_000;

function setup(partitions = 6) {
  const clock = new VirtualClock();
  const broker = new EmbeddedBroker({ clock });
  broker.createTopic("t", { partitions });
  return { clock, broker, t: broker.transport() };
}

function join(
  t: Transport,
  groupId = "g",
  extra: { memberId?: string; topic?: string; sessionTimeoutMs?: number } = {},
): Promise<JoinGroupResponse> {
  return t.request({ api: "joinGroup", groupId, topic: "t", sessionTimeoutMs: SESSION, ...extra }, OPTS);
}

function heartbeat(t: Transport, memberId: string, generation: number, groupId = "g"): Promise<HeartbeatResponse> {
  return t.request({ api: "heartbeat", groupId, memberId, generation }, OPTS);
}

function leave(t: Transport, memberId: string, groupId = "g"): Promise<Ack> {
  return t.request({ api: "leaveGroup", groupId, memberId }, OPTS);
}

function commit(
  t: Transport,
  memberId: string,
  generation: number,
  offsets: { partition: number; offset: number; topic?: string }[],
): Promise<Ack> {
  return t.request({
    api: "offsetCommit",
    groupId: "g",
    memberId,
    generation,
    offsets: offsets.map((o) => ({ topic: "t", ...o })),
  }, OPTS);
}

function produce(t: Transport, partition: number, count: number): Promise<unknown> {
  const values = Array.from({ length: count }, (_, i) => enc(`v${i}`));
  return t.request({
    api: "produce",
    topic: "t",
    partition,
    isolation: "read-uncommitted",
    timeoutMs: 1000,
    keys: values.map(() => null),
    values,
  }, OPTS);
}

function ok<T extends { ok: boolean }>(answer: T, what = ""): Extract<T, { ok: true }> {
  if (!answer.ok) {
    assert.unreachable(
      `${what ? `${what}: ` : ""}expected ok, got ${JSON.stringify((answer as { error?: unknown }).error)}`,
    );
  }
  return answer as Extract<T, { ok: true }>;
}

/** The typed error of a failed answer, rebuilt as a client would; fails the test otherwise. */
function failed(answer: { ok: boolean; error?: WireError }): AcktorError {
  if (answer.ok) assert.unreachable(`expected an ok:false answer, got ${JSON.stringify(answer)}`);
  return errorFromWire(answer.error!);
}

/** The safety property: no partition owned by two members, and only existing partitions owned. */
function assertNoDoubleOwner(broker: EmbeddedBroker, partitions: number, groupId = "g"): Map<number, string> {
  const owners = new Map<number, string>();
  for (const m of broker.group(groupId)?.members ?? []) {
    for (const p of m.owned) {
      assert.ok(p >= 0 && p < partitions, `partition ${p} does not exist`);
      assert.not.ok(owners.has(p), `partition ${p} is owned by both ${owners.get(p)} and ${m.memberId}`);
      owners.set(p, m.memberId);
    }
  }
  return owners;
}

function owned(broker: EmbeddedBroker, memberId: string, groupId = "g"): readonly number[] {
  const member = broker.group(groupId)?.members.find((m) => m.memberId === memberId);
  assert.ok(member, `${memberId} is a member`);
  return member.owned;
}

// ---- membership and generations ------------------------------------------------------

test("join, leave and rejoin: broker-made ids, a generation per membership change", async () => {
  const { broker, clock, t } = setup(4);
  assert.is(broker.group("g"), undefined);
  const a = ok(await join(t));
  assert.ok(a.memberId.length > 0);
  assert.is(a.generation, 1);
  assert.equal(a.assignment, [0, 1, 2, 3], "the only member owns everything at once");

  const b = ok(await join(t));
  assert.is.not(b.memberId, a.memberId);
  assert.is(b.generation, 2);
  assert.equal(b.assignment, [], "everything is still a's until a releases");
  assert.equal(broker.group("g")!.members.map((m) => m.target), [[0, 1], [2, 3]], "sticky, even targets");

  const a2 = ok(await heartbeat(t, a.memberId, a.generation));
  assert.is(a2.generation, 2);
  assert.equal(a2.assignment, [0, 1], "a learns its reduced target and releases 2 and 3");
  assert.equal(ok(await heartbeat(t, b.memberId, 2)).assignment, [2, 3]);

  // Rejoining with its id renews the session without a new generation.
  const again = ok(await join(t, "g", { memberId: a.memberId }));
  assert.equal([again.memberId, again.generation, again.assignment], [a.memberId, 2, [0, 1]]);

  ok(await leave(t, a.memberId));
  assert.is(broker.group("g")!.generation, 3);
  assert.equal(owned(broker, b.memberId), [0, 1, 2, 3], "a's partitions went to b at once");
  assert.instance(failed(await heartbeat(t, a.memberId, 3)), UnknownMemberIdError, "a left");
  assert.instance(failed(await join(t, "g", { memberId: a.memberId })), UnknownMemberIdError, "a left id stays dead");

  ok(await leave(t, b.memberId));
  const empty = broker.group("g")!;
  assert.equal([empty.generation, empty.topic, empty.members.length], [4, null, 0]);
  assert.is(clock.pending, 0, "an empty group holds no timer");

  const c = ok(await join(t));
  assert.is(c.generation, 5, "generations never restart, so an old one can never match again");
  assert.equal(c.assignment, [0, 1, 2, 3]);
  await t.close();
});

test("three members, one leaves mid-stream: never two owners, and one heartbeat round settles it", async () => {
  const { broker, t } = setup(7);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    ids.push(ok(await join(t)).memberId);
    assertNoDoubleOwner(broker, 7);
  }
  const round = async () => {
    for (const id of ids) {
      const gen = broker.group("g")!.generation;
      const answer = ok(await heartbeat(t, id, gen));
      assert.equal(answer.assignment, owned(broker, id), "the answer is what the member owns");
      assertNoDoubleOwner(broker, 7);
    }
  };
  await round();
  let owners = assertNoDoubleOwner(broker, 7);
  assert.is(owners.size, 7, "every partition owned after one round");
  assert.equal(
    ids.map((id) => owned(broker, id).length).sort(),
    [2, 2, 3],
    "evenly spread",
  );

  const [gone] = ids.splice(1, 1);
  const kept = ids.map((id) => [...owned(broker, id)]);
  ok(await leave(t, gone!));
  assertNoDoubleOwner(broker, 7);
  await round();
  owners = assertNoDoubleOwner(broker, 7);
  assert.is(owners.size, 7);
  ids.forEach((id, i) => {
    const now = owned(broker, id);
    for (const p of kept[i]!) assert.ok(now.includes(p), `${id} kept partition ${p}`);
  });
  await t.close();
});

test("session expiry removes a silent member and releases its partitions; no timers once idle", async () => {
  const { broker, clock, t } = setup(4);
  const a = ok(await join(t, "g", { sessionTimeoutMs: 5_000 }));
  const b = ok(await join(t, "g", { sessionTimeoutMs: 20_000 }));
  ok(await heartbeat(t, a.memberId, b.generation));
  assert.equal(ok(await heartbeat(t, b.memberId, b.generation)).assignment, [2, 3]);

  await sleep(clock, 4_000);
  ok(await heartbeat(t, b.memberId, b.generation));
  await sleep(clock, 2_000);
  assert.equal(
    broker.group("g")!.members.map((m) => m.memberId),
    [b.memberId],
    "a was silent for 6 s of a 5 s session",
  );
  assert.is(broker.group("g")!.generation, 3);
  assert.equal(owned(broker, b.memberId), [0, 1, 2, 3], "a's partitions were released to b");
  assert.instance(failed(await heartbeat(t, a.memberId, 2)), UnknownMemberIdError);

  // A member that keeps heartbeating within its session stays.
  for (let i = 0; i < 5; i++) {
    await sleep(clock, 15_000);
    ok(await heartbeat(t, b.memberId, 3));
  }
  assert.is(broker.group("g")!.members.length, 1);
  await sleep(clock, 25_000);
  assert.is(broker.group("g")!.members.length, 0, "b expired too");
  assert.is(clock.pending, 0, "an idle broker holds no timer, so the process can exit");
  await t.close();
});

test("groups are independent, and one group reads one topic", async () => {
  const { broker, t } = setup(2);
  broker.createTopic("u", { partitions: 3 });
  const a = ok(await join(t, "g1"));
  const b = ok(await join(t, "g2", { topic: "u" }));
  assert.equal([a.generation, a.assignment], [1, [0, 1]]);
  assert.equal([b.generation, b.assignment], [1, [0, 1, 2]]);
  assert.instance(failed(await join(t, "g1", { topic: "u" })), InconsistentGroupProtocolError);
  assert.instance(failed(await join(t, "g1", { topic: "nope" })), UnknownTopicError);
  assert.is(broker.group("g1")!.generation, 1, "refused joins change nothing");
  await t.close();
});

// ---- randomized safety ----------------------------------------------------------------

type Step =
  | { kind: "join"; session: number }
  | { kind: "leave"; who: number }
  | { kind: "heartbeat"; who: number }
  | { kind: "advance"; ms: number };

test("any sequence of joins, leaves, heartbeats and expiries: never two owners; one heartbeat round settles", async () => {
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant("join" as const), session: fc.integer({ min: 1_000, max: 10_000 }) }),
    fc.record({ kind: fc.constant("leave" as const), who: fc.nat(20) }),
    fc.record({ kind: fc.constant("heartbeat" as const), who: fc.nat(20) }),
    fc.record({ kind: fc.constant("heartbeat" as const), who: fc.nat(20) }),
    fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 4_000 }) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 40 }), fc.integer({ min: 1, max: 9 }), async (steps, partitions) => {
      const { broker, clock, t } = setup(partitions);
      /** What each member believes: the generation and partitions it was last told, and when it last spoke. */
      const live = new Map<string, { generation: number; told: readonly number[]; seen: number; session: number }>();
      const check = () => {
        const owners = assertNoDoubleOwner(broker, partitions);
        const members = broker.group("g")?.members ?? [];
        for (const m of members) {
          const belief = live.get(m.memberId);
          assert.ok(belief, `${m.memberId} is a member the test knows`);
          // What a member was told it owns, it still owns: so no two members ever both believe they own a partition.
          for (const p of belief.told) assert.is(owners.get(p), m.memberId, `${m.memberId} was told it owns ${p}`);
        }
      };
      for (const s of steps) {
        const ids = [...live.keys()];
        if (s.kind === "join") {
          const answer = ok(await join(t, "g", { sessionTimeoutMs: s.session }));
          live.set(answer.memberId, {
            generation: answer.generation,
            told: answer.assignment,
            seen: clock.now(),
            session: s.session,
          });
        } else if (s.kind === "advance") {
          await sleep(clock, s.ms);
        } else if (ids.length > 0) {
          const id = ids[s.who % ids.length]!;
          const belief = live.get(id)!;
          const silent = clock.now() - belief.seen;
          const answer = s.kind === "leave" ? await leave(t, id) : await heartbeat(t, id, belief.generation);
          if (answer.ok) {
            assert.ok(
              silent <= belief.session,
              `a member silent for ${silent} ms of a ${belief.session} ms session was still there`,
            );
            if (s.kind === "leave") live.delete(id);
            else {
              const hb = answer as Extract<HeartbeatResponse, { ok: true }>;
              live.set(id, { ...belief, generation: hb.generation, told: hb.assignment, seen: clock.now() });
            }
          } else {
            assert.instance(failed(answer), UnknownMemberIdError);
            assert.ok(
              silent >= belief.session,
              `a member silent for only ${silent} ms of ${belief.session} was removed`,
            );
            live.delete(id);
          }
        }
        // Members the broker expired are zombies now: forget them.
        const members = new Set(broker.group("g")?.members.map((m) => m.memberId));
        for (const id of [...live.keys()]) if (!members.has(id)) live.delete(id);
        check();
      }
      // One round of heartbeats, with no time passing, hands every partition to its target owner.
      for (const [id, belief] of live) {
        const hb = ok(await heartbeat(t, id, belief.generation));
        live.set(id, { ...belief, generation: hb.generation, told: hb.assignment, seen: clock.now() });
        check();
      }
      const group = broker.group("g");
      if (live.size > 0) {
        assert.is(assertNoDoubleOwner(broker, partitions).size, partitions, "every partition owned");
        for (const m of group!.members) assert.equal(m.owned, m.target);
        const sizes = group!.members.map((m) => m.owned.length);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `balanced: ${sizes}`);
      }
      for (const id of live.keys()) ok(await leave(t, id));
      assert.is(clock.pending, 0, "no timer left once the group is empty");
      await t.close();
    }),
    { numRuns: 150 },
  );
});

test("the assignor is balanced, total, deterministic and keeps what it can", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 30 }),
      fc.array(fc.array(fc.nat(35), { maxLength: 8 }), { minLength: 1, maxLength: 8 }),
      (partitions, held) => {
        // Previous targets are disjoint in the coordinator: keep the first claim of each partition.
        const claimed = new Set<number>();
        const previous = new Map(
          held.map((ps, i) =>
            [`m${i}`, ps.filter((p) => !claimed.has(p) && (claimed.add(p), true))] as [string, number[]]
          ),
        );
        const result = assignPartitions(partitions, previous);
        assert.equal(
          result,
          assignPartitions(partitions, new Map([...previous].reverse())),
          "order of the input does not matter",
        );
        const all = [...result.values()].flat().sort((a, b) => a - b);
        assert.equal(all, Array.from({ length: partitions }, (_, i) => i), "each partition exactly once");
        const sizes = [...result.values()].map((ps) => ps.length);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
        // Sticky: a member keeps min(its share, what it held) of its previous partitions.
        for (const [id, ps] of result) {
          const before = previous.get(id)!.filter((p) => p < partitions);
          const keptCount = ps.filter((p) => before.includes(p)).length;
          assert.is(keptCount, Math.min(ps.length, before.length), `${id} kept what it could`);
        }
      },
    ),
    { numRuns: 300 },
  );
});

// ---- offset commits --------------------------------------------------------------------

test("offsetCommit: the owner commits; others, stale generations, zombies and bad offsets are refused", async () => {
  const { broker, clock, t } = setup(2);
  await produce(t, 0, 5);
  await produce(t, 1, 3);
  const a = ok(await join(t, "g", { sessionTimeoutMs: 5_000 }));
  ok(await commit(t, a.memberId, 1, [{ partition: 0, offset: 5 }, { partition: 1, offset: 2 }]));
  assert.equal([broker.committedOffset("g", "t", 0), broker.committedOffset("g", "t", 1)], [5, 2]);

  const b = ok(await join(t, "g", { sessionTimeoutMs: 60_000 }));
  // a has not heartbeated since b joined: its generation is stale.
  assert.instance(failed(await commit(t, a.memberId, 1, [{ partition: 0, offset: 4 }])), IllegalGenerationError);
  assert.instance(
    failed(await commit(t, a.memberId, 7, [{ partition: 0, offset: 4 }])),
    IllegalGenerationError,
    "from the future",
  );
  // b is current but owns nothing yet: a still holds partition 1.
  const notYet = failed(await commit(t, b.memberId, 2, [{ partition: 1, offset: 3 }]));
  assert.instance(notYet, PartitionNotOwnedError);
  assert.equal([(notYet as PartitionNotOwnedError).topic, (notYet as PartitionNotOwnedError).partition], ["t", 1]);

  assert.equal(ok(await heartbeat(t, a.memberId, 1)).assignment, [0]);
  assert.equal(ok(await heartbeat(t, b.memberId, 2)).assignment, [1]);
  ok(await commit(t, b.memberId, 2, [{ partition: 1, offset: 3 }]));
  assert.instance(
    failed(await commit(t, a.memberId, 2, [{ partition: 1, offset: 3 }])),
    PartitionNotOwnedError,
    "a gave partition 1 up",
  );

  const range = failed(await commit(t, a.memberId, 2, [{ partition: 0, offset: 6 }]));
  assert.instance(range, OffsetOutOfRangeError, "beyond the log end of 5");
  assert.equal([(range as OffsetOutOfRangeError).topic, (range as OffsetOutOfRangeError).partition], ["t", 0]);
  ok(await commit(t, a.memberId, 2, [{ partition: 0, offset: 5 }]), "the log end itself is fine");

  // All or nothing: one bad offset stores none.
  assert.instance(
    failed(await commit(t, b.memberId, 2, [{ partition: 1, offset: 1 }, { partition: 0, offset: 1 }])),
    PartitionNotOwnedError,
  );
  assert.is(broker.committedOffset("g", "t", 1), 3);

  assert.instance(
    failed(await commit(t, a.memberId, 2, [{ topic: "nope", partition: 0, offset: 0 }])),
    UnknownTopicError,
  );
  assert.instance(failed(await commit(t, a.memberId, 2, [{ partition: 9, offset: 0 }])), UnknownPartitionError);

  // a goes silent; once its session ends it is a zombie and cannot commit what it had.
  await sleep(clock, 6_000);
  ok(await heartbeat(t, b.memberId, 2));
  assert.instance(failed(await commit(t, a.memberId, 2, [{ partition: 0, offset: 1 }])), UnknownMemberIdError);
  assert.instance(failed(await commit(t, a.memberId, 3, [{ partition: 0, offset: 1 }])), UnknownMemberIdError);
  assert.is(broker.committedOffset("g", "t", 0), 5);
  assert.equal(ok(await heartbeat(t, b.memberId, 2)).assignment, [0, 1]);
  ok(await commit(t, b.memberId, 3, [{ partition: 0, offset: 5 }]));
  ok(await leave(t, b.memberId));
  await t.close();
});

test("txnOffsetCommit is fenced by the group's generation (KIP-447)", async () => {
  const { broker, t } = setup(1);
  const init = ok(await t.request({ api: "initProducerId", transactionalId: "tx" }, OPTS));
  const identity = { transactionalId: "tx", producerId: init.producerId, epoch: init.epoch };
  const txnCommit = (generation: number | undefined, groupId = "g") =>
    t.request(
      {
        api: "txnOffsetCommit",
        ...identity,
        groupId,
        offsets: [{ topic: "t", partition: 0, offset: 0 }],
        ...(generation === undefined ? {} : { generation }),
      },
      OPTS,
    );

  ok(await txnCommit(42, "never-joined"), "a group that does not exist has nothing to fence");
  const a = ok(await join(t));
  ok(await join(t));
  assert.is(broker.group("g")!.generation, 2);
  assert.instance(failed(await txnCommit(a.generation)), IllegalGenerationError, "a zombie's generation");
  assert.instance(failed(await txnCommit(-1)), IllegalGenerationError, "no generation, while the group has members");
  assert.instance(failed(await txnCommit(3)), IllegalGenerationError);
  ok(await txnCommit(2));
  ok(await txnCommit(undefined), "without a generation nothing is checked, as before");
  await t.close();
});

// ---- fetches by members ----------------------------------------------------------------

test("a member's fetch is served only for partitions it owns; plain fetches are unchanged", async () => {
  const { clock, t } = setup(2);
  await produce(t, 0, 2);
  await produce(t, 1, 2);
  const fetch = (partition: number, group: { groupId?: string; memberId?: string; generation?: number } = {}) =>
    t.request({
      api: "fetch",
      topic: "t",
      partition,
      offset: 0,
      maxRecords: 10,
      isolation: "read-uncommitted",
      ...group,
    }, OPTS);
  const a = ok(await join(t, "g", { sessionTimeoutMs: 5_000 }));
  const b = ok(await join(t, "g", { sessionTimeoutMs: 60_000 }));
  const asA = { groupId: "g", memberId: a.memberId, generation: a.generation };
  const asB = { groupId: "g", memberId: b.memberId, generation: b.generation };

  assert.is(ok(await fetch(1, asA)).records.length, 2, "a still owns 1 at its old generation");
  assert.instance(failed(await fetch(1, asB)), PartitionNotOwnedError, "b may not read 1 while a owns it");
  ok(await heartbeat(t, a.memberId, 1));
  assert.instance(failed(await fetch(1, asA)), PartitionNotOwnedError, "a released 1 at its heartbeat");
  assert.is(ok(await fetch(1, asB)).records.length, 2);
  assert.is(ok(await fetch(0, asA)).records.length, 2);

  await sleep(clock, 6_000);
  assert.instance(failed(await fetch(0, asA)), UnknownMemberIdError, "a zombie reads nothing");
  assert.is(ok(await fetch(0)).records.length, 2, "a plain fetch is unchanged");
  const half = failed(await fetch(0, { groupId: "g" }));
  assert.is(half.code, "REQUEST_INVALID", "a half-filled member fetch is refused, not served as plain");
  ok(await leave(t, b.memberId));
  await t.close();
});

// ---- bad input ---------------------------------------------------------------------------

test("bad group requests are typed errors across the transport", async () => {
  const { t } = setup(2);
  const send = (request: unknown) => t.request(request as Request, OPTS) as Promise<{ ok: boolean; error?: WireError }>;
  assert.is(failed(await send({ api: "syncGroup", groupId: "g" })).code, "REQUEST_INVALID", "an unknown group api");
  assert.instance(failed(await heartbeat(t, "nobody", 0)), UnknownMemberIdError, "an unknown group");
  assert.instance(failed(await leave(t, "nobody")), UnknownMemberIdError);
  assert.instance(
    failed(await join(t, "g", { memberId: "made-up" })),
    UnknownMemberIdError,
    "a member id the broker never made",
  );
  const a = ok(await join(t));
  assert.instance(failed(await heartbeat(t, "nobody", 1)), UnknownMemberIdError, "an unknown member of a known group");
  assert.instance(failed(await heartbeat(t, a.memberId, 2)), IllegalGenerationError, "a generation never handed out");

  const invalid: [string, unknown][] = [
    ["joinGroup without a topic", { api: "joinGroup", groupId: "g", sessionTimeoutMs: 1000 }],
    ["joinGroup without a group", { api: "joinGroup", topic: "t", sessionTimeoutMs: 1000 }],
    ["joinGroup without a session", { api: "joinGroup", groupId: "g", topic: "t" }],
    ["joinGroup with a zero session", { api: "joinGroup", groupId: "g", topic: "t", sessionTimeoutMs: 0 }],
    ["joinGroup with a huge session", { api: "joinGroup", groupId: "g", topic: "t", sessionTimeoutMs: 1e9 }],
    ["joinGroup with an empty member id", {
      api: "joinGroup",
      groupId: "g",
      topic: "t",
      sessionTimeoutMs: 1000,
      memberId: "",
    }],
    ["heartbeat without a member", { api: "heartbeat", groupId: "g", generation: 1 }],
    ["heartbeat without a generation", { api: "heartbeat", groupId: "g", memberId: a.memberId }],
    ["heartbeat with a negative generation", { api: "heartbeat", groupId: "g", memberId: a.memberId, generation: -1 }],
    ["leaveGroup without a member", { api: "leaveGroup", groupId: "g" }],
    ["offsetCommit without offsets", { api: "offsetCommit", groupId: "g", memberId: a.memberId, generation: 1 }],
    ["offsetCommit with a negative offset", {
      api: "offsetCommit",
      groupId: "g",
      memberId: a.memberId,
      generation: 1,
      offsets: [{ topic: "t", partition: 0, offset: -1 }],
    }],
    ["offsetCommit with a null entry", {
      api: "offsetCommit",
      groupId: "g",
      memberId: a.memberId,
      generation: 1,
      offsets: [null],
    }],
  ];
  for (const [what, request] of invalid) {
    const error = failed(await send(request));
    assert.is(error.code, "REQUEST_INVALID", what);
  }
  assert.equal(ok(await heartbeat(t, a.memberId, 1)).assignment, [0, 1], "the member is unharmed");
  ok(await leave(t, a.memberId));
  await t.close();
});

test.run();
