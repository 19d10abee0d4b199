//! The middle of the screen: the preview canvas (the picture, dragged to move it in the
//! clip's frame — `preview.rs` draws and tracks the drag) and the transport under it: frame
//! steps, play, sound, a new clip, "Play clip", and the whole-frame and safe-zone toggles.

use leptos::prelude::*;
use reelsmith_core::edit::Span;
use reelsmith_core::media::secs_from_micros;

use crate::editor::use_editor;

/// Length of a clip made with "New clip" (its ends move with I and O).
const NEW_CLIP_SECS: f64 = 15.0;

#[component]
pub fn Stage() -> impl IntoView {
    let editor = use_editor();
    let info = editor.info;
    let has_video = move || info.with(Option::is_some);
    let duration_secs = move || {
        secs_from_micros(info.with_untracked(|i| i.as_ref().map_or(0, |i| i.duration_micros)))
    };
    let (e1, e2, e3, e4, e5) = (
        editor.clone(),
        editor.clone(),
        editor.clone(),
        editor.clone(),
        editor.clone(),
    );
    // Dragging on the picture moves the crop window: one pan key at the playhead, one undo
    // step per drag (preview.rs).
    let pointer_at = {
        let editor = editor.clone();
        move |ev: &leptos::ev::PointerEvent| {
            let canvas = editor.canvas.get_untracked()?;
            let (w, h) = (
                f64::from(canvas.client_width()),
                f64::from(canvas.client_height()),
            );
            (w > 0.0 && h > 0.0).then(|| (ev.offset_x() / w, ev.offset_y() / h))
        }
    };
    let edits = editor.edits;
    let view = editor.view;
    let on_pan_start = {
        let editor = editor.clone();
        move |ev: leptos::ev::PointerEvent| {
            if ev.button() != 0 {
                return;
            }
            if let (Some(pos), Some(canvas), Some(size)) = (
                pointer_at(&ev),
                editor.canvas.get_untracked(),
                editor.source_size(),
            ) {
                // Keeps the drag when the pointer leaves the picture (a finger often does).
                let _ = canvas.set_pointer_capture(ev.pointer_id());
                let t = secs_from_micros(editor.time_micros.get_untracked());
                view.press(edits, ev.pointer_id(), size, t, pos);
            }
        }
    };
    let on_pan_move = {
        let editor = editor.clone();
        move |ev: leptos::ev::PointerEvent| {
            if ev.buttons() & 1 == 1 {
                if let (Some(pos), Some(size)) = (pointer_at(&ev), editor.source_size()) {
                    view.move_to(edits, ev.pointer_id(), size, pos);
                }
            }
        }
    };
    view! {
        <section class="stage" aria-label="Preview">
            <Show when=move || !has_video()>
                // A drop anywhere on the editor opens the file (the handler is on <main>).
                <div class="dropzone" data-testid="dropzone">
                    <p>"Drop a video here, or use “Open video…” above (MP4, MOV, WebM)."</p>
                    <p class="status">"It is read and transcribed in this tab; nothing is uploaded."</p>
                </div>
            </Show>
            <div class="player" class:hidden=move || !has_video()>
                // The box keeps the selected clip's shape (stacked, its height follows
                // it), so moving the playhead out of the clip does not make the page jump.
                <div class="screen" style:--box-ratio=move || {
                    let clip = editor.edits.selected_clip().filter(|_| !view.whole_frame.get());
                    clip.map_or_else(|| view.ratio.get(), |c| c.reframe.aspect.ratio()).to_string()
                }>
                    <canvas
                        node_ref=editor.canvas
                        data-testid="preview"
                        style:--ratio=move || view.ratio.get().to_string()
                        role="img"
                        aria-label=move || if view.output.get() {
                            "Preview of the clip as it will be exported; drag to move the picture in the frame"
                        } else {
                            "Preview of the whole video frame; inside a clip, click or drag to place the clip's frame"
                        }
                        data-view=move || if view.output.get() { "output" } else { "whole" }
                        on:pointerdown=on_pan_start
                        on:pointermove=on_pan_move
                        on:pointerup=move |ev| view.release(edits, ev.pointer_id())
                        on:pointercancel=move |ev| view.release(edits, ev.pointer_id())
                        on:lostpointercapture=move |ev| view.release(edits, ev.pointer_id())
                        data-frame-pts=move || editor.shown_pts.get().map(|p| p.to_string())
                        data-draws=move || editor.draws.get().to_string()
                        data-late-frames=move || editor.late_frames.get().to_string()
                        data-holds=move || editor.holds.get().to_string()
                    ></canvas>
                </div>
                <div class="controls">
                    <button data-testid="step-back" title="Previous frame (←)" aria-label="Previous frame" on:click=move |_| e1.step(-1)>"◀︎|"</button>
                    <button data-testid="play" class="primary" title="Play or pause (Space)" on:click=move |_| e2.toggle_play()>
                        {move || if editor.playing.get() { "Pause" } else { "Play" }}
                    </button>
                    <button data-testid="step-forward" title="Next frame (→)" aria-label="Next frame" on:click=move |_| e3.step(1)>"|▶︎"</button>
                    <button data-testid="mute" title="Sound on or off (M)" aria-label="Mute"
                        aria-pressed=move || editor.muted.get().to_string()
                        on:click=move |_| e5.toggle_mute()>
                        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true">
                            <path d="M3 9v6h4l5 4V5L7 9H3z" fill="currentColor" />
                            {move || if editor.muted.get() {
                                view! { <path d="M16 9l6 6M22 9l-6 6" /> }.into_any()
                            } else {
                                view! { <path d="M15.5 8.5a5 5 0 0 1 0 7M18.5 5.5a9 9 0 0 1 0 13" /> }.into_any()
                            }}
                        </svg>
                    </button>
                    <button data-testid="new-clip" title="A new clip from the playhead (15 s; move its ends with I and O)"
                        on:click=move |_| {
                            let at = secs_from_micros(editor.time_micros.get_untracked());
                            let end = (at + NEW_CLIP_SECS).min(duration_secs());
                            edits.edit(|p| {
                                let name = format!("Clip {}", p.clips.len() + 1);
                                p.add_clip(&name, Span::new(at, end), "karaoke").map(|_| ())
                            });
                        }>"New clip"</button>
                    <button data-testid="play-clip" title="Play the selected clip as it will be exported (cuts skipped)"
                        class:hidden=move || editor.edits.project.with(|p| p.selected.is_none())
                        on:click=move |_| e4.play_clip()>"Play clip"</button>
                    <span class="view-toggles" class:hidden=move || editor.edits.project.with(|p| p.selected.is_none())>
                        <button data-testid="whole-frame" aria-pressed=move || view.whole_frame.get().to_string()
                            title="Show the whole video frame with the clip's window outlined, instead of the clip as exported"
                            on:click=move |_| view.whole_frame.update(|w| *w = !*w)>"Whole frame"</button>
                        <button data-testid="safe-zones" aria-pressed=move || view.guides.get().to_string()
                            title="Shade where TikTok, Reels and Shorts put their buttons and text over the clip"
                            on:click=move |_| view.guides.update(|g| *g = !*g)>"Safe zones"</button>
                    </span>
                </div>
            </div>
        </section>
    }
}
