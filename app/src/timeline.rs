//! The timeline across the bottom of the editor: the position bar and time, a strip of
//! thumbnails and the loudness waveform, with the selected clip's span, its cuts, the pauses
//! and fillers the clean-up proposes and the playhead drawn over them. It zooms (buttons,
//! Ctrl+wheel around the pointer; the wheel scrolls) and follows the playhead. A click or a
//! drag on the strip seeks; the clip's two edges are handles dragged by mouse or finger, or
//! moved word by word with the arrow keys, and they snap to word boundaries. The arithmetic is
//! `reelsmith_core::timeline`.

use leptos::prelude::*;
use reelsmith_core::edit::Span;
use reelsmith_core::media::{clock, secs_from_micros};
use reelsmith_core::timeline::{drag_edge, step_edge, Edge, TimeView};
use wasm_bindgen::JsCast;

use crate::editing::Edits;
use crate::editor::{use_editor, use_editor_handle};
use crate::sound::LOUDNESS_STEP_SECS;

/// Thumbnails along the timeline.
pub const THUMBNAILS: usize = 10;

/// A dragged clip edge snaps to a word boundary this many pixels away or nearer.
const SNAP_PX: f64 = 10.0;
/// Each zoom button press shows this much less (or more).
const ZOOM_STEP: f64 = 2.0;

/// The timeline. `seek` shows the frame at a time in µs; `thumbs` is the full strip of
/// thumbnails the editor draws (kept off screen), bumping `thumbs_drawn` as it does.
#[component]
pub fn Timeline() -> impl IntoView {
    let seek = use_editor_handle();
    let editor = use_editor();
    let (edits, loudness, time_micros) = (
        editor.edits,
        editor.transcription.loudness,
        editor.time_micros,
    );
    let (thumbs, thumbs_drawn, info) = (editor.thumbs, editor.thumbs_drawn, editor.info);
    let duration_micros =
        Signal::derive(move || info.with(|i| i.as_ref().map_or(0, |i| i.duration_micros)));
    let waveform = NodeRef::<leptos::html::Canvas>::new();
    let film = NodeRef::<leptos::html::Canvas>::new();
    let strip = NodeRef::<leptos::html::Div>::new();
    let duration = move || secs_from_micros(duration_micros.get());
    let view = RwSignal::new(TimeView::whole(0.0));
    // A new video: show all of it.
    Effect::new(move |_| view.set(TimeView::whole(duration())));
    // The playhead stays in view as it moves (playing, stepping, seeking elsewhere).
    Effect::new(move |_| {
        let t = secs_from_micros(time_micros.get());
        let d = secs_from_micros(duration_micros.get_untracked());
        let next = view.get_untracked().following(t, d);
        if next != view.get_untracked() {
            view.set(next);
        }
    });
    // The waveform is drawn again when the view, the clip, the proposals or the sound change,
    // not as the playhead moves (that is an element of its own).
    let clip = Memo::new(move |_| edits.selected_clip().map(|c| (c.span, c.cuts)));
    Effect::new(move |_| {
        let v = view.get();
        let proposed = edits.cleanup.get().unwrap_or_default();
        let ticks: Vec<f64> = if v.secs <= 60.0 {
            edits
                .project
                .with(|p| p.words().iter().map(|w| w.start_secs).collect())
        } else {
            Vec::new()
        };
        clip.with(|clip| {
            loudness.with(|l| {
                if let Some(canvas) = waveform.get() {
                    draw_waveform(&canvas, l, v, clip.as_ref(), &proposed, &ticks);
                }
            })
        });
    });
    Effect::new(move |_| {
        let v = view.get();
        thumbs_drawn.track();
        if let (Some(canvas), Some(full)) = (film.get(), thumbs.get()) {
            draw_film(
                &canvas,
                &full,
                v,
                secs_from_micros(duration_micros.get_untracked()),
            );
        }
    });
    let at_share = move |t: f64| {
        let v = view.get();
        if v.secs > 0.0 {
            format!("{:.3}%", (t - v.start_secs) / v.secs * 100.0)
        } else {
            "0%".to_string()
        }
    };
    let playhead_left = move || at_share(secs_from_micros(time_micros.get()));
    let playhead_shown = move || {
        let t = secs_from_micros(time_micros.get());
        let v = view.get();
        t >= v.start_secs && t <= v.end_secs()
    };
    // The time under a pointer on the strip (past its ends too: a handle reaches beyond them,
    // and where it was grabbed matters).
    let secs_at = move |client_x: f64| -> Option<f64> {
        let el = strip.get_untracked()?;
        let rect = el.get_bounding_client_rect();
        if rect.width() <= 0.0 {
            return None;
        }
        Some(
            view.get_untracked()
                .secs_at(client_x - rect.left(), rect.width()),
        )
    };
    // A press on the strip seeks there, and so does dragging with the button held.
    let seek_to = move |ev: &leptos::ev::PointerEvent| {
        if let Some(t) = secs_at(ev.client_x()).map(|t| t.clamp(0.0, duration())) {
            seek.with_value(|e| e.seek((t * 1e6).round() as i64));
        }
    };
    let on_seek_input = move |ev: leptos::ev::Event| {
        if let Ok(value) = event_target_value(&ev).parse::<f64>() {
            seek.with_value(|e| e.seek(value as i64));
        }
    };
    let zoom = move |factor: f64, anchor: Option<f64>| {
        let v = view.get_untracked();
        let anchor = anchor.unwrap_or_else(|| {
            let t = secs_from_micros(time_micros.get_untracked());
            if t >= v.start_secs && t <= v.end_secs() {
                t
            } else {
                v.start_secs + v.secs / 2.0
            }
        });
        view.set(v.zoomed(factor, anchor, duration()));
    };
    let on_wheel = move |ev: leptos::ev::WheelEvent| {
        let v = view.get_untracked();
        if ev.ctrl_key() || ev.meta_key() {
            ev.prevent_default();
            zoom((-ev.delta_y() / 300.0).exp2(), secs_at(ev.client_x()));
        } else if v.secs < duration() {
            // Sideways (or Shift+wheel) scrolls through time, a strip's width per ~1000 px.
            let delta = if ev.delta_x().abs() > ev.delta_y().abs() {
                ev.delta_x()
            } else {
                ev.delta_y()
            };
            ev.prevent_default();
            view.set(v.scrolled(delta / 1000.0 * v.secs, duration()));
        }
    };
    let zoomed_in = move || view.with(|v| v.secs < duration() - 1e-6);
    view! {
        <section class="timeline" aria-label="Timeline">
            <div class="position">
                <input
                    type="range"
                    data-testid="seek"
                    aria-label="Position"
                    min="0"
                    max=move || duration_micros.get().to_string()
                    step="1"
                    prop:value=move || time_micros.get().to_string()
                    on:input=on_seek_input
                />
                <span class="time" data-testid="time" aria-live="off">
                    {move || clock(secs_from_micros(time_micros.get()))} " / "
                    {move || clock(secs_from_micros(duration_micros.get()))}
                </span>
                <span class="zoom" role="group" aria-label="Timeline zoom">
                    <button data-testid="zoom-out" aria-label="Zoom the timeline out" title="Zoom out (Ctrl+wheel)"
                        disabled=move || !zoomed_in() on:click=move |_| zoom(1.0 / ZOOM_STEP, None)>"−"</button>
                    <button data-testid="zoom-in" aria-label="Zoom the timeline in" title="Zoom in (Ctrl+wheel)"
                        disabled=move || view.with(|v| v.secs <= reelsmith_core::timeline::MIN_VISIBLE_SECS + 1e-6)
                        on:click=move |_| zoom(ZOOM_STEP, None)>"+"</button>
                    <button data-testid="zoom-fit" aria-label="Show the whole video on the timeline" title="Whole video"
                        disabled=move || !zoomed_in() on:click=move |_| view.set(TimeView::whole(duration()))>"Fit"</button>
                </span>
            </div>
            <div
                class="strip"
                node_ref=strip
                data-testid="timeline-strip"
                data-view-start=move || format!("{:.3}", view.get().start_secs)
                data-view-secs=move || format!("{:.3}", view.get().secs)
                title="Click or drag to move the playhead; Ctrl+wheel zooms"
                on:pointerdown=move |ev| seek_to(&ev)
                on:pointermove=move |ev| {
                    if ev.buttons() & 1 == 1 {
                        seek_to(&ev);
                    }
                }
                on:wheel=on_wheel
            >
                <canvas node_ref=thumbs class="thumbs-store" data-testid="thumbnails" width="960" height="54" aria-hidden="true"></canvas>
                <canvas node_ref=film class="thumbs" width="960" height="54"
                    role="img" aria-label="Thumbnails along the video"></canvas>
                <canvas node_ref=waveform class="waveform" data-testid="waveform" width="960" height="48"
                    role="img" aria-label="Loudness along the video, with the selected clip, its cuts and the pauses to remove"></canvas>
                <EdgeHandle edge=Edge::In edits=edits view=view at_share=at_share secs_at=secs_at duration=duration />
                <EdgeHandle edge=Edge::Out edits=edits view=view at_share=at_share secs_at=secs_at duration=duration />
                <div class="playhead" data-testid="playhead" class:hidden=move || !playhead_shown() style:left=playhead_left></div>
            </div>
        </section>
    }
}

/// One end of the selected clip on the strip: dragged by mouse or finger (snapping to word
/// boundaries), or moved word by word with ←/→ (Shift: a tenth of a second). One drag is one
/// undo step; the picture follows the edge.
#[component]
fn EdgeHandle(
    edge: Edge,
    edits: Edits,
    view: RwSignal<TimeView>,
    at_share: impl Fn(f64) -> String + Copy + Send + Sync + 'static,
    secs_at: impl Fn(f64) -> Option<f64> + Copy + Send + Sync + 'static,
    duration: impl Fn() -> f64 + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let edge_of = move |c: reelsmith_core::edit::Clip| match edge {
        Edge::In => c.span.start_secs,
        Edge::Out => c.span.end_secs,
    };
    let at = move || edits.selected_clip().map(edge_of);
    // For handlers: not a dependency of anything.
    let at_now = move || edits.selected_clip_untracked().map(edge_of);
    // The pointer dragging this edge, if one is, and how far (s) it grabbed from the edge:
    // the edge keeps that distance, so grabbing the handle does not move it.
    let dragging = StoredValue::new(None::<(i32, f64)>);
    let seek = use_editor_handle();
    let show = move |t: f64| seek.with_value(|e| e.seek((t * 1e6).round() as i64));
    // Moves the edge to `t` (snapped within `tolerance` seconds); inside a drag, no undo step.
    let move_to = move |t: f64, tolerance: f64, gesture: bool| {
        let Some(clip) = edits.selected_clip_untracked() else {
            return;
        };
        let span = edits
            .project
            .with_untracked(|p| drag_edge(clip.span, edge, t, &p.words(), tolerance, duration()));
        if span == clip.span {
            return;
        }
        if gesture {
            // From the clip as the drag found it: cuts passed over and back are kept.
            edits.during_gesture_from_start(|p| p.trim(clip.id, span));
        } else {
            edits.edit(|p| p.trim(clip.id, span));
        }
        show(match edge {
            Edge::In => span.start_secs,
            Edge::Out => span.end_secs,
        });
    };
    let on_down = move |ev: leptos::ev::PointerEvent| {
        ev.stop_propagation();
        let (Some(edge_at), Some(grabbed)) = (at_now(), secs_at(ev.client_x())) else {
            return;
        };
        if ev.button() != 0 || dragging.get_value().is_some() || !edits.begin_gesture() {
            return;
        }
        if let Some(el) = ev
            .current_target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        {
            let _ = el.set_pointer_capture(ev.pointer_id());
        }
        dragging.set_value(Some((ev.pointer_id(), grabbed - edge_at)));
    };
    let on_move = move |ev: leptos::ev::PointerEvent| {
        ev.stop_propagation();
        let Some((_, offset)) = dragging.get_value().filter(|d| d.0 == ev.pointer_id()) else {
            return;
        };
        let Some(strip_width) = ev
            .current_target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|el| el.parent_element())
            .map(|p| p.get_bounding_client_rect().width())
            .filter(|w| *w > 0.0)
        else {
            return;
        };
        if let Some(t) = secs_at(ev.client_x()) {
            let tolerance = SNAP_PX / strip_width * view.get_untracked().secs;
            move_to(t - offset, tolerance, true);
        }
    };
    let on_up = move |ev: leptos::ev::PointerEvent| {
        if dragging.get_value().is_some_and(|d| d.0 == ev.pointer_id()) {
            dragging.set_value(None);
            edits.end_gesture();
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let forward = match ev.key().as_str() {
            "ArrowRight" => true,
            "ArrowLeft" => false,
            _ => return,
        };
        ev.prevent_default();
        ev.stop_propagation();
        let Some(now) = at_now() else {
            return;
        };
        let next = if ev.shift_key() {
            Some(now + if forward { 0.1 } else { -0.1 })
        } else {
            edits
                .project
                .with_untracked(|p| step_edge(now, edge, &p.words(), forward))
        };
        if let Some(t) = next {
            move_to(t, 0.0, false);
        }
    };
    let (name, class, testid) = match edge {
        Edge::In => ("Clip start", "edge in", "edge-in"),
        Edge::Out => ("Clip end", "edge out", "edge-out"),
    };
    let shown = move || {
        at().is_some_and(|t| view.with(|v| t >= v.start_secs - 1e-6 && t <= v.end_secs() + 1e-6))
    };
    view! {
        <div
            class=class
            class:hidden=move || !shown()
            data-testid=testid
            role="slider"
            tabindex="0"
            aria-label=name
            aria-valuemin="0"
            aria-valuemax=move || format!("{:.2}", duration())
            aria-valuenow=move || at().map(|t| format!("{t:.2}"))
            aria-valuetext=move || at().map(clock)
            title=format!("{name}: drag (snaps to words), or ←/→ word by word")
            style:left=move || at().map(at_share)
            on:pointerdown=on_down
            on:pointermove=on_move
            on:pointerup=on_up
            on:pointercancel=on_up
            on:lostpointercapture=on_up
            on:keydown=on_key
        ></div>
    }
}

/// Copies the strip of thumbnails onto the timeline for the stretch shown: each thumbnail
/// covers its share of the video, repeated at its own shape across it when zoomed in.
fn draw_film(
    canvas: &web_sys::HtmlCanvasElement,
    full: &web_sys::HtmlCanvasElement,
    view: TimeView,
    duration: f64,
) {
    let Some((ctx, w, h)) = cleared(canvas) else {
        return;
    };
    if duration <= 0.0 || view.secs <= 0.0 {
        return;
    }
    let cell_w = f64::from(full.width()) / THUMBNAILS as f64;
    let cell_h = f64::from(full.height());
    // A tile as wide as the thumbnail's shape on screen: the page stretches the canvas, so
    // its pixels are not square.
    let (shown_w, shown_h) = (
        f64::from(canvas.client_width()),
        f64::from(canvas.client_height()),
    );
    let tile = if shown_w > 0.0 && shown_h > 0.0 {
        shown_h * cell_w / cell_h * w / shown_w
    } else {
        cell_w * h / cell_h
    };
    for i in 0..THUMBNAILS {
        let start = view.x_of(duration * i as f64 / THUMBNAILS as f64, w);
        let end = view.x_of(duration * (i + 1) as f64 / THUMBNAILS as f64, w);
        if end <= 0.0 || start >= w {
            continue;
        }
        if end - start <= tile * 1.5 {
            let _ = ctx
                .draw_image_with_html_canvas_element_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
                    full,
                    i as f64 * cell_w,
                    0.0,
                    cell_w,
                    cell_h,
                    start,
                    0.0,
                    end - start,
                    h,
                );
            continue;
        }
        // Tiles from the cell's own start, so they scroll with the picture; the last one cut.
        let to = end.min(w);
        let mut x = start + (-start / tile).floor().max(0.0) * tile;
        while x < to {
            let width = tile.min(end - x);
            let _ = ctx
                .draw_image_with_html_canvas_element_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
                    full,
                    i as f64 * cell_w,
                    0.0,
                    cell_w * width / tile,
                    cell_h,
                    x,
                    0.0,
                    width,
                    h,
                );
            x += tile;
        }
    }
}

/// Draws the loudness over the stretch shown, with the selected clip's span and cuts, the
/// pauses and fillers the clean-up proposes, and (zoomed in) a tick at each word.
fn draw_waveform(
    canvas: &web_sys::HtmlCanvasElement,
    loudness: &[f32],
    view: TimeView,
    clip: Option<&(Span, Vec<Span>)>,
    proposed: &[Span],
    ticks: &[f64],
) {
    let Some((ctx, w, h)) = cleared(canvas) else {
        return;
    };
    let x_of = |secs: f64| view.x_of(secs, w);
    let band = |span: &Span, min: f64| {
        ctx.fill_rect(
            x_of(span.start_secs),
            0.0,
            (x_of(span.end_secs) - x_of(span.start_secs)).max(min),
            h,
        );
    };
    if let Some((span, cuts)) = clip {
        ctx.set_fill_style_str("rgba(80, 140, 255, 0.30)");
        band(span, 0.0);
        ctx.set_fill_style_str("rgba(255, 80, 80, 0.55)");
        for cut in cuts {
            band(cut, 1.0);
        }
    }
    ctx.set_fill_style_str("rgba(255, 204, 102, 0.55)");
    for span in proposed {
        band(span, 1.0);
    }
    let peak = loudness.iter().copied().fold(1e-6, f32::max);
    let step = LOUDNESS_STEP_SECS;
    let first = ((view.start_secs / step).floor().max(0.0)) as usize;
    let last = ((view.end_secs() / step).ceil() as usize + 1).min(loudness.len());
    ctx.set_fill_style_str("#9ab");
    for (i, v) in loudness.iter().enumerate().take(last).skip(first) {
        let bar = f64::from(v / peak) * h;
        ctx.fill_rect(
            x_of(i as f64 * step),
            (h - bar) / 2.0,
            (x_of(step) - x_of(0.0)).max(1.0),
            bar,
        );
    }
    ctx.set_fill_style_str("rgba(255, 255, 255, 0.5)");
    for &t in ticks {
        let x = x_of(t);
        if (0.0..=w).contains(&x) {
            ctx.fill_rect(x, h - 6.0, 1.0, 6.0);
        }
    }
}

/// The canvas's 2D context, the canvas cleared, and its size.
fn cleared(
    canvas: &web_sys::HtmlCanvasElement,
) -> Option<(web_sys::CanvasRenderingContext2d, f64, f64)> {
    let ctx = canvas
        .get_context("2d")
        .ok()
        .flatten()?
        .dyn_into::<web_sys::CanvasRenderingContext2d>()
        .ok()?;
    let (w, h) = (f64::from(canvas.width()), f64::from(canvas.height()));
    ctx.clear_rect(0.0, 0.0, w, h);
    Some((ctx, w, h))
}
