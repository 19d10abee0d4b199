#!/usr/bin/env bash
# Builds the editor and the relay in release mode and serves them on http://127.0.0.1:8080
# (REELSMITH_ADDR overrides). Installs what is missing first (scripts/setup.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=setup.sh
. scripts/setup.sh
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
scripts/prepare-model.sh >/dev/null
trunk build --release
cargo build --release -p reelsmith-relay
export REELSMITH_ADDR="${REELSMITH_ADDR:-127.0.0.1:8080}"
export REELSMITH_DIST="$ROOT/dist"
# The speech models prepare-model.sh wrote; the editor downloads one once into the browser.
export REELSMITH_MODELS="${REELSMITH_MODELS:-$REELSMITH_CACHE/models}"
exec "$TARGET_DIR/release/reelsmith-relay"
