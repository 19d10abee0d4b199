#!/usr/bin/env bash
# Benchmark: export speed at 1080×1920 in the browser (captioned, uncaptioned, and the
# decode→encode transcode ceiling), beside native ffmpeg (libx264 veryfast) and ffmpeg.wasm in
# the same headless Chromium, on the same clip; and the tab's memory for a 15 s and a 60 s clip.
# Numbers go to BENCHMARKS.md. Takes about 15 minutes on 2 cores.
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

# ffmpeg.wasm (single-threaded core) from npm, kept with the other tools.
FFWASM="$REELSMITH_CACHE/tools/ffmpeg-wasm-0.12.15"
if [ ! -f "$FFWASM/node_modules/@ffmpeg/core/dist/esm/ffmpeg-core.wasm" ]; then
  mkdir -p "$FFWASM"
  npm install --silent --no-audit --no-fund --prefix "$FFWASM" \
    @ffmpeg/ffmpeg@0.12.15 @ffmpeg/core@0.12.10 >/dev/null 2>&1
fi

# 60 s of detailed moving picture (so the encoders do real work) with the fixture's speech,
# at 1080×1920 (the output size: the transcode ceiling needs no scaling) and 1920×1080.
for shape in 1080x1920 1920x1080; do
  out="$MEDIA/export_${shape}.mp4"
  [ -f "$out" ] && continue
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=s=${shape}:r=30:d=60" \
    -stream_loop -1 -i tests/fixtures/out/speech_long.wav -t 60 \
    -c:v libx264 -preset veryfast -profile:v high -b:v 8M -g 60 -pix_fmt yuv420p \
    -c:a aac -b:a 128k -ar 48000 -ac 2 -movflags +faststart -shortest "$out"
done

trunk build --release
cargo build --release -p reelsmith-relay

# Native ffmpeg on the same 15 s clips (both cores), with the bit rate export uses.
echo "native ffmpeg (libx264 veryfast, 2 threads), 15 s clip = 450 frames:"
native() { # label input filter
  local start end
  start=$(date +%s.%N)
  ffmpeg -hide_banner -loglevel error -y -i "$2" -t 15 -vf "$3" -c:v libx264 -preset veryfast \
    -b:v 8087040 -c:a copy "$MEDIA/native.mp4"
  end=$(date +%s.%N)
  python3 -c "print(f'NATIVE {\"$1\"} {450 / ($end - $start):.1f}')"
}
native "1080x1920 → 1080×1920" "$MEDIA/export_1080x1920.mp4" "null"
native "1920x1080 → 1080×1920 (crop + scale)" "$MEDIA/export_1920x1080.mp4" "crop=608:1080,scale=1080:1920"

RELAY_BIN="$TARGET_DIR/release/reelsmith-relay" REELSMITH_DIST="$ROOT/dist" BENCH_MEDIA="$MEDIA" \
  REELSMITH_MODELS="$REELSMITH_CACHE/models" FFMPEG_WASM="$FFWASM/node_modules" \
  node tests/bench/export.cjs
