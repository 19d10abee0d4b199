#!/usr/bin/env bash
# Installs everything Reelsmith needs to build, run and test, idempotently.
# Tools go to a per-user cache outside the clone (CI starts from a fresh clone each time),
# keyed by version, so a warm run only checks that they are there.
# Source this file (`. scripts/setup.sh`) to get PATH and cache variables set.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
. "$ROOT/scripts/versions.env"

export REELSMITH_CACHE="${REELSMITH_CACHE:-$HOME/.cache/reelsmith}"
TOOLS="$REELSMITH_CACHE/tools"
mkdir -p "$TOOLS"

log() { printf '[setup] %s\n' "$*" >&2; }

# --- Debian packages: browser + driver for tests, ffmpeg + speech synthesis for fixtures,
#     PostgreSQL for the relay's database tests, sqlite3 for reading the relay's database ---
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
command -v espeak-ng >/dev/null 2>&1 || need_apt+=(espeak-ng)
command -v flite >/dev/null 2>&1 || need_apt+=(flite)
# The privacy end-to-end test reads the relay's SQLite file after a disconnect.
command -v sqlite3 >/dev/null 2>&1 || need_apt+=(sqlite3)
# The relay's tests start a throwaway PostgreSQL cluster (Debian keeps initdb out of PATH).
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1 \
  || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# --- Rust target (the toolchain itself is pinned in rust-toolchain.toml) ---
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# --- cargo-installed tools, one root per version ---
cargo_tool() { # name version bin [extra args...]
  local name=$1 version=$2 bin=$3; shift 3
  local root="$TOOLS/$name-$version"
  if [ ! -x "$root/bin/$bin" ]; then
    log "cargo install $name $version (slow the first time on a new machine)"
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install "$name" --version "=$version" --root "$root" "$@"
  fi
  export PATH="$root/bin:$PATH"
}
cargo_tool trunk "$TRUNK_VERSION" trunk --locked
# wasm-bindgen-cli's own lock file names a crate version the registry lacks: no --locked.
cargo_tool wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen

# --- wasm-opt from npm binaryen (Debian's 108 produces a wasm that crashes in Chromium) ---
BINARYEN="$TOOLS/binaryen-$BINARYEN_NPM_VERSION"
if [ ! -x "$BINARYEN/node_modules/.bin/wasm-opt" ]; then
  log "npm install binaryen@$BINARYEN_NPM_VERSION"
  mkdir -p "$BINARYEN"
  npm install --silent --no-audit --no-fund --prefix "$BINARYEN" "binaryen@$BINARYEN_NPM_VERSION" >/dev/null 2>&1
fi
export PATH="$BINARYEN/node_modules/.bin:$PATH"

# --- playwright-core drives Debian's chromium in the end-to-end tests (never downloads a browser) ---
PW="$TOOLS/playwright-core-$PLAYWRIGHT_CORE_VERSION"
if [ ! -d "$PW/node_modules/playwright-core" ]; then
  log "npm install playwright-core@$PLAYWRIGHT_CORE_VERSION"
  mkdir -p "$PW"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --silent --no-audit --no-fund --prefix "$PW" \
    "playwright-core@$PLAYWRIGHT_CORE_VERSION" >/dev/null 2>&1
fi
export NODE_PATH="$PW/node_modules${NODE_PATH:+:$NODE_PATH}"

export CHROMEDRIVER=/usr/bin/chromedriver
# trunk must never try to download wasm-bindgen or wasm-opt: it is offline-pinned here.
export TRUNK_OFFLINE=true
log "tools ready (cache: $REELSMITH_CACHE)"
