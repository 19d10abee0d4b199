//! Draws caption pages (from `reelsmith_core::captions`) on a 2D canvas: the preview draws
//! them over the video, and export renders the same pages into sprites with this code, so what
//! is seen is what is exported. Text is measured by the canvas itself.

use reelsmith_core::captions::{CaptionPage, CaptionStyle, Font, TextMeasure};
use reelsmith_core::edit::Crop;

/// The 2D-context calls caption drawing makes: the page's canvas (`CanvasRenderingContext2d`)
/// and the export worker's `OffscreenCanvasRenderingContext2d` both have them.
pub trait Context2d {
    fn save(&self);
    fn restore(&self);
    fn set_font(&self, font: &str);
    fn set_text_baseline(&self, value: &str);
    fn set_line_join(&self, value: &str);
    fn set_fill_style_str(&self, value: &str);
    fn set_stroke_style_str(&self, value: &str);
    fn fill_rect(&self, x: f64, y: f64, w: f64, h: f64);
    fn set_shadow_color(&self, value: &str);
    fn set_shadow_blur(&self, value: f64);
    fn set_shadow_offset_x(&self, value: f64);
    fn set_shadow_offset_y(&self, value: f64);
    fn set_line_width(&self, value: f64);
    fn stroke_text(&self, text: &str, x: f64, y: f64);
    fn fill_text(&self, text: &str, x: f64, y: f64);
    fn text_width(&self, text: &str) -> f64;
}

macro_rules! context_2d {
    ($ty:ty) => {
        impl Context2d for $ty {
            fn save(&self) {
                <$ty>::save(self)
            }
            fn restore(&self) {
                <$ty>::restore(self)
            }
            fn set_font(&self, font: &str) {
                <$ty>::set_font(self, font)
            }
            fn set_text_baseline(&self, value: &str) {
                <$ty>::set_text_baseline(self, value)
            }
            fn set_line_join(&self, value: &str) {
                <$ty>::set_line_join(self, value)
            }
            fn set_fill_style_str(&self, value: &str) {
                <$ty>::set_fill_style_str(self, value)
            }
            fn set_stroke_style_str(&self, value: &str) {
                <$ty>::set_stroke_style_str(self, value)
            }
            fn fill_rect(&self, x: f64, y: f64, w: f64, h: f64) {
                <$ty>::fill_rect(self, x, y, w, h)
            }
            fn set_shadow_color(&self, value: &str) {
                <$ty>::set_shadow_color(self, value)
            }
            fn set_shadow_blur(&self, value: f64) {
                <$ty>::set_shadow_blur(self, value)
            }
            fn set_shadow_offset_x(&self, value: f64) {
                <$ty>::set_shadow_offset_x(self, value)
            }
            fn set_shadow_offset_y(&self, value: f64) {
                <$ty>::set_shadow_offset_y(self, value)
            }
            fn set_line_width(&self, value: f64) {
                <$ty>::set_line_width(self, value)
            }
            fn stroke_text(&self, text: &str, x: f64, y: f64) {
                let _ = <$ty>::stroke_text(self, text, x, y);
            }
            fn fill_text(&self, text: &str, x: f64, y: f64) {
                let _ = <$ty>::fill_text(self, text, x, y);
            }
            fn text_width(&self, text: &str) -> f64 {
                <$ty>::measure_text(self, text).map_or(0.0, |m| m.width())
            }
        }
    };
}

context_2d!(web_sys::CanvasRenderingContext2d);
context_2d!(web_sys::OffscreenCanvasRenderingContext2d);

/// Measures text with a canvas context's `measureText`.
pub struct CanvasMeasure<'a, C: Context2d>(pub &'a C);

impl<C: Context2d> TextMeasure for CanvasMeasure<'_, C> {
    fn width(&self, text: &str, font: &Font) -> f64 {
        self.0.set_font(&font.css());
        self.0.text_width(text)
    }
}

/// The rows a page covers when drawn in `area` (top, bottom), with room for outlines and
/// shadows: export reads back only this band.
pub fn page_rows(page: &CaptionPage, style: &CaptionStyle, area: Crop) -> (f64, f64) {
    let font = style.font_for(area.width);
    let scale = area.width / 1080.0;
    let line_height = font.size_px * 1.25;
    let centre_y = area.y + style.position_y * area.height;
    let half = page.lines.len() as f64 * line_height / 2.0;
    let shadow = style
        .shadow
        .map_or(0.0, |s| (s.blur + s.dx.abs().max(s.dy.abs())) * scale);
    let margin = font.size_px * 0.3 + style.outline_px * scale + shadow;
    (
        (centre_y - half - margin).max(area.y),
        (centre_y + half + margin).min(area.y + area.height),
    )
}

/// Draws `page` as it looks at time `t` inside `area` (the output frame's place on the
/// canvas; sizes scale with its width).
pub fn draw_page(
    ctx: &impl Context2d,
    page: &CaptionPage,
    style: &CaptionStyle,
    t: f64,
    area: Crop,
) {
    draw_page_transformed(ctx, page, style, t, area, 1.0);
}

/// [`draw_page`] under a canvas transform that scales by `transform_scale`: shadows, which
/// a canvas draws untransformed, are scaled by hand.
pub fn draw_page_transformed(
    ctx: &impl Context2d,
    page: &CaptionPage,
    style: &CaptionStyle,
    t: f64,
    area: Crop,
    transform_scale: f64,
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
                let device = scale * transform_scale;
                ctx.set_shadow_blur(shadow.blur * device);
                ctx.set_shadow_offset_x(shadow.dx * device);
                ctx.set_shadow_offset_y(shadow.dy * device);
            }
            if style.outline_px > 0.0 {
                ctx.set_line_width(style.outline_px * scale);
                ctx.set_stroke_style_str(&style.outline.css());
                ctx.stroke_text(&word.text, x, y);
                ctx.set_shadow_color("transparent");
            }
            let colour = match (style.highlight, current) {
                (Some(h), Some(at)) if at == (l, w) => h,
                _ => style.text,
            };
            ctx.set_fill_style_str(&colour.css());
            ctx.fill_text(&word.text, x, y);
            ctx.set_shadow_color("transparent");
        }
    }
    ctx.restore();
}
