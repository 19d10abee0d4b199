//! Caption sprites against a straightforward f64 reference: each RGBA pixel converted to
//! BT.709 limited-range Y′CbCr and composited `dst·(1−α) + c·α`; a chroma sample is the mean
//! of the four composites of its 2×2 block. Sprites must agree within Y ±1, U/V ±2 and leave
//! every sample outside their bounds as it was.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use reelsmith_core::pixels::{Frame420, Sprite};

fn bt709(r: u8, g: u8, b: u8) -> (f64, f64, f64) {
    let (r, g, b) = (
        f64::from(r) / 255.0,
        f64::from(g) / 255.0,
        f64::from(b) / 255.0,
    );
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    (
        16.0 + 219.0 * y,
        128.0 + 224.0 * (b - y) / 1.8556,
        128.0 + 224.0 * (r - y) / 1.5748,
    )
}

/// An RGBA image placed with its top-left at (`x`, `y`) in the frame.
struct Placed<'a> {
    rgba: &'a [u8],
    width: usize,
    height: usize,
    x: i64,
    y: i64,
}

impl Placed<'_> {
    /// The image's pixel over frame position (fx, fy), transparent outside it.
    fn at(&self, fx: usize, fy: usize) -> [u8; 4] {
        let (px, py) = (fx as i64 - self.x, fy as i64 - self.y);
        if px < 0 || py < 0 || px >= self.width as i64 || py >= self.height as i64 {
            return [0; 4];
        }
        let i = (py as usize * self.width + px as usize) * 4;
        [
            self.rgba[i],
            self.rgba[i + 1],
            self.rgba[i + 2],
            self.rgba[i + 3],
        ]
    }

    fn sprite(&self, frame: &Frame420) -> Option<Sprite> {
        Sprite::from_rgba(
            self.rgba,
            self.width as u32,
            self.height as u32,
            self.x as i32,
            self.y as i32,
            frame.width,
            frame.height,
        )
    }
}

/// The reference composite of the whole image over `frame`.
fn reference(frame: &Frame420, image: &Placed) -> Frame420 {
    let mut out = frame.clone();
    let (fw, fh) = (frame.width as usize, frame.height as usize);
    let (oy, ou, ov) = out.planes_mut();
    for fy in 0..fh {
        for fx in 0..fw {
            let [r, g, b, a] = image.at(fx, fy);
            let a = f64::from(a) / 255.0;
            let d = &mut oy[fy * fw + fx];
            *d = (f64::from(*d) * (1.0 - a) + bt709(r, g, b).0 * a).round() as u8;
        }
    }
    for cy in 0..fh / 2 {
        for cx in 0..fw / 2 {
            let c = cy * fw / 2 + cx;
            let (du, dv) = (f64::from(ou[c]), f64::from(ov[c]));
            let (mut u, mut v) = (0.0, 0.0);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let [r, g, b, a] = image.at(cx * 2 + dx, cy * 2 + dy);
                let a = f64::from(a) / 255.0;
                let (_, cb, cr) = bt709(r, g, b);
                u += (du * (1.0 - a) + cb * a) / 4.0;
                v += (dv * (1.0 - a) + cr * a) / 4.0;
            }
            ou[c] = u.round() as u8;
            ov[c] = v.round() as u8;
        }
    }
    out
}

/// The even-aligned box around the image's visible pixels inside the frame.
fn visible_bounds(frame: &Frame420, image: &Placed) -> Option<(u32, u32, u32, u32)> {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for fy in 0..frame.height as usize {
        for fx in 0..frame.width as usize {
            if image.at(fx, fy)[3] > 0 {
                (x0, y0) = (x0.min(fx), y0.min(fy));
                (x1, y1) = (x1.max(fx + 1), y1.max(fy + 1));
            }
        }
    }
    let (x0, y0) = (x0 & !1, y0 & !1);
    let (x1, y1) = (x1.next_multiple_of(2), y1.next_multiple_of(2));
    (x1 > x0).then(|| (x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32))
}

/// Blends `image` with a sprite and checks it against the reference and its bounds.
fn check_blend(frame: &Frame420, image: &Placed) -> Result<(), TestCaseError> {
    let sprite = image.sprite(frame);
    prop_assert_eq!(
        sprite.as_ref().map(Sprite::bounds),
        visible_bounds(frame, image)
    );
    let Some(sprite) = sprite else {
        return Ok(());
    };
    let mut out = frame.clone();
    sprite.blend(&mut out);
    let want = reference(frame, image);
    let (bx, by, bw, bh) = sprite.bounds();
    let fw = frame.width as usize;
    let inside = |x: usize, y: usize, scale: u32| {
        (bx / scale..(bx + bw) / scale).contains(&(x as u32))
            && (by / scale..(by + bh) / scale).contains(&(y as u32))
    };
    for (k, (&got, (&was, &exp))) in out
        .y()
        .iter()
        .zip(frame.y().iter().zip(want.y()))
        .enumerate()
    {
        let (x, y) = (k % fw, k / fw);
        prop_assert!(
            (i32::from(got) - i32::from(exp)).abs() <= 1,
            "Y ({x}, {y}): {got} vs reference {exp}"
        );
        if !inside(x, y, 1) {
            prop_assert_eq!(got, was, "Y ({}, {}) outside the sprite changed", x, y);
        }
    }
    let chroma = out.u().iter().zip(frame.u().iter().zip(want.u()));
    let chroma = chroma.chain(out.v().iter().zip(frame.v().iter().zip(want.v())));
    for (k, (&got, (&was, &exp))) in chroma.enumerate() {
        let k = k % (fw / 2 * frame.height as usize / 2);
        let (x, y) = (k % (fw / 2), k / (fw / 2));
        prop_assert!(
            (i32::from(got) - i32::from(exp)).abs() <= 2,
            "UV ({x}, {y}): {got} vs reference {exp}"
        );
        if !inside(x, y, 2) {
            prop_assert_eq!(got, was, "UV ({}, {}) outside the sprite changed", x, y);
        }
    }
    Ok(())
}

fn noise_frame(w: u32, h: u32, seed: u64) -> Frame420 {
    let mut s = seed | 1;
    let len = (w * h * 3 / 2) as usize;
    let data = (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect();
    Frame420::new(w, h, data).expect("even size")
}

fn solid(rgba: [u8; 4], w: usize, h: usize) -> Vec<u8> {
    rgba.repeat(w * h)
}

#[test]
fn opaque_colours_become_their_bt709_values() {
    let frame = noise_frame(16, 16, 7);
    for (rgba, yuv) in [
        ([255, 255, 255, 255], [235, 128, 128]),
        ([0, 0, 0, 255], [16, 128, 128]),
        ([255, 0, 0, 255], [63, 102, 240]),
        ([0, 255, 0, 255], [173, 42, 26]),
        ([0, 0, 255, 255], [32, 240, 118]),
    ] {
        let image = solid(rgba, 4, 4);
        let placed = Placed {
            rgba: &image,
            width: 4,
            height: 4,
            x: 6,
            y: 8,
        };
        let mut out = frame.clone();
        placed.sprite(&frame).expect("visible").blend(&mut out);
        assert_eq!(out.y()[9 * 16 + 7], yuv[0], "{rgba:?}");
        assert_eq!(out.u()[4 * 8 + 3], yuv[1], "{rgba:?}");
        assert_eq!(out.v()[4 * 8 + 3], yuv[2], "{rgba:?}");
    }
}

#[test]
fn half_transparent_white_over_black_is_mid_grey() {
    let frame = Frame420::new_black(8, 8).expect("even");
    let image = solid([255, 255, 255, 128], 8, 8);
    let placed = Placed {
        rgba: &image,
        width: 8,
        height: 8,
        x: 0,
        y: 0,
    };
    let mut out = frame.clone();
    placed.sprite(&frame).expect("visible").blend(&mut out);
    // 16·127/255 + 235·128/255 = 125.9.
    assert!(out.y().iter().all(|&v| v == 126), "{:?}", out.y());
    assert!(out.u().iter().chain(out.v()).all(|&v| v == 128));
}

#[test]
fn a_caption_band_matches_the_reference() {
    // Like export's: the full width of the frame, text somewhere in the middle.
    let frame = noise_frame(120, 80, 3);
    let (w, h) = (120usize, 30usize);
    let mut image = vec![0u8; w * h * 4];
    for y in 7..23 {
        for x in 13..101 {
            let a = if (x / 5) % 3 == 0 {
                0
            } else {
                ((x * 29 + y * 7) % 256) as u8
            };
            image[(y * w + x) * 4..(y * w + x + 1) * 4].copy_from_slice(&[250, 230, 40, a]);
        }
    }
    let placed = Placed {
        rgba: &image,
        width: w,
        height: h,
        x: 0,
        y: 45,
    };
    check_blend(&frame, &placed).expect("matches");
    let sprite = placed.sprite(&frame).expect("visible");
    // Visible x 13..101 → even 12..102; y 45 + 7..45 + 23 = 52..68.
    assert_eq!(sprite.bounds(), (12, 52, 90, 16));
    assert!(sprite.bytes() >= 90 * 16 * 3);
}

#[test]
fn nothing_visible_gives_no_sprite() {
    let clear = solid([255, 255, 255, 0], 10, 10);
    let opaque = solid([255, 255, 255, 255], 10, 10);
    let place = |rgba: &[u8], x: i32, y: i32| Sprite::from_rgba(rgba, 10, 10, x, y, 64, 48);
    assert!(place(&clear, 5, 5).is_none());
    assert!(place(&opaque, 64, 5).is_none());
    assert!(place(&opaque, -10, 5).is_none());
    assert!(place(&opaque, 5, 48).is_none());
    assert!(place(&opaque[..399], 5, 5).is_none());
    assert!(Sprite::from_rgba(&opaque, 10, 10, 5, 5, 63, 48).is_none());
    // Only the image's last column reaches into the frame.
    assert_eq!(
        place(&opaque, -9, 5).map(|s| s.bounds()),
        Some((0, 4, 2, 12))
    );
}

#[test]
fn a_sprite_on_a_frame_of_another_size_leaves_it_alone() {
    let image = solid([255, 255, 255, 255], 10, 10);
    let sprite = Sprite::from_rgba(&image, 10, 10, 50, 30, 64, 48).expect("visible");
    let mut small = noise_frame(32, 32, 9);
    let before = small.clone();
    sprite.blend(&mut small);
    assert_eq!(small, before);
}

/// An RGBA image with a mix of clear, opaque and partly transparent pixels.
fn image_strategy() -> impl Strategy<Value = (usize, usize, Vec<u8>)> {
    (1usize..40, 1usize..24).prop_flat_map(|(w, h)| {
        let pixels = prop::collection::vec((any::<[u8; 3]>(), 0u8..4, any::<u8>()), w * h);
        pixels.prop_map(move |px| {
            let rgba = px
                .into_iter()
                .flat_map(|([r, g, b], kind, a)| {
                    let a = match kind {
                        0 => 0,
                        1 => 255,
                        _ => a,
                    };
                    [r, g, b, a]
                })
                .collect();
            (w, h, rgba)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any image anywhere (partly off the frame, odd positions): within Y ±1, U/V ±2 of the
    /// reference, trimmed to the even box around what is visible, nothing else touched.
    #[test]
    fn sprites_blend_like_the_reference(
        (w, h, rgba) in image_strategy(),
        fw in 1u32..32, fh in 1u32..24,
        x in -30i64..60, y in -20i64..45,
        seed in any::<u64>(),
    ) {
        let frame = noise_frame(fw * 2, fh * 2, seed);
        check_blend(&frame, &Placed { rgba: &rgba, width: w, height: h, x, y })?;
    }
}
