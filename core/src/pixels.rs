//! The export's pixel path, in plain Rust over byte planes: crop a window out of a decoded
//! picture and scale it to the output size (`crop_scale`), and blend a caption sprite into it
//! (`Sprite`). Frames stay in 4:2:0 YUV throughout — no canvas — and every inner loop is
//! integer arithmetic over rows, with tables computed once per frame.
//!
//! Scaling is separable, with a precomputed list of taps per output pixel: bilinear when
//! enlarging, an area (box) filter over the source footprint when shrinking, so a 4K source
//! does not alias at 720p. Chroma is scaled on the half-size planes with the window halved
//! (centre-sited, like luma). Weights are 14-bit fixed point.
//!
//! Captions arrive as non-premultiplied RGBA (a 2D canvas's `getImageData`). A `Sprite`
//! converts them once per caption state to premultiplied BT.709 limited-range Y, Cb, Cr with
//! alpha (chroma and its alpha averaged over each 2×2 block), trimmed to the visible pixels;
//! blending is then `out = (dst·(255−α) + premultiplied + 127) / 255` per sample, over the
//! sprite's rows only.

use thiserror::Error;

/// Why pixels could not be processed (a programming or browser error, not a user's).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PixelError {
    #[error("picture sizes must be even and non-zero, got {0}×{1}")]
    OddSize(u32, u32),
    #[error("the picture's buffer is too short for its planes")]
    ShortBuffer,
}

/// An I420 picture, tightly packed: Y (w×h), then U and V (w/2×h/2 each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame420 {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl Frame420 {
    /// A black picture (Y 16, U/V 128: limited-range black).
    pub fn new_black(width: u32, height: u32) -> Result<Self, PixelError> {
        if width == 0 || height == 0 || width % 2 == 1 || height % 2 == 1 {
            return Err(PixelError::OddSize(width, height));
        }
        let luma = (width * height) as usize;
        let mut data = vec![16u8; luma + luma / 2];
        data[luma..].fill(128);
        Ok(Self {
            width,
            height,
            data,
        })
    }

    fn luma_len(&self) -> usize {
        (self.width * self.height) as usize
    }

    /// The three planes, mutably.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let luma = self.luma_len();
        let (y, uv) = self.data.split_at_mut(luma);
        let (u, v) = uv.split_at_mut(luma / 4);
        (y, u, v)
    }

    pub fn y(&self) -> &[u8] {
        &self.data[..self.luma_len()]
    }

    pub fn u(&self) -> &[u8] {
        let luma = self.luma_len();
        &self.data[luma..luma + luma / 4]
    }

    pub fn v(&self) -> &[u8] {
        let luma = self.luma_len();
        &self.data[luma + luma / 4..]
    }
}

/// How a decoded picture's planes are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceLayout {
    /// Three planes: Y, U, V (U/V at half size).
    I420,
    /// Two planes: Y, then interleaved U/V at half size (plane 2 unused).
    Nv12,
}

/// A decoded picture's planes as `VideoFrame.copyTo` returns them.
#[derive(Debug, Clone, Copy)]
pub struct SourcePlanes<'a> {
    pub layout: SourceLayout,
    pub width: u32,
    pub height: u32,
    pub data: &'a [u8],
    pub offsets: [usize; 3],
    pub strides: [usize; 3],
}

impl SourcePlanes<'_> {
    fn check(&self) -> Result<(), PixelError> {
        if self.width == 0 || self.height == 0 {
            return Err(PixelError::OddSize(self.width, self.height));
        }
        let (w, h) = (self.width as usize, self.height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let needs: Vec<(usize, usize, usize, usize)> = match self.layout {
            SourceLayout::I420 => vec![
                (self.offsets[0], self.strides[0], w, h),
                (self.offsets[1], self.strides[1], cw, ch),
                (self.offsets[2], self.strides[2], cw, ch),
            ],
            SourceLayout::Nv12 => vec![
                (self.offsets[0], self.strides[0], w, h),
                (self.offsets[1], self.strides[1], cw * 2, ch),
            ],
        };
        for (offset, stride, row, rows) in needs {
            if stride < row || offset + stride * (rows - 1) + row > self.data.len() {
                return Err(PixelError::ShortBuffer);
            }
        }
        Ok(())
    }
}

/// A window in source luma pixels (fractional).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CropRect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

const WEIGHT_BITS: u32 = 14;
const WEIGHT_ONE: i32 = 1 << WEIGHT_BITS;

/// For each output pixel along one axis: the first source index and its tap weights
/// (summing to `WEIGHT_ONE`).
#[derive(Debug, Clone, Default)]
struct Taps {
    first: Vec<u32>,
    count: Vec<u8>,
    weights: Vec<i16>,
    max: usize,
}

impl Taps {
    /// Output `out` samples from the source span [start, start+len) of a `size`-long axis.
    fn new(start: f64, len: f64, size: usize, out: usize) -> Self {
        let scale = len / out as f64;
        let mut taps = Taps::default();
        let last = size.saturating_sub(1) as f64;
        for i in 0..out {
            let mut ws: Vec<(usize, f64)> = Vec::new();
            if scale <= 1.0 {
                // Bilinear between the two nearest source centres.
                let c = (start + (i as f64 + 0.5) * scale - 0.5).clamp(0.0, last);
                let i0 = c.floor() as usize;
                let f = c - i0 as f64;
                ws.push((i0, 1.0 - f));
                if f > 0.0 && i0 + 1 < size {
                    ws.push((i0 + 1, f));
                }
            } else {
                // Area: each source pixel weighted by how much of it the footprint covers.
                let a = (start + i as f64 * scale).clamp(0.0, size as f64);
                let b = (start + (i as f64 + 1.0) * scale).clamp(0.0, size as f64);
                let mut s = a.floor() as usize;
                while (s as f64) < b && s < size {
                    let cover = (b.min(s as f64 + 1.0) - a.max(s as f64)).max(0.0);
                    if cover > 0.0 {
                        ws.push((s, cover));
                    }
                    s += 1;
                }
                if ws.is_empty() {
                    ws.push(((a as usize).min(size - 1), 1.0));
                }
            }
            let total: f64 = ws.iter().map(|w| w.1).sum();
            let mut fixed: Vec<i32> = ws
                .iter()
                .map(|w| (w.1 / total * f64::from(WEIGHT_ONE)).round() as i32)
                .collect();
            // Rounding leftovers go to the largest tap so weights sum exactly to one.
            let diff = WEIGHT_ONE - fixed.iter().sum::<i32>();
            if let Some(big) = (0..fixed.len()).max_by_key(|&k| fixed[k]) {
                fixed[big] += diff;
            }
            taps.first.push(ws[0].0 as u32);
            taps.count.push(ws.len() as u8);
            taps.max = taps.max.max(ws.len());
            taps.weights.extend(fixed.iter().map(|&w| w as i16));
        }
        taps
    }
}

/// Scales one plane: horizontal pass into 16-bit rows (×`WEIGHT_ONE`>>6 precision), then the
/// vertical pass. `pitch` is the distance between samples of this plane (2 for NV12 chroma).
#[allow(clippy::too_many_arguments)]
fn scale_plane(
    src: &[u8],
    offset: usize,
    stride: usize,
    pitch: usize,
    xs: &Taps,
    ys: &Taps,
    dst: &mut [u8],
    dst_w: usize,
) {
    // Rows of the source needed by the vertical taps, scaled horizontally (values × 64).
    let mut cache: Vec<Option<Vec<u16>>> = Vec::new();
    let min_row = ys.first.iter().copied().min().unwrap_or(0) as usize;
    let max_row = ys
        .first
        .iter()
        .zip(&ys.count)
        .map(|(&f, &c)| f as usize + c as usize)
        .max()
        .unwrap_or(0);
    cache.resize(max_row.saturating_sub(min_row), None);
    let mut acc = vec![0i32; dst_w];
    let mut wi = 0usize;
    for (oy, (&first, &count)) in ys.first.iter().zip(&ys.count).enumerate() {
        acc.iter_mut().for_each(|a| *a = 0);
        for t in 0..count as usize {
            let r = first as usize + t;
            let w = i32::from(ys.weights[wi + t]);
            let slot = &mut cache[r - min_row];
            if slot.is_none() {
                *slot = Some(scale_row(src, offset + r * stride, pitch, xs));
            }
            if let Some(row) = slot.as_ref() {
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a += i32::from(v) * w;
                }
            }
        }
        wi += count as usize;
        // Rows above the next output row's first tap are no longer needed.
        if let Some(&next) = ys.first.get(oy + 1) {
            for slot in cache.iter_mut().take(next as usize - min_row) {
                *slot = None;
            }
        }
        let out = &mut dst[oy * dst_w..(oy + 1) * dst_w];
        // acc = value × 64 × WEIGHT_ONE.
        let shift = WEIGHT_BITS + 6;
        let half = 1i32 << (shift - 1);
        for (o, &a) in out.iter_mut().zip(&acc) {
            *o = ((a + half) >> shift).clamp(0, 255) as u8;
        }
    }
}

/// One source row scaled horizontally, values × 64.
fn scale_row(src: &[u8], start: usize, pitch: usize, xs: &Taps) -> Vec<u16> {
    let mut row = Vec::with_capacity(xs.first.len());
    let mut wi = 0usize;
    for (&first, &count) in xs.first.iter().zip(&xs.count) {
        let mut sum = 0i32;
        for t in 0..count as usize {
            let v = i32::from(src[start + (first as usize + t) * pitch]);
            sum += v * i32::from(xs.weights[wi + t]);
        }
        wi += count as usize;
        // sum = value × WEIGHT_ONE → × 64.
        row.push(((sum + (1 << (WEIGHT_BITS - 7))) >> (WEIGHT_BITS - 6)) as u16);
    }
    row
}

/// Fills all of `dst` from the `rect` window of `src` (clamped to the picture).
pub fn crop_scale(
    src: &SourcePlanes,
    rect: CropRect,
    dst: &mut Frame420,
) -> Result<(), PixelError> {
    src.check()?;
    let (sw, sh) = (f64::from(src.width), f64::from(src.height));
    let x = rect.x.clamp(0.0, sw - 1.0);
    let y = rect.y.clamp(0.0, sh - 1.0);
    let w = rect.width.clamp(1.0, sw - x);
    let h = rect.height.clamp(1.0, sh - y);
    let (dw, dh) = (dst.width as usize, dst.height as usize);
    let (cw, ch) = (
        (src.width as usize).div_ceil(2),
        (src.height as usize).div_ceil(2),
    );
    let xs = Taps::new(x, w, src.width as usize, dw);
    let ys = Taps::new(y, h, src.height as usize, dh);
    let cxs = Taps::new(x / 2.0, w / 2.0, cw, dw / 2);
    let cys = Taps::new(y / 2.0, h / 2.0, ch, dh / 2);
    let (dy, du, dv) = dst.planes_mut();
    scale_plane(
        src.data,
        src.offsets[0],
        src.strides[0],
        1,
        &xs,
        &ys,
        dy,
        dw,
    );
    match src.layout {
        SourceLayout::I420 => {
            scale_plane(
                src.data,
                src.offsets[1],
                src.strides[1],
                1,
                &cxs,
                &cys,
                du,
                dw / 2,
            );
            scale_plane(
                src.data,
                src.offsets[2],
                src.strides[2],
                1,
                &cxs,
                &cys,
                dv,
                dw / 2,
            );
        }
        SourceLayout::Nv12 => {
            scale_plane(
                src.data,
                src.offsets[1],
                src.strides[1],
                2,
                &cxs,
                &cys,
                du,
                dw / 2,
            );
            scale_plane(
                src.data,
                src.offsets[1] + 1,
                src.strides[1],
                2,
                &cxs,
                &cys,
                dv,
                dw / 2,
            );
        }
    }
    Ok(())
}

/// BT.709 limited-range Y, Cb, Cr of an 8-bit RGB colour, ×256 fixed point.
fn yuv709(r: u8, g: u8, b: u8) -> (i32, i32, i32) {
    let (r, g, b) = (
        f64::from(r) / 255.0,
        f64::from(g) / 255.0,
        f64::from(b) / 255.0,
    );
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let cb = (b - y) / 1.8556;
    let cr = (r - y) / 1.5748;
    (
        ((16.0 + 219.0 * y) * 256.0).round() as i32,
        ((128.0 + 224.0 * cb) * 256.0).round() as i32,
        ((128.0 + 224.0 * cr) * 256.0).round() as i32,
    )
}

/// A caption state ready to blend: premultiplied YUV with alpha, trimmed to what is visible.
#[derive(Debug, Clone, PartialEq)]
pub struct Sprite {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    /// Y·α (×255 scale: value·α, 0..=255·255) and α per luma sample.
    y_pre: Vec<u16>,
    y_alpha: Vec<u8>,
    /// Cb·ᾱ, Cr·ᾱ and ᾱ per chroma sample (2×2 averages).
    u_pre: Vec<u16>,
    v_pre: Vec<u16>,
    c_alpha: Vec<u8>,
}

impl Sprite {
    /// Builds the sprite from an RGBA image placed at (`x`, `y`) in a `frame_w`×`frame_h`
    /// frame; None when nothing of it is visible there.
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
        if rgba.len() < w * h * 4 {
            return None;
        }
        let alpha = |px: usize, py: usize| rgba[(py * w + px) * 4 + 3];
        // Visible bounds in frame coordinates.
        let (mut x0, mut y0, mut x1, mut y1) = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
        for py in 0..h {
            for px in 0..w {
                if alpha(px, py) > 0 {
                    let (fx, fy) = (i64::from(x) + px as i64, i64::from(y) + py as i64);
                    x0 = x0.min(fx);
                    x1 = x1.max(fx + 1);
                    y0 = y0.min(fy);
                    y1 = y1.max(fy + 1);
                }
            }
        }
        // Clip to the frame and widen to even edges for 2×2 chroma.
        let x0 = (x0.max(0) & !1) as u32;
        let y0 = (y0.max(0) & !1) as u32;
        let x1 = ((x1.min(i64::from(frame_w)) + 1) & !1) as u32;
        let y1 = ((y1.min(i64::from(frame_h)) + 1) & !1) as u32;
        if x1 <= x0 || y1 <= y0 || x1 > frame_w || y1 > frame_h {
            return None;
        }
        let (sw, sh) = ((x1 - x0) as usize, (y1 - y0) as usize);
        // The RGBA pixel at a frame position (transparent outside the image).
        let pixel = |fx: u32, fy: u32| -> [u8; 4] {
            let (px, py) = (i64::from(fx) - i64::from(x), i64::from(fy) - i64::from(y));
            if px < 0 || py < 0 || px >= w as i64 || py >= h as i64 {
                return [0; 4];
            }
            let i = (py as usize * w + px as usize) * 4;
            [rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]]
        };
        let mut sprite = Sprite {
            x: x0,
            y: y0,
            width: sw as u32,
            height: sh as u32,
            y_pre: vec![0; sw * sh],
            y_alpha: vec![0; sw * sh],
            u_pre: vec![0; sw * sh / 4],
            v_pre: vec![0; sw * sh / 4],
            c_alpha: vec![0; sw * sh / 4],
        };
        for cy in 0..sh / 2 {
            for cx in 0..sw / 2 {
                let (mut u_sum, mut v_sum, mut a_sum) = (0i64, 0i64, 0i64);
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let (sx, sy) = (cx * 2 + dx, cy * 2 + dy);
                    let [r, g, b, a] = pixel(x0 + sx as u32, y0 + sy as u32);
                    let (yv, u, v) = yuv709(r, g, b);
                    let a = i64::from(a);
                    let i = sy * sw + sx;
                    // Y·α with Y rounded to 8 bits first.
                    sprite.y_pre[i] = (((i64::from(yv) + 128) >> 8) * a) as u16;
                    sprite.y_alpha[i] = a as u8;
                    u_sum += i64::from(u) * a;
                    v_sum += i64::from(v) * a;
                    a_sum += a;
                }
                let c = cy * (sw / 2) + cx;
                // Averages of Cb·α, Cr·α and α over the block (Cb·α in 8-bit·α units).
                sprite.u_pre[c] = ((u_sum + 512) / 1024) as u16;
                sprite.v_pre[c] = ((v_sum + 512) / 1024) as u16;
                sprite.c_alpha[c] = ((a_sum + 2) / 4) as u8;
            }
        }
        Some(sprite)
    }

    /// Where the sprite sits in the frame: (x, y, width, height), all even.
    pub fn bounds(&self) -> (u32, u32, u32, u32) {
        (self.x, self.y, self.width, self.height)
    }

    /// Memory it holds.
    pub fn bytes(&self) -> usize {
        self.y_pre.len() * 2
            + self.y_alpha.len()
            + self.u_pre.len() * 2
            + self.v_pre.len() * 2
            + self.c_alpha.len()
    }

    /// Composites the sprite over `frame`, touching only the rows and columns it covers.
    pub fn blend(&self, frame: &mut Frame420) {
        if self.x + self.width > frame.width || self.y + self.height > frame.height {
            return;
        }
        let fw = frame.width as usize;
        let (sw, sh) = (self.width as usize, self.height as usize);
        let (x, y) = (self.x as usize, self.y as usize);
        let (fy, fu, fv) = frame.planes_mut();
        for row in 0..sh {
            let dst = &mut fy[(y + row) * fw + x..(y + row) * fw + x + sw];
            let pre = &self.y_pre[row * sw..(row + 1) * sw];
            let alpha = &self.y_alpha[row * sw..(row + 1) * sw];
            blend_row(dst, pre, alpha);
        }
        let (cw, csw) = (fw / 2, sw / 2);
        for row in 0..sh / 2 {
            let at = (y / 2 + row) * cw + x / 2;
            let alpha = &self.c_alpha[row * csw..(row + 1) * csw];
            blend_row(
                &mut fu[at..at + csw],
                &self.u_pre[row * csw..(row + 1) * csw],
                alpha,
            );
            blend_row(
                &mut fv[at..at + csw],
                &self.v_pre[row * csw..(row + 1) * csw],
                alpha,
            );
        }
    }
}

/// `dst = (dst·(255−α) + pre + 127) / 255`, with the division done as a multiply-shift.
fn blend_row(dst: &mut [u8], pre: &[u16], alpha: &[u8]) {
    for ((d, &p), &a) in dst.iter_mut().zip(pre).zip(alpha) {
        if a == 0 {
            continue;
        }
        let v = u32::from(*d) * (255 - u32::from(a)) + u32::from(p) + 127;
        // v / 255 for v < 65536 + 255: (v · 257 + 257) >> 16.
        *d = ((v * 257 + 257) >> 16).min(255) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i420(w: u32, h: u32, f: impl Fn(usize, usize, usize) -> u8) -> Frame420 {
        let mut frame = Frame420::new_black(w, h).expect("even size");
        let (w, h) = (w as usize, h as usize);
        let (y, u, v) = frame.planes_mut();
        for r in 0..h {
            for c in 0..w {
                y[r * w + c] = f(0, c, r);
            }
        }
        for r in 0..h / 2 {
            for c in 0..w / 2 {
                u[r * w / 2 + c] = f(1, c, r);
                v[r * w / 2 + c] = f(2, c, r);
            }
        }
        frame
    }

    fn planes(frame: &Frame420) -> SourcePlanes<'_> {
        let luma = (frame.width * frame.height) as usize;
        SourcePlanes {
            layout: SourceLayout::I420,
            width: frame.width,
            height: frame.height,
            data: &frame.data,
            offsets: [0, luma, luma + luma / 4],
            strides: [
                frame.width as usize,
                frame.width as usize / 2,
                frame.width as usize / 2,
            ],
        }
    }

    fn whole(frame: &Frame420) -> CropRect {
        CropRect {
            x: 0.0,
            y: 0.0,
            width: f64::from(frame.width),
            height: f64::from(frame.height),
        }
    }

    #[test]
    fn the_identity_crop_is_exact() {
        let src = i420(64, 36, |p, x, y| ((x * 7 + y * 13 + p * 50) % 256) as u8);
        let mut dst = Frame420::new_black(64, 36).expect("even");
        crop_scale(&planes(&src), whole(&src), &mut dst).expect("scales");
        assert_eq!(dst, src);
    }

    #[test]
    fn a_flat_colour_stays_that_colour_at_any_scale() {
        let src = i420(320, 180, |p, _, _| [90, 60, 200][p]);
        for (w, h) in [(1080, 1920), (100, 40), (36, 64)] {
            let mut dst = Frame420::new_black(w, h).expect("even");
            let rect = CropRect {
                x: 10.3,
                y: 5.7,
                width: 101.25,
                height: 170.0,
            };
            crop_scale(&planes(&src), rect, &mut dst).expect("scales");
            assert!(dst.y().iter().all(|&v| v == 90));
            assert!(dst.u().iter().all(|&v| v == 60));
            assert!(dst.v().iter().all(|&v| v == 200));
        }
    }

    #[test]
    fn a_ramp_stays_monotonic_and_keeps_its_mean() {
        let src = i420(256, 16, |p, x, _| if p == 0 { x as u8 } else { 128 });
        let mut dst = Frame420::new_black(100, 16).expect("even");
        crop_scale(&planes(&src), whole(&src), &mut dst).expect("scales");
        let row = &dst.y()[..100];
        assert!(row.windows(2).all(|p| p[1] >= p[0]), "{row:?}");
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / 100.0;
        assert!((mean - 127.5).abs() <= 1.0, "mean {mean}");
        let mut up = Frame420::new_black(512, 16).expect("even");
        crop_scale(&planes(&src), whole(&src), &mut up).expect("scales");
        let row = &up.y()[..512];
        assert!(row.windows(2).all(|p| p[1] >= p[0]));
    }

    #[test]
    fn shrinking_a_fine_checkerboard_gives_flat_grey() {
        let src = i420(400, 400, |p, x, y| {
            if p == 0 {
                if (x + y) % 2 == 0 {
                    16
                } else {
                    235
                }
            } else {
                128
            }
        });
        let mut dst = Frame420::new_black(100, 100).expect("even");
        crop_scale(&planes(&src), whole(&src), &mut dst).expect("scales");
        let mid = (16 + 235) / 2;
        assert!(
            dst.y().iter().all(|&v| (i32::from(v) - mid).abs() <= 2),
            "{:?}",
            &dst.y()[..10]
        );
    }

    #[test]
    fn nv12_and_i420_sources_scale_alike() {
        let src = i420(64, 48, |p, x, y| ((x * 3 + y * 5 + p * 40) % 250) as u8);
        let luma = 64 * 48;
        let mut nv12 = src.data[..luma].to_vec();
        for i in 0..luma / 4 {
            nv12.push(src.u()[i]);
            nv12.push(src.v()[i]);
        }
        let nv = SourcePlanes {
            layout: SourceLayout::Nv12,
            width: 64,
            height: 48,
            data: &nv12,
            offsets: [0, luma, 0],
            strides: [64, 64, 0],
        };
        let rect = CropRect {
            x: 3.5,
            y: 2.0,
            width: 27.0,
            height: 48.0,
        };
        let mut a = Frame420::new_black(36, 64).expect("even");
        let mut b = Frame420::new_black(36, 64).expect("even");
        crop_scale(&planes(&src), rect, &mut a).expect("i420");
        crop_scale(&nv, rect, &mut b).expect("nv12");
        assert_eq!(a, b);
    }

    #[test]
    fn a_fractional_offset_moves_the_picture() {
        let src = i420(64, 16, |p, x, _| if p == 0 { (x * 4) as u8 } else { 128 });
        let rect = |x| CropRect {
            x,
            y: 0.0,
            width: 32.0,
            height: 16.0,
        };
        let mut a = Frame420::new_black(32, 16).expect("even");
        let mut b = Frame420::new_black(32, 16).expect("even");
        crop_scale(&planes(&src), rect(10.0), &mut a).expect("scales");
        crop_scale(&planes(&src), rect(10.5), &mut b).expect("scales");
        assert_eq!(a.y()[0], 40);
        assert_eq!(b.y()[0], 42);
    }

    #[test]
    fn short_buffers_and_odd_sizes_are_errors() {
        let src = i420(64, 16, |_, _, _| 0);
        let mut short = planes(&src);
        short.data = &src.data[..100];
        let mut dst = Frame420::new_black(32, 16).expect("even");
        assert_eq!(
            crop_scale(&short, whole(&src), &mut dst),
            Err(PixelError::ShortBuffer)
        );
        assert_eq!(
            Frame420::new_black(33, 16),
            Err(PixelError::OddSize(33, 16))
        );
    }

    /// Straightforward reference: per pixel in f64, `dst·(1−α) + c·α`; chroma from the mean
    /// over each 2×2 block of `c·α` and of α.
    fn reference(
        frame: &Frame420,
        rgba: &[u8],
        w: usize,
        h: usize,
        x: usize,
        y: usize,
    ) -> Frame420 {
        let mut out = frame.clone();
        let fw = frame.width as usize;
        let (oy, ou, ov) = out.planes_mut();
        let conv = |r: u8, g: u8, b: u8| {
            let (r, g, b) = (
                f64::from(r) / 255.0,
                f64::from(g) / 255.0,
                f64::from(b) / 255.0,
            );
            let l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
            (
                16.0 + 219.0 * l,
                128.0 + 224.0 * (b - l) / 1.8556,
                128.0 + 224.0 * (r - l) / 1.5748,
            )
        };
        for py in 0..h {
            for px in 0..w {
                let i = (py * w + px) * 4;
                let a = f64::from(rgba[i + 3]) / 255.0;
                let (l, _, _) = conv(rgba[i], rgba[i + 1], rgba[i + 2]);
                let d = &mut oy[(y + py) * fw + x + px];
                *d = (f64::from(*d) * (1.0 - a) + l * a).round() as u8;
            }
        }
        for cy in 0..h / 2 {
            for cx in 0..w / 2 {
                let (mut u, mut v, mut a) = (0.0, 0.0, 0.0);
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let i = ((cy * 2 + dy) * w + cx * 2 + dx) * 4;
                    let al = f64::from(rgba[i + 3]) / 255.0;
                    let (_, cb, cr) = conv(rgba[i], rgba[i + 1], rgba[i + 2]);
                    u += cb * al / 4.0;
                    v += cr * al / 4.0;
                    a += al / 4.0;
                }
                let at = (y / 2 + cy) * fw / 2 + x / 2 + cx;
                ou[at] = (f64::from(ou[at]) * (1.0 - a) + u).round() as u8;
                ov[at] = (f64::from(ov[at]) * (1.0 - a) + v).round() as u8;
            }
        }
        out
    }

    fn pseudo_random(seed: u64) -> impl FnMut() -> u8 {
        let mut s = seed;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        }
    }

    #[test]
    fn blending_matches_the_reference_and_leaves_other_rows_alone() {
        for seed in 1..20u64 {
            let mut rnd = pseudo_random(seed);
            let mut frame = i420(64, 48, |_, _, _| 0);
            frame.data.iter_mut().for_each(|v| *v = rnd());
            let (w, h, x, y) = (20usize, 10usize, 8usize, 20usize);
            let mut rgba: Vec<u8> = (0..w * h * 4).map(|_| rnd()).collect();
            // Some fully opaque and fully transparent pixels too.
            for i in (0..w * h).step_by(3) {
                rgba[i * 4 + 3] = if i % 2 == 0 { 255 } else { 0 };
            }
            // Keep the corners visible so the sprite is not trimmed (the reference is not).
            for &i in &[0, w - 1, (h - 1) * w, h * w - 1] {
                rgba[i * 4 + 3] = 255;
            }
            let expected = reference(&frame, &rgba, w, h, x, y);
            let sprite = Sprite::from_rgba(&rgba, w as u32, h as u32, x as i32, y as i32, 64, 48)
                .expect("visible");
            assert_eq!(sprite.bounds(), (8, 20, 20, 10));
            let before = frame.clone();
            sprite.blend(&mut frame);
            for (k, (a, b)) in frame.y().iter().zip(expected.y()).enumerate() {
                assert!(
                    (i32::from(*a) - i32::from(*b)).abs() <= 1,
                    "Y {k}: {a} vs {b}"
                );
            }
            for (a, b) in frame
                .u()
                .iter()
                .zip(expected.u())
                .chain(frame.v().iter().zip(expected.v()))
            {
                assert!((i32::from(*a) - i32::from(*b)).abs() <= 2, "UV {a} vs {b}");
            }
            let fw = 64;
            assert_eq!(frame.y()[..y * fw], before.y()[..y * fw]);
            assert_eq!(frame.y()[(y + h) * fw..], before.y()[(y + h) * fw..]);
        }
    }

    #[test]
    fn sprites_trim_to_what_is_visible_and_clip_to_the_frame() {
        let (w, h) = (40usize, 30usize);
        let mut rgba = vec![0u8; w * h * 4];
        // One opaque white block at (11..19, 7..12).
        for py in 7..12 {
            for px in 11..19 {
                rgba[(py * w + px) * 4..(py * w + px) * 4 + 4]
                    .copy_from_slice(&[255, 255, 255, 255]);
            }
        }
        let sprite = Sprite::from_rgba(&rgba, 40, 30, 100, 50, 200, 200).expect("visible");
        // Frame x 111..119 → even 110..120; y 57..62 → 56..62.
        assert_eq!(sprite.bounds(), (110, 56, 10, 6));
        assert!(Sprite::from_rgba(&vec![0; w * h * 4], 40, 30, 0, 0, 200, 200).is_none());
        // Placed past the frame's edge: nothing visible.
        assert!(Sprite::from_rgba(&rgba, 40, 30, 195, 195, 200, 200).is_none());
        let mut frame = Frame420::new_black(200, 200).expect("even");
        sprite.blend(&mut frame);
        assert_eq!(frame.y()[60 * 200 + 115], 235);
        assert_eq!(frame.y()[60 * 200 + 109], 16);
    }
}
