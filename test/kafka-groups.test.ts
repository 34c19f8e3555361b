/**
 * The classic (client-assigned) consumer-group coordinator behind the Kafka wire server:
 * the MEMBER_ID_REQUIRED dance, join and sync phases, rebalances on join, leave, session
 * expiry and rebalance timeout, generation fencing, static members, describe/list and close.
 * (`kafka-groups-schedules.test.ts` runs random schedules against it.)
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import { KafkaErrorCode as E } from "../src/kafka/error-codes.ts";
import { sleep } from "../src/runtime/clock.ts";
import {
  beat,
  dec,
  enc,
  memberId,
  OPTS,
  REBALANCE,
  request,
  SESSION,
  settle,
  setup,
  stable,
  sync,
  track,
  waitFor,
} from "./helpers/classic-groups.ts";

test(
  "two members: MEMBER_ID_REQUIRED, one leader with both metadata, generation 1, each syncs its own bytes",
  OPTS,
  async () => {
    const { groups } = setup();
    const a = await memberId(groups, "a");
    const b = await memberId(groups, "b");
    const ja = track(groups.join(request("a", { memberId: a })));
    await settle();
    assert.not.ok(ja.done, "the join phase waits for the member that was just given an id");
    assert.is(groups.describe("g").groupState, "PreparingRebalance");
    const rb = await groups.join(request("b", { memberId: b }));
    const ra = await waitFor(ja);
    assert.is(ra.errorCode, E.NONE);
    assert.is(rb.errorCode, E.NONE);
    assert.is(ra.generationId, 1);
    assert.is(rb.generationId, 1);
    assert.is(ra.leader, a);
    assert.is(rb.leader, a);
    assert.is(ra.protocolName, "range");
    assert.equal(ra.members.map((m) => [m.memberId, dec(m.metadata)]), [[a, "sub-a"], [b, "sub-b"]]);
    assert.equal(rb.members, []);
    assert.is(groups.describe("g").groupState, "CompletingRebalance");

    const sb = track(sync(groups, b, 1));
    await settle();
    assert.not.ok(sb.done, "a follower's sync waits for the leader's");
    const sa = await sync(groups, a, 1, { [a]: "for-a", [b]: "for-b" });
    const sbValue = await waitFor(sb);
    assert.equal([sa.errorCode, dec(sa.assignment)], [E.NONE, "for-a"]);
    assert.equal([sbValue.errorCode, dec(sbValue.assignment)], [E.NONE, "for-b"]);
    assert.is(groups.describe("g").groupState, "Stable");
    // In Stable, a sync is answered from the stored assignment.
    assert.is(dec((await sync(groups, b, 1)).assignment), "for-b");
    assert.is(beat(groups, a, 1), E.NONE);
  },
);

test(
  "a third member: the others' heartbeats answer REBALANCE_IN_PROGRESS, all rejoin, generation 2",
  OPTS,
  async () => {
    const { groups } = setup();
    const { ids: [a, b] } = await stable(groups, ["a", "b"]);
    const c = await memberId(groups, "c");
    assert.is(beat(groups, a!, 1), E.NONE, "an id handed out does not start a rebalance by itself");
    const jc = groups.join(request("c", { memberId: c }));
    assert.is(beat(groups, a!, 1), E.REBALANCE_IN_PROGRESS);
    assert.is(beat(groups, b!, 1), E.REBALANCE_IN_PROGRESS);
    assert.is((await sync(groups, b!, 1)).errorCode, E.REBALANCE_IN_PROGRESS);
    assert.is(groups.checkCommit("g", a!, 1), E.NONE, "members commit before rejoining");
    const [ra, rb, rc] = await Promise.all([
      groups.join(request("a", { memberId: a })),
      groups.join(request("b", { memberId: b })),
      jc,
    ]);
    assert.equal([ra.generationId, rb.generationId, rc.generationId], [2, 2, 2]);
    assert.equal(ra.members.map((m) => m.memberId), [a, b, c]);
    assert.equal(rc.members, []);
    // The old generation is fenced everywhere.
    assert.is(beat(groups, a!, 1), E.ILLEGAL_GENERATION);
    assert.is((await sync(groups, b!, 1)).errorCode, E.ILLEGAL_GENERATION);
    assert.is(groups.checkCommit("g", b!, 1), E.ILLEGAL_GENERATION);
    assert.is(groups.checkCommit("g", b!, 2), E.REBALANCE_IN_PROGRESS, "no commits until the assignment is out");
    await Promise.all([sync(groups, a!, 2, { [a!]: "x" }), sync(groups, b!, 2), sync(groups, c, 2)]);
    assert.is(groups.checkCommit("g", b!, 2), E.NONE);
    assert.is(groups.checkCommit("g", "nobody", 2), E.UNKNOWN_MEMBER_ID);
  },
);

test("a member that stops heartbeating is removed after its session timeout; the rest rebalance", OPTS, async () => {
  const { clock, groups } = setup();
  const { ids: [a, b] } = await stable(groups, ["a", "b"]);
  const start = clock.now();
  let code: number = E.NONE;
  while (code === E.NONE && clock.now() - start < 60_000) {
    await sleep(clock, 1_000);
    code = beat(groups, b!, 1);
  }
  assert.is(code, E.REBALANCE_IN_PROGRESS);
  const elapsed = clock.now() - start;
  assert.ok(elapsed >= SESSION && elapsed <= SESSION + 1_000, `noticed after ${elapsed} ms`);
  assert.is(beat(groups, a!, 1), E.UNKNOWN_MEMBER_ID);
  const rb = await groups.join(request("b", { memberId: b }));
  assert.equal([rb.generationId, rb.leader, rb.members.map((m) => m.memberId)], [2, b, [b]]);
});

test("leave removes the member and rebalances the rest; a second leave is UNKNOWN_MEMBER_ID", OPTS, async () => {
  const { groups } = setup();
  const { ids: [a, b] } = await stable(groups, ["a", "b"]);
  const left = groups.leave("g", [{ memberId: a!, groupInstanceId: null }, {
    memberId: "ghost",
    groupInstanceId: null,
  }]);
  assert.equal(left, {
    errorCode: E.NONE,
    members: [
      { memberId: a!, groupInstanceId: null, errorCode: E.NONE },
      { memberId: "ghost", groupInstanceId: null, errorCode: E.UNKNOWN_MEMBER_ID },
    ],
  });
  assert.is(beat(groups, b!, 1), E.REBALANCE_IN_PROGRESS);
  const rb = await groups.join(request("b", { memberId: b }));
  assert.equal([rb.generationId, rb.leader], [2, b], "the leader left: the next member leads");
  assert.is(groups.leave("g", [{ memberId: a!, groupInstanceId: null }]).members[0]!.errorCode, E.UNKNOWN_MEMBER_ID);
  await sync(groups, b!, 2, {});
  groups.leave("g", [{ memberId: b!, groupInstanceId: null }]);
  const described = groups.describe("g");
  assert.equal([described.groupState, described.members], ["Empty", []]);
  assert.is(groups.checkCommit("g", "", -1), E.NONE, "a simple commit to an empty group");
});

test("a member that never rejoins is dropped after the rebalance timeout and the rest complete", OPTS, async () => {
  const { clock, groups } = setup();
  const ids = [];
  for (const c of ["a", "b"]) ids.push(await memberId(groups, c));
  const [a, b] = ids as [string, string];
  // b's session outlives the rebalance timeout: only the rebalance timeout can drop it.
  const long = { sessionTimeoutMs: 120_000, rebalanceTimeoutMs: 20_000 };
  await Promise.all([
    groups.join(request("a", { memberId: a, ...long })),
    groups.join(request("b", { memberId: b, ...long })),
  ]);
  await Promise.all([sync(groups, a, 1, { [a]: "A", [b]: "B" }), sync(groups, b, 1)]);
  const start = clock.now();
  const c = await memberId(groups, "c");
  const joined = await Promise.all([
    groups.join(request("c", { memberId: c, ...long })),
    groups.join(request("a", { memberId: a, ...long })),
  ]);
  const elapsed = clock.now() - start;
  assert.is(elapsed, 20_000, "the join phase ended at the rebalance timeout");
  assert.equal(joined.map((j) => [j.errorCode, j.generationId]), [[E.NONE, 2], [E.NONE, 2]]);
  assert.equal(joined[1]!.members.map((m) => m.memberId), [a, c]);
  assert.is(beat(groups, b, 1), E.UNKNOWN_MEMBER_ID);
});

test(
  "members waiting in a join phase outlive their sessions; a silent one is dropped when its own ends",
  OPTS,
  async () => {
    const { clock, groups } = setup();
    const { ids: [a, b] } = await stable(groups, ["a", "b"]);
    const start = clock.now();
    const ra = await groups.join(request("a", { memberId: a }));
    // b never heartbeats: its session (10 s) ends before the rebalance timeout (30 s).
    assert.is(clock.now() - start, SESSION);
    assert.equal([ra.errorCode, ra.generationId, ra.members.map((m) => m.memberId)], [E.NONE, 2, [a]]);
    assert.is(beat(groups, b!, 1), E.UNKNOWN_MEMBER_ID);
  },
);

test("an id handed out with MEMBER_ID_REQUIRED and never used holds a rebalance only for a session", OPTS, async () => {
  const { clock, groups } = setup();
  const { ids: [a] } = await stable(groups, ["a"]);
  await memberId(groups, "b");
  const start = clock.now();
  const ra = await groups.join(request("a", { memberId: a, protocols: [{ name: "range", metadata: enc("v2") }] }));
  assert.is(clock.now() - start, SESSION);
  assert.equal([ra.errorCode, ra.generationId, ra.members.map((m) => dec(m.metadata))], [E.NONE, 2, ["v2"]]);
});

test(
  "a member leaving during the join phase does not leave the others waiting; its own join is answered",
  OPTS,
  async () => {
    const { groups } = setup();
    const { ids: [a, b, c] } = await stable(groups, ["a", "b", "c"]);
    const ja = groups.join(request("a", { memberId: a }));
    const jb = track(groups.join(request("b", { memberId: b })));
    groups.leave("g", [{ memberId: b!, groupInstanceId: null }]);
    assert.is((await waitFor(jb)).errorCode, E.UNKNOWN_MEMBER_ID);
    groups.leave("g", [{ memberId: c!, groupInstanceId: null }]);
    const ra = await ja;
    assert.equal([ra.errorCode, ra.generationId, ra.members.map((m) => m.memberId)], [E.NONE, 2, [a]]);
  },
);

test(
  "a leader that never syncs: the waiting syncs get REBALANCE_IN_PROGRESS and the group rebalances",
  OPTS,
  async () => {
    const { clock, groups } = setup();
    const a = await memberId(groups, "a");
    const b = await memberId(groups, "b");
    // Sessions outlive the rebalance timeout: only the missing sync can end this generation.
    const long = { sessionTimeoutMs: 120_000 };
    await Promise.all([
      groups.join(request("a", { memberId: a, ...long })),
      groups.join(request("b", { memberId: b, ...long })),
    ]);
    const start = clock.now();
    const sb = await sync(groups, b, 1);
    assert.is(sb.errorCode, E.REBALANCE_IN_PROGRESS);
    assert.is(clock.now() - start, REBALANCE);
    assert.is(beat(groups, a, 1), E.UNKNOWN_MEMBER_ID, "the leader that did not sync is dropped");
    const rb = await groups.join(request("b", { memberId: b }));
    assert.equal([rb.generationId, rb.leader], [2, b]);
  },
);

test("the initial rebalance delay gathers members arriving within it", OPTS, async () => {
  const { clock, groups } = setup({ initialRebalanceDelayMs: 3_000 });
  const old = { requireKnownMemberId: false };
  const ja = groups.join(request("a", old));
  await sleep(clock, 1_000);
  const jb = groups.join(request("b", old));
  const [ra, rb] = await Promise.all([ja, jb]);
  // b arrived during the first delay, so the coordinator waited one delay more.
  assert.is(clock.now(), 6_000);
  assert.equal([ra.generationId, rb.generationId, ra.members.length + rb.members.length], [1, 1, 2]);
});

test("refusals: protocol type, no common protocol, session timeout, unknown member, group id", OPTS, async () => {
  const { groups } = setup();
  const a = await memberId(groups, "a");
  void groups.join(request("a", { memberId: a }));
  assert.is((await groups.join(request("b", { protocolType: "connect" }))).errorCode, E.INCONSISTENT_GROUP_PROTOCOL);
  const other = [{ name: "roundrobin", metadata: enc("") }];
  assert.is((await groups.join(request("b", { protocols: other }))).errorCode, E.INCONSISTENT_GROUP_PROTOCOL);
  assert.is(
    (await groups.join(request("b", { protocolType: "", groupId: "h" }))).errorCode,
    E.INCONSISTENT_GROUP_PROTOCOL,
  );
  assert.is((await groups.join(request("b", { sessionTimeoutMs: 100 }))).errorCode, E.INVALID_SESSION_TIMEOUT);
  assert.is((await groups.join(request("b", { sessionTimeoutMs: 3_600_000 }))).errorCode, E.INVALID_SESSION_TIMEOUT);
  assert.is((await groups.join(request("b", { memberId: "b-forged" }))).errorCode, E.UNKNOWN_MEMBER_ID);
  assert.is((await groups.join(request("b", { memberId: "x", groupId: "new" }))).errorCode, E.UNKNOWN_MEMBER_ID);
  assert.is((await groups.join(request("b", { groupId: "" }))).errorCode, E.INVALID_GROUP_ID);
  assert.is(
    groups.heartbeat({ groupId: "none", memberId: "m", generationId: 1, groupInstanceId: null }).errorCode,
    E.UNKNOWN_MEMBER_ID,
  );
  assert.equal(groups.list().map((g) => g.groupId), ["g"], "refused joins leave no groups behind");
});

test(
  "commits from outside group management: allowed on an empty or unknown group, not beside members",
  OPTS,
  async () => {
    const { groups } = setup();
    assert.is(groups.checkCommit("simple", "", -1), E.NONE);
    assert.equal(groups.list(), [{ groupId: "simple", protocolType: "", groupState: "Empty" }]);
    assert.is(groups.checkCommit("unknown", "m", 3), E.ILLEGAL_GENERATION);
    await stable(groups, ["a"]);
    assert.is(groups.checkCommit("g", "", -1), E.UNKNOWN_MEMBER_ID);
    assert.is(groups.checkCommit("g", "", -1, { transactional: true }), E.NONE);
  },
);

test("describe and list report each phase", OPTS, async () => {
  const { groups } = setup();
  assert.equal(groups.describe("g"), {
    errorCode: E.NONE,
    groupId: "g",
    groupState: "Dead",
    protocolType: "",
    protocolData: "",
    members: [],
  });
  const a = await memberId(groups, "a");
  const ja = groups.join(request("a", { memberId: a }));
  const joined = await ja;
  assert.is(joined.generationId, 1);
  assert.equal(groups.list(), [{ groupId: "g", protocolType: "consumer", groupState: "CompletingRebalance" }]);
  assert.equal(groups.describe("g").members.map((m) => m.memberMetadata.length), [0], "no metadata until Stable");
  await sync(groups, a, 1, { [a]: "bytes" });
  const d = groups.describe("g");
  assert.equal([d.groupState, d.protocolType, d.protocolData], ["Stable", "consumer", "range"]);
  assert.equal(
    d.members.map((m) => [m.memberId, m.clientId, m.clientHost, dec(m.memberMetadata), dec(m.memberAssignment)]),
    [
      [a, "a", "/127.0.0.1", "sub-a", "bytes"],
    ],
  );
  assert.equal(groups.list(["stable"]).length, 1);
  assert.equal(groups.list(["Empty", "PreparingRebalance"]), []);
  assert.is(groups.describe("").errorCode, E.INVALID_GROUP_ID);
});

test("static members: a new instance with the same group.instance.id fences the old member id", OPTS, async () => {
  const { groups } = setup();
  const first = await groups.join(request("a", { groupInstanceId: "i1" }));
  assert.is(first.errorCode, E.NONE, "a static member needs no MEMBER_ID_REQUIRED round trip");
  await groups.sync({
    groupId: "g",
    memberId: first.memberId,
    generationId: 1,
    groupInstanceId: "i1",
    protocolType: null,
    protocolName: null,
    assignments: [],
  });
  const second = await groups.join(request("a", { groupInstanceId: "i1" }));
  assert.is(second.errorCode, E.NONE);
  assert.is.not(second.memberId, first.memberId);
  const ref = { groupId: "g", generationId: second.generationId, groupInstanceId: "i1" };
  assert.is(groups.heartbeat({ ...ref, memberId: first.memberId }).errorCode, E.FENCED_INSTANCE_ID);
  assert.is(groups.heartbeat({ ...ref, memberId: second.memberId }).errorCode, E.NONE);
  assert.is(groups.leave("g", [{ memberId: "", groupInstanceId: "i1" }]).members[0]!.errorCode, E.NONE);
  assert.is(groups.describe("g").groupState, "Empty");
});

test("close answers every pending join and sync and cancels every timer", OPTS, async () => {
  const { clock, groups } = setup();
  const { ids: [a, b] } = await stable(groups, ["a", "b"]);
  const ja = groups.join(request("a", { memberId: a }));
  const c = await memberId(groups, "c");
  const jc = groups.join(request("c", { memberId: c }));
  groups.close();
  const results = await Promise.all([ja, jc]);
  assert.equal(results.map((r) => r.errorCode), [E.COORDINATOR_NOT_AVAILABLE, E.COORDINATOR_NOT_AVAILABLE]);
  assert.is(clock.pending, 0);
  assert.is(beat(groups, b!, 1), E.COORDINATOR_NOT_AVAILABLE);
  assert.is((await sync(groups, b!, 1)).errorCode, E.COORDINATOR_NOT_AVAILABLE);

  // A follower's sync waiting for its leader, too.
  const again = setup();
  const d = await memberId(again.groups, "d");
  const e = await memberId(again.groups, "e");
  await Promise.all([
    again.groups.join(request("d", { memberId: d })),
    again.groups.join(request("e", { memberId: e })),
  ]);
  const se = track(sync(again.groups, e, 1));
  again.groups.close();
  assert.is((await waitFor(se)).errorCode, E.COORDINATOR_NOT_AVAILABLE);
});

test.run();
