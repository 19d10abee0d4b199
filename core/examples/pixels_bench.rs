//! Native timings of the export's pixel path per output frame (for BENCHMARKS.md):
//! `cargo run --release -p reelsmith-core --example pixels_bench`.

use std::hint::black_box;
use std::time::Instant;

use reelsmith_core::pixels::{crop_scale, CropRect, Frame420, SourceLayout, SourcePlanes, Sprite};

/// A source picture with detail everywhere (so no branch or cache shortcut flatters it).
fn source(width: u32, height: u32, layout: SourceLayout) -> (Vec<u8>, [usize; 3], [usize; 3]) {
    let (w, h) = (width as usize, height as usize);
    let (cw, ch) = (w / 2, h / 2);
    let mut data = Vec::with_capacity(w * h * 3 / 2);
    data.extend((0..w * h).map(|i| ((i % w) * 3 + (i / w) * 7) as u8));
    match layout {
        SourceLayout::I420 => {
            data.extend((0..2 * cw * ch).map(|i| (i * 5) as u8));
            (data, [0, w * h, w * h + cw * ch], [w, cw, cw])
        }
        SourceLayout::Nv12 => {
            data.extend((0..2 * cw * ch).map(|i| (i * 5) as u8));
            (data, [0, w * h, 0], [w, w, 0])
        }
    }
}

/// A caption-like RGBA band: white glyph blocks with soft edges over transparency.
fn caption(width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let mut rgba = vec![0u8; w * h * 4];
    for y in 0..h {
        for x in 0..w {
            let a = match ((x / 9) % 4, (y / 30) % 3) {
                (0, _) | (_, 2) => 0,
                (1, _) => 255,
                _ => ((x * 37 + y * 11) % 256) as u8,
            };
            rgba[(y * w + x) * 4..(y * w + x) * 4 + 4].copy_from_slice(&[255, 240, 40, a]);
        }
    }
    rgba
}

fn time_ms(runs: u32, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    for _ in 0..runs {
        f();
    }
    start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs = 100;
    let cases: [(&str, u32, u32, SourceLayout, CropRect, u32, u32); 4] = [
        (
            "crop_scale 1920×1080 I420, 607.5×1080 window → 1080×1920",
            1920,
            1080,
            SourceLayout::I420,
            CropRect {
                x: 656.25,
                y: 0.0,
                width: 607.5,
                height: 1080.0,
            },
            1080,
            1920,
        ),
        (
            "crop_scale 1920×1080 NV12, 607.5×1080 window → 1080×1920",
            1920,
            1080,
            SourceLayout::Nv12,
            CropRect {
                x: 656.25,
                y: 0.0,
                width: 607.5,
                height: 1080.0,
            },
            1080,
            1920,
        ),
        (
            "crop_scale 1920×1080 I420, 607.5×1080 window → 720×1280",
            1920,
            1080,
            SourceLayout::I420,
            CropRect {
                x: 656.25,
                y: 0.0,
                width: 607.5,
                height: 1080.0,
            },
            720,
            1280,
        ),
        (
            "crop_scale 3840×2160 I420, 1215×2160 window → 720×1280",
            3840,
            2160,
            SourceLayout::I420,
            CropRect {
                x: 1312.5,
                y: 0.0,
                width: 1215.0,
                height: 2160.0,
            },
            720,
            1280,
        ),
    ];
    for (name, sw, sh, layout, rect, dw, dh) in cases {
        let (data, offsets, strides) = source(sw, sh, layout);
        let src = SourcePlanes {
            layout,
            width: sw,
            height: sh,
            data: &data,
            offsets,
            strides,
        };
        let mut dst = Frame420::new_black(dw, dh)?;
        let mut err = None;
        let ms = time_ms(runs, || {
            if let Err(e) = crop_scale(black_box(&src), rect, &mut dst) {
                err = Some(e);
            }
            black_box(&dst);
        });
        if let Some(e) = err {
            return Err(e.into());
        }
        println!("{name}: {ms:.3} ms/frame");
    }
    let (cw, ch) = (1000, 300);
    let rgba = caption(cw, ch);
    let start = Instant::now();
    let sprite = Sprite::from_rgba(&rgba, cw, ch, 40, 1400, 1080, 1920).ok_or("no sprite")?;
    let build_ms = start.elapsed().as_secs_f64() * 1000.0;
    let mut frame = Frame420::new_black(1080, 1920)?;
    let ms = time_ms(runs * 10, || {
        sprite.blend(black_box(&mut frame));
    });
    println!(
        "Sprite::from_rgba 1000×300: {build_ms:.3} ms (once per caption state, {} bytes)",
        sprite.bytes()
    );
    println!("Sprite::blend 1000×300 onto 1080×1920: {ms:.3} ms/frame");
    Ok(())
}
