#!/usr/bin/env bash
# Runs every lnfleet test: formatting and lints, unit and property tests, integration tests
# against real Redis and tansu (Kafka protocol), and the pyln-proto interop tests. Installs what is
# missing first (scripts/setup.sh). Servers the tests start are stopped by the tests; anything a
# killed test process leaves behind is stopped here, by pid.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# shellcheck disable=SC1091
source "${LNFLEET_CACHE:-$HOME/.cache/lnfleet}/env"

# CI keeps its build cache outside the clone.
if [ "${CI:-}" = "true" ] && [ -z "${CARGO_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR="$LNFLEET_CACHE/target"
fi

LNFLEET_TEST_PIDDIR="$(mktemp -d)"
export LNFLEET_TEST_PIDDIR
stop_leftovers() {
  for pidfile in "$LNFLEET_TEST_PIDDIR"/*.pid; do
    [ -e "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      echo "stopping leftover test server pid $pid"
      kill "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$LNFLEET_TEST_PIDDIR"
}
trap stop_leftovers EXIT

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (unit, property, integration, interop; benches run once as smoke tests)"
cargo test --workspace --all-targets --locked

step "Kubernetes manifests, schemas, alert rules and images (against the binaries just built)"
scripts/k8s-check.sh "${CARGO_TARGET_DIR:-target}/debug"

step "cargo test --doc (documentation examples)"
cargo test --workspace --doc --locked

if [ -n "${LNFLEET_FUZZ_SECONDS:-}" ]; then
  step "fuzzing each target for ${LNFLEET_FUZZ_SECONDS}s"
  scripts/fuzz.sh "$LNFLEET_FUZZ_SECONDS"
fi

step "all tests passed"
