/**
 * Zombie fencing of consumer generations, judged live at the broker's door: the referee wraps
 * the broker's own transport (below every chaos layer, so it sees each request as the broker
 * handles it) and checks every offset commit the broker accepts, in or out of a transaction,
 * against the group as it stands at that moment. A commit from an old generation, or from a
 * member that does not own the partition, must be refused; the ones refused are counted, so
 * a run shows the fencing was put to work.
 */
import type { EmbeddedBroker, RequestOptions, Transport } from "../../src/index.ts";
import type { Request, ResponseFor } from "../../src/transport/protocol.ts";

export class CommitReferee implements Transport {
  readonly #broker: EmbeddedBroker;
  readonly #inner: Transport;
  readonly #label: string;
  /** One line per commit the broker should have refused. */
  readonly violations: string[] = [];
  /** Commits from a stale generation (or a non-owner) that the broker refused. */
  fenced = 0;

  constructor(broker: EmbeddedBroker, label: string) {
    this.#broker = broker;
    this.#inner = broker.transport();
    this.#label = label;
  }

  async request<R extends Request>(request: R, options: RequestOptions): Promise<ResponseFor<R>> {
    if (request.api !== "offsetCommit" && request.api !== "txnOffsetCommit") {
      return this.#inner.request(request, options);
    }
    // The broker handles a group request as it arrives, so the group now is the group it judges by.
    const group = this.#broker.group(request.groupId);
    const stale = this.#staleness(request, group);
    const answer = await this.#inner.request(request, options);
    if (stale !== null && answer.ok) this.violations.push(`[${this.#label}] ${stale}, and it was accepted`);
    if (stale !== null && !answer.ok) this.fenced++;
    return answer;
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /** Why this commit must be refused, or null when the broker may accept it. */
  #staleness(
    request: Request & { api: "offsetCommit" | "txnOffsetCommit" },
    group: ReturnType<EmbeddedBroker["group"]>,
  ): string | null {
    const current = group?.generation ?? 0;
    const generation = request.generation;
    // No generation (-1, or none in a transaction) is a commit outside the group protocol.
    if (generation === undefined || generation === -1) return null;
    if (generation !== current) return `a commit of generation ${generation} came in generation ${current}`;
    if (request.api === "txnOffsetCommit") return null;
    const member = group?.members.find((m) => m.memberId === request.memberId);
    const notOwned = request.offsets.filter((o) => !member?.owned.includes(o.partition));
    if (notOwned.length === 0) return null;
    return `member ${request.memberId} committed partition(s) ${notOwned.map((o) => o.partition)} it does not own`;
  }
}
