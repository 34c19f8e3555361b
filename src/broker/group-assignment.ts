/**
 * The group coordinator's assignor: which member should own which partition of the group's
 * topic. Pure and deterministic (the same members and history give the same answer on every
 * run and runtime), and sticky, because every partition that moves must first be released by
 * its previous owner, which costs that partition a pause.
 *
 * @module
 */

/**
 * Spreads partitions `0 … partitions-1` over the members as evenly as possible (shares differ
 * by at most one), keeping each member's previous partitions up to its share.
 *
 * @param previous each member's previous target, by member id; a new member has an empty one.
 * @returns each member's new target, sorted ascending; every partition goes to exactly one
 *   member when there is at least one member.
 */
export function assignPartitions(
  partitions: number,
  previous: ReadonlyMap<string, readonly number[]>,
): Map<string, number[]> {
  // Code-unit order, not localeCompare: the same on every runtime and locale.
  const ids = [...previous.keys()].sort();
  const result = new Map<string, number[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return result;

  const kept = (id: string): number[] =>
    [...new Set(previous.get(id)!)].filter((p) => p >= 0 && p < partitions).sort((a, b) => a - b);
  const base = Math.floor(partitions / ids.length);
  let extra = partitions % ids.length;
  // The larger shares go to the members that held the most, so fewer partitions move.
  const byHeld = [...ids].sort((a, b) => kept(b).length - kept(a).length || (a < b ? -1 : a > b ? 1 : 0));
  const quota = new Map<string, number>();
  for (const id of byHeld) quota.set(id, base + (extra-- > 0 ? 1 : 0));

  const taken = new Set<number>();
  for (const id of ids) {
    const mine = result.get(id)!;
    for (const p of kept(id)) {
      if (mine.length >= quota.get(id)!) break;
      // Targets are disjoint already; the check only guards against a caller's overlap.
      if (taken.has(p)) continue;
      taken.add(p);
      mine.push(p);
    }
  }
  let next = 0;
  for (const id of ids) {
    const mine = result.get(id)!;
    while (mine.length < quota.get(id)!) {
      while (taken.has(next)) next++;
      taken.add(next);
      mine.push(next);
    }
    mine.sort((a, b) => a - b);
  }
  return result;
}
