#!/usr/bin/env bash
# Runs every Reelsmith test: formatting and lints (native and wasm32), native unit and
# integration tests, wasm-bindgen-test in headless Chromium, and end-to-end tests against the
# built app in headless Chromium. Installs what is missing first (scripts/setup.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=setup.sh
. scripts/setup.sh
# CI starts from a fresh clone: keep its build cache with the tools, outside the clone.
if [ -n "${CI:-}" ] && [ -z "${CARGO_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR="$REELSMITH_CACHE/target"
fi
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
step() { printf '\n=== %s\n' "$*"; }
# Browsers and tests write their scratch files under TMPDIR: give this run its own and remove
# it at the end, pass or fail, so runs never pile up on the disk.
RUN_TMP="$(mktemp -d "${TMPDIR:-/tmp}/reelsmith-test-XXXXXX")"
export TMPDIR="$RUN_TMP"
trap 'rm -rf "$RUN_TMP"' EXIT

step "speech model (converted once, then verified by hash)"
scripts/prepare-model.sh
PY_MODEL="$REELSMITH_CACHE/venv-model/bin/python"

step "fixtures"
tests/fixtures/make.sh
# The worker's browser tests build the random-weights model and the VAD into their wasm.
mkdir -p tests/fixtures/out/models
cp -r "$REELSMITH_CACHE/models/whisper-random" tests/fixtures/out/models/
cp "$REELSMITH_CACHE/models/whisper-tiny.en/vad.onnx" tests/fixtures/out/models/vad.onnx

step "format and lints"
cargo fmt --all --check
cargo clippy -p reelsmith-core -p reelsmith-speech -p reelsmith-relay -p reelsmith-engine-bench --all-targets \
  -- -D warnings
cargo clippy --target wasm32-unknown-unknown -p reelsmith-core -p reelsmith-speech -p reelsmith-app \
  -p reelsmith-worker -p reelsmith-engine-bench --all-targets -- -D warnings

step "native tests"
cargo test -p reelsmith-core -p reelsmith-speech -p reelsmith-relay

step "model conversion checks (onnxruntime on the converted graphs)"
"$PY_MODEL" tools/model/test_model.py

step "browser tests (wasm-bindgen-test, headless Chromium)"
(cd app && cargo test --target wasm32-unknown-unknown --test web --test export_worker)
(cd worker && cargo test --target wasm32-unknown-unknown --test web)

step "build the app and the relay"
trunk build --release
cargo build -p reelsmith-relay

step "end-to-end tests (headless Chromium)"
RELAY_BIN="$TARGET_DIR/debug/reelsmith-relay" REELSMITH_DIST="$ROOT/dist" REELSMITH_MODELS="$REELSMITH_CACHE/models" \
  FIXTURES="$ROOT/tests/fixtures/out" node --test --test-concurrency=1 tests/e2e/
