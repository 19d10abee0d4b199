//! `crop_scale` against a slow f64 reference of the same filters (bilinear when enlarging, the
//! source footprint's area when shrinking), plus the properties export relies on: exact
//! identity, flat colours kept, ramps kept monotonic, no aliasing, NV12 = I420, sub-pixel pans,
//! and errors (not panics) on bad buffers.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use reelsmith_core::pixels::{
    crop_scale, CropRect, Frame420, PixelError, SourceLayout, SourcePlanes,
};

/// A source picture laid out as a browser might hand it over: a few bytes before each plane
/// and rows padded past their width.
struct Source {
    layout: SourceLayout,
    width: u32,
    height: u32,
    data: Vec<u8>,
    offsets: [usize; 3],
    strides: [usize; 3],
}

impl Source {
    /// `sample(plane, x, y)`: plane 0 is Y (w×h), 1 and 2 are U and V (⌈w/2⌉×⌈h/2⌉).
    fn new(
        layout: SourceLayout,
        width: u32,
        height: u32,
        pad: usize,
        sample: impl Fn(usize, usize, usize) -> u8,
    ) -> Self {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let mut data = vec![0xA5u8; pad];
        let mut offsets = [0usize; 3];
        let mut strides = [0usize; 3];
        let mut plane = |data: &mut Vec<u8>,
                         i: usize,
                         rw: usize,
                         rows: usize,
                         row: &dyn Fn(usize) -> Vec<u8>| {
            offsets[i] = data.len();
            strides[i] = rw + pad;
            for y in 0..rows {
                data.extend(row(y));
                data.extend(std::iter::repeat_n(0x5Au8, pad));
            }
            data.extend(std::iter::repeat_n(0xA5u8, pad));
        };
        plane(&mut data, 0, w, h, &|y| {
            (0..w).map(|x| sample(0, x, y)).collect()
        });
        match layout {
            SourceLayout::I420 => {
                plane(&mut data, 1, cw, ch, &|y| {
                    (0..cw).map(|x| sample(1, x, y)).collect()
                });
                plane(&mut data, 2, cw, ch, &|y| {
                    (0..cw).map(|x| sample(2, x, y)).collect()
                });
            }
            SourceLayout::Nv12 => {
                plane(&mut data, 1, 2 * cw, ch, &|y| {
                    (0..cw)
                        .flat_map(|x| [sample(1, x, y), sample(2, x, y)])
                        .collect()
                });
            }
        }
        Self {
            layout,
            width,
            height,
            data,
            offsets,
            strides,
        }
    }

    fn planes(&self) -> SourcePlanes<'_> {
        SourcePlanes {
            layout: self.layout,
            width: self.width,
            height: self.height,
            data: &self.data,
            offsets: self.offsets,
            strides: self.strides,
        }
    }
}

fn rect(x: f64, y: f64, width: f64, height: f64) -> CropRect {
    CropRect {
        x,
        y,
        width,
        height,
    }
}

fn scaled(src: &Source, r: CropRect, w: u32, h: u32) -> Frame420 {
    let mut dst = Frame420::new_black(w, h).expect("even size");
    crop_scale(&src.planes(), r, &mut dst).expect("scales");
    dst
}

/// Reference weights along one axis, straight from the definitions, in f64.
fn reference_weights(start: f64, len: f64, size: usize, out: usize) -> Vec<Vec<(usize, f64)>> {
    let scale = len / out as f64;
    (0..out)
        .map(|i| {
            if scale <= 1.0 {
                let c = (start + (i as f64 + 0.5) * scale - 0.5).clamp(0.0, (size - 1) as f64);
                let s = c.floor() as usize;
                let f = c - s as f64;
                vec![(s, 1.0 - f), ((s + 1).min(size - 1), f)]
            } else {
                let (a, b) = (start + i as f64 * scale, start + (i + 1) as f64 * scale);
                (0..size)
                    .map(|s| {
                        (
                            s,
                            (b.min(s as f64 + 1.0) - a.max(s as f64)).max(0.0) / scale,
                        )
                    })
                    .filter(|&(_, w)| w > 0.0)
                    .collect()
            }
        })
        .collect()
}

/// One plane scaled by the reference, rounded to bytes.
fn reference_plane(
    sample: &dyn Fn(usize, usize) -> u8,
    (size_w, size_h): (usize, usize),
    r: CropRect,
    (out_w, out_h): (usize, usize),
) -> Vec<u8> {
    let xs = reference_weights(r.x, r.width, size_w, out_w);
    let ys = reference_weights(r.y, r.height, size_h, out_h);
    let mut out = Vec::with_capacity(out_w * out_h);
    for wy in &ys {
        for wx in &xs {
            let mut v = 0.0;
            for &(sy, ky) in wy {
                for &(sx, kx) in wx {
                    v += ky * kx * f64::from(sample(sx, sy));
                }
            }
            out.push(v.round() as u8);
        }
    }
    out
}

fn assert_close(got: &[u8], want: &[u8], tolerance: i32, what: &str) {
    assert_eq!(got.len(), want.len());
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (i32::from(g) - i32::from(w)).abs() <= tolerance,
            "{what} sample {k}: {g} vs reference {w}"
        );
    }
}

fn texture(p: usize, x: usize, y: usize) -> u8 {
    ((x * 37 + y * 91 + p * 50 + (x * y) % 13 * 7) % 256) as u8
}

#[test]
fn matches_the_reference_enlarging_shrinking_and_in_between() {
    let (sw, sh) = (96usize, 64usize);
    let src = Source::new(SourceLayout::I420, sw as u32, sh as u32, 3, texture);
    for (r, (w, h)) in [
        // The export's case: a 9:16 window of a 16:9 source, enlarged.
        (rect(20.25, 0.0, 36.0, 64.0), (54, 96)),
        // Shrinking by less than 2, by 3.4 and by 8 (the rows-first order when the window has
        // more rows than the output).
        (rect(1.5, 2.75, 80.0, 56.0), (60, 40)),
        (rect(0.0, 0.0, 96.0, 64.0), (28, 18)),
        (rect(8.0, 0.0, 80.0, 64.0), (10, 8)),
        // Enlarged one way, shrunk the other.
        (rect(33.3, 5.0, 20.0, 50.0), (48, 20)),
    ] {
        let dst = scaled(&src, r, w as u32, h as u32);
        let want_y = reference_plane(&|x, y| texture(0, x, y), (sw, sh), r, (w, h));
        let half = rect(r.x / 2.0, r.y / 2.0, r.width / 2.0, r.height / 2.0);
        let want_u = reference_plane(
            &|x, y| texture(1, x, y),
            (sw / 2, sh / 2),
            half,
            (w / 2, h / 2),
        );
        let want_v = reference_plane(
            &|x, y| texture(2, x, y),
            (sw / 2, sh / 2),
            half,
            (w / 2, h / 2),
        );
        assert_close(dst.y(), &want_y, 1, &format!("Y {r:?}"));
        assert_close(dst.u(), &want_u, 1, &format!("U {r:?}"));
        assert_close(dst.v(), &want_v, 1, &format!("V {r:?}"));
    }
}

#[test]
fn the_whole_picture_at_its_own_size_is_copied_exactly() {
    for layout in [SourceLayout::I420, SourceLayout::Nv12] {
        let src = Source::new(layout, 64, 36, 5, texture);
        let dst = scaled(&src, rect(0.0, 0.0, 64.0, 36.0), 64, 36);
        let want = Source::new(SourceLayout::I420, 64, 36, 0, texture);
        assert_eq!(dst.data, want.data, "{layout:?}");
    }
}

#[test]
fn an_unscaled_window_at_an_even_offset_is_copied_exactly() {
    // The copy path: every output sample is one source sample, in luma and chroma.
    for layout in [SourceLayout::I420, SourceLayout::Nv12] {
        let src = Source::new(layout, 64, 36, 3, texture);
        let dst = scaled(&src, rect(6.0, 4.0, 40.0, 24.0), 40, 24);
        let want = Source::new(SourceLayout::I420, 40, 24, 0, |p, x, y| {
            let (dx, dy) = if p == 0 { (6, 4) } else { (3, 2) };
            texture(p, x + dx, y + dy)
        });
        assert_eq!(dst.data, want.data, "{layout:?}");
    }
    // At an odd offset chroma sits between samples and is filtered; luma is still copied exactly.
    let src = Source::new(SourceLayout::I420, 64, 36, 0, texture);
    let odd = scaled(&src, rect(5.0, 3.0, 40.0, 24.0), 40, 24);
    let y_want: Vec<u8> = (0..24)
        .flat_map(|y| (0..40).map(move |x| texture(0, x + 5, y + 3)))
        .collect();
    assert_eq!(odd.y(), y_want.as_slice());
}

#[test]
fn a_flat_colour_stays_exactly_that_colour_at_any_scale() {
    let colour = [90u8, 60, 200];
    for layout in [SourceLayout::I420, SourceLayout::Nv12] {
        let src = Source::new(layout, 321, 181, 2, |p, _, _| colour[p]);
        for (r, (w, h)) in [
            (rect(10.3, 5.7, 101.25, 180.0), (1080, 1920)),
            (rect(10.3, 5.7, 101.25, 170.0), (100, 40)),
            (rect(0.0, 0.0, 321.0, 181.0), (36, 64)),
            (rect(0.0, 0.0, 321.0, 181.0), (2, 2)),
        ] {
            let dst = scaled(&src, r, w, h);
            assert!(dst.y().iter().all(|&v| v == 90), "{r:?} {w}×{h}");
            assert!(dst.u().iter().all(|&v| v == 60), "{r:?} {w}×{h}");
            assert!(dst.v().iter().all(|&v| v == 200), "{r:?} {w}×{h}");
        }
    }
}

#[test]
fn a_ramp_stays_monotonic_and_keeps_its_mean() {
    let src = Source::new(SourceLayout::I420, 256, 16, 0, |p, x, _| {
        if p == 0 {
            x as u8
        } else {
            128
        }
    });
    for width in [100u32, 60, 512, 1080] {
        let dst = scaled(&src, rect(0.0, 0.0, 256.0, 16.0), width, 16);
        for row in dst.y().chunks_exact(width as usize) {
            assert!(row.windows(2).all(|p| p[1] >= p[0]), "{width}: {row:?}");
            let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / f64::from(width);
            assert!((mean - 127.5).abs() <= 1.0, "{width}: mean {mean}");
        }
    }
}

/// A 1-pixel checkerboard (the finest detail a picture holds).
fn checkerboard(p: usize, x: usize, y: usize) -> u8 {
    match (p, (x + y) % 2) {
        (0, 0) => 16,
        (0, _) => 235,
        _ => 128,
    }
}

#[test]
fn shrinking_a_fine_checkerboard_four_times_gives_flat_grey() {
    let src = Source::new(SourceLayout::I420, 400, 400, 0, checkerboard);
    // Bilinear would only look flat when its two taps fall evenly around a pixel edge; off
    // that (the second window) it shows the pattern. The area filter averages.
    for r in [rect(0.0, 0.0, 400.0, 400.0), rect(0.25, 3.5, 396.0, 396.0)] {
        let dst = scaled(&src, r, 100, 100);
        let mid = (16 + 235) / 2;
        for (k, &v) in dst.y().iter().enumerate() {
            assert!((i32::from(v) - mid).abs() <= 2, "{r:?} sample {k}: {v}");
        }
    }
}

#[test]
fn shrinking_a_checkerboard_by_an_odd_factor_leaves_only_a_faint_pattern() {
    // 4K → 720p-wide: 1215 source columns per 720 output ones. A box at a fractional width
    // cannot cancel a 1-pixel checkerboard exactly, but the leftover stays small.
    let src = Source::new(SourceLayout::I420, 1215, 216, 0, checkerboard);
    let dst = scaled(&src, rect(0.0, 0.0, 1215.0, 216.0), 720, 128);
    let mid = (16 + 235) / 2;
    let worst = dst.y().iter().map(|&v| (i32::from(v) - mid).abs()).max();
    assert!(worst.is_some_and(|w| w <= 8), "worst {worst:?}");
}

#[test]
fn nv12_and_i420_sources_scale_alike() {
    for (r, (w, h)) in [
        (rect(3.5, 2.0, 27.0, 48.0), (36, 64)),
        (rect(0.0, 0.0, 64.0, 48.0), (20, 12)),
        (rect(10.0, 7.25, 30.5, 11.0), (64, 64)),
    ] {
        let a = scaled(
            &Source::new(SourceLayout::I420, 64, 48, 1, texture),
            r,
            w,
            h,
        );
        let b = scaled(
            &Source::new(SourceLayout::Nv12, 64, 48, 7, texture),
            r,
            w,
            h,
        );
        assert_eq!(a, b, "{r:?}");
    }
}

#[test]
fn a_fractional_offset_moves_the_picture() {
    // Y = 4x, so a shift of half a pixel is 2 levels.
    let src = Source::new(SourceLayout::I420, 64, 32, 0, |p, x, y| {
        if p == 0 {
            (x * 4 + y) as u8
        } else {
            (x * 8) as u8
        }
    });
    let at = |x, y| scaled(&src, rect(x, y, 32.0, 16.0), 32, 16);
    let (a, b, c) = (at(10.0, 4.0), at(10.5, 4.0), at(10.0, 5.0));
    for k in 0..32 * 16 {
        assert_eq!(i32::from(b.y()[k]) - i32::from(a.y()[k]), 2, "sample {k}");
        assert_eq!(i32::from(c.y()[k]) - i32::from(a.y()[k]), 1, "sample {k}");
    }
    // Chroma moves with it: half a luma pixel is a quarter of a chroma sample (2 levels).
    for k in 0..16 * 8 {
        assert_eq!(
            i32::from(b.u()[k]) - i32::from(a.u()[k]),
            2,
            "chroma sample {k}"
        );
    }
}

#[test]
fn a_window_past_the_edges_is_moved_inside_rather_than_stretched() {
    let src = Source::new(SourceLayout::I420, 64, 48, 0, texture);
    assert_eq!(
        scaled(&src, rect(-7.0, 30.0, 27.0, 48.0), 36, 64),
        scaled(&src, rect(0.0, 0.0, 27.0, 48.0), 36, 64)
    );
    assert_eq!(
        scaled(&src, rect(50.0, -3.0, 27.0, 100.0), 36, 64),
        scaled(&src, rect(37.0, 0.0, 27.0, 48.0), 36, 64)
    );
}

#[test]
fn bad_buffers_sizes_and_windows_are_errors() {
    let src = Source::new(SourceLayout::I420, 64, 16, 0, texture);
    let whole = rect(0.0, 0.0, 64.0, 16.0);
    let mut dst = Frame420::new_black(32, 16).expect("even");
    let mut planes = src.planes();
    planes.data = &src.data[..src.data.len() - 1];
    assert_eq!(
        crop_scale(&planes, whole, &mut dst),
        Err(PixelError::ShortBuffer { plane: 2 })
    );
    let mut planes = src.planes();
    planes.strides[1] = 31;
    assert_eq!(
        crop_scale(&planes, whole, &mut dst),
        Err(PixelError::ShortBuffer { plane: 1 })
    );
    let mut planes = src.planes();
    planes.offsets[0] = usize::MAX - 10;
    assert_eq!(
        crop_scale(&planes, whole, &mut dst),
        Err(PixelError::ShortBuffer { plane: 0 })
    );
    let nv12 = Source::new(SourceLayout::Nv12, 64, 16, 0, texture);
    let mut planes = nv12.planes();
    planes.data = &nv12.data[..nv12.data.len() - 1];
    assert_eq!(
        crop_scale(&planes, whole, &mut dst),
        Err(PixelError::ShortBuffer { plane: 1 })
    );
    let mut planes = src.planes();
    planes.width = 0;
    assert!(matches!(
        crop_scale(&planes, whole, &mut dst),
        Err(PixelError::BadSize { .. })
    ));
    let nan = rect(f64::NAN, 0.0, 10.0, 10.0);
    assert_eq!(
        crop_scale(&src.planes(), nan, &mut dst),
        Err(PixelError::BadRect)
    );
    let infinite = rect(0.0, 0.0, f64::INFINITY, 10.0);
    assert_eq!(
        crop_scale(&src.planes(), infinite, &mut dst),
        Err(PixelError::BadRect)
    );
    dst.data.pop();
    assert!(matches!(
        crop_scale(&src.planes(), whole, &mut dst),
        Err(PixelError::FrameLength { .. })
    ));
    assert_eq!(
        Frame420::new_black(33, 16),
        Err(PixelError::BadSize {
            width: 33,
            height: 16
        })
    );
    assert!(Frame420::new(32, 16, vec![0; 32 * 16]).is_err());
    assert!(Frame420::new(32, 16, vec![0; 32 * 16 * 3 / 2]).is_ok());
}

#[test]
fn frame_planes_split_the_buffer() {
    let mut frame = Frame420::new_black(8, 4).expect("even");
    assert_eq!(
        (frame.y().len(), frame.u().len(), frame.v().len()),
        (32, 8, 8)
    );
    assert!(frame.y().iter().all(|&v| v == 16));
    assert!(frame.u().iter().chain(frame.v()).all(|&v| v == 128));
    frame.u_mut().fill(1);
    frame.v_mut().fill(2);
    frame.y_mut()[0] = 3;
    assert_eq!(frame.data[0], 3);
    assert_eq!(&frame.data[32..40], &[1; 8]);
    assert_eq!(&frame.data[40..48], &[2; 8]);
    // Fields are public; a frame whose buffer was cut short gives empty planes, not a panic.
    frame.data.truncate(10);
    assert!(frame.u().is_empty() && frame.planes_mut().0.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any source size (odd too), window and output size: no panic, within 1 of the
    /// reference, and NV12 gives the same bytes as I420.
    #[test]
    fn any_window_matches_the_reference(
        sw in 1u32..80, sh in 1u32..60,
        fx in 0.0f64..1.0, fy in 0.0f64..1.0, fw in 0.01f64..1.2, fh in 0.01f64..1.2,
        w in 1u32..50, h in 1u32..50,
    ) {
        let (w, h) = (w * 2, h * 2);
        let r = rect(fx * f64::from(sw), fy * f64::from(sh), fw * f64::from(sw), fh * f64::from(sh));
        let i420 = Source::new(SourceLayout::I420, sw, sh, 2, texture);
        let nv12 = Source::new(SourceLayout::Nv12, sw, sh, 0, texture);
        let a = scaled(&i420, r, w, h);
        prop_assert_eq!(&a, &scaled(&nv12, r, w, h));
        // The window as crop_scale fits it inside the picture.
        let (pw, ph) = (f64::from(sw), f64::from(sh));
        let (rw, rh) = (r.width.clamp(1.0, pw), r.height.clamp(1.0, ph));
        let fitted = rect(r.x.clamp(0.0, pw - rw), r.y.clamp(0.0, ph - rh), rw, rh);
        let (sw, sh, w, h) = (sw as usize, sh as usize, w as usize, h as usize);
        let want_y = reference_plane(&|x, y| texture(0, x, y), (sw, sh), fitted, (w, h));
        let half = rect(fitted.x / 2.0, fitted.y / 2.0, fitted.width / 2.0, fitted.height / 2.0);
        let want_u = reference_plane(&|x, y| texture(1, x, y), (sw.div_ceil(2), sh.div_ceil(2)), half, (w / 2, h / 2));
        for (&g, &e) in a.y().iter().zip(&want_y).chain(a.u().iter().zip(&want_u)) {
            prop_assert!((i32::from(g) - i32::from(e)).abs() <= 1, "{} vs {}", g, e);
        }
    }
}
