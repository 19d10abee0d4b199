#!/usr/bin/env bash
# Benchmark: the speech models side by side, natively (the `reelsmith` CLI, one thread):
# real-time factor and peak memory per model, word error rate on the English speech fixtures,
# the Spanish and German fixtures transcribed and translated, and a minute of music with one
# sentence over it, with the VAD and without (`--no-vad`); greedy decoding beside the beam
# search of 5 (`--beam-size`). Each file is run with each model and decoding in turn, so the
# machine's noise falls on all of them. Numbers go to BENCHMARKS.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=setup.sh
. scripts/setup.sh
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
scripts/prepare-model.sh >/dev/null
tests/fixtures/make.sh
cargo build -q --release -p reelsmith-speech --bin reelsmith
BIN="$TARGET_DIR/release/reelsmith"
OUT="$ROOT/tests/fixtures/out"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
# 60 s of English: the long fixture's ten sentences looped (as scripts/bench-transcribe.sh).
ffmpeg -hide_banner -loglevel error -y -stream_loop -1 -i "$OUT/speech_long.wav" -t 60 \
  -ar 16000 -ac 1 "$SCRATCH/speech_60s.wav"

# run MODEL WAV [ARGS…]: prints "rtf rss_mb" and leaves the text in $SCRATCH/text
run() {
  local model=$1 wav=$2; shift 2
  /usr/bin/time -f '%M' -o "$SCRATCH/rss" "$BIN" transcribe "$wav" --model "$model" \
    --format json --timings "$@" > "$SCRATCH/json" 2> "$SCRATCH/err"
  python3 - "$SCRATCH" <<'PY'
import json, re, sys
d = sys.argv[1]
segments = json.load(open(f"{d}/json"))["segments"]
open(f"{d}/text", "w").write(" ".join(s["text"].strip() for s in segments))
err = open(f"{d}/err").read()
rtf = re.search(r"\(([\d.]+)x real time\)", err).group(1)
rss = int(open(f"{d}/rss").read().split()[-1]) / 1024
print(f"{rtf}x, {rss:.0f} MB")
PY
}

wer() { # reference.txt hypothesis.txt
  python3 - "$1" "$2" <<'PY'
import re, sys
words = lambda t: [w for w in (re.sub(r"[^\w]", "", x).lower() for x in t.split()) if w]
r, h = words(open(sys.argv[1]).read()), words(open(sys.argv[2]).read())
row = list(range(len(h) + 1))
for i, a in enumerate(r):
    prev, row[0] = row[0], i + 1
    for j, b in enumerate(h):
        cur = row[j + 1]
        row[j + 1] = min(prev + (a != b), row[j] + 1, cur + 1)
        prev = cur
print(f"{100 * row[len(h)] / len(r):.1f} %")
PY
}

echo "| audio | model | decoding | speed | peak RSS | WER / text |"
echo "|---|---|---|---|---|---|"
for item in "speech_60s:$SCRATCH/speech_60s.wav:" "speech:$OUT/speech.wav:$OUT/speech.txt" \
  "speech_long:$OUT/speech_long.wav:$OUT/speech_long.txt"; do
  IFS=: read -r name wav ref <<<"$item"
  for model in tiny.en base; do
    for beam in 1 5; do
      stats=$(run "$model" "$wav" --language en --beam-size "$beam")
      # The 60 s file is the long fixture looped and cut mid-sentence: speed only.
      quality="—"
      [ -n "$ref" ] && quality="WER $(wer "$ref" "$SCRATCH/text")"
      decoding=greedy; [ "$beam" -gt 1 ] && decoding="beam $beam"
      echo "| $name | $model | $decoding | $stats | $quality |"
    done
  done
done
for lang in es de; do
  for task in transcribe translate; do
    for beam in 1 5; do
      stats=$(run base "$OUT/speech_$lang.wav" --task "$task" --beam-size "$beam")
      decoding=greedy; [ "$beam" -gt 1 ] && decoding="beam $beam"
      echo "| speech_$lang ($task) | base | $decoding | $stats | $(cat "$SCRATCH/text") |"
    done
  done
done
echo
echo "| audio | model | VAD | speed | peak RSS | first word | text |"
echo "|---|---|---|---|---|---|---|"
for model in tiny.en base; do
  for vad in on off; do
    flag=(); [ "$vad" = off ] && flag=(--no-vad)
    stats=$(run "$model" "$OUT/music_speech.wav" --language en --beam-size 1 "${flag[@]}")
    first=$(python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))["segments"]
print("%.2f s" % s[0]["words"][0]["start_secs"] if s else "—")' "$SCRATCH/json")
    echo "| music_speech | $model | $vad | $stats | $first | $(cat "$SCRATCH/text") |"
  done
done
