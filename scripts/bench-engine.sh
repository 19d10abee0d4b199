#!/usr/bin/env bash
# Benchmark: the speech engine natively and in wasm side by side, on the same graphs and audio:
# each graph op by op (one encoder window; decoder steps), then a whole 60 s file through the
# engine as a worker runs it. The wasm build runs under node, whose V8 is the JS engine that
# runs Chromium's workers (one thread, as a worker). Numbers go to BENCHMARKS.md.
# BENCH_MODELS (comma-separated, default both models); `--by-node` lists single nodes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=setup.sh
. scripts/setup.sh
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
scripts/prepare-model.sh
tests/fixtures/make.sh
WAV="$(scripts/speech-60s.sh)"
cargo build --release -p reelsmith-engine-bench
cargo build --release -p reelsmith-engine-bench --lib --target wasm32-unknown-unknown
PKG="$TARGET_DIR/engine-bench-pkg"
wasm-bindgen --target nodejs --out-dir "$PKG" \
  "$TARGET_DIR/wasm32-unknown-unknown/release/reelsmith_engine_bench.wasm"
MODELS_LIST="${BENCH_MODELS:-whisper-tiny.en,whisper-base}"
for model in ${MODELS_LIST//,/ }; do
  dir="$REELSMITH_CACHE/models/$model"
  for what in ops whole; do
    echo "== $model, $what, native"
    "$TARGET_DIR/release/engine-bench" "$what" "$dir" "$WAV" 60 "$@"
    echo "== $model, $what, wasm (node $(node --version))"
    node tools/engine-bench/run.cjs "$PKG" "$what" "$dir" "$WAV" 60 "$@"
  done
done
