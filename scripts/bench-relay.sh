#!/usr/bin/env bash
# Load benchmark of the relay's publish path (BENCHMARKS.md, "Relay under load"): starts the
# fake TikTok and the relay (release builds, SQLite in a temporary folder) on loopback, then
# relay/examples/bench-relay.rs drives SESSIONS browsers (default 500) through connect → init →
# an UPLOAD_BYTES upload each (default 1 MiB), all uploads held open at once, → status; it
# prints p50/p99 latencies and the relay's memory, and checks every upload's SHA-256 at the fake.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SESSIONS="${SESSIONS:-500}"
UPLOAD_BYTES="${UPLOAD_BYTES:-1048576}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

cargo build --release -p reelsmith-relay --bins --example bench-relay

# Each held upload is two sockets in the relay (the browser's and TikTok's) and one here.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir "$WORK/dist"
echo '<!doctype html><title>bench</title>' >"$WORK/dist/index.html"

# Waits for "running at URL" in a log and prints the URL.
url_from() {
  local log=$1
  for _ in $(seq 1 200); do
    if grep -q 'running at ' "$log" 2>/dev/null; then
      grep -o 'running at [^ ]*' "$log" | head -1 | cut -d' ' -f3 | sed 's#/$##'
      return
    fi
    sleep 0.05
  done
  echo "timed out waiting for $log" >&2
  exit 1
}

# The fake keeps hashes only (no bytes) and allows many drafts per user.
FAKE_TIKTOK_ADDR=127.0.0.1:0 FAKE_TIKTOK_KEEP_BYTES_MAX=0 FAKE_TIKTOK_PENDING_SHARE_LIMIT=1000000 \
  RUST_LOG=warn "$TARGET_DIR/release/fake-tiktok" >"$WORK/fake.log" 2>&1 &
PIDS+=($!)
FAKE_URL="$(url_from "$WORK/fake.log")"

REELSMITH_ADDR=127.0.0.1:0 REELSMITH_DIST="$WORK/dist" REELSMITH_MODELS="$WORK/none" \
  REELSMITH_TIKTOK_CLIENT_KEY=reelsmith-demo REELSMITH_TIKTOK_CLIENT_SECRET=reelsmith-demo-secret \
  REELSMITH_TIKTOK_AUTH_BASE="$FAKE_URL" REELSMITH_TIKTOK_API_BASE="$FAKE_URL" \
  REELSMITH_TOKEN_KEY="$(head -c 32 /dev/urandom | base64)" DATABASE_URL="sqlite://$WORK/relay.db" \
  REELSMITH_SPOOL_DIR="$WORK" RUST_LOG="${RUST_LOG:-reelsmith_relay=warn}" \
  "$TARGET_DIR/release/reelsmith-relay" >"$WORK/relay.log" 2>&1 &
RELAY_PID=$!
PIDS+=("$RELAY_PID")
RELAY_URL="$(url_from "$WORK/relay.log")"

"$TARGET_DIR/release/examples/bench-relay" --relay "$RELAY_URL" --fake "$FAKE_URL" \
  --sessions "$SESSIONS" --bytes "$UPLOAD_BYTES" --relay-pid "$RELAY_PID"
