//! Beam search over the decoder's next-token log-probabilities, as whisper's decoding.py
//! `BeamSearchDecoder` with `patience` 1 and `MaximumLikelihoodRanker` without a length
//! penalty: every live hypothesis offers its `beam_size + 1` likeliest next tokens; the
//! likeliest extensions overall go on (at most `beam_size`), those ending in end-of-text are
//! set aside as finished (at most `beam_size` in all); the search ends when that many have
//! finished, and the finished hypothesis with the best log-probability per token wins.
//!
//! Pure bookkeeping: the caller runs the model for each live hypothesis, hands over the
//! log-softmax of its logits and forks the model's cache by the parents [`BeamSearch::advance`]
//! returns.

/// A sequence of tokens, each token's log-probability and their sum (end-of-text's included
/// once it has ended; the tokens never hold end-of-text).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hypothesis {
    pub tokens: Vec<u32>,
    pub logprobs: Vec<f32>,
    pub sum_logprob: f32,
}

impl Hypothesis {
    /// Log-probability per token, end-of-text not counted in the length (whisper's ranker).
    pub fn score(&self) -> f32 {
        self.sum_logprob / self.tokens.len().max(1) as f32
    }

    fn extended(&self, token: u32, logprob: f32) -> Self {
        let mut next = self.clone();
        next.tokens.push(token);
        next.logprobs.push(logprob);
        next.sum_logprob += logprob;
        next
    }

    fn ended(&self, logprob: f32) -> Self {
        Self {
            sum_logprob: self.sum_logprob + logprob,
            ..self.clone()
        }
    }
}

/// Where a search stands: the hypotheses still growing and those that have ended.
#[derive(Debug, Clone)]
pub struct BeamSearch {
    beam_size: usize,
    end_of_text: u32,
    live: Vec<Hypothesis>,
    finished: Vec<Hypothesis>,
}

impl BeamSearch {
    /// A search from the empty sequence; a `beam_size` of 0 counts as 1.
    pub fn new(beam_size: usize, end_of_text: u32) -> Self {
        Self {
            beam_size: beam_size.max(1),
            end_of_text,
            live: vec![Hypothesis::default()],
            finished: Vec::new(),
        }
    }

    /// The hypotheses to run the model for next, in order.
    pub fn live(&self) -> &[Hypothesis] {
        &self.live
    }

    /// Whether enough hypotheses have finished (or none is left to grow).
    pub fn is_done(&self) -> bool {
        self.finished.len() >= self.beam_size || self.live.is_empty()
    }

    /// One step: `logprobs[i]` is the log-softmax over the vocabulary after `live()[i]`
    /// (masked tokens at −∞). Returns, for each new live hypothesis, the index of the one it
    /// grew from (the cache to continue from).
    pub fn advance(&mut self, logprobs: &[Vec<f32>]) -> Vec<usize> {
        debug_assert_eq!(logprobs.len(), self.live.len());
        let mut candidates: Vec<(f32, usize, u32, f32)> = Vec::new();
        for (parent, row) in logprobs.iter().enumerate() {
            let sum = self.live[parent].sum_logprob;
            for (token, logprob) in top_k(row, self.beam_size + 1) {
                candidates.push((sum + logprob, parent, token, logprob));
            }
        }
        // Best first; ties in the order offered (whisper's sort is stable too).
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut live = Vec::with_capacity(self.beam_size);
        let mut parents = Vec::with_capacity(self.beam_size);
        let mut newly_finished = Vec::new();
        for (_, parent, token, logprob) in candidates {
            let from = &self.live[parent];
            if token == self.end_of_text {
                newly_finished.push(from.ended(logprob));
            } else {
                live.push(from.extended(token, logprob));
                parents.push(parent);
                if live.len() == self.beam_size {
                    break;
                }
            }
        }
        for hypothesis in newly_finished {
            if self.finished.len() >= self.beam_size {
                break;
            }
            self.finished.push(hypothesis);
        }
        self.live = live;
        parents
    }

    /// The winner: the finished hypothesis with the best score; when fewer than `beam_size`
    /// have finished (the length limit came first), the likeliest live ones count as ended.
    pub fn best(mut self) -> Hypothesis {
        if self.finished.len() < self.beam_size {
            let mut live = std::mem::take(&mut self.live);
            live.sort_by(|a, b| b.sum_logprob.total_cmp(&a.sum_logprob));
            let room = self.beam_size - self.finished.len();
            self.finished.extend(live.into_iter().take(room));
        }
        // The first of equals wins, as Python's max over a list.
        let mut best: Option<Hypothesis> = None;
        for h in self.finished {
            if best.as_ref().is_none_or(|b| h.score() > b.score()) {
                best = Some(h);
            }
        }
        best.unwrap_or_default()
    }
}

/// The `k` largest finite values with their indices, largest first (ties: lower index first).
pub fn top_k(row: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
    for (i, &v) in row.iter().enumerate() {
        if !v.is_finite() || k == 0 {
            continue;
        }
        if best.len() == k && v <= best[k - 1].1 {
            continue;
        }
        let at = best.partition_point(|&(_, b)| b >= v);
        best.insert(at, (i as u32, v));
        best.truncate(k);
    }
    best
}

/// Natural-log softmax of a row (−∞ stays −∞).
pub fn log_softmax(row: &[f32]) -> Vec<f32> {
    let log_sum = log_sum_exp(row);
    if !log_sum.is_finite() {
        return vec![f32::NEG_INFINITY; row.len()];
    }
    row.iter().map(|&l| l - log_sum).collect()
}

/// `ln Σ exp(v)`, computed stably (−∞ for an empty or wholly masked row).
pub fn log_sum_exp(values: &[f32]) -> f32 {
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return max;
    }
    max + values.iter().map(|v| (v - max).exp()).sum::<f32>().ln()
}

/// Natively only: proptest's random source needs a browser-specific getrandom on wasm32.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const END: u32 = 0;

    /// A toy model: the next token's log-probabilities after a prefix, from a table keyed by
    /// the prefix, else from a hash of it.
    fn toy(prefix: &[u32], vocab: usize, seed: u64) -> Vec<f32> {
        let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
        for &t in prefix {
            h = (h ^ u64::from(t)).wrapping_mul(0x1000_0000_01B3);
        }
        let logits: Vec<f32> = (0..vocab)
            .map(|i| {
                let x = (h ^ (i as u64 + 1))
                    .wrapping_mul(0x2545_F491_4F6C_DD1D)
                    .rotate_left(17);
                (x % 1000) as f32 / 200.0
            })
            .collect();
        log_softmax(&logits)
    }

    /// Runs a search against a model until done or `max_len` steps.
    fn search(beam: usize, max_len: usize, model: impl Fn(&[u32]) -> Vec<f32>) -> Hypothesis {
        let mut s = BeamSearch::new(beam, END);
        for _ in 0..max_len {
            if s.is_done() {
                break;
            }
            let rows: Vec<Vec<f32>> = s.live().iter().map(|h| model(&h.tokens)).collect();
            s.advance(&rows);
        }
        s.best()
    }

    /// Greedy decoding as the engine did it before beams: the best token until end-of-text.
    fn greedy(max_len: usize, model: impl Fn(&[u32]) -> Vec<f32>) -> Hypothesis {
        let mut h = Hypothesis::default();
        for _ in 0..max_len {
            let row = model(&h.tokens);
            let (token, logprob) = top_k(&row, 1)[0];
            if token == END {
                return h.ended(logprob);
            }
            h = h.extended(token, logprob);
        }
        h
    }

    /// Every sequence of at most `max_len` tokens, ended or cut at the limit: the naive
    /// reference for a beam wide enough to keep them all.
    fn exhaustive(
        vocab: usize,
        max_len: usize,
        model: &impl Fn(&[u32]) -> Vec<f32>,
    ) -> Vec<Hypothesis> {
        let mut out = Vec::new();
        let mut frontier = vec![Hypothesis::default()];
        for _ in 0..max_len {
            let mut next = Vec::new();
            for h in frontier {
                let row = model(&h.tokens);
                for token in 0..vocab as u32 {
                    let lp = row[token as usize];
                    if token == END {
                        out.push(h.ended(lp));
                    } else {
                        next.push(h.extended(token, lp));
                    }
                }
            }
            frontier = next;
        }
        out.extend(frontier);
        out
    }

    #[test]
    fn a_beam_finds_the_sequence_greedy_decoding_misses() {
        // Greedy takes "1" (0.6) and then must end on an unlikely token; "2" (0.4) leads to a
        // sure end-of-text: 0.4 × 1.0 beats 0.6 × 0.5 per token.
        let model = |prefix: &[u32]| -> Vec<f32> {
            let p: [f32; 3] = match prefix {
                [] => [0.0, 0.6, 0.4],
                [1] => [0.1, 0.45, 0.45],
                [1, _] => [1.0, 0.0, 0.0],
                [2] => [0.02, 0.0, 0.98],
                _ => [1.0, 0.0, 0.0],
            };
            p.iter().map(|x| x.ln()).collect()
        };
        let g = greedy(5, model);
        let b = search(5, 5, model);
        assert_eq!(g.tokens, vec![1, 1]);
        assert_eq!(b.tokens, vec![2, 2]);
        assert!(b.score() > g.score());
    }

    #[test]
    fn top_k_skips_masked_tokens_and_keeps_order() {
        let row = [0.5, f32::NEG_INFINITY, 2.0, 0.5, -1.0];
        assert_eq!(top_k(&row, 3), vec![(2, 2.0), (0, 0.5), (3, 0.5)]);
        assert_eq!(top_k(&row, 9).len(), 4);
        assert!(top_k(&[f32::NEG_INFINITY; 3], 2).is_empty());
    }

    #[test]
    fn everything_masked_ends_the_search() {
        let mut s = BeamSearch::new(5, END);
        let parents = s.advance(&[vec![f32::NEG_INFINITY; 4]]);
        assert!(parents.is_empty());
        assert!(s.is_done());
        assert_eq!(s.best(), Hypothesis::default());
    }

    proptest! {
        #[test]
        fn a_beam_of_one_is_greedy(seed in any::<u64>(), vocab in 2usize..12, max_len in 1usize..12) {
            let model = |p: &[u32]| toy(p, vocab, seed);
            let g = greedy(max_len, model);
            let b = search(1, max_len, model);
            prop_assert_eq!(b.tokens, g.tokens);
            prop_assert!((b.sum_logprob - g.sum_logprob).abs() < 1e-4);
        }

        #[test]
        fn a_beam_wide_enough_is_exhaustive(seed in any::<u64>(), vocab in 2usize..4, max_len in 1usize..4) {
            let model = |p: &[u32]| toy(p, vocab, seed);
            // Wide enough that no sequence is ever dropped: every one finishes or is live at
            // the limit, and the best by score is the best of them all.
            let every = exhaustive(vocab, max_len, &model);
            let b = search(every.len(), max_len, model);
            let best = every.iter().map(Hypothesis::score).fold(f32::NEG_INFINITY, f32::max);
            prop_assert!((b.score() - best).abs() < 1e-5, "{} vs {}", b.score(), best);
        }

        #[test]
        fn the_winner_is_scored_by_the_model(seed in any::<u64>(), vocab in 2usize..20, beam in 1usize..6, max_len in 1usize..16) {
            let model = |p: &[u32]| toy(p, vocab, seed);
            let b = search(beam, max_len, model);
            prop_assert!(b.tokens.len() <= max_len && !b.tokens.contains(&END));
            // Each token's log-probability is the model's after its prefix.
            for (i, (&t, &lp)) in b.tokens.iter().zip(&b.logprobs).enumerate() {
                prop_assert_eq!(lp, model(&b.tokens[..i])[t as usize]);
            }
            let sum: f32 = b.logprobs.iter().sum();
            let end = b.sum_logprob - sum;
            prop_assert!(end <= 1e-4); // end-of-text's log-probability, or nothing
        }

        #[test]
        fn log_softmax_sums_to_one(row in proptest::collection::vec(-30.0f32..30.0, 1..50)) {
            let total: f64 = log_softmax(&row).iter().map(|&l| f64::from(l).exp()).sum();
            prop_assert!((total - 1.0).abs() < 1e-4);
        }
    }
}
