#!/usr/bin/env bash
# Runs each lnfleet-wire fuzz target for a bounded time (default 60 s each) with cargo-fuzz
# (libFuzzer). cargo-fuzz needs nightly-only flags; RUSTC_BOOTSTRAP lets the stable toolchain
# accept them. Usage: scripts/fuzz.sh [seconds-per-target] [target...]
set -euo pipefail
cd "$(dirname "$0")/../wire"
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(message_decode tlv_stream transport_decoder)
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
for target in "${targets[@]}"; do
  printf '\n==> fuzzing %s for %ss\n' "$target" "$seconds"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- -max_total_time="$seconds"
done
