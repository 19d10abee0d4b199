//! Word timing from Whisper's cross-attention, as openai/whisper `whisper/timing.py` computes
//! it: the alignment heads' attention over audio frames is turned into a token × frame matrix
//! ([`alignment_matrix`]: softmax, standardisation over tokens, a median filter of width 7
//! along time, the mean over heads), dynamic time warping finds the monotone path through it
//! ([`dtw`], `dtw_cpu` with its tie-breaking and backtrace), and each word starts and ends where
//! the path moves on to its first token and to the next word's ([`find_alignment`]).
//! [`merge_punctuations`] then attaches punctuation to its word as whisper does.
//!
//! Audio frames here are the encoder's: 20 ms each (1500 per 30-second window).

use std::ops::Range;

use crate::tokenizer::{python_strip, WordTokens};

/// Encoder frames per second (whisper `TOKENS_PER_SECOND`).
pub const AUDIO_FRAMES_PER_SEC: f64 = 50.0;
/// Width of the median filter whisper applies along time.
pub const MEDIAN_FILTER_WIDTH: usize = 7;
/// Punctuation whisper attaches to the following word.
pub const PREPEND_PUNCTUATIONS: &str = "\"'“¿([{-";
/// Punctuation whisper attaches to the preceding word.
pub const APPEND_PUNCTUATIONS: &str = "\"'.。,，!！?？:：”)]}、";

/// Why word timing could not be computed. These are mismatches between the model's outputs and
/// the tokens, i.e. bugs or a broken model, not something the user caused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlignmentError {
    #[error("Word timing failed: {0}. Transcribe without word timestamps, and report this with the model you used.")]
    Shape(String),
    #[error("Word timing failed: the attention weights contain NaN or infinity. Transcribe without word timestamps, and report this with the model you used.")]
    NotFinite,
    #[error("Word timing failed: the median filter width must be odd, not {0}.")]
    EvenFilterWidth(usize),
}

/// A dense row-major matrix of `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    values: Vec<f32>,
}

impl Matrix {
    pub fn new(rows: usize, cols: usize, values: Vec<f32>) -> Result<Self, AlignmentError> {
        if rows.checked_mul(cols) != Some(values.len()) {
            return Err(AlignmentError::Shape(format!(
                "{} values do not make a {rows} × {cols} matrix",
                values.len()
            )));
        }
        Ok(Matrix { rows, cols, values })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn values(&self) -> &[f32] {
        &self.values
    }

    pub fn get(&self, row: usize, col: usize) -> Option<f32> {
        if row >= self.rows || col >= self.cols {
            return None;
        }
        self.values.get(row * self.cols + col).copied()
    }

    pub fn row(&self, row: usize) -> Option<&[f32]> {
        if row >= self.rows {
            return None;
        }
        self.values.get(row * self.cols..(row + 1) * self.cols)
    }

    /// The rows in `range`, e.g. the text tokens' rows out of the whole decoder sequence's
    /// (whisper: `matrix[len(sot_sequence):-1]`).
    pub fn select_rows(&self, range: Range<usize>) -> Result<Matrix, AlignmentError> {
        if range.start > range.end || range.end > self.rows {
            return Err(AlignmentError::Shape(format!(
                "rows {range:?} of a matrix with {} rows",
                self.rows
            )));
        }
        Ok(Matrix {
            rows: range.len(),
            cols: self.cols,
            values: self.values[range.start * self.cols..range.end * self.cols].to_vec(),
        })
    }
}

/// Cross-attention of the alignment heads, `[heads, tokens, frames]` row-major: for each
/// alignment head (layer and head as the model's `alignment_heads` lists them), each decoder
/// position's attention over the encoder's audio frames.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossAttention {
    n_heads: usize,
    n_tokens: usize,
    n_frames: usize,
    values: Vec<f32>,
}

impl CrossAttention {
    pub fn new(
        n_heads: usize,
        n_tokens: usize,
        n_frames: usize,
        values: Vec<f32>,
    ) -> Result<Self, AlignmentError> {
        let expected = n_heads
            .checked_mul(n_tokens)
            .and_then(|n| n.checked_mul(n_frames));
        if expected != Some(values.len()) {
            return Err(AlignmentError::Shape(format!(
                "{} attention values for {n_heads} heads × {n_tokens} tokens × {n_frames} frames",
                values.len()
            )));
        }
        Ok(CrossAttention {
            n_heads,
            n_tokens,
            n_frames,
            values,
        })
    }

    pub fn n_heads(&self) -> usize {
        self.n_heads
    }

    pub fn n_tokens(&self) -> usize {
        self.n_tokens
    }

    pub fn n_frames(&self) -> usize {
        self.n_frames
    }
}

/// What the attention values are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AttentionScores {
    /// Pre-softmax scores `q·k` (what whisper's hooks capture); a softmax over the kept frames
    /// of `scores × qk_scale` comes first (whisper's default `qk_scale` is 1).
    Logits { qk_scale: f32 },
    /// Attention already normalised over all frames (what `tools/model`'s decoder and
    /// Hugging Face exports return). The kept frames are renormalised to sum to 1, which is
    /// exactly whisper's softmax over the kept frames' logits (with `qk_scale` 1).
    Probabilities,
}

/// Whisper's alignment matrix `[tokens, audio_frames]` from the alignment heads' attention:
/// keep the first `audio_frames` frames (whisper: `num_frames // 2`, the audio's length in
/// encoder frames), softmax if the values are logits, standardise each frame over tokens
/// (population standard deviation; a frame where all tokens are equal becomes 0 instead of
/// torch's NaN), median-filter each token's row along time, and average over heads.
pub fn alignment_matrix(
    attention: &CrossAttention,
    scores: AttentionScores,
    audio_frames: usize,
    median_filter_width: usize,
) -> Result<Matrix, AlignmentError> {
    if median_filter_width.is_multiple_of(2) {
        return Err(AlignmentError::EvenFilterWidth(median_filter_width));
    }
    let (n_tokens, n_frames) = (attention.n_tokens, attention.n_frames);
    let kept = audio_frames.min(n_frames);
    if n_tokens == 0 || kept == 0 {
        return Matrix::new(n_tokens, kept, Vec::new());
    }
    let mut mean = vec![0.0f32; n_tokens * kept];
    for head in attention.values.chunks_exact(n_tokens * n_frames) {
        let mut weights: Vec<f32> = head
            .chunks_exact(n_frames)
            .flat_map(|row| row[..kept].iter().copied())
            .collect();
        for row in weights.chunks_exact_mut(kept) {
            match scores {
                AttentionScores::Logits { qk_scale } => softmax_in_place(row, qk_scale),
                AttentionScores::Probabilities => renormalize_in_place(row),
            }
        }
        standardize_over_tokens(&mut weights, n_tokens, kept);
        for (t, row) in weights.chunks_exact(kept).enumerate() {
            let filtered = median_filter(row, median_filter_width)?;
            for (acc, v) in mean[t * kept..(t + 1) * kept].iter_mut().zip(filtered) {
                *acc += v;
            }
        }
    }
    let n_heads = attention.n_heads.max(1) as f32;
    for v in &mut mean {
        *v /= n_heads;
    }
    Matrix::new(n_tokens, kept, mean)
}

fn softmax_in_place(row: &mut [f32], scale: f32) {
    let max = row
        .iter()
        .map(|&v| v * scale)
        .fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = (*v * scale - max).exp();
        sum += *v;
    }
    for v in row.iter_mut() {
        *v /= sum;
    }
}

/// Scales a row of probabilities to sum to 1 (a row of zeros stays zeros).
fn renormalize_in_place(row: &mut [f32]) {
    let sum: f32 = row.iter().sum();
    if sum > 0.0 {
        for v in row.iter_mut() {
            *v /= sum;
        }
    }
}

/// `(w − mean) / std` over the token axis, for each frame (`torch.std_mean(dim=-2,
/// unbiased=False)`).
fn standardize_over_tokens(weights: &mut [f32], n_tokens: usize, n_frames: usize) {
    if n_tokens == 0 {
        return;
    }
    for f in 0..n_frames {
        let column = (0..n_tokens).map(|t| weights[t * n_frames + f]);
        let mean = column.clone().sum::<f32>() / n_tokens as f32;
        let variance = column.map(|v| (v - mean) * (v - mean)).sum::<f32>() / n_tokens as f32;
        let std = variance.sqrt();
        for t in 0..n_tokens {
            let v = &mut weights[t * n_frames + f];
            *v = if std > 0.0 { (*v - mean) / std } else { 0.0 };
        }
    }
}

/// Whisper's `median_filter` along one row: reflect-pad by `width / 2` on both sides and take
/// each window's median. A row no longer than `width / 2` is returned unchanged (as whisper
/// does, since reflect padding needs more samples than the pad).
pub fn median_filter(values: &[f32], width: usize) -> Result<Vec<f32>, AlignmentError> {
    if width.is_multiple_of(2) {
        return Err(AlignmentError::EvenFilterWidth(width));
    }
    let half = width / 2;
    let n = values.len();
    if n <= half {
        return Ok(values.to_vec());
    }
    let at = |i: isize| -> f32 {
        // Reflect without repeating the edge; `half < n` keeps one reflection enough.
        let j = if i < 0 {
            -i
        } else if i >= n as isize {
            2 * (n as isize - 1) - i
        } else {
            i
        };
        values[j as usize]
    };
    let mut window = vec![0.0f32; width];
    Ok((0..n as isize)
        .map(|centre| {
            for (k, slot) in window.iter_mut().enumerate() {
                *slot = at(centre + k as isize - half as isize);
            }
            window.sort_unstable_by(f32::total_cmp);
            window[half]
        })
        .collect())
}

/// A monotone path through a matrix, from (0, 0) to the last row and column: at each step the
/// text index, the time index or both go up by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DtwPath {
    pub text_indices: Vec<usize>,
    pub time_indices: Vec<usize>,
}

/// The cheapest monotone path through `cost` (rows: tokens, columns: time), by whisper's
/// `dtw_cpu`: cumulative costs in `f32`, a diagonal step only when strictly cheaper than both
/// others, a vertical step when strictly cheaper than both others, otherwise horizontal; then
/// its `backtrace`. For word timing pass the negated alignment matrix. An empty matrix gives an
/// empty path.
pub fn dtw(cost: &Matrix) -> Result<DtwPath, AlignmentError> {
    let (n, m) = (cost.rows, cost.cols);
    if n == 0 || m == 0 {
        return Ok(DtwPath {
            text_indices: Vec::new(),
            time_indices: Vec::new(),
        });
    }
    if cost.values.iter().any(|v| !v.is_finite()) {
        return Err(AlignmentError::NotFinite);
    }
    let width = m + 1;
    let mut total = vec![f32::INFINITY; (n + 1) * width];
    // 0: diagonal, 1: from the row above, 2: from the column before.
    let mut trace = vec![-1i8; (n + 1) * width];
    total[0] = 0.0;
    for j in 1..=m {
        for i in 1..=n {
            let c0 = total[(i - 1) * width + j - 1];
            let c1 = total[(i - 1) * width + j];
            let c2 = total[i * width + j - 1];
            let (c, t) = if c0 < c1 && c0 < c2 {
                (c0, 0)
            } else if c1 < c0 && c1 < c2 {
                (c1, 1)
            } else {
                (c2, 2)
            };
            total[i * width + j] = cost.values[(i - 1) * m + j - 1] + c;
            trace[i * width + j] = t;
        }
    }
    trace[..width].fill(2);
    for i in 0..=n {
        trace[i * width] = 1;
    }
    let (mut i, mut j) = (n, m);
    let mut path = Vec::with_capacity(n + m);
    while i > 0 || j > 0 {
        // With finite costs the path reaches (0, 0) through (1, 1), never along an edge.
        let (Some(ti), Some(tj)) = (i.checked_sub(1), j.checked_sub(1)) else {
            return Err(AlignmentError::Shape(format!(
                "the path left the matrix at ({i}, {j})"
            )));
        };
        path.push((ti, tj));
        match trace[i * width + j] {
            0 => (i, j) = (ti, tj),
            1 => i = ti,
            _ => j = tj,
        }
    }
    path.reverse();
    Ok(DtwPath {
        text_indices: path.iter().map(|&(t, _)| t).collect(),
        time_indices: path.iter().map(|&(_, f)| f).collect(),
    })
}

/// A word with its time in the audio window and the mean probability of its tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct WordTiming {
    pub text: String,
    /// Positions of its tokens among the text tokens.
    pub tokens: Range<usize>,
    pub start_secs: f64,
    pub end_secs: f64,
    pub probability: f32,
}

/// Whisper's `find_alignment` after the model has run.
///
/// - `matrix`: the [`alignment_matrix`] rows of the positions that predict the text tokens and
///   then end-of-text (whisper: `matrix[len(sot_sequence):-1]`, starting at `<|notimestamps|>`),
///   i.e. `text tokens + 1` rows.
/// - `words`: the text tokens followed by end-of-text, split into words
///   ([`Tokenizer::split_to_words`](crate::tokenizer::Tokenizer::split_to_words)); the last
///   word, end-of-text, gets no timing.
/// - `text_token_probs`: the model's probability for each text token.
///
/// A word starts at the time where the DTW path first reaches its first token and ends where
/// it reaches the next word's; times are encoder frames / 50 (so the first word always starts
/// at 0, as in whisper, whose later heuristics move it).
pub fn find_alignment(
    matrix: &Matrix,
    words: &[WordTokens],
    text_token_probs: &[f32],
) -> Result<Vec<WordTiming>, AlignmentError> {
    let n_text = matrix.rows.saturating_sub(1);
    if text_token_probs.len() != n_text {
        return Err(AlignmentError::Shape(format!(
            "{} token probabilities for {n_text} text tokens",
            text_token_probs.len()
        )));
    }
    let mut expected_start = 0;
    for word in words {
        if word.tokens.start != expected_start || word.tokens.end <= word.tokens.start {
            return Err(AlignmentError::Shape(format!(
                "word {:?} covers tokens {:?}, expected a range from {expected_start}",
                word.text, word.tokens
            )));
        }
        expected_start = word.tokens.end;
    }
    if words.len() <= 1 {
        return Ok(Vec::new());
    }
    if expected_start != matrix.rows {
        return Err(AlignmentError::Shape(format!(
            "the words cover {expected_start} tokens but the matrix has {} rows",
            matrix.rows
        )));
    }
    let negated = Matrix {
        rows: matrix.rows,
        cols: matrix.cols,
        values: matrix.values.iter().map(|v| -v).collect(),
    };
    let path = dtw(&negated)?;
    // The time at which the path first reaches each text index.
    let mut jump_secs = Vec::with_capacity(matrix.rows);
    for (k, (&text, &time)) in path.text_indices.iter().zip(&path.time_indices).enumerate() {
        if k == 0 || text != path.text_indices[k - 1] {
            jump_secs.push(time as f64 / AUDIO_FRAMES_PER_SEC);
        }
    }
    words[..words.len() - 1]
        .iter()
        .map(|word| {
            let (Some(&start_secs), Some(&end_secs)) = (
                jump_secs.get(word.tokens.start),
                jump_secs.get(word.tokens.end),
            ) else {
                return Err(AlignmentError::Shape(format!(
                    "no path time for word {:?}",
                    word.text
                )));
            };
            let probs = &text_token_probs[word.tokens.clone()];
            let probability = probs.iter().map(|&p| f64::from(p)).sum::<f64>() / probs.len() as f64;
            Ok(WordTiming {
                text: word.text.clone(),
                tokens: word.tokens.clone(),
                start_secs,
                end_secs,
                probability: probability as f32,
            })
        })
        .collect()
}

/// Whisper's `merge_punctuations`: a word that is opening punctuation after a space (e.g.
/// ` "`) joins the word after it, and closing punctuation (e.g. `.`) joins the word before
/// unless that ends in a space. The merged word keeps the times of the word it joined; the
/// punctuation's own entry is left with empty text and tokens (skip those when showing words).
/// Python's substring tests (`word.strip() in prepended`) are kept as they are.
pub fn merge_punctuations(words: &mut [WordTiming], prepended: &str, appended: &str) {
    if words.len() < 2 {
        return;
    }
    let join = |a: &Range<usize>, b: &Range<usize>| {
        if a.is_empty() {
            b.clone()
        } else if b.is_empty() {
            a.clone()
        } else {
            a.start.min(b.start)..a.end.max(b.end)
        }
    };
    let mut i = words.len() - 1;
    let mut j = words.len() - 1;
    while i > 0 {
        i -= 1;
        let previous = &words[i];
        if previous.text.starts_with(' ') && prepended.contains(python_strip(&previous.text)) {
            let text = std::mem::take(&mut words[i].text);
            let start = words[i].tokens.start;
            let tokens = std::mem::replace(&mut words[i].tokens, start..start);
            let following = &mut words[j];
            following.text = text + &following.text;
            following.tokens = join(&tokens, &following.tokens);
        } else {
            j = i;
        }
    }
    let mut i = 0;
    for j in 1..words.len() {
        if !words[i].text.ends_with(' ') && appended.contains(words[j].text.as_str()) {
            let text = std::mem::take(&mut words[j].text);
            let end = words[j].tokens.end;
            let tokens = std::mem::replace(&mut words[j].tokens, end..end);
            let previous = &mut words[i];
            previous.text.push_str(&text);
            previous.tokens = join(&previous.tokens, &tokens);
        } else {
            i = j;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(rows: usize, cols: usize, values: &[f32]) -> Matrix {
        Matrix::new(rows, cols, values.to_vec()).unwrap()
    }

    fn path(p: &DtwPath) -> Vec<(usize, usize)> {
        p.text_indices
            .iter()
            .copied()
            .zip(p.time_indices.iter().copied())
            .collect()
    }

    /// Properties over random shapes (proptest runs natively only).
    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn path_cost(m: &Matrix, p: &[(usize, usize)]) -> f64 {
            p.iter()
                .map(|&(i, j)| f64::from(m.get(i, j).unwrap()))
                .sum()
        }

        /// Every monotone path from (0, 0) to (rows − 1, cols − 1), by brute force.
        fn all_paths(rows: usize, cols: usize) -> Vec<Vec<(usize, usize)>> {
            fn walk(
                at: (usize, usize),
                end: (usize, usize),
                current: &mut Vec<(usize, usize)>,
                out: &mut Vec<Vec<(usize, usize)>>,
            ) {
                current.push(at);
                if at == end {
                    out.push(current.clone());
                } else {
                    for (di, dj) in [(1, 1), (1, 0), (0, 1)] {
                        let next = (at.0 + di, at.1 + dj);
                        if next.0 <= end.0 && next.1 <= end.1 {
                            walk(next, end, current, out);
                        }
                    }
                }
                current.pop();
            }
            let mut out = Vec::new();
            walk((0, 0), (rows - 1, cols - 1), &mut Vec::new(), &mut out);
            out
        }

        proptest! {
            #[test]
            fn dtw_finds_the_cheapest_monotone_path(
                (rows, cols, values) in (1usize..5, 1usize..6).prop_flat_map(|(r, c)| {
                    (Just(r), Just(c), proptest::collection::vec(-1.0f32..1.0, r * c))
                })
            ) {
                let m = matrix(rows, cols, &values);
                let found = path(&dtw(&m).unwrap());
                // A valid monotone path from corner to corner.
                prop_assert_eq!(found[0], (0, 0));
                prop_assert_eq!(*found.last().unwrap(), (rows - 1, cols - 1));
                for w in found.windows(2) {
                    let step = (w[1].0 - w[0].0, w[1].1 - w[0].1);
                    prop_assert!(matches!(step, (1, 1) | (1, 0) | (0, 1)), "step {:?}", step);
                }
                let mut costs: Vec<(f64, Vec<(usize, usize)>)> = all_paths(rows, cols)
                    .into_iter()
                    .map(|p| (path_cost(&m, &p), p))
                    .collect();
                costs.sort_by(|a, b| a.0.total_cmp(&b.0));
                let best = costs[0].0;
                prop_assert!((path_cost(&m, &found) - best).abs() < 1e-4,
                    "found {} but the best is {}", path_cost(&m, &found), best);
                if costs.len() > 1 && costs[1].0 - best > 1e-3 {
                    prop_assert_eq!(&found, &costs[0].1);
                }
            }

            #[test]
            fn median_filter_takes_the_median_of_reflected_windows(
                values in proptest::collection::vec(-10.0f32..10.0, 0..40),
                half in 0usize..5,
            ) {
                let width = 2 * half + 1;
                let filtered = median_filter(&values, width).unwrap();
                prop_assert_eq!(filtered.len(), values.len());
                if values.len() <= half {
                    prop_assert_eq!(&filtered, &values);
                } else {
                    let n = values.len() as isize;
                    for (c, &got) in filtered.iter().enumerate() {
                        let mut window: Vec<f32> = (c as isize - half as isize..=c as isize + half as isize)
                            .map(|i| values[if i < 0 { -i } else if i >= n { 2 * (n - 1) - i } else { i } as usize])
                            .collect();
                        window.sort_by(f32::total_cmp);
                        prop_assert_eq!(got, window[half]);
                    }
                }
            }
        }
    }

    #[test]
    fn dtw_breaks_ties_like_whisper() {
        // Expected paths from whisper's own dtw_cpu/backtrace run under numpy.
        assert_eq!(
            path(&dtw(&matrix(3, 4, &[0.0; 12])).unwrap()),
            vec![(0, 0), (1, 0), (2, 0), (2, 1), (2, 2), (2, 3)]
        );
        assert_eq!(path(&dtw(&matrix(1, 1, &[0.0])).unwrap()), vec![(0, 0)]);
        assert_eq!(
            path(&dtw(&matrix(2, 3, &[-1.0, -2.0, -3.0, -4.0, -5.0, -6.0])).unwrap()),
            vec![(0, 0), (1, 0), (1, 1), (1, 2)]
        );
        assert_eq!(
            path(&dtw(&matrix(2, 2, &[0.0, 0.0, 0.0, -1.0])).unwrap()),
            vec![(0, 0), (1, 0), (1, 1)]
        );
    }

    #[test]
    fn dtw_rejects_non_finite_costs_and_accepts_empty_ones() {
        assert_eq!(
            dtw(&matrix(1, 2, &[0.0, f32::NAN])).unwrap_err(),
            AlignmentError::NotFinite
        );
        assert!(dtw(&matrix(0, 3, &[])).unwrap().text_indices.is_empty());
    }

    #[test]
    fn median_filter_matches_a_worked_example() {
        // Reflect-padded: 5 1 5 2 8 3 9 4 9.
        assert_eq!(
            median_filter(&[1.0, 5.0, 2.0, 8.0, 3.0, 9.0, 4.0], 3).unwrap(),
            vec![5.0, 2.0, 5.0, 3.0, 8.0, 4.0, 9.0]
        );
        assert_eq!(
            median_filter(&[3.0, 1.0, 2.0], 7).unwrap(),
            vec![3.0, 1.0, 2.0]
        );
        assert_eq!(
            median_filter(&[1.0], 4),
            Err(AlignmentError::EvenFilterWidth(4))
        );
    }

    /// Attention logits where decoder position `p` looks at the frames in `spans[p]`.
    fn block_attention(heads: usize, spans: &[Range<usize>], n_frames: usize) -> CrossAttention {
        let mut values = Vec::new();
        for h in 0..heads {
            for span in spans {
                for f in 0..n_frames {
                    // Heads differ a little so that the mean is over genuinely different data.
                    values.push(if span.contains(&f) {
                        8.0 + h as f32
                    } else {
                        0.0
                    });
                }
            }
        }
        CrossAttention::new(heads, spans.len(), n_frames, values).unwrap()
    }

    fn word(text: &str, tokens: Range<usize>) -> WordTokens {
        WordTokens {
            text: text.into(),
            tokens,
        }
    }

    #[test]
    fn words_follow_a_diagonal_attention_pattern() {
        // Decoder positions: <|startoftranscript|>, <|en|>, <|transcribe|>, then
        // <|notimestamps|> and five text tokens (each predicting the next token), then
        // end-of-text. Spans in encoder frames of 20 ms; frames past 150 are padding.
        let sot = [0..150, 0..150, 0..150];
        let predicting = [0..20, 20..35, 35..50, 50..80, 80..85, 85..120];
        let spans: Vec<Range<usize>> = sot
            .iter()
            .chain(&predicting)
            .cloned()
            .chain(std::iter::once(0..150))
            .collect();
        let attention = block_attention(3, &spans, 200);
        let full = alignment_matrix(
            &attention,
            AttentionScores::Logits { qk_scale: 1.0 },
            150,
            MEDIAN_FILTER_WIDTH,
        )
        .unwrap();
        assert_eq!((full.rows(), full.cols()), (10, 150));
        let text_rows = full.select_rows(3..9).unwrap();
        let words = [
            word(" The", 0..1),
            word(" quick", 1..3),
            word(" fox", 3..4),
            word(".", 4..5),
            word("<|endoftext|>", 5..6),
        ];
        let probs = [0.9, 0.8, 0.6, 0.5, 0.99];
        let timings = find_alignment(&text_rows, &words, &probs).unwrap();
        let got: Vec<(&str, f64, f64)> = timings
            .iter()
            .map(|w| (w.text.as_str(), w.start_secs, w.end_secs))
            .collect();
        assert_eq!(
            got,
            vec![
                (" The", 0.0, 0.4),
                (" quick", 0.4, 1.0),
                (" fox", 1.0, 1.6),
                (".", 1.6, 1.7),
            ]
        );
        assert!((timings[1].probability - 0.7).abs() < 1e-6);
        assert_eq!(timings[1].tokens, 1..3);
    }

    #[test]
    #[allow(clippy::needless_range_loop)] // the reference indexes like the formulas read
    fn alignment_matrix_equals_a_slow_reference() {
        let (heads, tokens, frames) = (2, 4, 12);
        let mut seed = 7u32;
        let values: Vec<f32> = (0..heads * tokens * frames)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (seed >> 16) as f32 / 65_536.0 * 6.0 - 3.0
            })
            .collect();
        let attention = CrossAttention::new(heads, tokens, frames, values.clone()).unwrap();
        let kept = 10;
        let got = alignment_matrix(
            &attention,
            AttentionScores::Logits { qk_scale: 0.5 },
            kept,
            3,
        )
        .unwrap();
        let at = |h: usize, t: usize, f: usize| f64::from(values[(h * tokens + t) * frames + f]);
        let mut expected = vec![vec![0.0f64; kept]; tokens];
        for h in 0..heads {
            // softmax over the kept frames
            let soft: Vec<Vec<f64>> = (0..tokens)
                .map(|t| {
                    let z: f64 = (0..kept).map(|f| (0.5 * at(h, t, f)).exp()).sum();
                    (0..kept).map(|f| (0.5 * at(h, t, f)).exp() / z).collect()
                })
                .collect();
            // standardise each frame over tokens
            let mut std_rows = soft.clone();
            for f in 0..kept {
                let mean = (0..tokens).map(|t| soft[t][f]).sum::<f64>() / tokens as f64;
                let var = (0..tokens)
                    .map(|t| (soft[t][f] - mean).powi(2))
                    .sum::<f64>()
                    / tokens as f64;
                for t in 0..tokens {
                    std_rows[t][f] = (soft[t][f] - mean) / var.sqrt();
                }
            }
            // median of 3 with reflection, then the mean over heads
            for t in 0..tokens {
                for f in 0..kept {
                    let l = if f == 0 { 1 } else { f - 1 };
                    let r = if f == kept - 1 { kept - 2 } else { f + 1 };
                    let mut w = [std_rows[t][l], std_rows[t][f], std_rows[t][r]];
                    w.sort_by(f64::total_cmp);
                    expected[t][f] += w[1] / heads as f64;
                }
            }
        }
        for t in 0..tokens {
            for f in 0..kept {
                let diff = (f64::from(got.get(t, f).unwrap()) - expected[t][f]).abs();
                assert!(diff < 1e-5, "({t}, {f}): {diff}");
            }
        }
    }

    #[test]
    fn probabilities_over_all_frames_give_whispers_softmax_over_the_kept_ones() {
        let (tokens, frames, kept) = (3, 8, 5);
        let logits: Vec<f32> = (0..tokens * frames)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.7)
            .collect();
        let probabilities: Vec<f32> = logits
            .chunks_exact(frames)
            .flat_map(|row| {
                let z: f32 = row.iter().map(|v| v.exp()).sum();
                row.iter().map(move |v| v.exp() / z).collect::<Vec<_>>()
            })
            .collect();
        let from_logits = alignment_matrix(
            &CrossAttention::new(1, tokens, frames, logits).unwrap(),
            AttentionScores::Logits { qk_scale: 1.0 },
            kept,
            3,
        )
        .unwrap();
        let from_probabilities = alignment_matrix(
            &CrossAttention::new(1, tokens, frames, probabilities).unwrap(),
            AttentionScores::Probabilities,
            kept,
            3,
        )
        .unwrap();
        for (a, b) in from_logits.values().iter().zip(from_probabilities.values()) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn probabilities_are_not_softmaxed_again() {
        // Three tokens over two frames, each token's row already a distribution.
        let values = vec![0.9, 0.1, 0.5, 0.5, 0.2, 0.8];
        let attention = CrossAttention::new(1, 3, 2, values.clone()).unwrap();
        let m = alignment_matrix(&attention, AttentionScores::Probabilities, 2, 1).unwrap();
        // Frame 0 holds 0.9, 0.5, 0.2: mean 8/15, population std sqrt(0.0822…).
        let column = [0.9f64, 0.5, 0.2];
        let mean = column.iter().sum::<f64>() / 3.0;
        let std = (column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
        for (t, v) in column.iter().enumerate() {
            let got = f64::from(m.get(t, 0).unwrap());
            assert!((got - (v - mean) / std).abs() < 1e-6, "token {t}: {got}");
        }
        let softmaxed =
            alignment_matrix(&attention, AttentionScores::Logits { qk_scale: 1.0 }, 2, 1).unwrap();
        assert!((softmaxed.get(0, 0).unwrap() - m.get(0, 0).unwrap()).abs() > 1e-3);
        // A single token has no spread: zeros rather than NaN.
        let one = CrossAttention::new(1, 1, 3, vec![0.1, 0.5, 0.4]).unwrap();
        let m = alignment_matrix(&one, AttentionScores::Probabilities, 3, 1).unwrap();
        assert_eq!(m.values(), &[0.0, 0.0, 0.0]);
    }

    #[test]
    fn find_alignment_checks_its_inputs() {
        let m = matrix(3, 4, &[0.0; 12]);
        let words = [word(" a", 0..2), word("<|endoftext|>", 2..3)];
        assert!(find_alignment(&m, &words, &[0.5, 0.5]).is_ok());
        assert!(find_alignment(&m, &words, &[0.5]).is_err());
        let gap = [word(" a", 0..1), word("<|endoftext|>", 2..3)];
        assert!(find_alignment(&m, &gap, &[0.5, 0.5]).is_err());
        let short = [word(" a", 0..1), word("<|endoftext|>", 1..2)];
        assert!(find_alignment(&m, &short, &[0.5, 0.5]).is_err());
        // Only end-of-text: nothing to time (whisper returns early too).
        let only_eot = [word("<|endoftext|>", 0..1)];
        assert_eq!(
            find_alignment(&matrix(1, 4, &[0.0; 4]), &only_eot, &[]).unwrap(),
            vec![]
        );
        assert!(CrossAttention::new(2, 2, 2, vec![0.0; 7]).is_err());
        // No frames (or no tokens) gives an empty matrix, not a panic.
        let no_frames = CrossAttention::new(2, 3, 0, vec![]).unwrap();
        let m = alignment_matrix(&no_frames, AttentionScores::Probabilities, 10, 7).unwrap();
        assert_eq!((m.rows(), m.cols()), (3, 0));
        let some_frames = CrossAttention::new(1, 2, 4, vec![0.5; 8]).unwrap();
        let m = alignment_matrix(&some_frames, AttentionScores::Probabilities, 0, 7).unwrap();
        assert_eq!((m.rows(), m.cols()), (2, 0));
        let words = [word(" a", 0..1), word("<|endoftext|>", 1..2)];
        assert!(find_alignment(&matrix(2, 0, &[]), &words, &[0.5]).is_err());
        assert!(Matrix::new(2, 2, vec![0.0; 3]).is_err());
        assert!(m.select_rows(2..4).is_err());
    }

    fn timing(text: &str, tokens: Range<usize>, start_secs: f64) -> WordTiming {
        WordTiming {
            text: text.into(),
            tokens,
            start_secs,
            end_secs: start_secs + 0.5,
            probability: 0.5,
        }
    }

    #[test]
    fn punctuation_joins_its_word() {
        let mut words = vec![
            timing(" (", 0..1, 0.0),
            timing("Hello", 1..2, 0.5),
            timing(")", 2..3, 1.0),
            timing(" world", 3..5, 1.5),
            timing(".", 5..6, 2.0),
            timing(" \"", 6..7, 2.5),
            timing("Yes", 7..8, 3.0),
            timing("\"", 8..9, 3.5),
        ];
        merge_punctuations(&mut words, PREPEND_PUNCTUATIONS, APPEND_PUNCTUATIONS);
        let kept: Vec<(&str, Range<usize>, f64)> = words
            .iter()
            .filter(|w| !w.text.is_empty())
            .map(|w| (w.text.as_str(), w.tokens.clone(), w.start_secs))
            .collect();
        assert_eq!(
            kept,
            vec![
                (" (Hello)", 0..3, 0.5),
                (" world.", 3..6, 1.5),
                (" \"Yes\"", 6..9, 3.0),
            ]
        );
        assert!(words
            .iter()
            .filter(|w| w.text.is_empty())
            .all(|w| w.tokens.is_empty()));
    }
}
