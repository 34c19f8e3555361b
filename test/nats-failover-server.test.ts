/**
 * Producer guarantees through a SIGKILL of a single NATS server with file storage, restarted
 * on its store: at-most-once, at-least-once and exactly-once producers, in message and in
 * batch framing, 20,000 records each, all mid-stream when the server dies. Judged as in
 * nats-failover.test.ts (the 3-node cluster cases), which would run past one suite's
 * deadline with this case too. Needs `nats-server`; ACKTOR_SKIP_ENGINES=1 skips.
 */
import { test } from "./helpers/harness.ts";
import { failoverCase, killAndRestart } from "./helpers/failover.ts";
import { withNatsCluster } from "./helpers/nats-cluster.ts";
import { SKIP } from "./helpers/nats.ts";

if (SKIP) {
  console.log("SKIPPED: the NATS single-server failover test (ACKTOR_SKIP_ENGINES=1)");
} else {
  test("a single server with file storage, SIGKILLed mid-stream and restarted: every producer keeps its promise", {
    deadlineMs: 120_000,
  }, async () => {
    await withNatsCluster(
      { size: 1, label: "failover" },
      (server) => failoverCase(server, { what: "single server, file storage" }, (node) => killAndRestart(server, node)),
    );
  });
}

test.run();
