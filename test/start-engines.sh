#!/usr/bin/env bash
# Makes sure the engines the test suite talks to are up: the nats-server and kcat binaries and a Chromium
# for the browser runtime (installing Debian's packages as root or under CI, or saying how),
# and NATS with JetStream on 127.0.0.1:4222: the one running, else a started one with a
# throwaway store. ACKTOR_CHROMIUM names a Chromium or Chrome binary to use instead of Debian's.
# ACKTOR_SKIP_ENGINES=1 skips all this, and the engine tests say they were skipped.
set -euo pipefail
[ "${ACKTOR_SKIP_ENGINES:-}" = "1" ] && exit 0
up() { (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; }

# Installs Debian's package $1 (for $2) as root or under CI, else says how and fails.
updated=""
install() {
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif [ -n "${CI:-}" ]; then sudo="sudo"; else
    echo "No $2 installed. Install it (Debian: sudo apt-get install $1)," >&2
    echo "or run the suite without the engine tests: ACKTOR_SKIP_ENGINES=1 npm test" >&2
    exit 1
  fi
  [ -n "$updated" ] || { $sudo apt-get update -qq; updated=1; }
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$1"
}

# The binary is needed even when a server already answers: the failover suites start and
# kill servers and clusters of their own.
command -v nats-server >/dev/null 2>&1 || install nats-server nats-server
# kcat (librdkafka) drives the Kafka listener's client tests and the Kafka benchmark.
command -v kcat >/dev/null 2>&1 || install kcat kcat

# The browser runtime (test/helpers/chromium.ts) looks for these, in this order.
if [ -n "${ACKTOR_CHROMIUM:-}" ]; then
  [ -x "$ACKTOR_CHROMIUM" ] || { echo "ACKTOR_CHROMIUM=$ACKTOR_CHROMIUM is not an executable" >&2; exit 1; }
elif ! [ -x /usr/bin/chromium ] && ! [ -x /usr/bin/chromium-headless-shell ] && ! [ -x /usr/lib/chromium/chromium ]; then
  install chromium Chromium
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
