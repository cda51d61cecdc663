#!/usr/bin/env bash
# The main job: install what is missing, build, and start lnfleet's local cluster on loopback.
# Extra arguments go to lnfleet-cluster (--check, --redis-port, --kafka-port, --node-port,
# --gossip-port).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# shellcheck disable=SC1091
source "${LNFLEET_CACHE:-$HOME/.cache/lnfleet}/env"
printf '\n==> building the cluster (release)\n'
cargo build --release --locked -p lnfleet-tests --bin lnfleet-cluster
exec "${CARGO_TARGET_DIR:-target}/release/lnfleet-cluster" "$@"
