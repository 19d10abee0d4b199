#!/usr/bin/env bash
# Benchmark (numbers go to BENCHMARKS.md, never into pass/fail tests): playback of the long-GOP
# 1080p fixture in the editor — wall time against media time, frames shown late, waits between
# frames on screen.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=setup.sh
. scripts/setup.sh
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
tests/fixtures/make.sh
trunk build --release
cargo build --release -p reelsmith-relay
RELAY_BIN="$TARGET_DIR/release/reelsmith-relay" REELSMITH_DIST="$ROOT/dist" FIXTURES="$ROOT/tests/fixtures/out" \
  node tests/bench/playback.cjs
