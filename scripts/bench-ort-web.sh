#!/usr/bin/env bash
# Benchmark: the project's engine (tract in wasm) against onnxruntime-web's WASM backend on
# the same ONNX files and log-mel input, one thread each, in one headless Chromium (a page
# served by tests/bench/ort-web.cjs, never shipped). Numbers go to BENCHMARKS.md.
# BENCH_MODELS (comma-separated, default both models), BENCH_STEPS (decoder steps, 60).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=setup.sh
. scripts/setup.sh
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
ORT_VERSION=1.31.1
ORT="$TOOLS/onnxruntime-web-$ORT_VERSION"
if [ ! -d "$ORT/node_modules/onnxruntime-web/dist" ]; then
  mkdir -p "$ORT"
  npm install --silent --no-audit --no-fund --prefix "$ORT" "onnxruntime-web@$ORT_VERSION" >/dev/null 2>&1
fi
scripts/prepare-model.sh
tests/fixtures/make.sh
WAV="$(scripts/speech-60s.sh)"
cargo build --release -p reelsmith-engine-bench --lib --target wasm32-unknown-unknown
PKG="$TARGET_DIR/engine-bench-web"
wasm-bindgen --target web --out-dir "$PKG" \
  "$TARGET_DIR/wasm32-unknown-unknown/release/reelsmith_engine_bench.wasm"
ORT_DIST="$ORT/node_modules/onnxruntime-web/dist" ENGINE_PKG="$PKG" BENCH_WAV="$WAV" \
  REELSMITH_MODELS="$REELSMITH_CACHE/models" node tests/bench/ort-web.cjs
