/**
 * The broker's request dispatch: each protocol API to the part of the broker that answers
 * it, and every refusal turned into an `ok: false` answer rather than a rejected promise.
 *
 * @module
 */
import { AcktorError, UnstableOffsetCommitError } from "../errors.ts";
import type {
  Ack,
  FetchRequest,
  FetchResponse,
  HeartbeatResponse,
  InitProducerIdResponse,
  JoinGroupResponse,
  MetadataRequest,
  MetadataResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  Request,
  ResponseFor,
} from "../transport/protocol.ts";
import type { GroupCoordinator } from "./group-coordinator.ts";
import type { GroupOffsets } from "./group-offsets.ts";
import type { Housekeeping } from "./housekeeping.ts";
import type { ProduceHandler } from "./produce.ts";
import { wireString } from "./request-fields.ts";
import type { TopicRegistry } from "./topic-registry.ts";
import type { TransactionCoordinator } from "./transaction-coordinator.ts";
import { failure } from "./wire-failure.ts";

/** The parts of a broker that answer requests. */
export interface DispatchTargets {
  readonly topics: TopicRegistry;
  readonly produce: ProduceHandler;
  readonly coordinator: TransactionCoordinator;
  readonly groups: GroupCoordinator;
  readonly groupOffsets: GroupOffsets;
  readonly housekeeping: Housekeeping;
}

/** Routes requests to their handlers. */
export class RequestDispatch {
  readonly #targets: DispatchTargets;

  constructor(targets: DispatchTargets) {
    this.#targets = targets;
  }

  /** Answers one request. Never rejects: broker errors are `ok: false` answers. */
  handle<R extends Request>(request: R): Promise<ResponseFor<R>> {
    const { coordinator, groups } = this.#targets;
    try {
      this.#targets.housekeeping.onRequest();
      switch (request.api) {
        case "produce":
          return Promise.resolve(this.#targets.produce.produce(request)) as Promise<ResponseFor<R>>;
        case "fetch":
          return Promise.resolve(this.#fetch(request) as ResponseFor<R>);
        case "metadata":
          return Promise.resolve(this.#metadata(request) as ResponseFor<R>);
        case "initProducerId":
          return Promise.resolve(
            { ok: true, ...coordinator.initProducerId(request) } satisfies InitProducerIdResponse as ResponseFor<R>,
          );
        case "addPartitionsToTxn":
          coordinator.addPartitionsToTxn(request);
          return Promise.resolve({ ok: true } satisfies Ack as ResponseFor<R>);
        case "txnOffsetCommit":
          coordinator.txnOffsetCommit(request);
          return Promise.resolve({ ok: true } satisfies Ack as ResponseFor<R>);
        case "endTxn":
          coordinator.endTxn(request);
          return Promise.resolve({ ok: true } satisfies Ack as ResponseFor<R>);
        case "offsetFetch":
          return Promise.resolve(this.#offsetFetch(request) as ResponseFor<R>);
        case "joinGroup":
          return Promise.resolve(
            { ok: true, ...groups.joinGroup(request) } satisfies JoinGroupResponse as ResponseFor<R>,
          );
        case "heartbeat":
          return Promise.resolve(
            { ok: true, ...groups.heartbeat(request) } satisfies HeartbeatResponse as ResponseFor<R>,
          );
        case "leaveGroup":
          groups.leaveGroup(request);
          return Promise.resolve({ ok: true } satisfies Ack as ResponseFor<R>);
        case "offsetCommit":
          groups.offsetCommit(request);
          return Promise.resolve({ ok: true } satisfies Ack as ResponseFor<R>);
        default:
          throw new AcktorError(
            "REQUEST_INVALID",
            `unknown request api ${JSON.stringify((request as { api: unknown }).api)}`,
          );
      }
    } catch (error) {
      return Promise.resolve(failure(error) as ResponseFor<R>);
    }
  }

  #fetch(request: FetchRequest): FetchResponse {
    const partition = this.#targets.topics.partition(request.topic, request.partition);
    // Any group field makes it a member's fetch, so a half-filled one is refused, not served as plain.
    if (request.groupId !== undefined || request.memberId !== undefined || request.generation !== undefined) {
      this.#targets.groups.checkFetch(request, request.topic, request.partition);
    }
    const { records, nextOffset } = partition.fetch(request.offset, request.maxRecords, request.isolation);
    return {
      ok: true,
      records,
      nextOffset,
      highWatermark: partition.highWatermark,
      logEndOffset: partition.log.endOffset,
      lastStableOffset: partition.lastStableOffset,
    };
  }

  #offsetFetch(request: OffsetFetchRequest): OffsetFetchResponse {
    const groupId = wireString("groupId", request.groupId);
    this.#targets.topics.partition(request.topic, request.partition);
    const holder = request.requireStable === true
      ? this.#targets.coordinator.holdingOffset(groupId, request.topic, request.partition)
      : undefined;
    if (holder !== undefined) {
      throw new UnstableOffsetCommitError(
        `group "${groupId}"'s offset for ${request.topic}[${request.partition}] is held by the open transaction of "${holder}": ask again once it ends`,
      );
    }
    return { ok: true, offset: this.#targets.groupOffsets.fetch(groupId, request.topic, request.partition) };
  }

  #metadata(request: MetadataRequest): MetadataResponse {
    return { ok: true, topic: request.topic, partitions: this.#targets.topics.partitionsOf(request.topic).length };
  }
}
