#!/usr/bin/env bash
# acktor as a Deno user outside this checkout gets it. A fresh Deno project, in a temporary
# directory with its own DENO_DIR, links this checkout under its JSR name ("links" in its
# deno.json, which is what `deno link` writes) and imports "@acktor/acktor" and
# "@acktor/acktor/nats". Nothing comes from this checkout's node_modules: every npm package is
# resolved through acktor's deno.json "imports" and fetched from the npm registry, as for the
# package published on JSR, so a missing entry there fails this script before it fails users.
#
# Usage: bash test/deno-project.sh   (DENO=/path/to/deno to use another deno binary)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deno="${DENO:-$repo/node_modules/.bin/deno}"
started=$SECONDS

project="$(mktemp -d "${TMPDIR:-/tmp}/acktor-deno-project.XXXXXX")"
trap 'rm -rf "$project"' EXIT
# A cache of its own, so a package the checkout happens to have cached cannot hide a missing
# dependency.
export DENO_DIR="$project/.deno"

# "nodeModulesDir": "none": npm packages come from DENO_DIR's global cache, never from a
# node_modules folder (and so never from the checkout's, which "manual" would point at).
cat >"$project/deno.json" <<EOF
{
  "links": ["$repo"],
  "nodeModulesDir": "none"
}
EOF

cat >"$project/main.ts" <<'EOF'
import { EmbeddedBroker, exactlyOnce, ProducerClosedError } from "@acktor/acktor";
import { connectNats } from "@acktor/acktor/nats";

function check(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

const broker = new EmbeddedBroker();
broker.createTopic("orders", { partitions: 2 });

const producer = broker.producer("orders", { deliverySemantic: exactlyOnce({ transactionalId: "deno-project" }) });
const sent = ["created", "paid", "packed", "shipped", "delivered"];
await producer.transaction(async (tx) => {
  for (const [i, value] of sent.entries()) await tx.send(`order-${i}`, value);
});
await producer.close();
const refused = await producer.send("late", "x").then(() => null, (error: unknown) => error);
check(refused instanceof ProducerClosedError, `a closed producer should refuse with ProducerClosedError, got ${refused}`);

const consumer = broker.consumer("orders", { groupId: "deno-project" });
const received: string[] = [];
const stop = new AbortController();
const timeout = setTimeout(() => stop.abort(), 10_000);
const decoder = new TextDecoder();
await consumer.run(async (record) => {
  received.push(decoder.decode(record.value));
  if (received.length === sent.length) stop.abort();
}, { signal: stop.signal });
clearTimeout(timeout);
await consumer.close();

// Two partitions: the order across them is the broker's, so compare as sets, and count to
// catch a duplicate.
check(received.length === sent.length, `expected ${sent.length} records, got ${received.length}: ${received}`);
check([...received].sort().join() === [...sent].sort().join(), `expected ${sent}, got ${received}`);
check(typeof connectNats === "function", "connectNats is not a function");

console.log(`consumed ${received.length} records exactly once: ${received.join(", ")}`);
EOF

cd "$project"
# Type-checked as a user's `deno check` would, against the npm packages' own types; then run
# with no permissions at all, which the embedded broker does not need.
if ! { "$deno" check --quiet main.ts && "$deno" run --quiet --no-prompt main.ts; }; then
  echo "deno-project: FAILED: a Deno project linking $repo could not use acktor ($((SECONDS - started))s)" >&2
  exit 1
fi
echo "deno-project: ok: a Deno project outside the checkout imports @acktor/acktor and @acktor/acktor/nats ($((SECONDS - started))s)"
