//! The export's pixel path, in plain Rust over byte planes: crop a window out of a decoded
//! picture and scale it to the output size (`crop_scale`), then blend a caption sprite into it
//! (`Sprite`). Frames stay 4:2:0 YUV throughout — no canvas, no colour conversion per frame —
//! and every per-pixel loop is integer arithmetic over rows, driven by tables built once per
//! frame (per output column and row, never per pixel).
//!
//! Scaling is separable. Each axis gets a table of taps per output sample, padded to the same
//! count so the row kernels have a fixed shape: bilinear when enlarging, an area (box) filter
//! over the source footprint when shrinking, so a 4K source does not alias at 720p. Weights
//! are 14-bit fixed point summing exactly to one (a flat colour stays exact). The first pass
//! keeps 6 fractional bits in `u16`; the second rounds to nearest. Rows are scaled
//! horizontally first (each source row once, kept in a small ring) when the window has fewer
//! rows than the output, vertically first otherwise: whichever does fewer gathers.
//!
//! Siting: sample `i` of a plane covers `[i, i + 1)` and sits at its centre, in both luma and
//! chroma; chroma is scaled on the half-size planes with the window halved (centre-sited
//! 4:2:0, as JPEG/MPEG-1). H.264's default is left-sited chroma; the difference is a quarter
//! of an output chroma sample and invisible at these sizes.
//!
//! Captions arrive as non-premultiplied RGBA (a 2D canvas's `getImageData`). A `Sprite` is
//! built once per caption state: trimmed to what is visible, converted to premultiplied
//! BT.709 limited-range Y′CbCr with alpha; chroma and its alpha are 2×2 averages. Blending is
//! then `out = ⌊(dst·(255−α) + pre + 127) / 255⌋` per sample over the covered rows only, in
//! 16-bit lanes.

use thiserror::Error;

/// Why pixels could not be processed. These are programming or browser errors, not a user's:
/// the message names the bad size or plane for the log.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PixelError {
    #[error("picture sizes must be non-zero (and even for output frames), got {width}×{height}")]
    BadSize { width: u32, height: u32 },
    #[error("an I420 picture of {width}×{height} needs {expected} bytes, got {actual}")]
    FrameLength {
        width: u32,
        height: u32,
        expected: usize,
        actual: usize,
    },
    #[error("the decoded picture's plane {plane} lies outside its buffer or its stride is shorter than a row")]
    ShortBuffer { plane: usize },
    #[error("the crop window is not a finite rectangle")]
    BadRect,
}

/// An I420 picture, tightly packed: Y (w×h) at 0, then U and V (w/2×h/2 each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame420 {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl Frame420 {
    /// Bytes of a `width`×`height` I420 picture (None if a side is zero or odd).
    pub fn byte_len(width: u32, height: u32) -> Option<usize> {
        if width == 0 || height == 0 || width % 2 == 1 || height % 2 == 1 {
            return None;
        }
        let luma = (width as usize).checked_mul(height as usize)?;
        luma.checked_add(luma / 2)
    }

    /// A picture over `data`, which must be exactly `byte_len(width, height)` long.
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> Result<Self, PixelError> {
        let frame = Self {
            width,
            height,
            data,
        };
        frame.check()?;
        Ok(frame)
    }

    /// A black picture (Y 16, U/V 128: limited-range black).
    pub fn new_black(width: u32, height: u32) -> Result<Self, PixelError> {
        let len = Self::byte_len(width, height).ok_or(PixelError::BadSize { width, height })?;
        let luma = len / 3 * 2;
        let mut data = vec![16u8; len];
        data[luma..].fill(128);
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// Fields are public (the browser glue hands `data` to `VideoFrame`), so code that takes a
    /// frame checks it is still consistent.
    fn check(&self) -> Result<(), PixelError> {
        let (width, height) = (self.width, self.height);
        let expected =
            Self::byte_len(width, height).ok_or(PixelError::BadSize { width, height })?;
        if self.data.len() != expected {
            return Err(PixelError::FrameLength {
                width,
                height,
                expected,
                actual: self.data.len(),
            });
        }
        Ok(())
    }

    /// Luma and one chroma plane's lengths.
    fn plane_lens(&self) -> (usize, usize) {
        let luma = self.width as usize * self.height as usize;
        (luma, luma / 4)
    }

    /// The Y plane (empty if `data` is shorter than the size says).
    pub fn y(&self) -> &[u8] {
        let (l, _) = self.plane_lens();
        self.data.get(..l).unwrap_or_default()
    }

    /// The U (Cb) plane.
    pub fn u(&self) -> &[u8] {
        let (l, q) = self.plane_lens();
        self.data.get(l..l + q).unwrap_or_default()
    }

    /// The V (Cr) plane.
    pub fn v(&self) -> &[u8] {
        let (l, q) = self.plane_lens();
        self.data.get(l + q..l + 2 * q).unwrap_or_default()
    }

    pub fn y_mut(&mut self) -> &mut [u8] {
        self.planes_mut().0
    }

    pub fn u_mut(&mut self) -> &mut [u8] {
        self.planes_mut().1
    }

    pub fn v_mut(&mut self) -> &mut [u8] {
        self.planes_mut().2
    }

    /// The three planes at once, mutably (all empty if `data` is shorter than the size says).
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let (l, q) = self.plane_lens();
        let Some(data) = self.data.get_mut(..l + 2 * q) else {
            return (&mut [], &mut [], &mut []);
        };
        let (y, uv) = data.split_at_mut(l);
        let (u, v) = uv.split_at_mut(q);
        (y, u, v)
    }
}

/// How a decoded picture's planes are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceLayout {
    /// Three planes: Y, U, V (U/V at half size, rounded up).
    I420,
    /// Two planes: Y, then U/V interleaved at half size (plane 2 unused).
    Nv12,
}

/// A decoded picture's planes as `VideoFrame.copyTo` returns them: one buffer, and each
/// plane's `offset` and `stride` (its `PlaneLayout`). Sizes may be odd (chroma rounds up).
#[derive(Debug, Clone, Copy)]
pub struct SourcePlanes<'a> {
    pub layout: SourceLayout,
    pub width: u32,
    pub height: u32,
    pub data: &'a [u8],
    pub offsets: [usize; 3],
    pub strides: [usize; 3],
}

/// One plane of a source, read row by row. `pitch` is the distance between its samples
/// (2 for NV12 chroma, whose U and V share rows).
#[derive(Debug, Clone, Copy)]
struct Plane<'a> {
    data: &'a [u8],
    offset: usize,
    stride: usize,
    pitch: usize,
    width: usize,
    height: usize,
}

impl<'a> Plane<'a> {
    /// Bytes a row spans.
    fn row_len(&self) -> usize {
        (self.width - 1) * self.pitch + 1
    }

    /// Row `r` (checked once up front by `SourcePlanes::planes`; None cannot happen after it).
    fn row(&self, r: usize) -> Option<&'a [u8]> {
        let start = self.offset + r * self.stride;
        self.data.get(start..start + self.row_len())
    }

    fn check(&self, plane: usize) -> Result<(), PixelError> {
        let bytes_per_row = self.width * self.pitch;
        let end = (self.height - 1)
            .checked_mul(self.stride)
            .and_then(|v| v.checked_add(self.offset))
            .and_then(|v| v.checked_add(bytes_per_row));
        match end {
            Some(end) if self.stride >= bytes_per_row && end <= self.data.len() => Ok(()),
            _ => Err(PixelError::ShortBuffer { plane }),
        }
    }
}

impl<'a> SourcePlanes<'a> {
    /// Y, U and V as planes, after checking they lie inside `data`.
    fn planes(&self) -> Result<[Plane<'a>; 3], PixelError> {
        let (width, height) = (self.width, self.height);
        if width == 0 || height == 0 {
            return Err(PixelError::BadSize { width, height });
        }
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let plane = |i: usize, offset: usize, pitch: usize, width: usize, height: usize| Plane {
            data: self.data,
            offset,
            stride: self.strides[i],
            pitch,
            width,
            height,
        };
        let planes = match self.layout {
            SourceLayout::I420 => [
                plane(0, self.offsets[0], 1, w, h),
                plane(1, self.offsets[1], 1, cw, ch),
                plane(2, self.offsets[2], 1, cw, ch),
            ],
            SourceLayout::Nv12 => [
                plane(0, self.offsets[0], 1, w, h),
                plane(1, self.offsets[1], 2, cw, ch),
                plane(1, self.offsets[1].saturating_add(1), 2, cw, ch),
            ],
        };
        planes[0].check(0)?;
        planes[1].check(1)?;
        if self.layout == SourceLayout::I420 {
            planes[2].check(2)?;
        }
        // NV12's V shares plane 1's rows one byte on; U's check with pitch 2 covers it.
        Ok(planes)
    }
}

/// A window in source luma pixels (fractional). `x`, `y` is its top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CropRect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl CropRect {
    /// The window made to fit a `size_w`×`size_h` picture: each side at most the picture's
    /// (and at least one pixel), then moved inside it. Moving rather than cutting keeps the
    /// window's shape, so a pan that overshoots an edge does not stretch the picture.
    fn fit(self, size_w: f64, size_h: f64) -> Result<Self, PixelError> {
        let values = [self.x, self.y, self.width, self.height];
        if values.iter().any(|v| !v.is_finite()) {
            return Err(PixelError::BadRect);
        }
        let width = self.width.clamp(1.0_f64.min(size_w), size_w);
        let height = self.height.clamp(1.0_f64.min(size_h), size_h);
        Ok(Self {
            x: self.x.clamp(0.0, size_w - width),
            y: self.y.clamp(0.0, size_h - height),
            width,
            height,
        })
    }
}

const WEIGHT_BITS: u32 = 14;
const WEIGHT_ONE: i32 = 1 << WEIGHT_BITS;

/// One axis's resampling table: for output sample `i`, source samples
/// `first[i] .. first[i] + taps` with weights `weights[i * taps ..][..taps]` (some may be 0),
/// summing to `WEIGHT_ONE`.
#[derive(Debug, Clone)]
struct Axis {
    first: Vec<u32>,
    weights: Vec<i16>,
    taps: usize,
}

impl Axis {
    /// Output `out` samples from the source span `[start, start + len)` of an axis of `size`
    /// samples (the span already inside it).
    fn new(start: f64, len: f64, size: usize, out: usize) -> Self {
        let scale = len / out as f64;
        let enlarging = scale <= 1.0;
        // Bilinear touches 2 samples; a box of width `scale` at most ⌈scale⌉ + 1.
        let taps = if enlarging {
            2
        } else {
            scale.ceil() as usize + 1
        }
        .min(size);
        let mut axis = Axis {
            first: Vec::with_capacity(out),
            weights: vec![0; out * taps],
            taps,
        };
        let last = (size - 1) as f64;
        let mut spans: Vec<(usize, f64)> = Vec::with_capacity(taps + 1);
        let mut fixed: Vec<i32> = Vec::with_capacity(taps + 1);
        for i in 0..out {
            spans.clear();
            if enlarging {
                // Between the two source centres around this output sample's centre.
                let c = (start + (i as f64 + 0.5) * scale - 0.5).clamp(0.0, last);
                let s = c.floor();
                spans.push((s as usize, 1.0 - (c - s)));
                if (s as usize) + 1 < size {
                    spans.push((s as usize + 1, c - s));
                }
            } else {
                // Each source sample weighted by how much of it the footprint covers.
                let a = (start + i as f64 * scale).clamp(0.0, size as f64);
                let b = (start + (i + 1) as f64 * scale).clamp(0.0, size as f64);
                let mut s = (a.floor() as usize).min(size - 1);
                while (s as f64) < b && s < size {
                    let cover = b.min(s as f64 + 1.0) - a.max(s as f64);
                    if cover > 0.0 {
                        spans.push((s, cover));
                    }
                    s += 1;
                }
                if spans.is_empty() {
                    spans.push(((a.floor() as usize).min(size - 1), 1.0));
                }
            }
            spans.truncate(taps);
            let total: f64 = spans.iter().map(|s| s.1).sum();
            fixed.clear();
            fixed.extend(
                spans
                    .iter()
                    .map(|s| (s.1 / total * f64::from(WEIGHT_ONE)).round() as i32),
            );
            // Rounding leftovers go to the largest tap so the weights sum exactly to one.
            let leftover = WEIGHT_ONE - fixed.iter().sum::<i32>();
            if let Some(big) = (0..fixed.len()).max_by_key(|&k| fixed[k]) {
                fixed[big] += leftover;
            }
            // Near the far edge the padded taps would run past it: start earlier instead.
            let first = spans[0].0.min(size - taps);
            let row = &mut axis.weights[i * taps..(i + 1) * taps];
            for (&(s, _), &w) in spans.iter().zip(&fixed) {
                row[s - first] = w as i16;
            }
            axis.first.push(first as u32);
        }
        axis.single_taps()
    }

    /// When every output sample copies one source sample (an unscaled window at a whole-pixel
    /// offset), one tap each.
    fn single_taps(self) -> Self {
        if self.taps == 1 {
            return self;
        }
        let mut first = Vec::with_capacity(self.first.len());
        for (&f, row) in self.first.iter().zip(self.weights.chunks_exact(self.taps)) {
            match row.iter().position(|&w| i32::from(w) == WEIGHT_ONE) {
                Some(k) => first.push(f + k as u32),
                None => return self,
            }
        }
        let n = first.len();
        Axis {
            first,
            weights: vec![WEIGHT_ONE as i16; n],
            taps: 1,
        }
    }

    /// The first source sample when the table copies consecutive samples one for one (an
    /// unscaled window at a whole-pixel offset).
    fn copy_start(&self) -> Option<usize> {
        let first = *self.first.first()?;
        let consecutive = self.first.iter().zip(first..).all(|(&f, i)| f == i);
        (self.taps == 1 && consecutive).then_some(first as usize)
    }

    /// Source samples `[lo, hi)` the table reads (its entries are non-decreasing).
    fn span(&self) -> (usize, usize) {
        let lo = self.first.first().map_or(0, |&f| f as usize);
        let hi = self.first.last().map_or(0, |&f| f as usize + self.taps);
        (lo, hi)
    }
}

/// A sample a pass reads: source bytes, or the first pass's `i16` (value × 64).
trait Sample: Copy {
    fn get(self) -> i32;
}

impl Sample for u8 {
    #[inline(always)]
    fn get(self) -> i32 {
        i32::from(self)
    }
}

impl Sample for i16 {
    #[inline(always)]
    fn get(self) -> i32 {
        i32::from(self)
    }
}

/// What a pass writes from a weighted sum: the first pass keeps 6 fractional bits in `i16`
/// (≤ 255·64; signed so that `i16 × i16` products map onto 16-bit SIMD multiplies), the
/// second rounds to a byte.
trait Output: Copy {
    fn from_sum(sum: i32) -> Self;
}

impl Output for i16 {
    #[inline(always)]
    fn from_sum(sum: i32) -> Self {
        // sum = value × WEIGHT_ONE (value a byte) → value × 64.
        ((sum + (1 << (WEIGHT_BITS - 7))) >> (WEIGHT_BITS - 6)) as i16
    }
}

impl Output for u8 {
    #[inline(always)]
    fn from_sum(sum: i32) -> Self {
        // sum = value × 64 × WEIGHT_ONE → value, rounded to nearest.
        let shift = WEIGHT_BITS + 6;
        ((sum + (1 << (shift - 1))) >> shift).clamp(0, 255) as u8
    }
}

/// Horizontal pass over one row: `out[i] = Σ row[(first[i] + t)·P] · w[i][t]`, `N` taps.
#[inline(never)]
fn horizontal<const N: usize, const P: usize, I: Sample, O: Output>(
    row: &[I],
    axis: &Axis,
    out: &mut [O],
) {
    let (weights, _) = axis.weights.as_chunks::<N>();
    for ((o, &first), w) in out.iter_mut().zip(&axis.first).zip(weights) {
        let at = first as usize * P;
        let Some(px) = row.get(at..at + (N - 1) * P + 1) else {
            continue;
        };
        let mut sum = 0i32;
        for t in 0..N {
            sum += px[t * P].get() * i32::from(w[t]);
        }
        *o = O::from_sum(sum);
    }
}

/// The same for any tap count (big shrinks).
fn horizontal_any<I: Sample, O: Output>(row: &[I], pitch: usize, axis: &Axis, out: &mut [O]) {
    let n = axis.taps;
    for ((o, &first), w) in out
        .iter_mut()
        .zip(&axis.first)
        .zip(axis.weights.chunks_exact(n))
    {
        let at = first as usize * pitch;
        let Some(px) = row.get(at..at + (n - 1) * pitch + 1) else {
            continue;
        };
        let sum = w
            .iter()
            .enumerate()
            .map(|(t, &w)| px[t * pitch].get() * i32::from(w))
            .sum();
        *o = O::from_sum(sum);
    }
}

/// Picks the horizontal kernel for the axis's tap count and the row's pitch.
fn horizontal_pass<I: Sample, O: Output>(row: &[I], pitch: usize, axis: &Axis, out: &mut [O]) {
    match (axis.taps, pitch) {
        (1, 1) => horizontal::<1, 1, I, O>(row, axis, out),
        (1, 2) => horizontal::<1, 2, I, O>(row, axis, out),
        (2, 1) => horizontal::<2, 1, I, O>(row, axis, out),
        (2, 2) => horizontal::<2, 2, I, O>(row, axis, out),
        (3, 1) => horizontal::<3, 1, I, O>(row, axis, out),
        (3, 2) => horizontal::<3, 2, I, O>(row, axis, out),
        (4, 1) => horizontal::<4, 1, I, O>(row, axis, out),
        (4, 2) => horizontal::<4, 2, I, O>(row, axis, out),
        _ => horizontal_any(row, pitch, axis, out),
    }
}

/// Vertical pass: `out[x] = Σ row(t)[x] · weights[t]`. Contiguous rows, so the loops
/// vectorise; `acc` is scratch for more than two taps.
fn vertical_pass<'r, I: Sample + 'r, O: Output>(
    row: impl Fn(usize) -> &'r [I],
    weights: &[i16],
    acc: &mut [i32],
    out: &mut [O],
) {
    match *weights {
        [w0] => {
            let w0 = i32::from(w0);
            for (o, &a) in out.iter_mut().zip(row(0)) {
                *o = O::from_sum(a.get() * w0);
            }
        }
        [w0, w1] => {
            let (w0, w1) = (i32::from(w0), i32::from(w1));
            for ((o, &a), &b) in out.iter_mut().zip(row(0)).zip(row(1)) {
                *o = O::from_sum(a.get() * w0 + b.get() * w1);
            }
        }
        _ => {
            let acc = &mut acc[..out.len()];
            acc.fill(0);
            for (t, &w) in weights.iter().enumerate() {
                let w = i32::from(w);
                for (a, &v) in acc.iter_mut().zip(row(t)) {
                    *a += v.get() * w;
                }
            }
            for (o, &a) in out.iter_mut().zip(acc.iter()) {
                *o = O::from_sum(a);
            }
        }
    }
}

/// Scales one source plane into `dst` (`xs.first.len()` × `ys.first.len()`).
fn scale_plane(src: Plane, xs: &Axis, ys: &Axis, dst: &mut [u8]) -> Result<(), PixelError> {
    let (dw, dh) = (xs.first.len(), ys.first.len());
    let (row_lo, row_hi) = ys.span();
    let short = PixelError::ShortBuffer { plane: 0 };
    if let (Some(x0), Some(_)) = (xs.copy_start(), ys.copy_start()) {
        // Nothing to filter (a 9:16 source at the output size): rows are copied.
        for (oy, out) in dst.chunks_exact_mut(dw).take(dh).enumerate() {
            let row = src.row(ys.first[oy] as usize).ok_or(short.clone())?;
            let from = row.get(x0 * src.pitch..).ok_or(short.clone())?;
            if src.pitch == 1 {
                out.copy_from_slice(from.get(..dw).ok_or(short.clone())?);
            } else {
                for (o, &v) in out.iter_mut().zip(from.iter().step_by(src.pitch)) {
                    *o = v;
                }
            }
        }
        return Ok(());
    }
    let mut acc = vec![0i32; dw.max(src.row_len())];
    if row_hi - row_lo <= dh {
        // Horizontal first: each source row the window touches is scaled once into a ring
        // holding the rows the current output row reads.
        let ring = ys.taps;
        let mut scaled = vec![0i16; ring * dw];
        let mut held = vec![usize::MAX; ring];
        for (oy, out) in dst.chunks_exact_mut(dw).take(dh).enumerate() {
            let first = ys.first[oy] as usize;
            for r in first..first + ring {
                let slot = r % ring;
                if held[slot] != r {
                    let row = src.row(r).ok_or(short.clone())?;
                    let into = &mut scaled[slot * dw..(slot + 1) * dw];
                    horizontal_pass(row, src.pitch, xs, into);
                    held[slot] = r;
                }
            }
            let weights = &ys.weights[oy * ring..(oy + 1) * ring];
            let slot = |t: usize| (first + t) % ring;
            let row = |t: usize| &scaled[slot(t) * dw..(slot(t) + 1) * dw];
            vertical_pass(row, weights, &mut acc, out);
        }
    } else {
        // Vertical first (the window has more rows than the output): blend the source rows
        // over the bytes the horizontal taps read (contiguous, so it vectorises even for
        // NV12's interleaved chroma), then scale that one row horizontally.
        let (col_lo, col_hi) = xs.span();
        let (lo, hi) = (col_lo * src.pitch, (col_hi - 1) * src.pitch + 1);
        let mut blended = vec![0i16; src.row_len()];
        // Rows were checked to lie inside the buffer; a failed look-up here is reported.
        if src.row(ys.span().1 - 1).is_none() {
            return Err(short);
        }
        for (oy, out) in dst.chunks_exact_mut(dw).take(dh).enumerate() {
            let first = ys.first[oy] as usize;
            let row = |t: usize| {
                src.row(first + t)
                    .and_then(|row| row.get(lo..hi))
                    .unwrap_or_default()
            };
            let weights = &ys.weights[oy * ys.taps..(oy + 1) * ys.taps];
            vertical_pass(row, weights, &mut acc, &mut blended[lo..hi]);
            horizontal_pass(&blended, src.pitch, xs, out);
        }
    }
    Ok(())
}

/// Fills all of `dst` from the `rect` window of `src` (in source luma pixels; a window larger
/// than the picture or past its edges is shrunk and moved inside it).
pub fn crop_scale(
    src: &SourcePlanes,
    rect: CropRect,
    dst: &mut Frame420,
) -> Result<(), PixelError> {
    dst.check()?;
    let [y_plane, u_plane, v_plane] = src.planes()?;
    let rect = rect.fit(f64::from(src.width), f64::from(src.height))?;
    let (dw, dh) = (dst.width as usize, dst.height as usize);
    let xs = Axis::new(rect.x, rect.width, y_plane.width, dw);
    let ys = Axis::new(rect.y, rect.height, y_plane.height, dh);
    // Chroma sample i covers luma [2i, 2i + 2): the same window, halved.
    let cxs = Axis::new(rect.x / 2.0, rect.width / 2.0, u_plane.width, dw / 2);
    let cys = Axis::new(rect.y / 2.0, rect.height / 2.0, u_plane.height, dh / 2);
    let (dy, du, dv) = dst.planes_mut();
    let tag = |plane: usize| {
        move |e: PixelError| match e {
            PixelError::ShortBuffer { .. } => PixelError::ShortBuffer { plane },
            other => other,
        }
    };
    scale_plane(y_plane, &xs, &ys, dy).map_err(tag(0))?;
    scale_plane(u_plane, &cxs, &cys, du).map_err(tag(1))?;
    scale_plane(v_plane, &cxs, &cys, dv).map_err(tag(2))?;
    Ok(())
}

/// BT.709 limited-range Y′, Cb, Cr of an 8-bit R′G′B′ colour, in units of 1/65536:
/// `Y = 16 + 219·(0.2126R + 0.7152G + 0.0722B)`, `Cb = 128 + 224·(B − Y)/1.8556`,
/// `Cr = 128 + 224·(R − Y)/1.5748` on 0..1 values (ITU-R BT.709-6 §3.2–3.5; no gamma change).
struct Bt709 {
    y: [i64; 3],
    cb: [i64; 3],
    cr: [i64; 3],
}

impl Bt709 {
    fn new() -> Self {
        let (kr, kg, kb) = (0.2126, 0.7152, 0.0722);
        let fixed =
            |c: [f64; 3], range: f64| c.map(|k| (k * range / 255.0 * 65536.0).round() as i64);
        Self {
            y: fixed([kr, kg, kb], 219.0),
            cb: fixed([-kr / 1.8556, -kg / 1.8556, (1.0 - kb) / 1.8556], 224.0),
            cr: fixed([(1.0 - kr) / 1.5748, -kg / 1.5748, -kb / 1.5748], 224.0),
        }
    }

    fn convert(&self, [r, g, b]: [u8; 3]) -> (i64, i64, i64) {
        let dot = |k: &[i64; 3]| k[0] * i64::from(r) + k[1] * i64::from(g) + k[2] * i64::from(b);
        (
            (16 << 16) + dot(&self.y),
            (128 << 16) + dot(&self.cb),
            (128 << 16) + dot(&self.cr),
        )
    }
}

/// A caption state ready to blend: premultiplied Y′CbCr with alpha over an even-aligned
/// rectangle of the frame, trimmed to what is visible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sprite {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    /// Per luma row, the columns `[lo, hi)` (sprite-relative) with any alpha; blending skips
    /// the rest. Chroma rows use the union of their two luma rows.
    luma_spans: Vec<(u32, u32)>,
    chroma_spans: Vec<(u32, u32)>,
    /// round(Y·α) and α (0..=255) per luma sample.
    y_pre: Vec<u16>,
    y_alpha: Vec<u8>,
    /// round(mean over the 2×2 block of Cb·α) (likewise Cr) and round(mean α) per chroma
    /// sample.
    u_pre: Vec<u16>,
    v_pre: Vec<u16>,
    c_alpha: Vec<u8>,
}

impl Sprite {
    /// Builds the sprite from a `width`×`height` RGBA image (non-premultiplied, row by row)
    /// placed with its top-left at (`x`, `y`) in a `frame_w`×`frame_h` frame. None when
    /// nothing of it is visible in the frame (or `rgba` is shorter than its size, or the frame
    /// size is odd).
    pub fn from_rgba(
        rgba: &[u8],
        width: u32,
        height: u32,
        x: i32,
        y: i32,
        frame_w: u32,
        frame_h: u32,
    ) -> Option<Sprite> {
        let (w, h) = (width as usize, height as usize);
        if rgba.len() < w.checked_mul(h)?.checked_mul(4)? || frame_w % 2 == 1 || frame_h % 2 == 1 {
            return None;
        }
        // The image's columns and rows that land inside the frame.
        let inside = |at: i32, len: usize, frame: u32| {
            let lo = (-i64::from(at)).clamp(0, len as i64) as usize;
            let hi = (i64::from(frame) - i64::from(at)).clamp(0, len as i64) as usize;
            (lo, hi.max(lo))
        };
        let (px_lo, px_hi) = inside(x, w, frame_w);
        let (py_lo, py_hi) = inside(y, h, frame_h);
        // The visible part of that, in image pixels.
        let (mut vx0, mut vx1, mut vy0, mut vy1) = (usize::MAX, 0, usize::MAX, 0);
        for py in py_lo..py_hi {
            let row = &rgba[(py * w + px_lo) * 4..(py * w + px_hi) * 4];
            let lit = |(_, p): &(usize, &[u8])| p[3] > 0;
            let mut lit_px = row.chunks_exact(4).enumerate().filter(lit);
            if let Some((first, _)) = lit_px.next() {
                let last = lit_px.next_back().map_or(first, |(k, _)| k);
                vx0 = vx0.min(px_lo + first);
                vx1 = vx1.max(px_lo + last + 1);
                vy0 = vy0.min(py);
                vy1 = py + 1;
            }
        }
        if vx1 == 0 {
            return None;
        }
        // In frame pixels, widened to even edges so each 2×2 chroma block is whole (the
        // frame's size is even, so this stays inside it).
        let fx0 = (i64::from(x) + vx0 as i64) as u32 & !1;
        let fy0 = (i64::from(y) + vy0 as i64) as u32 & !1;
        let fx1 = ((i64::from(x) + vx1 as i64) as u32).next_multiple_of(2);
        let fy1 = ((i64::from(y) + vy1 as i64) as u32).next_multiple_of(2);
        let (sw, sh) = ((fx1 - fx0) as usize, (fy1 - fy0) as usize);
        // The image's pixel under a frame position (transparent outside the image).
        let pixel = |sx: usize, sy: usize| -> [u8; 4] {
            let px = sx as i64 + i64::from(fx0) - i64::from(x);
            let py = sy as i64 + i64::from(fy0) - i64::from(y);
            if px < 0 || py < 0 || px >= w as i64 || py >= h as i64 {
                return [0; 4];
            }
            let at = (py as usize * w + px as usize) * 4;
            [rgba[at], rgba[at + 1], rgba[at + 2], rgba[at + 3]]
        };
        let bt709 = Bt709::new();
        let (cw, ch) = (sw / 2, sh / 2);
        let mut sprite = Sprite {
            x: fx0,
            y: fy0,
            width: sw as u32,
            height: sh as u32,
            luma_spans: vec![(sw as u32, 0); sh],
            chroma_spans: vec![(cw as u32, 0); ch],
            y_pre: vec![0; sw * sh],
            y_alpha: vec![0; sw * sh],
            u_pre: vec![0; cw * ch],
            v_pre: vec![0; cw * ch],
            c_alpha: vec![0; cw * ch],
        };
        for cy in 0..ch {
            for cx in 0..cw {
                let (mut u_sum, mut v_sum, mut a_sum) = (0i64, 0i64, 0i64);
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let (sx, sy) = (cx * 2 + dx, cy * 2 + dy);
                    let [r, g, b, a] = pixel(sx, sy);
                    if a == 0 {
                        continue;
                    }
                    let (yv, u, v) = bt709.convert([r, g, b]);
                    let a = i64::from(a);
                    let i = sy * sw + sx;
                    sprite.y_pre[i] = ((yv * a + (1 << 15)) >> 16) as u16;
                    sprite.y_alpha[i] = a as u8;
                    let span = &mut sprite.luma_spans[sy];
                    *span = (span.0.min(sx as u32), span.1.max(sx as u32 + 1));
                    u_sum += u * a;
                    v_sum += v * a;
                    a_sum += a;
                }
                if a_sum == 0 {
                    continue;
                }
                let c = cy * cw + cx;
                // Means over the block: ÷4, and ÷65536 for the units, rounded.
                sprite.u_pre[c] = ((u_sum + (1 << 17)) >> 18) as u16;
                sprite.v_pre[c] = ((v_sum + (1 << 17)) >> 18) as u16;
                sprite.c_alpha[c] = ((a_sum + 2) >> 2) as u8;
                let span = &mut sprite.chroma_spans[cy];
                *span = (span.0.min(cx as u32), span.1.max(cx as u32 + 1));
            }
        }
        Some(sprite)
    }

    /// Where the sprite sits in the frame after trimming: (x, y, width, height), all even.
    pub fn bounds(&self) -> (u32, u32, u32, u32) {
        (self.x, self.y, self.width, self.height)
    }

    /// Memory the sprite holds, in bytes.
    pub fn bytes(&self) -> usize {
        let spans = (self.luma_spans.len() + self.chroma_spans.len()) * size_of::<(u32, u32)>();
        spans
            + (self.y_pre.len() + self.u_pre.len() + self.v_pre.len()) * 2
            + self.y_alpha.len()
            + self.c_alpha.len()
    }

    /// Composites the sprite over `frame`, touching only the samples of the rows and columns
    /// it covers. A frame it does not fit (not the size it was built for, or inconsistent) is
    /// left as it is.
    pub fn blend(&self, frame: &mut Frame420) {
        if frame.check().is_err()
            || self.x + self.width > frame.width
            || self.y + self.height > frame.height
        {
            return;
        }
        let (fw, sw) = (frame.width as usize, self.width as usize);
        let (x, y) = (self.x as usize, self.y as usize);
        let (fy, fu, fv) = frame.planes_mut();
        for (row, &(lo, hi)) in self.luma_spans.iter().enumerate() {
            let (lo, hi) = (lo as usize, hi as usize);
            if lo >= hi {
                continue;
            }
            let at = (y + row) * fw + x;
            let from = row * sw;
            blend_row(
                &mut fy[at + lo..at + hi],
                &self.y_pre[from + lo..from + hi],
                &self.y_alpha[from + lo..from + hi],
            );
        }
        let (fcw, scw) = (fw / 2, sw / 2);
        for (row, &(lo, hi)) in self.chroma_spans.iter().enumerate() {
            let (lo, hi) = (lo as usize, hi as usize);
            if lo >= hi {
                continue;
            }
            let at = (y / 2 + row) * fcw + x / 2;
            let from = row * scw;
            let alpha = &self.c_alpha[from + lo..from + hi];
            blend_row(
                &mut fu[at + lo..at + hi],
                &self.u_pre[from + lo..from + hi],
                alpha,
            );
            blend_row(
                &mut fv[at + lo..at + hi],
                &self.v_pre[from + lo..from + hi],
                alpha,
            );
        }
    }
}

/// `dst = ⌊(dst·(255−α) + pre + 127) / 255⌋` in 16-bit lanes. The sum stays ≤ 65 212
/// (pre ≤ 240·α + 60), and `(v + 1 + (v >> 8)) >> 8` is exactly `⌊v / 255⌋` for
/// v < 65 535. α = 0 and pre = 0 give back `dst` exactly.
fn blend_row(dst: &mut [u8], pre: &[u16], alpha: &[u8]) {
    for ((d, &p), &a) in dst.iter_mut().zip(pre).zip(alpha) {
        let v = u16::from(*d) * (255 - u16::from(a)) + p + 127;
        *d = ((v + 1 + (v >> 8)) >> 8) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blend_division_is_exact_over_its_range() {
        for v in 0u32..65_535 {
            assert_eq!((v + 1 + (v >> 8)) >> 8, v / 255, "v = {v}");
        }
    }

    #[test]
    fn tap_weights_sum_to_one_and_stay_inside_the_axis() {
        for (start, len, size, out) in [
            (0.0, 100.0, 100, 100),
            (3.25, 607.5, 1920, 1080),
            (0.0, 2160.0, 2160, 1280),
            (1.0, 3.0, 4, 1),
            (0.0, 1.0, 1, 7),
            (1312.5, 1215.0, 3840, 72),
        ] {
            let axis = Axis::new(start, len, size, out);
            assert_eq!(axis.first.len(), out);
            for (i, row) in axis.weights.chunks_exact(axis.taps).enumerate() {
                assert_eq!(row.iter().map(|&w| i32::from(w)).sum::<i32>(), WEIGHT_ONE);
                assert!(row.iter().all(|&w| w >= 0));
                assert!(axis.first[i] as usize + axis.taps <= size);
            }
            assert!(axis.first.windows(2).all(|p| p[0] <= p[1]));
        }
    }

    #[test]
    fn an_unscaled_whole_pixel_window_has_one_tap() {
        let axis = Axis::new(7.0, 50.0, 64, 50);
        assert_eq!(axis.taps, 1);
        assert_eq!(axis.first, (7..57).collect::<Vec<u32>>());
        assert_eq!(Axis::new(7.5, 50.0, 64, 50).taps, 2);
    }

    #[test]
    fn windows_are_moved_inside_the_picture_and_nan_is_refused() {
        let r = CropRect {
            x: -5.0,
            y: 90.0,
            width: 50.0,
            height: 500.0,
        };
        assert_eq!(
            r.fit(100.0, 60.0),
            Ok(CropRect {
                x: 0.0,
                y: 0.0,
                width: 50.0,
                height: 60.0
            })
        );
        let nan = CropRect { x: f64::NAN, ..r };
        assert_eq!(nan.fit(100.0, 60.0), Err(PixelError::BadRect));
    }
}
