#!/usr/bin/env bash
# Makes sure the engines the test suite talks to are up: the nats-server binary (installing
# Debian's package as root or under CI, or saying how), and NATS with JetStream on
# 127.0.0.1:4222: the one running, else a started one with a throwaway store. ACKTOR_SKIP_ENGINES=1 skips all this, and the engine tests say they were skipped.
set -euo pipefail
[ "${ACKTOR_SKIP_ENGINES:-}" = "1" ] && exit 0
up() { (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; }

# The binary is needed even when a server already answers: the failover suites start and
# kill servers and clusters of their own.
if ! command -v nats-server >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif [ -n "${CI:-}" ]; then sudo="sudo"; else
    echo "No nats-server installed. Install it (Debian: sudo apt-get install nats-server)," >&2
    echo "or run the suite without the engine tests: ACKTOR_SKIP_ENGINES=1 npm test" >&2
    exit 1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nats-server
fi
up && exit 0
store="$(mktemp -d)"
nohup nats-server -js -a 127.0.0.1 -p 4222 -sd "$store" >"$store/nats.log" 2>&1 &
for _ in $(seq 1 50); do
  up && { echo "started nats-server -js on 127.0.0.1:4222 (store $store)"; exit 0; }
  sleep 0.2
done
echo "nats-server did not start; see $store/nats.log" >&2
exit 1
