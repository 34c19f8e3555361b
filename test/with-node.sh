#!/usr/bin/env bash
# with-node.sh VERSION COMMAND...: runs COMMAND with that Node.js release first on PATH, so
# the suite can run on every supported Node line whatever node the machine has. The release
# comes from the npm registry's `node` package (its binary ships inside a registry package),
# pinned by the caller, and npx caches it after the first run.
set -euo pipefail
version="$1"
shift
bin="$(npx --yes --package="node@$version" -- node -p 'require("node:path").dirname(process.execPath)')"
PATH="$bin:$PATH" exec "$@"
