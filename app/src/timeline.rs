//! The timeline across the bottom of the editor: the position bar and time, a strip of
//! thumbnails and the loudness waveform, with the selected clip's span, its cuts and the
//! playhead drawn over them. A click or a drag on the strip seeks.

use leptos::prelude::*;
use reelsmith_core::edit::Span;
use reelsmith_core::media::{clock, secs_from_micros};
use wasm_bindgen::JsCast;

use crate::editing::{Edits, SeekFn};
use crate::sound::LOUDNESS_STEP;

/// Thumbnails along the timeline.
pub const THUMBNAILS: usize = 10;

/// The timeline. `seek` shows the frame at a time in µs.
#[component]
pub fn Timeline(
    edits: Edits,
    loudness: RwSignal<Vec<f32>>,
    time_micros: RwSignal<i64>,
    duration_micros: Signal<i64>,
    thumbs: NodeRef<leptos::html::Canvas>,
    seek: SeekFn,
) -> impl IntoView {
    let waveform = NodeRef::<leptos::html::Canvas>::new();
    // The waveform is drawn again when the clip or the sound changes, not as the playhead
    // moves (that is an element of its own).
    let clip = Memo::new(move |_| edits.selected_clip().map(|c| (c.span, c.cuts)));
    Effect::new(move |_| {
        let duration = secs_from_micros(duration_micros.get());
        clip.with(|clip| {
            loudness.with(|l| {
                if let Some(canvas) = waveform.get() {
                    draw_waveform(&canvas, l, duration, clip.as_ref());
                }
            })
        });
    });
    let playhead_left = move || {
        let duration = duration_micros.get();
        let share = if duration > 0 {
            (time_micros.get() as f64 / duration as f64).clamp(0.0, 1.0)
        } else {
            0.0
        };
        format!("{:.3}%", share * 100.0)
    };
    // A press on the strip seeks there, and so does dragging with the button held.
    let seek_to = move |ev: &leptos::ev::PointerEvent| {
        let Some(el) = ev
            .current_target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
        else {
            return;
        };
        let width = f64::from(el.client_width());
        if width <= 0.0 {
            return;
        }
        let share = (ev.offset_x() / width).clamp(0.0, 1.0);
        let at = (share * duration_micros.get_untracked() as f64).round() as i64;
        seek.with_value(|seek| seek(at));
    };
    let on_seek_input = move |ev: leptos::ev::Event| {
        if let Ok(value) = event_target_value(&ev).parse::<f64>() {
            seek.with_value(|seek| seek(value as i64));
        }
    };
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
            </div>
            <div
                class="strip"
                data-testid="timeline-strip"
                title="Click or drag to move the playhead"
                on:pointerdown=move |ev| seek_to(&ev)
                on:pointermove=move |ev| {
                    if ev.buttons() & 1 == 1 {
                        seek_to(&ev);
                    }
                }
            >
                <canvas node_ref=thumbs class="thumbs" data-testid="thumbnails" width="960" height="54"
                    role="img" aria-label="Thumbnails along the video"></canvas>
                <canvas node_ref=waveform class="waveform" data-testid="waveform" width="960" height="48"
                    role="img" aria-label="Loudness along the video, with the selected clip and its cuts"></canvas>
                <div class="playhead" data-testid="playhead" style:left=playhead_left></div>
            </div>
        </section>
    }
}

/// Draws the loudness over time with the selected clip's span and cuts.
fn draw_waveform(
    canvas: &web_sys::HtmlCanvasElement,
    loudness: &[f32],
    duration: f64,
    clip: Option<&(Span, Vec<Span>)>,
) {
    let Ok(Some(ctx)) = canvas.get_context("2d") else {
        return;
    };
    let Ok(ctx) = ctx.dyn_into::<web_sys::CanvasRenderingContext2d>() else {
        return;
    };
    let (w, h) = (f64::from(canvas.width()), f64::from(canvas.height()));
    ctx.clear_rect(0.0, 0.0, w, h);
    let x_of = |secs: f64| {
        if duration > 0.0 {
            secs / duration * w
        } else {
            0.0
        }
    };
    if let Some((span, cuts)) = clip {
        ctx.set_fill_style_str("rgba(80, 140, 255, 0.30)");
        ctx.fill_rect(
            x_of(span.start_secs),
            0.0,
            x_of(span.end_secs) - x_of(span.start_secs),
            h,
        );
        ctx.set_fill_style_str("rgba(255, 80, 80, 0.55)");
        for cut in cuts {
            ctx.fill_rect(
                x_of(cut.start_secs),
                0.0,
                (x_of(cut.end_secs) - x_of(cut.start_secs)).max(1.0),
                h,
            );
        }
    }
    let peak = loudness.iter().copied().fold(1e-6, f32::max);
    let step = LOUDNESS_STEP as f64 / 16_000.0;
    ctx.set_fill_style_str("#9ab");
    for (i, v) in loudness.iter().enumerate() {
        let bar = f64::from(v / peak) * h;
        ctx.fill_rect(
            x_of(i as f64 * step),
            (h - bar) / 2.0,
            (x_of(step)).max(1.0),
            bar,
        );
    }
}
