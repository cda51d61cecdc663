#!/usr/bin/env bash
# Installs what lnfleet's main job and tests need, skipping whatever is already there:
#   - redis-server (Debian package)
#   - the Kafka-protocol broker tansu 0.6.0, built once into the cache (~15 minutes the first time)
#   - a Python venv with pyln-proto, pyln-client, pyln-bolt1 (message specs) and bitstring<5 for the interop tests
# Writes $LNFLEET_CACHE/env, which the other scripts source. Safe to run any number of times.
set -euo pipefail

LNFLEET_CACHE="${LNFLEET_CACHE:-$HOME/.cache/lnfleet}"
TANSU_VERSION=0.6.0
TANSU_ROOT="$LNFLEET_CACHE/tansu-$TANSU_VERSION"
VENV="$LNFLEET_CACHE/venv"
mkdir -p "$LNFLEET_CACHE"

step() { printf '\n==> %s\n' "$*"; }
die() { printf '\nsetup failed: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root to run '$*' (no sudo found); install it by hand and rerun"
  fi
}

command -v cargo >/dev/null || die "cargo is missing: install the Rust toolchain (https://rustup.rs) first"
command -v cc >/dev/null || die "a C compiler (cc) is missing: apt-get install build-essential"
command -v python3 >/dev/null || die "python3 is missing: apt-get install python3 python3-venv"

step "redis-server"
if command -v redis-server >/dev/null; then
  echo "present: $(redis-server --version | head -c 60)"
else
  command -v apt-get >/dev/null || die "redis-server is missing and apt-get is not available to install it"
  echo "installing redis-server from Debian"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  # Debian starts a system redis on 6379; lnfleet starts its own servers on free ports.
  command -v redis-server >/dev/null || die "redis-server still missing after apt-get install"
fi

step "prometheus (server and promtool, for the monitoring tests)"
if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
  echo "present: $(prometheus --version 2>&1 | head -1 | head -c 60)"
else
  command -v apt-get >/dev/null || die "prometheus is missing and apt-get is not available to install it"
  echo "installing prometheus from Debian"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
  command -v prometheus >/dev/null || die "prometheus still missing after apt-get install"
fi

step "tansu $TANSU_VERSION (Kafka-protocol broker)"
if [ -x "$TANSU_ROOT/bin/tansu" ]; then
  echo "present: $TANSU_ROOT/bin/tansu"
else
  log="$LNFLEET_CACHE/tansu-build.log"
  echo "building with cargo install (about 15 minutes on 2 cores); log: $log"
  cargo install tansu --version "$TANSU_VERSION" --features dynostore,libsql \
    --root "$TANSU_ROOT.partial" --locked >"$log" 2>&1 &
  build=$!
  start=$(date +%s)
  while kill -0 "$build" 2>/dev/null; do
    sleep 30
    compiled=$(grep -c '^ *Compiling' "$log" || true)
    echo "  ... $(( $(date +%s) - start ))s elapsed, $compiled crates compiled"
  done
  wait "$build" || { tail -30 "$log" >&2; die "building tansu failed (full log: $log)"; }
  rm -rf "$TANSU_ROOT" && mv "$TANSU_ROOT.partial" "$TANSU_ROOT"
  echo "built: $TANSU_ROOT/bin/tansu"
fi

step "python venv for interop tests"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import pyln.proto, pyln.client, pyln.spec.bolt1' 2>/dev/null; then
  echo "present: $VENV"
else
  python3 -m venv "$VENV" || die "python3 -m venv failed: apt-get install python3-venv"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q 'pyln-proto' 'pyln-client' 'pyln-bolt1' 'bitstring<5' 'kubernetes-validate' \
    || die "pip install of pyln-proto/pyln-client failed (is PyPI reachable?)"
  "$VENV/bin/python" -c 'import pyln.proto, pyln.client, pyln.spec.bolt1' \
    || die "pyln packages installed but do not import"
  echo "created: $VENV"
fi

cat >"$LNFLEET_CACHE/env" <<ENV
export LNFLEET_CACHE="$LNFLEET_CACHE"
export LNFLEET_TANSU="$TANSU_ROOT/bin/tansu"
export LNFLEET_REDIS_SERVER="$(command -v redis-server)"
export LNFLEET_PYTHON="$VENV/bin/python"
ENV
step "setup complete (environment in $LNFLEET_CACHE/env)"
