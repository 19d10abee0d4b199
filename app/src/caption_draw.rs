//! Draws caption pages (from `reelsmith_core::captions`) on a 2D canvas: the preview draws
//! them over the video, and export renders the same pages into sprites with this code, so what
//! is seen is what is exported. Text is measured by the canvas itself.

use reelsmith_core::captions::{CaptionPage, CaptionStyle, Font, TextMeasure};
use reelsmith_core::edit::Crop;

/// Measures text with a canvas context's `measureText`.
pub struct CanvasMeasure<'a>(pub &'a web_sys::CanvasRenderingContext2d);

impl TextMeasure for CanvasMeasure<'_> {
    fn width(&self, text: &str, font: &Font) -> f64 {
        self.0.set_font(&font.css());
        self.0.measure_text(text).map_or(0.0, |m| m.width())
    }
}

/// Draws `page` as it looks at time `t` inside `area` (the output frame's place on the
/// canvas; sizes scale with its width).
pub fn draw_page(
    ctx: &web_sys::CanvasRenderingContext2d,
    page: &CaptionPage,
    style: &CaptionStyle,
    t: f64,
    area: Crop,
) {
    let font = style.font_for(area.width);
    let scale = area.width / 1080.0;
    let line_height = font.size_px * 1.25;
    let lines = page.lines.len() as f64;
    let centre_y = area.y + style.position_y * area.height;
    let current = page.current_word(t);
    ctx.save();
    ctx.set_font(&font.css());
    ctx.set_text_baseline("middle");
    ctx.set_line_join("round");
    for (l, line) in page.lines.iter().enumerate() {
        let y = centre_y + (l as f64 - (lines - 1.0) / 2.0) * line_height;
        let left = area.x + (area.width - line.width_px) / 2.0;
        if let Some(bg) = style.background {
            let pad = font.size_px * 0.25;
            ctx.set_fill_style_str(&bg.css());
            ctx.fill_rect(
                left - pad,
                y - line_height / 2.0,
                line.width_px + 2.0 * pad,
                line_height,
            );
        }
        for (w, word) in line.words.iter().enumerate() {
            let x = left + word.x_px;
            if let Some(shadow) = style.shadow {
                ctx.set_shadow_color(&shadow.color.css());
                ctx.set_shadow_blur(shadow.blur * scale);
                ctx.set_shadow_offset_x(shadow.dx * scale);
                ctx.set_shadow_offset_y(shadow.dy * scale);
            }
            if style.outline_px > 0.0 {
                ctx.set_line_width(style.outline_px * scale);
                ctx.set_stroke_style_str(&style.outline.css());
                let _ = ctx.stroke_text(&word.text, x, y);
                ctx.set_shadow_color("transparent");
            }
            let colour = match (style.highlight, current) {
                (Some(h), Some(at)) if at == (l, w) => h,
                _ => style.text,
            };
            ctx.set_fill_style_str(&colour.css());
            let _ = ctx.fill_text(&word.text, x, y);
            ctx.set_shadow_color("transparent");
        }
    }
    ctx.restore();
}
