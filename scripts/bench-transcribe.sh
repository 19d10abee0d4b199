#!/usr/bin/env bash
# Benchmark: transcription in the browser (real-time factor with 1 worker and with more, peak
# memory of the tab) on 60 s and 10 min of speech, beside the native engine on the same audio.
# Numbers go to BENCHMARKS.md. Both models (BENCH_MODELS=whisper-tiny.en,whisper-base), 60 s and
# 10 min (BENCH_SECS="60 600"); all of it takes about 40 minutes on 2 cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=setup.sh
. scripts/setup.sh
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
scripts/prepare-model.sh
tests/fixtures/make.sh
MEDIA="$ROOT/tests/fixtures/out/bench"
mkdir -p "$MEDIA"
# The fixture's ten sentences (46 s), looped to 60 s and to 10 min, as small videos.
for secs in 60 600; do
  out="$MEDIA/speech_${secs}s.mp4"
  [ -f "$out" ] && continue
  ffmpeg -hide_banner -loglevel error -y -stream_loop -1 -i tests/fixtures/out/speech_long.wav \
    -t "$secs" "$MEDIA/speech_${secs}s.wav"
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i "color=c=gray:s=320x180:r=5:d=$secs" \
    -i "$MEDIA/speech_${secs}s.wav" -c:v libx264 -preset veryfast -pix_fmt yuv420p \
    -c:a aac -b:a 96k -ar 48000 -movflags +faststart -shortest "$out"
done
trunk build --release
cargo build --release -p reelsmith-relay -p reelsmith-speech
echo "native engine (one thread, same audio decoded by ffmpeg):"
# BENCH_MODELS (comma-separated) and BENCH_SECS (space-separated) narrow the runs.
MODELS_LIST="${BENCH_MODELS:-whisper-tiny.en,whisper-base}"
for model in ${MODELS_LIST//,/ }; do
  for secs in ${BENCH_SECS:-60 600}; do
    ffmpeg -hide_banner -loglevel error -y -i "$MEDIA/speech_${secs}s.mp4" -ar 16000 -ac 1 "$MEDIA/native_${secs}s.wav"
    start=$(date +%s.%N)
    "$TARGET_DIR/release/reelsmith" transcribe "$MEDIA/native_${secs}s.wav" \
      --model "$REELSMITH_CACHE/models/$model" --beam-size 1 > /dev/null
    end=$(date +%s.%N)
    python3 -c "print(f'  $model, {$secs} s of audio: {$end - $start:.1f} s = {$secs / ($end - $start):.1f}x real time')"
  done
done
BENCH_FILES="$(for secs in ${BENCH_SECS:-60 600}; do printf 'speech_%ss.mp4,' "$secs"; done)"
export BENCH_FILES="${BENCH_FILES%,}" BENCH_MODELS="$MODELS_LIST"
RELAY_BIN="$TARGET_DIR/release/reelsmith-relay" REELSMITH_DIST="$ROOT/dist" BENCH_MEDIA="$MEDIA" \
  REELSMITH_MODELS="$REELSMITH_CACHE/models" node tests/bench/transcribe.cjs
