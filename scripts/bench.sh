#!/usr/bin/env bash
# Benchmarks (numbers go to BENCHMARKS.md, never into pass/fail tests).
# Now: time to first frame when opening a 20 MB file and the same file padded to 2.5 GB.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=setup.sh
. scripts/setup.sh
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
MEDIA="$ROOT/tests/fixtures/out/bench"
mkdir -p "$MEDIA"
if [ ! -f "$MEDIA/open_20mb.mp4" ]; then
  # 60 s of 720p at ~2.7 Mb/s, index at the end (ffmpeg's default) as most cameras write it.
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=s=1280x720:r=30:d=60 \
    -f lavfi -i sine=frequency=440:duration=60 -c:v libx264 -preset veryfast -b:v 2600k \
    -pix_fmt yuv420p -c:a aac -b:a 96k "$MEDIA/open_20mb.mp4"
fi
if [ ! -f "$MEDIA/open_2500mb.mp4" ]; then
  big=$((2500 * 1024 * 1024))
  cp "$MEDIA/open_20mb.mp4" "$MEDIA/open_2500mb.mp4"
  base=$(stat -c %s "$MEDIA/open_2500mb.mp4")
  python3 -c "import struct,sys; sys.stdout.buffer.write(struct.pack('>I4sQ', 1, b'free', $big - $base))" \
    >> "$MEDIA/open_2500mb.mp4"
  truncate -s "$big" "$MEDIA/open_2500mb.mp4"
fi
trunk build --release
cargo build --release -p reelsmith-relay
RELAY_BIN="$TARGET_DIR/release/reelsmith-relay" REELSMITH_DIST="$ROOT/dist" BENCH_MEDIA="$MEDIA" \
  node tests/bench/open-time.cjs
