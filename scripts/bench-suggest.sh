#!/usr/bin/env bash
# Benchmark: the clip suggester on the labelled conversations in core/tests/fixtures/suggest/
# (tests/fixtures/suggest_fixtures.py) — topic boundary precision and recall, the share of
# suggestions that keep each rule, the length error — for this checkout and, side by side, for
# the sentence-window suggester it replaced (OLD_COMMIT, built in a temporary copy with a small
# shim exposing its private TextTiling boundaries as `topics::topic_boundaries`).
# Numbers go to BENCHMARKS.md. Takes a few minutes on 2 cores (two release builds of core).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# The last commit with the sentence-window suggester.
OLD_COMMIT="${OLD_COMMIT:-f1d7ff36fa0c2a8b4cd6d797a03d8783d660d9fb}"
FIXTURES="$ROOT/core/tests/fixtures/suggest"

echo "## This checkout"
cargo run --release -q -p reelsmith-core --example suggest_bench -- "$FIXTURES"

OLD="$(mktemp -d)"
trap 'rm -rf "$OLD"' EXIT
git archive "$OLD_COMMIT" | tar -x -C "$OLD"
cp core/examples/suggest_bench.rs "$OLD/core/examples/"
# The old suggester kept its topic boundaries (sentence gaps) private: expose them as times.
cat >> "$OLD/core/src/clips.rs" <<'RS'

/// Bench shim: the old TextTiling boundaries as times between sentences.
pub fn old_topic_boundaries(words: &[Word]) -> Vec<f64> {
    let s = sentences(words);
    let mut gaps: Vec<usize> = topic_boundaries(&adjacent_cohesion(&s)).into_iter().collect();
    gaps.sort_unstable();
    gaps.iter().map(|&g| (s[g].end_secs + s[g + 1].start_secs) / 2.0).collect()
}
RS
cat > "$OLD/core/src/topics.rs" <<'RS'
pub fn topic_boundaries(words: &[crate::transcript::Word]) -> Vec<f64> {
    crate::clips::old_topic_boundaries(words)
}
RS
echo "pub mod topics;" >> "$OLD/core/src/lib.rs"
echo
echo "## Old suggester ($OLD_COMMIT)"
(cd "$OLD" && cargo run --release -q -p reelsmith-core --example suggest_bench -- "$FIXTURES")
