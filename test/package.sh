#!/usr/bin/env bash
# The package as its users get it. Packs the tree (prepack builds dist/), lints the tarball
# with publint and @arethetypeswrong/cli, then installs it into fresh projects with the Node
# on PATH (npm test runs this under a supported release, see with-node.sh):
#   1. `npm install acktor` alone: no engine warning and no NATS clients pulled in; the
#      embedded broker delivers from ESM and from CommonJS;
#   2. with the optional @nats-io peers added: `acktor/nats` loads, shares acktor's classes,
#      and (unless ACKTOR_SKIP_ENGINES=1) produces and consumes on the NATS server on :4222.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "package test FAILED: $*" >&2; exit 1; }

cd "$root"
tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"
npx publint run "$tarball" --strict
npx attw "$tarball" --format table-flipped

app="$work/app"
mkdir "$app" && cd "$app"
npm init -y >/dev/null
npm install --no-audit --no-fund --prefer-offline "$tarball" 2>"$app/install.log" || { cat "$app/install.log" >&2; fail "npm install of the tarball failed"; }
if grep -q EBADENGINE "$app/install.log"; then cat "$app/install.log" >&2; fail "npm install acktor warns about engines on node $(node --version)"; fi
[ ! -e node_modules/@nats-io ] || fail "npm install acktor installed the NATS clients; they are optional peers"

cat >embedded.mjs <<'JS'
import { EmbeddedBroker, exactlyOnce } from "acktor";
const broker = new EmbeddedBroker();
broker.createTopic("orders", { partitions: 2, replicationFactor: 3 });
const producer = broker.producer("orders", { deliverySemantic: exactlyOnce() });
const outputs = [];
for (let i = 0; i < 100; i++) outputs.push(await producer.send(`k${i % 7}`, `v${i}`));
await producer.close();
const offsets = await Promise.all(outputs.map((o) => o.wait()));
const consumer = broker.consumer("orders", { groupId: "g" });
const seen = new Set();
const done = new AbortController();
await consumer.run((record) => {
  seen.add(new TextDecoder().decode(record.value));
  if (seen.size === 100) done.abort();
}, { signal: AbortSignal.any([done.signal, AbortSignal.timeout(30_000)]) });
await consumer.close();
if (offsets.length !== 100 || seen.size !== 100) throw new Error(`expected 100 records, read ${seen.size}`);
console.log("ESM: 100 records produced exactly-once and consumed");
JS
cat >embedded.cjs <<'JS'
const { EmbeddedBroker, atLeastOnce, ProducerClosedError } = require("acktor");
(async () => {
  const broker = new EmbeddedBroker();
  broker.createTopic("t");
  const producer = broker.producer("t", { deliverySemantic: atLeastOnce() });
  const { offset } = await (await producer.send(null, "v")).wait();
  await producer.close();
  const late = await producer.send(null, "late").then(() => null, (e) => e);
  if (offset !== 0 || !(late instanceof ProducerClosedError)) throw new Error("CommonJS build misbehaves");
  console.log("CJS: delivered, and a closed producer refuses with ProducerClosedError");
})().catch((e) => { console.error(e); process.exit(1); });
JS
node embedded.mjs
node embedded.cjs

# The Kafka wire server from the package, ESM and CommonJS (its code is a chunk loaded on
# demand), and the `acktor` command (package.json's "bin"): each answers an ApiVersions
# request over TCP; `acktor serve` stops on SIGINT.
cat >kafka-check.cjs <<'JS'
const { connect } = require("node:net");
// ApiVersions v0: size 10, API key 18, version 0, correlation id 7, null client id.
exports.apiVersions = (port) => new Promise((resolve, reject) => {
  const socket = connect(port, "127.0.0.1", () => socket.write(Buffer.from([0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 7, 255, 255])));
  socket.once("data", (answer) => {
    socket.destroy();
    if (answer.readInt32BE(4) !== 7 || answer.readInt16BE(8) !== 0) reject(new Error(`bad ApiVersions answer ${answer.toString("hex")}`));
    else resolve();
  });
  socket.once("error", reject);
  setTimeout(() => reject(new Error("no ApiVersions answer within 10 s")), 10_000).unref();
});
JS
cat >kafka.mjs <<'JS'
import { EmbeddedBroker } from "acktor";
import { createRequire } from "node:module";
const { apiVersions } = createRequire(import.meta.url)("./kafka-check.cjs");
const broker = new EmbeddedBroker();
const server = await broker.listen({ port: 0 });
try {
  await apiVersions(server.address.port);
} finally {
  await server[Symbol.asyncDispose]();
}
console.log("ESM: broker.listen() answers Kafka's ApiVersions");
JS
cat >kafka.cjs <<'JS'
const { EmbeddedBroker } = require("acktor");
const { apiVersions } = require("./kafka-check.cjs");
(async () => {
  const server = await new EmbeddedBroker().listen({ port: 0 });
  await apiVersions(server.address.port);
  await server.close();
  console.log("CJS: broker.listen() answers Kafka's ApiVersions");
})().catch((e) => { console.error(e); process.exit(1); });
JS
node kafka.mjs
node kafka.cjs
npx acktor --help | grep -q "npx acktor serve" || fail "npx acktor --help prints no usage"
# The installed bin itself, not through npx: npm exec does not pass a signal on to it.
./node_modules/.bin/acktor serve --port 0 --topics orders:2 >serve.log 2>&1 &
serve_pid=$!
for _ in $(seq 1 100); do grep -q "127.0.0.1:" serve.log && break; sleep 0.1; done
port="$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' serve.log | head -1)"
[ -n "$port" ] || { kill -9 "$serve_pid" 2>/dev/null; cat serve.log >&2; fail "acktor serve printed no address"; }
node -e 'require("./kafka-check.cjs").apiVersions(Number(process.argv[1])).then(() => console.log("acktor serve: answers ApiVersions on port " + process.argv[1]), (e) => { console.error(e); process.exit(1); })' "$port" \
  || { kill -9 "$serve_pid" 2>/dev/null; fail "acktor serve does not answer"; }
kill -INT "$serve_pid"
wait "$serve_pid" || fail "acktor serve exited with $? on SIGINT"
grep -q "stopped" serve.log || fail "acktor serve did not say it stopped"
node -e 'import("acktor/nats").then(() => process.exit(1), () => console.log("acktor/nats without its peers fails to load, as documented"))' \
  || fail "acktor/nats loaded although the @nats-io peers are not installed"

peers="$(node -p 'Object.keys(require(process.argv[1]).peerDependencies).map((n) => n + "@" + require(process.argv[1]).devDependencies[n]).join(" ")' "$root/package.json")"
# shellcheck disable=SC2086 # one word per package
npm install --no-audit --no-fund --prefer-offline $peers 2>"$app/install.log" || { cat "$app/install.log" >&2; fail "installing the NATS peers failed"; }
if grep -q EBADENGINE "$app/install.log"; then cat "$app/install.log" >&2; fail "the NATS peers warn about engines on node $(node --version)"; fi
cat >nats.mjs <<'JS'
import { AcktorError, ConfigError, createConsumer, createProducer, exactlyOnce } from "acktor";
import { connectNats } from "acktor/nats";
const refused = await connectNats({ servers: [] }).then(() => null, (e) => e);
if (!(refused instanceof ConfigError && refused instanceof AcktorError)) throw new Error("acktor/nats errors are not acktor's classes");
if (process.env.ACKTOR_SKIP_ENGINES === "1") {
  console.log("NATS: entry loads (server test skipped: ACKTOR_SKIP_ENGINES=1)");
  process.exit(0);
}
const nats = await connectNats({ servers: process.env.ACKTOR_NATS_URL ?? "127.0.0.1:4222" });
const topic = `pkg${Date.now()}`;
try {
  await nats.createTopic(topic, { partitions: 2 });
  const producer = createProducer(nats, topic, { deliverySemantic: exactlyOnce() });
  for (let i = 0; i < 50; i++) await producer.send(`k${i}`, `v${i}`);
  await producer.close();
  const consumer = createConsumer(nats, topic, { groupId: "pkg" });
  const seen = new Set();
  const done = new AbortController();
  await consumer.run((record) => {
    seen.add(new TextDecoder().decode(record.value));
    if (seen.size === 50) done.abort();
  }, { signal: AbortSignal.any([done.signal, AbortSignal.timeout(30_000)]) });
  await consumer.close();
  if (seen.size !== 50) throw new Error(`expected 50 records from NATS, read ${seen.size}`);
  console.log("NATS: 50 records produced exactly-once and consumed");
} finally {
  await nats.close();
}
JS
node nats.mjs

# A browser bundler (esbuild, platform browser) takes `acktor/nats` through package.json's
# "browser" condition: the WebSocket-only build, which bundles without any node:* module (the
# Node build needs node:net, node:tls, node:dns) and refuses a TCP address with acktor's
# ConfigError. The bundle runs here under Node, which is enough for that refusal.
cat >browser.mjs <<'JS'
import { AcktorError, ConfigError } from "acktor";
import { connectNats } from "acktor/nats";
const refused = await connectNats({ servers: "nats://127.0.0.1:4222" }).then(() => null, (e) => e);
if (!(refused instanceof ConfigError && refused instanceof AcktorError && /WebSocket only/.test(refused.message))) {
  throw new Error(`the browser build of acktor/nats did not refuse a nats:// address with a ConfigError: ${refused}`);
}
console.log("browser bundle: acktor/nats is the WebSocket build, without node:* modules; nats:// gets a ConfigError");
JS
node -e '
require(process.argv[1]).build({
  entryPoints: ["browser.mjs"], bundle: true, platform: "browser", format: "esm",
  outfile: "browser.bundle.mjs", metafile: true, logLevel: "error",
}).then((result) => {
  const inputs = Object.keys(result.metafile.inputs);
  if (!inputs.some((i) => i.endsWith("node_modules/acktor/dist/nats.browser.js"))) {
    throw new Error("the browser condition did not select dist/nats.browser.js: " + inputs.join(" "));
  }
  const node = inputs.filter((i) => i.startsWith("node:") || i.includes("@nats-io/transport-node"));
  if (node.length > 0) throw new Error("the browser bundle holds Node-only modules: " + node.join(" "));
}).catch((error) => { console.error(error); process.exit(1); });
' "$root/node_modules/esbuild" || fail "acktor/nats does not bundle for the browser"
node browser.bundle.mjs

# A TypeScript user: strict, default libs for es2022 (no @types/node), no skipLibCheck. Under
# nodenext (ESM and CJS alike) every entry checks; under node10, which reaches the subpaths
# through typesVersions, `acktor` and `acktor/internal` do, but not `acktor/nats`: the
# @nats-io clients' own declarations import subpath exports that node10 cannot resolve.
cat >app.ts <<'TS'
import { AcktorError, EmbeddedBroker, exactlyOnce, type Producer } from "acktor";
import { inProcessTransport } from "acktor/internal";
const broker = new EmbeddedBroker();
const producer: Producer = broker.producer("t", { deliverySemantic: exactlyOnce() });
export const uses = [AcktorError, producer, inProcessTransport];
TS
cat >nats.ts <<'TS'
import { connectNats, type NatsConnectOptions } from "acktor/nats";
const options: NatsConnectOptions = { servers: "127.0.0.1:4222" };
export const uses = [connectNats, options];
TS
typecheck() { # resolution, files...
  local resolution="$1" module
  shift
  module=$([ "$resolution" = node10 ] && echo commonjs || echo nodenext)
  cat >tsconfig.json <<JSON
{ "compilerOptions": { "strict": true, "noEmit": true, "target": "es2022", "types": [],
  "module": "$module", "moduleResolution": "$resolution", "skipLibCheck": false }, "files": $(node -p 'JSON.stringify(process.argv.slice(1))' "$@") }
JSON
  node "$root/node_modules/typescript/bin/tsc" -p tsconfig.json || fail "acktor's types do not check under moduleResolution $resolution: $*"
}
typecheck nodenext app.ts nats.ts
typecheck node10 app.ts
echo "TypeScript: strict check without @types/node passes (nodenext: every entry; node10: acktor, acktor/internal)"
echo "package test ok on node $(node --version): $(basename "$tarball")"
