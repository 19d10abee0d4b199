//! Integer matrix products for the int8 weights ([`crate::int8`]): `y = x · Wᵀ` with `W` as
//! the model stores it (int8, one scale per output channel) and `x` quantized per row to
//! 14-bit integers, summed exactly in `i32`.
//!
//! Why integers: in wasm a 128-bit `i32x4.dot_i16x8_s` does eight multiply-adds in one
//! instruction, where f32 needs a multiply and an add for four (wasm has no fused
//! multiply-add without relaxed SIMD), and the int8 weights widen to i16 in the load itself
//! (`v128.load8x8_s`) instead of going through i32 to f32. Measured in V8, the products run
//! 1.5–1.7× as fast as tract's f32 kernels on widened weights over the encoder's 1500 rows,
//! and 11× for a decoder step's single row (BENCHMARKS.md).
//!
//! Precision: each row of `x` is scaled so that its largest magnitude becomes [`ACT_MAX`]
//! (16383) and rounded, a relative error of at most 2⁻¹⁵ of the row's largest value — far
//! below the int8 weights' own (2⁻⁸ of the channel's largest), so the products match the
//! f32 ones to about four significant digits. (CTranslate2 and onnxruntime's dynamic
//! quantization round activations to 8 bits; 14 keep Whisper's outputs as they were.)
//!
//! Overflow: a product is at most 16383 × 128 = 2 097 024 in magnitude, and a sum runs over at
//! most [`K_CHUNK`] = 1024 of them (2 147 352 576 < 2³¹), so no `i32` overflows whatever
//! the weights hold; longer rows are summed a chunk at a time in f32.
//!
//! Shape: channels are taken [`PANEL`] at a time (a panel of weights stays in cache while
//! every row passes over it), rows [`ROWS`] and channels [`COLS`] at a time in registers —
//! the block that measured fastest in V8 (BENCHMARKS.md); fewer rows, as in a decoder step,
//! use a one-row block over [`GEMV_COLS`] channels.

/// Largest magnitude of a quantized activation: 14 bits and a sign.
pub const ACT_MAX: f32 = 16383.0;

/// Inputs summed in `i32` before the partial sum moves to f32 (see the module's overflow note).
pub const K_CHUNK: usize = 1024;

/// Output channels whose weights are kept in cache while all rows pass over them.
pub const PANEL: usize = 64;

/// The register block for many rows: rows × channels summed side by side.
pub const ROWS: usize = 4;
pub const COLS: usize = 2;

/// The register block for a single row (a decoder step).
pub const GEMV_COLS: usize = 8;

/// Rows of activations quantized to `i16`, each with its scale: `x[r][i] ≈ values[r·k + i] ·
/// scales[r]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuantRows {
    pub values: Vec<i16>,
    pub scales: Vec<f32>,
    pub k: usize,
}

impl QuantRows {
    /// Quantizes `x` ([rows, k] row by row). A row of zeros gets scale 0; a row holding NaN
    /// or an infinity gets a NaN scale, so that its products are NaN as the f32 ones would be.
    pub fn new(x: &[f32], k: usize) -> Self {
        let mut q = Self::default();
        q.quantize(x, k);
        q
    }

    /// As [`QuantRows::new`], reusing this one's buffers.
    pub fn quantize(&mut self, x: &[f32], k: usize) {
        assert!(
            k > 0 && x.len().is_multiple_of(k),
            "{} values in rows of {k}",
            x.len()
        );
        self.k = k;
        self.values.resize(x.len(), 0);
        self.scales.clear();
        for (row, out) in x.chunks_exact(k).zip(self.values.chunks_exact_mut(k)) {
            self.scales.push(quantize_row(row, out));
        }
    }

    pub fn rows(&self) -> usize {
        self.scales.len()
    }

    fn row(&self, r: usize) -> &[i16] {
        &self.values[r * self.k..][..self.k]
    }
}

/// Writes `row` quantized into `out` and returns its scale.
pub fn quantize_row(row: &[f32], out: &mut [i16]) -> f32 {
    let largest = row.iter().fold(0f32, |m, v| m.max(v.abs()));
    if row.iter().any(|v| !v.is_finite()) {
        out.fill(0);
        return f32::NAN;
    }
    if largest == 0.0 {
        out.fill(0);
        return 0.0;
    }
    let scale = largest / ACT_MAX;
    let inverse = ACT_MAX / largest;
    for (q, v) in out.iter_mut().zip(row) {
        // |v · inverse| ≤ ACT_MAX (plus rounding), well inside i16.
        *q = (v * inverse).round() as i16;
    }
    scale
}

/// `out` [rows, n] = x · Wᵀ, `w` [n, k] int8 row by row with `w_scale` [n].
pub fn gemm(x: &QuantRows, w: &[i8], w_scale: &[f32], out: &mut [f32]) {
    gemm_blocked::<ROWS, COLS, GEMV_COLS>(x, w, w_scale, out)
}

/// [`gemm`] with another register block: `R` rows × `C` channels, `G` channels for one row
/// (benchmarks compare shapes with it).
pub fn gemm_blocked<const R: usize, const C: usize, const G: usize>(
    x: &QuantRows,
    w: &[i8],
    w_scale: &[f32],
    out: &mut [f32],
) {
    let (rows, k, n) = (x.rows(), x.k, w_scale.len());
    assert_eq!(w.len(), n * k, "weights for {n} channels of {k}");
    assert_eq!(out.len(), rows * n, "outputs for {rows} rows of {n}");
    out.fill(0.0);
    if rows == 0 || n == 0 {
        return;
    }
    for chunk in (0..k).step_by(K_CHUNK) {
        let len = K_CHUNK.min(k - chunk);
        let x_at = |r: usize| &x.row(r)[chunk..][..len];
        let w_at = |c: usize| &w[c * k + chunk..][..len];
        let mut add = |r: usize, c: usize, sum: i32| {
            out[r * n + c] += sum as f32 * x.scales[r] * w_scale[c];
        };
        if rows == 1 {
            let x0 = x_at(0);
            let mut c = 0;
            while c + G <= n {
                let sums = block::<1, G>([x0], std::array::from_fn(|j| w_at(c + j)));
                for (j, s) in sums[0].iter().enumerate() {
                    add(0, c + j, *s);
                }
                c += G;
            }
            for c in c..n {
                add(0, c, block::<1, 1>([x0], [w_at(c)])[0][0]);
            }
            continue;
        }
        for panel in (0..n).step_by(PANEL) {
            let panel_end = (panel + PANEL).min(n);
            let mut r = 0;
            while r < rows {
                let take = R.min(rows - r);
                let mut c = panel;
                while c < panel_end {
                    let cols = C.min(panel_end - c);
                    if take == R && cols == C {
                        let sums = block::<R, C>(
                            std::array::from_fn(|i| x_at(r + i)),
                            std::array::from_fn(|j| w_at(c + j)),
                        );
                        for (i, row) in sums.iter().enumerate() {
                            for (j, s) in row.iter().enumerate() {
                                add(r + i, c + j, *s);
                            }
                        }
                    } else {
                        for i in 0..take {
                            for j in 0..cols {
                                add(
                                    r + i,
                                    c + j,
                                    block::<1, 1>([x_at(r + i)], [w_at(c + j)])[0][0],
                                );
                            }
                        }
                    }
                    c += cols;
                }
                r += take;
            }
        }
    }
}

/// The same product the plain way, every sum in `i64` (tests).
pub fn gemm_reference(x: &QuantRows, w: &[i8], w_scale: &[f32]) -> Vec<f32> {
    let (k, n) = (x.k, w_scale.len());
    let mut out = vec![0f32; x.rows() * n];
    for r in 0..x.rows() {
        for c in 0..n {
            let mut f = 0f32;
            for chunk in (0..k).step_by(K_CHUNK) {
                let len = K_CHUNK.min(k - chunk);
                let sum: i64 = (chunk..chunk + len)
                    .map(|i| i64::from(x.row(r)[i]) * i64::from(w[c * k + i]))
                    .sum();
                f += sum as f32 * x.scales[r] * w_scale[c];
            }
            out[r * n + c] = f;
        }
    }
    out
}

/// Σᵢ xs[r][i] · ws[c][i] for every pair, all slices of one length ≤ [`K_CHUNK`]: the
/// SIMD kernel of the machine (wasm simd128; x86-64 with AVX2, checked once at run time),
/// the portable one elsewhere. All give the same exact integer sums.
fn block<const R: usize, const C: usize>(xs: [&[i16]; R], ws: [&[i8]; C]) -> [[i32; C]; R] {
    let len = xs[0].len();
    assert!(len <= K_CHUNK);
    assert!(xs.iter().all(|x| x.len() == len) && ws.iter().all(|w| w.len() == len));
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return block_wasm(xs, ws);
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above), the only requirement of the
        // function beyond the slice lengths its caller checked.
        #[allow(unsafe_code)]
        return unsafe { block_avx2(xs, ws) };
    }
    #[allow(unreachable_code)]
    block_portable(xs, ws)
}

/// The rest of the rows past the last whole vector, added to each sum.
fn tails<const R: usize, const C: usize>(
    xs: [&[i16]; R],
    ws: [&[i8]; C],
    from: usize,
    sums: &mut [[i32; C]; R],
) {
    for (r, x) in xs.iter().enumerate() {
        for (c, w) in ws.iter().enumerate() {
            sums[r][c] += x[from..]
                .iter()
                .zip(&w[from..])
                .map(|(&a, &b)| i32::from(a) * i32::from(b))
                .sum::<i32>();
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn block_wasm<const R: usize, const C: usize>(xs: [&[i16]; R], ws: [&[i8]; C]) -> [[i32; C]; R] {
    use core::arch::wasm32::*;
    let len = xs[0].len();
    let main = len - len % 8;
    let mut acc = [[i32x4_splat(0); C]; R];
    let mut i = 0;
    while i < main {
        // SAFETY: i + 8 ≤ main ≤ len, the length of every slice (checked by `block`): each
        // load reads 8 i8 or 8 i16 inside its slice; wasm loads need no alignment.
        #[allow(unsafe_code)]
        let w: [v128; C] =
            std::array::from_fn(|c| unsafe { i16x8_load_extend_i8x8(ws[c].as_ptr().add(i)) });
        for r in 0..R {
            #[allow(unsafe_code)]
            let x = unsafe { v128_load(xs[r].as_ptr().add(i).cast::<v128>()) };
            for c in 0..C {
                acc[r][c] = i32x4_add(acc[r][c], i32x4_dot_i16x8(x, w[c]));
            }
        }
        i += 8;
    }
    let mut sums = [[0i32; C]; R];
    for r in 0..R {
        for c in 0..C {
            let a = acc[r][c];
            sums[r][c] = i32x4_extract_lane::<0>(a)
                + i32x4_extract_lane::<1>(a)
                + i32x4_extract_lane::<2>(a)
                + i32x4_extract_lane::<3>(a);
        }
    }
    tails(xs, ws, main, &mut sums);
    sums
}

/// # Safety
/// The CPU must have AVX2, and every slice the same length.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
unsafe fn block_avx2<const R: usize, const C: usize>(
    xs: [&[i16]; R],
    ws: [&[i8]; C],
) -> [[i32; C]; R] {
    use std::arch::x86_64::*;
    let len = xs[0].len();
    let main = len - len % 16;
    let mut acc = [[_mm256_setzero_si256(); C]; R];
    let mut i = 0;
    while i < main {
        // SAFETY: i + 16 ≤ main ≤ len: each load reads 16 i8 or 16 i16 inside its slice,
        // unaligned loads.
        let w: [__m256i; C] = std::array::from_fn(|c| unsafe {
            _mm256_cvtepi8_epi16(_mm_loadu_si128(ws[c].as_ptr().add(i).cast()))
        });
        for r in 0..R {
            let x = unsafe { _mm256_loadu_si256(xs[r].as_ptr().add(i).cast()) };
            for c in 0..C {
                acc[r][c] = _mm256_add_epi32(acc[r][c], _mm256_madd_epi16(x, w[c]));
            }
        }
        i += 16;
    }
    let mut sums = [[0i32; C]; R];
    for r in 0..R {
        for c in 0..C {
            let a = acc[r][c];
            let half = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256::<1>(a));
            let pair = _mm_add_epi32(half, _mm_shuffle_epi32::<0b01_00_11_10>(half));
            let one = _mm_add_epi32(pair, _mm_shuffle_epi32::<0b10_11_00_01>(pair));
            sums[r][c] = _mm_cvtsi128_si32(one);
        }
    }
    tails(xs, ws, main, &mut sums);
    sums
}

/// Plain Rust, sums in eight lanes as the SIMD kernels keep theirs.
#[allow(dead_code)] // unused where a SIMD kernel always applies (wasm with simd128)
fn block_portable<const R: usize, const C: usize>(
    xs: [&[i16]; R],
    ws: [&[i8]; C],
) -> [[i32; C]; R] {
    let len = xs[0].len();
    let main = len - len % 8;
    let mut sums = [[0i32; C]; R];
    for (r, x) in xs.iter().enumerate() {
        for (c, w) in ws.iter().enumerate() {
            let mut lanes = [0i32; 8];
            for (xc, wc) in x[..main].chunks_exact(8).zip(w[..main].chunks_exact(8)) {
                for l in 0..8 {
                    lanes[l] += i32::from(xc[l]) * i32::from(wc[l]);
                }
            }
            sums[r][c] = lanes.iter().sum::<i32>();
        }
    }
    tails(xs, ws, main, &mut sums);
    sums
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn quantizing_keeps_the_largest_value_and_the_sign() {
        let q = QuantRows::new(&[0.5, -2.0, 1.0, 0.0, 0.0, 0.0], 3);
        assert_eq!(q.values[..3], [4096, -16383, 8192]);
        assert!((q.scales[0] - 2.0 / ACT_MAX).abs() < 1e-9);
        assert_eq!(q.values[3..], [0, 0, 0]);
        assert_eq!(q.scales[1], 0.0);
    }

    #[test]
    fn a_row_with_nan_gives_nan_products() {
        let q = QuantRows::new(&[1.0, f32::NAN], 2);
        let mut out = [0f32; 1];
        gemm(&q, &[1, 1], &[1.0], &mut out);
        assert!(out[0].is_nan());
    }

    #[test]
    fn extreme_weights_and_activations_do_not_overflow() {
        // Every product at its largest magnitude, over rows longer than one chunk.
        let k = 3 * K_CHUNK + 5;
        let x = QuantRows::new(&vec![-1.0; 2 * k], k);
        let w = vec![-128i8; 3 * k];
        let mut out = vec![0f32; 6];
        gemm(&x, &w, &[1.0; 3], &mut out);
        let want = k as f32 * 128.0;
        for v in out {
            assert!((v - want).abs() / want < 1e-6, "{v} vs {want}");
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn case() -> impl Strategy<Value = (usize, usize, usize, Vec<f32>, Vec<i8>, Vec<f32>)> {
        (1usize..11, 1usize..40, 1usize..(2 * K_CHUNK + 20)).prop_flat_map(|(rows, n, k)| {
            (
                Just(rows),
                Just(n),
                Just(k),
                prop::collection::vec(-4f32..4.0, rows * k),
                prop::collection::vec(any::<i8>(), n * k),
                prop::collection::vec(0.0001f32..0.1, n),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Every block shape and remainder gives the exact integer sums of the reference.
        #[test]
        fn gemm_matches_the_reference((rows, n, k, x, w, s) in case()) {
            let q = QuantRows::new(&x, k);
            let mut out = vec![0f32; rows * n];
            gemm(&q, &w, &s, &mut out);
            let want = gemm_reference(&q, &w, &s);
            for (a, b) in out.iter().zip(&want) {
                prop_assert!((a - b).abs() <= 1e-5 * b.abs().max(1e-3), "{a} vs {b}");
            }
        }

        /// Quantized products stay within the rounding bound of the f32 ones.
        #[test]
        fn gemm_is_close_to_the_float_product((rows, n, k, x, w, s) in case()) {
            let q = QuantRows::new(&x, k);
            let mut out = vec![0f32; rows * n];
            gemm(&q, &w, &s, &mut out);
            for r in 0..rows {
                let largest = x[r * k..][..k].iter().fold(0f32, |m, v| m.max(v.abs()));
                for c in 0..n {
                    let exact: f64 = (0..k)
                        .map(|i| f64::from(x[r * k + i]) * f64::from(w[c * k + i]) * f64::from(s[c]))
                        .sum();
                    // Each activation is off by at most half a step of largest / ACT_MAX.
                    let bound: f64 = (0..k)
                        .map(|i| f64::from(w[c * k + i]).abs() * f64::from(s[c]))
                        .sum::<f64>()
                        * f64::from(largest) / f64::from(ACT_MAX) * 0.5
                        + 1e-4 * exact.abs() + 1e-6;
                    prop_assert!((f64::from(out[r * n + c]) - exact).abs() <= bound);
                }
            }
        }
    }
}
