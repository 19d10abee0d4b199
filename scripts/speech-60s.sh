#!/usr/bin/env bash
# Prints the path of the benchmarks' 60 s of speech at 16 kHz mono (the fixture's ten flite
# sentences looped), making it first if needed. Needs the fixtures (tests/fixtures/make.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MEDIA="$ROOT/tests/fixtures/out/bench"
WAV="$MEDIA/speech_60s_16k.wav"
mkdir -p "$MEDIA"
[ -f "$WAV" ] || ffmpeg -hide_banner -loglevel error -y -stream_loop -1 \
  -i "$ROOT/tests/fixtures/out/speech_long.wav" -t 60 -ar 16000 -ac 1 "$WAV"
echo "$WAV"
