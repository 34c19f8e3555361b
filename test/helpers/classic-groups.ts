/**
 * Helpers for the classic consumer-group tests (`kafka-groups*.test.ts`): a coordinator on a
 * virtual clock, JoinGroup requests with defaults, and the MEMBER_ID_REQUIRED dance.
 */
import * as assert from "uvu/assert";
import { ClassicGroups, type ClassicGroupsOptions } from "../../src/kafka/groups/classic-groups.ts";
import { KafkaErrorCode as E } from "../../src/kafka/error-codes.ts";
import type { JoinRequest } from "../../src/kafka/groups/types.ts";
import { VirtualClock } from "../../src/runtime/virtual-clock.ts";

/** UTF-8 bytes of a string. */
export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
/** The string of UTF-8 bytes. */
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
/** Wall-clock deadline of each test; the virtual clock makes them fast. */
export const OPTS = { deadlineMs: 10_000 };
/** Every member's session timeout unless a test says otherwise (ms). */
export const SESSION = 10_000;
/** Every member's rebalance timeout unless a test says otherwise (ms). */
export const REBALANCE = 30_000;

/** A coordinator on a fresh virtual clock. */
export function setup(options: Partial<ClassicGroupsOptions> = {}) {
  const clock = new VirtualClock();
  return { clock, groups: new ClassicGroups({ clock, ...options }) };
}

/** A JoinGroup v4+ request to group "g" for a client ("range" only, metadata naming it), with overrides. */
export function request(clientId: string, extra: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId: "g",
    memberId: "",
    groupInstanceId: null,
    protocolType: "consumer",
    protocols: [{ name: "range", metadata: enc(`sub-${clientId}`) }],
    sessionTimeoutMs: SESSION,
    rebalanceTimeoutMs: REBALANCE,
    requireKnownMemberId: true,
    clientId,
    clientHost: "/127.0.0.1",
    ...extra,
  };
}

/** Lets every promise chain run without yielding a macrotask (so the virtual clock stands still). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** Follows a promise's fate without awaiting it. */
export function track<T>(promise: Promise<T>): { done: boolean; value?: T } {
  const t: { done: boolean; value?: T } = { done: false };
  void promise.then((value) => Object.assign(t, { done: true, value }));
  return t;
}

/** The first half of the dance: a join without id gets MEMBER_ID_REQUIRED and an id. */
export async function memberId(groups: ClassicGroups, clientId: string): Promise<string> {
  const first = await groups.join(request(clientId));
  assert.is(first.errorCode, E.MEMBER_ID_REQUIRED);
  assert.ok(first.memberId.startsWith(`${clientId}-`), first.memberId);
  return first.memberId;
}

/** A SyncGroup to group "g"; `assignments` maps member ids to strings (the leader's). */
export function sync(
  groups: ClassicGroups,
  id: string,
  generationId: number,
  assignments: Record<string, string> = {},
) {
  return groups.sync({
    groupId: "g",
    memberId: id,
    generationId,
    groupInstanceId: null,
    protocolType: "consumer",
    protocolName: "range",
    assignments: Object.entries(assignments).map(([memberId, a]) => ({ memberId, assignment: enc(a) })),
  });
}

/** A heartbeat to group "g": its error code. */
export const beat = (groups: ClassicGroups, memberId: string, generationId: number) =>
  groups.heartbeat({ groupId: "g", memberId, generationId, groupInstanceId: null }).errorCode;

/** Members join (each with the dance) and sync: the group is Stable; the first client leads. */
export async function stable(groups: ClassicGroups, clients: string[]) {
  const ids = [];
  for (const c of clients) ids.push(await memberId(groups, c));
  const joins = await Promise.all(ids.map((id, i) => groups.join(request(clients[i]!, { memberId: id }))));
  const generation = joins[0]!.generationId;
  const leader = joins.find((j) => j.members.length > 0)!;
  const assignments = Object.fromEntries(ids.map((id) => [id, `${generation}:${id}`]));
  const syncs = await Promise.all(
    ids.map((id) => sync(groups, id, generation, id === leader.memberId ? assignments : {})),
  );
  for (const s of syncs) assert.is(s.errorCode, E.NONE);
  return { ids, generation, joins };
}

/** Awaits a tracked promise's value. */
export async function waitFor<T>(t: { done: boolean; value?: T }): Promise<T> {
  for (let i = 0; i < 100 && !t.done; i++) await settle();
  assert.ok(t.done, "promise did not settle");
  return t.value as T;
}
