/**
 * NATS and JetStream errors in acktor's terms, and the one question a bare "no responders"
 * cannot answer by itself: is the stream gone, or only not answering for a while?
 *
 * A JetStream publish whose subject nobody answers fails with "no responders", which the
 * client reports as `JetStreamNotEnabled`. That happens when the stream is truly absent, but
 * also while a clustered stream elects a new leader, or a restarted server recovers its
 * streams: the subject's responder is away for a few seconds. Only the server can tell the
 * two apart, so on "no responders" the adapter asks it once for the stream's info:
 * - the stream exists, or the JetStream API is itself unavailable (no answer, no responders,
 *   "temporarily unavailable") → `NotLeaderError`, retriable: the producer's policy decides
 *   how long to wait for the stream to answer again;
 * - the API answers "stream not found" → `UnknownTopicError`, not retriable;
 * - the account has no JetStream → `EngineUnavailableError`, not retriable.
 *
 * @module
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import {
  AcktorError,
  DisconnectedError,
  EngineUnavailableError,
  NotLeaderError,
  RequestTimedOutError,
  TransportClosedError,
  UnknownTopicError,
} from "../../errors.ts";

/** JetStream API answers that mean "the cluster is recovering, ask again". */
const RECOVERING_CODES = new Set([
  10008, // JSClusterNotAvailErr: "JetStream system temporarily unavailable" (no meta leader)
  10009, // JSClusterNotLeaderErr: "JetStream cluster can not handle request"
  10118, // JSStreamOfflineErr: "stream is offline" (no replica of it is up)
]);
/** JSNotEnabledForAccountErr: this account has no JetStream, and waiting will not give it one. */
const NOT_ENABLED_FOR_ACCOUNT = 10039;

/** The error's class name (the client's errors set `name`; some only have a constructor). */
export function nameOf(error: unknown): string {
  return error instanceof Error ? error.name !== "Error" ? error.name : error.constructor.name : typeof error;
}

/** The JetStream API error code an error carries, if any (`err_code`, e.g. 10059). */
export function apiCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return nameOf(error).endsWith("ApiError") || nameOf(error).endsWith("NotFoundError")
    ? typeof code === "number" ? code : undefined
    : undefined;
}

/** The HTTP-like status of a JetStream API error (503: unavailable for now). */
function apiStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return apiCode(error) !== undefined && typeof status === "number" ? status : undefined;
}

/**
 * Whether `error` is the client's "no responders" (its `JetStreamNotEnabled` built from a 503
 * reply), as opposed to the API's explicit "not enabled for this account".
 */
export function isNoResponders(error: unknown): boolean {
  if (nameOf(error) === "NoRespondersError") return true;
  if (nameOf(error) !== "JetStreamNotEnabled") return false;
  return apiCode((error as Error).cause) !== NOT_ENABLED_FOR_ACCOUNT;
}

/** Whether a JetStream API error says the cluster is recovering (election, stream offline). */
export function isRecovering(error: unknown): boolean {
  const code = apiCode(error);
  return code !== undefined && (RECOVERING_CODES.has(code) || apiStatus(error) === 503);
}

/**
 * NATS errors in acktor's terms. Timeouts and dropped connections keep their meaning ("may
 * or may not have been applied", retriable); "no responders" and a recovering cluster are
 * retriable too (see the module comment); the rest name the server and the cause.
 */
export function typedNatsError(error: unknown, server: string, closed: boolean): AcktorError {
  if (error instanceof AcktorError) return error;
  const name = nameOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (closed) return new TransportClosedError();
  if (name === "TimeoutError") return new RequestTimedOutError(0, `${server}: no answer in time (${message})`);
  if (name === "ConnectionError" || name === "ClosedConnectionError" || name === "DrainingConnectionError") {
    const typed = new DisconnectedError();
    (typed as { cause?: unknown }).cause = error;
    return typed;
  }
  if (isNoResponders(error)) {
    return withCause(
      new NotLeaderError(
        `${server}: no responders: JetStream did not answer (a cluster electing a leader, a server recovering its streams, or one without JetStream)`,
      ),
      error,
    );
  }
  if (name === "JetStreamNotEnabled") {
    return new EngineUnavailableError(server, `JetStream is not enabled for this account (${message})`, error);
  }
  if (isRecovering(error)) {
    return withCause(
      new NotLeaderError(`${server}: JetStream is recovering (${message}, code ${apiCode(error)})`),
      error,
    );
  }
  return new AcktorError("INTERNAL", `${server}: ${name}: ${message}`, { cause: error });
}

/**
 * A publish to `subject` of `topic` met "no responders": asks the server (once, within
 * `probe`'s own short timeout) whether the stream `stream` exists, and says what that means.
 */
export async function unansweredPublish(
  probe: JetStreamManager,
  where: { server: string; topic: string; stream: string; subject: string },
  error: unknown,
): Promise<AcktorError> {
  const { server, topic, stream, subject } = where;
  try {
    await probe.streams.info(stream);
  } catch (asked) {
    if (nameOf(asked) === "StreamNotFoundError") return withCause(new UnknownTopicError(topic), error);
    if (nameOf(asked) === "JetStreamNotEnabled" && !isNoResponders(asked)) {
      return new EngineUnavailableError(server, `JetStream is not enabled for this account`, asked);
    }
    // No answer, no responders, or "temporarily unavailable": the API itself is recovering.
    return withCause(
      new NotLeaderError(
        `${server}: no responders on "${subject}" (topic "${topic}"), and JetStream could not say whether stream ${stream} exists (${
          nameOf(asked)
        }: ${(asked as Error).message}): the cluster is recovering`,
      ),
      error,
    );
  }
  return withCause(
    new NotLeaderError(
      `${server}: no responders on "${subject}" (topic "${topic}"), although stream ${stream} exists: its leader is being elected, or it is recovering`,
    ),
    error,
  );
}

function withCause<E extends AcktorError>(typed: E, cause: unknown): E {
  (typed as { cause?: unknown }).cause = cause;
  return typed;
}
