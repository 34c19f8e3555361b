/**
 * Random schedules of join, sync, heartbeat, leave and waiting for 2-4 members of one classic
 * consumer group on a virtual clock: every join and sync settles, generations only grow, a
 * generation's members are exactly those it answered, and each member gets its own bytes.
 */
import { test } from "./helpers/harness.ts";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { KafkaErrorCode as E } from "../src/kafka/error-codes.ts";
import type { JoinResult } from "../src/kafka/groups/types.ts";
import { sleep } from "../src/runtime/clock.ts";
import { beat, dec, REBALANCE, request, settle, setup, sync } from "./helpers/classic-groups.ts";

type Step = { kind: "join" | "sync" | "beat" | "leave"; who: number } | { kind: "wait"; ms: number };

/** Mostly calls (leaves are rarer, so generations get to complete), and waits that sometimes outlast a session. */
const schedules = fc.integer({ min: 2, max: 4 }).chain((n) =>
  fc.tuple(
    fc.constant(n),
    fc.array(
      fc.oneof(
        {
          weight: 8,
          arbitrary: fc.record({
            kind: fc.constantFrom("join", "join", "join", "sync", "sync", "sync", "beat", "beat", "leave"),
            who: fc.nat(n - 1),
          }),
        },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant("wait"), ms: fc.integer({ min: 0, max: 3_000 }) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant("wait"), ms: fc.integer({ min: 0, max: 40_000 }) }) },
      ) as fc.Arbitrary<Step>,
      { minLength: 10, maxLength: 60, size: "max" },
    ),
  )
);

interface Client {
  readonly name: string;
  memberId: string;
  joined: JoinResult | null;
  joining: boolean;
  syncing: boolean;
}

test("random schedules of 2-4 members: every call settles, generations only grow, each member gets its own slot", {
  deadlineMs: 20_000,
}, async () => {
  await fc.assert(
    fc.asyncProperty(schedules, async ([n, steps]) => {
      const { clock, groups } = setup();
      const clients: Client[] = Array.from({ length: n }, (_, i) => ({
        name: `c${i}`,
        memberId: "",
        joined: null,
        joining: false,
        syncing: false,
      }));
      let inflight = 0;
      let lastGeneration = 0;
      const joinedBy = new Map<number, JoinResult[]>();
      const syncedBy = new Map<number, string[]>();
      const broken: unknown[] = [];
      const follow = <T>(promise: Promise<T>, then: (value: T) => void) => {
        inflight++;
        void promise.then((value) => {
          inflight--;
          then(value);
        }).catch((error) => broken.push(error));
      };
      const forget = (c: Client) => {
        c.memberId = "";
        c.joined = null;
      };
      for (const step of steps) {
        if (step.kind === "wait") {
          await sleep(clock, step.ms);
          continue;
        }
        const c = clients[step.who]!;
        if (step.kind === "join" && !c.joining) {
          c.joining = true;
          follow(groups.join(request(c.name, { memberId: c.memberId })), (r) => {
            c.joining = false;
            if (r.errorCode === E.MEMBER_ID_REQUIRED) c.memberId = r.memberId;
            else if (r.errorCode === E.UNKNOWN_MEMBER_ID) forget(c);
            if (r.errorCode !== E.NONE) return;
            assert.ok(
              r.generationId >= lastGeneration,
              `generation went back from ${lastGeneration} to ${r.generationId}`,
            );
            lastGeneration = r.generationId;
            c.memberId = r.memberId;
            c.joined = r;
            joinedBy.set(r.generationId, [...(joinedBy.get(r.generationId) ?? []), r]);
          });
        } else if (step.kind === "sync" && !c.syncing && c.joined) {
          c.syncing = true;
          const { generationId: g, members } = c.joined;
          const id = c.memberId;
          follow(
            sync(groups, id, g, Object.fromEntries(members.map((m) => [m.memberId, `${g}:${m.memberId}`]))),
            (r) => {
              c.syncing = false;
              if (r.errorCode === E.UNKNOWN_MEMBER_ID) forget(c);
              if (r.errorCode !== E.NONE) return;
              assert.is(dec(r.assignment), `${g}:${id}`, "a member got another member's assignment");
              syncedBy.set(g, [...(syncedBy.get(g) ?? []), id]);
            },
          );
        } else if (step.kind === "beat" && c.joined) {
          if (beat(groups, c.memberId, c.joined.generationId) === E.UNKNOWN_MEMBER_ID) forget(c);
        } else if (step.kind === "leave" && c.memberId !== "") {
          groups.leave("g", [{ memberId: c.memberId, groupInstanceId: null }]);
          forget(c);
        }
        await settle();
      }
      // With nobody calling any more, every rebalance and session runs out: all calls settle.
      await sleep(clock, 10 * REBALANCE);
      if (broken.length > 0) throw broken[0];
      assert.is(inflight, 0, "a join or sync never settled");
      assert.ok(["Empty", "Dead"].includes(groups.describe("g").groupState), "silent members were not dropped");
      for (const [g, results] of joinedBy) {
        const leaders = new Set(results.map((r) => r.leader));
        assert.is(leaders.size, 1, `generation ${g} has one leader`);
        const listed = results.find((r) => r.memberId === r.leader)!.members.map((m) => m.memberId).sort();
        assert.equal(
          [...new Set(results.map((r) => r.memberId))].sort(),
          listed,
          `generation ${g}: joined = the leader's list`,
        );
        for (const id of syncedBy.get(g) ?? []) assert.ok(listed.includes(id), `${id} synced into generation ${g}`);
      }
      groups.close();
      assert.is(clock.pending, 0, "close left a timer behind");
    }),
    { numRuns: 150 },
  );
});

test.run();
