//! The picture in the middle of the screen. Inside the selected clip it is the output: a canvas
//! in the clip's shape (9:16, 1:1 or 16:9) showing the crop window and the captions as the
//! export draws them, with the platforms' safe-zone guides on request. Outside a clip, or with
//! "Whole frame" on, it is the source frame with the window outlined and the rest dimmed.
//! Dragging on the output moves the picture under the window; on the whole frame, a click or
//! drag puts the window's centre there. Either way one drag is one pan key and one undo step.

use leptos::prelude::*;
use reelsmith_core::captions::{layout, page_at};
use reelsmith_core::edit::{Clip, Crop, PanKey, Project};
use reelsmith_core::export::{output_dimensions, OutputSize};
use reelsmith_core::guides::safe_area;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, VideoFrame};

use crate::blob_source::js_error_text;
use crate::caption_draw::{draw_page_transformed, CanvasMeasure};
use crate::editing::Edits;
use crate::export::panel::clip_words;

/// The output canvas's longer side is at least this many pixels (small sources are enlarged,
/// so captions are drawn as sharp as the export's); larger crops are drawn at their own size.
const OUTPUT_MIN_SIDE: f64 = 640.0;

/// How the preview shows the picture.
#[derive(Clone, Copy)]
pub struct PreviewView {
    /// The whole source frame even inside a clip.
    pub whole_frame: RwSignal<bool>,
    /// Safe-zone guides over the output.
    pub guides: RwSignal<bool>,
    /// The canvas's width over height, for the layout.
    pub ratio: RwSignal<f64>,
    /// Whether the output (not the whole frame) is on the canvas now.
    pub output: RwSignal<bool>,
    drag: StoredValue<Option<Drag>, LocalStorage>,
}

/// A drag on the output in progress.
#[derive(Clone, Copy)]
struct Drag {
    pointer: i32,
    clip: u32,
    at_secs: f64,
    from: (f64, f64),
    start_center: (f64, f64),
    begun: bool,
}

impl PreviewView {
    pub fn new() -> Self {
        Self {
            whole_frame: RwSignal::new(false),
            guides: RwSignal::new(false),
            ratio: RwSignal::new(16.0 / 9.0),
            output: RwSignal::new(false),
            drag: StoredValue::new_local(None),
        }
    }

    /// Draws `frame` shown at `t` seconds: the output of `clip` when `t` lies in it, else the
    /// whole frame. `source` is the video's size, the space crop windows are measured in.
    pub fn draw(
        &self,
        canvas: &HtmlCanvasElement,
        frame: &VideoFrame,
        project: &Project,
        clip: Option<&Clip>,
        source: (f64, f64),
        t: f64,
    ) -> Result<(), String> {
        let in_clip = clip.filter(|c| t >= c.span.start_secs && t <= c.span.end_secs);
        let output = in_clip.filter(|_| !self.whole_frame.get_untracked());
        let ctx = match output {
            Some(clip) => draw_output(canvas, frame, clip, source, t)?,
            None => {
                let ctx = draw_whole(canvas, frame)?;
                if let Some(clip) = in_clip {
                    dim_outside(&ctx, canvas, clip, source, t);
                }
                ctx
            }
        };
        if let Some(clip) = in_clip {
            let area = if output.is_some() {
                full(canvas)
            } else {
                window_on_canvas(canvas, clip, source, t)
            };
            draw_captions(&ctx, project, clip, t, area);
            if self.guides.get_untracked() {
                draw_guides(&ctx, clip, area);
            }
        }
        let ratio = f64::from(canvas.width().max(1)) / f64::from(canvas.height().max(1));
        if (self.ratio.get_untracked() - ratio).abs() > 1e-3 {
            self.ratio.set(ratio);
        }
        if self.output.get_untracked() != output.is_some() {
            self.output.set(output.is_some());
        }
        Ok(())
    }

    /// Pointer `pointer` went down on the picture at `pos` (0–1 across the canvas) at `t`
    /// seconds of a `source`-sized video. A second pointer during a drag is ignored.
    pub fn press(&self, edits: Edits, pointer: i32, source: (f64, f64), t: f64, pos: (f64, f64)) {
        if self.drag.with_value(Option::is_some) {
            return;
        }
        let Some(clip) = edits.selected_clip_untracked() else {
            return;
        };
        if t < clip.span.start_secs || t > clip.span.end_secs {
            return;
        }
        let at_secs = (t - clip.span.start_secs).max(0.0);
        let mut drag = Drag {
            pointer,
            clip: clip.id,
            at_secs,
            from: pos,
            start_center: clip.reframe.center_at(at_secs),
            begun: false,
        };
        if !self.output.get_untracked() {
            // On the whole frame the window's centre goes where the pointer is (as near as
            // the window fits, so a later ease between keys never stalls at an edge).
            if !edits.begin_gesture() {
                return;
            }
            let center = clip
                .reframe
                .dragged_center(source.0, source.1, pos, 0.0, 0.0);
            edits.during_gesture(|p| p.set_pan_key(clip.id, key(at_secs, center)));
            drag.begun = true;
        }
        // On the output the picture follows the pointer; nothing changes until it moves.
        self.drag.set_value(Some(drag));
    }

    /// Pointer `pointer` moved to `pos` with the button held.
    pub fn move_to(&self, edits: Edits, pointer: i32, source: (f64, f64), pos: (f64, f64)) {
        let Some(mut drag) = self.drag.get_value().filter(|d| d.pointer == pointer) else {
            return;
        };
        let Some(clip) = edits
            .selected_clip_untracked()
            .filter(|c| c.id == drag.clip)
        else {
            return;
        };
        let center = if self.output.get_untracked() {
            clip.reframe.dragged_center(
                source.0,
                source.1,
                drag.start_center,
                pos.0 - drag.from.0,
                pos.1 - drag.from.1,
            )
        } else {
            clip.reframe
                .dragged_center(source.0, source.1, pos, 0.0, 0.0)
        };
        if !drag.begun {
            if !edits.begin_gesture() {
                return;
            }
            drag.begun = true;
            self.drag.set_value(Some(drag));
        }
        edits.during_gesture(|p| p.set_pan_key(drag.clip, key(drag.at_secs, center)));
    }

    /// Pointer `pointer` was let go (or lost): one undo step for the whole drag.
    pub fn release(&self, edits: Edits, pointer: i32) {
        if self
            .drag
            .with_value(|d| d.is_none_or(|d| d.pointer != pointer))
        {
            return;
        }
        if let Some(drag) = self.drag.try_update_value(Option::take).flatten() {
            if drag.begun {
                edits.end_gesture();
            }
        }
    }
}

impl Default for PreviewView {
    fn default() -> Self {
        Self::new()
    }
}

fn key(at_secs: f64, (center_x, center_y): (f64, f64)) -> PanKey {
    PanKey {
        at_secs,
        center_x,
        center_y,
    }
}

fn context(canvas: &HtmlCanvasElement) -> Result<CanvasRenderingContext2d, String> {
    canvas
        .get_context("2d")
        .map_err(|e| js_error_text(&e))?
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
        .ok_or_else(|| "no 2D canvas".to_string())
}

fn resize(canvas: &HtmlCanvasElement, w: u32, h: u32) {
    if canvas.width() != w || canvas.height() != h {
        canvas.set_width(w);
        canvas.set_height(h);
    }
}

fn full(canvas: &HtmlCanvasElement) -> Crop {
    Crop {
        x: 0.0,
        y: 0.0,
        width: f64::from(canvas.width()),
        height: f64::from(canvas.height()),
    }
}

/// The whole frame over the whole canvas, the canvas sized to the frame.
pub fn draw_whole(
    canvas: &HtmlCanvasElement,
    frame: &VideoFrame,
) -> Result<CanvasRenderingContext2d, String> {
    let (w, h) = (frame.display_width(), frame.display_height());
    resize(canvas, w, h);
    let ctx = context(canvas)?;
    ctx.draw_image_with_video_frame_and_dw_and_dh(frame, 0.0, 0.0, f64::from(w), f64::from(h))
        .map_err(|e| js_error_text(&e))?;
    Ok(ctx)
}

/// The clip's crop window at `t`, alone, on a canvas of its shape.
fn draw_output(
    canvas: &HtmlCanvasElement,
    frame: &VideoFrame,
    clip: &Clip,
    source: (f64, f64),
    t: f64,
) -> Result<CanvasRenderingContext2d, String> {
    let crop = clip
        .reframe
        .crop_at(source.0, source.1, t - clip.span.start_secs);
    // The frame's display size can differ from the container's: crop in the frame's pixels.
    let fx = f64::from(frame.display_width()) / source.0;
    let fy = f64::from(frame.display_height()) / source.1;
    let enlarge = (OUTPUT_MIN_SIDE / crop.width.max(crop.height)).max(1.0);
    let w = (crop.width * enlarge).round().max(2.0);
    let h = (crop.height * enlarge).round().max(2.0);
    resize(canvas, w as u32, h as u32);
    let ctx = context(canvas)?;
    ctx.draw_image_with_video_frame_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
        frame,
        crop.x * fx,
        crop.y * fy,
        crop.width * fx,
        crop.height * fy,
        0.0,
        0.0,
        w,
        h,
    )
    .map_err(|e| js_error_text(&e))?;
    Ok(ctx)
}

/// The crop window at `t` in the whole-frame canvas's pixels.
fn window_on_canvas(canvas: &HtmlCanvasElement, clip: &Clip, source: (f64, f64), t: f64) -> Crop {
    let crop = clip
        .reframe
        .crop_at(source.0, source.1, t - clip.span.start_secs);
    let sx = f64::from(canvas.width()) / source.0;
    let sy = f64::from(canvas.height()) / source.1;
    Crop {
        x: crop.x * sx,
        y: crop.y * sy,
        width: crop.width * sx,
        height: crop.height * sy,
    }
}

/// Dims what the output will not show and outlines the window.
fn dim_outside(
    ctx: &CanvasRenderingContext2d,
    canvas: &HtmlCanvasElement,
    clip: &Clip,
    source: (f64, f64),
    t: f64,
) {
    let (w, h) = (f64::from(canvas.width()), f64::from(canvas.height()));
    let area = window_on_canvas(canvas, clip, source, t);
    ctx.set_fill_style_str("rgba(0, 0, 0, 0.55)");
    ctx.fill_rect(0.0, 0.0, area.x, h);
    ctx.fill_rect(area.x + area.width, 0.0, w - area.x - area.width, h);
    ctx.fill_rect(area.x, 0.0, area.width, area.y);
    ctx.fill_rect(
        area.x,
        area.y + area.height,
        area.width,
        h - area.y - area.height,
    );
    ctx.set_stroke_style_str("rgba(255, 255, 255, 0.85)");
    ctx.set_line_width((w / 400.0).max(1.0));
    ctx.stroke_rect(area.x, area.y, area.width, area.height);
}

/// The clip's captions at `t` inside `area`, as the export lays them out: at the 1080p
/// output's size (font sizes are whole pixels, so a layout at the canvas's own width could
/// break lines elsewhere), then scaled into `area`.
fn draw_captions(
    ctx: &CanvasRenderingContext2d,
    project: &Project,
    clip: &Clip,
    t: f64,
    area: Crop,
) {
    let Some(style) = clip.caption_style() else {
        return;
    };
    // The words the export captions, chosen by the same function.
    let words = clip_words(&project.words(), clip);
    let (width, height) = output_dimensions(clip.reframe.aspect, OutputSize::Full);
    let (width, height) = (f64::from(width), f64::from(height));
    let pages = layout(&words, &style, width, &CanvasMeasure(ctx));
    if let Some(page) = page_at(&pages, t) {
        ctx.save();
        let _ = ctx.translate(area.x, area.y);
        let scale = area.width / width;
        let _ = ctx.scale(scale, area.height / height);
        let output = Crop {
            x: 0.0,
            y: 0.0,
            width,
            height,
        };
        draw_page_transformed(ctx, page, &style, t, output, scale);
        ctx.restore();
    }
}

/// Shades the margins the platforms' buttons and text cover, and outlines the safe area.
fn draw_guides(ctx: &CanvasRenderingContext2d, clip: &Clip, area: Crop) {
    let safe = safe_area(clip.reframe.aspect).rect(area.width, area.height);
    let (x, y) = (area.x + safe.x, area.y + safe.y);
    ctx.save();
    ctx.set_fill_style_str("rgba(0, 0, 0, 0.45)");
    ctx.fill_rect(area.x, area.y, area.width, safe.y);
    ctx.fill_rect(
        area.x,
        y + safe.height,
        area.width,
        area.height - safe.y - safe.height,
    );
    ctx.fill_rect(area.x, y, safe.x, safe.height);
    ctx.fill_rect(
        x + safe.width,
        y,
        area.width - safe.x - safe.width,
        safe.height,
    );
    ctx.set_stroke_style_str("rgba(255, 255, 255, 0.9)");
    ctx.set_line_width((area.width / 300.0).max(1.0));
    let _ = ctx.set_line_dash(&js_sys::Array::of2(&8.0.into(), &6.0.into()));
    ctx.stroke_rect(x, y, safe.width, safe.height);
    ctx.restore();
}

/// On a narrow screen, where the parts are stacked, scrolls the preview to the top, so that a
/// clip picked further down is seen at once. Side by side it is always on screen already.
pub fn bring_into_view() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let stacked = window
        .match_media("(max-width: 1023px)")
        .ok()
        .flatten()
        .is_some_and(|m| m.matches());
    if let Some(stage) = stacked
        .then(|| window.document())
        .flatten()
        .and_then(|d| d.query_selector(".stage").ok().flatten())
    {
        stage.scroll_into_view();
    }
}
