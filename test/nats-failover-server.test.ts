/**
 * Producer guarantees through a SIGKILL of a single NATS server with file storage, restarted
 * on its store: at-most-once, at-least-once and exactly-once producers, in message and in
 * batch framing, 20,000 records each, all mid-stream when the server dies. Judged as in
 * nats-failover.test.ts (the 3-node cluster cases). Needs `nats-server`; ACKTOR_SKIP_ENGINES=1
 * skips.
 */
import { test } from "./helpers/harness.ts";
import { startNatsServer } from "./helpers/nats-cluster.ts";
import { sleep } from "./helpers/nats-process.ts";
import { SKIP } from "./helpers/nats.ts";
import {
  COUNT,
  DOWN_MS,
  type FailoverOptions,
  failoverTopics,
  FAULT_AFTER_MS,
  RATE,
  runFailover,
} from "./helpers/failover.ts";

if (SKIP) {
  console.log("SKIPPED: the NATS single-server failover test (ACKTOR_SKIP_ENGINES=1)");
} else {
  test("a single server with file storage, SIGKILLed mid-stream and restarted: every producer keeps its promise", {
    deadlineMs: 120_000,
  }, async () => {
    const server = await startNatsServer({ label: "failover" });
    try {
      const options: FailoverOptions = { replicas: 1, count: COUNT, rate: RATE };
      const topics = await failoverTopics(server, options);
      await runFailover(server, topics, {
        ...options,
        faultAfterMs: FAULT_AFTER_MS,
        what: "single server, file storage",
      }, async () => {
        const [node] = server.nodes;
        const at = Date.now();
        await server.kill(node!, "SIGKILL");
        await sleep(DOWN_MS);
        await server.restart(node!);
        return `SIGKILLed at ${FAULT_AFTER_MS} ms, back after ${Date.now() - at} ms`;
      });
    } finally {
      await server.stop();
    }
  });
}

test.run();
