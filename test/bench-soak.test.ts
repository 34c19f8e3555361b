import * as assert from "uvu/assert";
import { test } from "./helpers/harness.ts";
import { runSoak, verdict } from "../benchmarks/soak.ts";

const MiB = 1024 * 1024;

// A small soak (benchmarks/soak.ts): every record read back despite 1% faults, and the
// broker's state bounded by retention and by one producer. No timing is asserted.
test(
  "soak: 100k records with retention and faults, nothing lost, broker state bounded",
  { deadlineMs: 120_000 },
  async () => {
    const retentionBytes = 1 * MiB;
    const result = await runSoak({
      records: 100_000,
      faultRate: 0.01,
      retentionBytes,
      producerOnly: false,
      seed: 7,
    });
    assert.is(result.sendFailures, 0);
    // A record retention deleted before the consumer read it shows up as an offset reset.
    if (result.offsetResets === 0) assert.is(result.lost, 0, "records never read without an offset reset");
    assert.ok(result.distinct + result.lost === result.records);
    assert.ok(result.samples.length >= 1);
    // Retention: at most one batch (128 KiB) over per partition, of 4.
    assert.ok(result.broker.bytes <= 4 * (retentionBytes + 128 * 1024), `log holds ${result.broker.bytes} bytes`);
    assert.ok(result.broker.producers <= 4, `${result.broker.producers} producer entries`);
    assert.ok(result.broker.dedupBatches <= 20, `${result.broker.dedupBatches} dedup batches`);
    assert.is(result.broker.aborted, 0);
    const v = verdict(result, retentionBytes);
    assert.ok(Number.isFinite(v.maxRssMiB));
  },
);

test.run();
