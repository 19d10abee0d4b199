//! The Reelsmith editor UI (Leptos, client-side rendered). It opens a video, shows what it
//! holds, plays and scrubs it frame-exactly, and transcribes its sound track in the tab
//! (transcript panel with the spoken word highlighted; settings panel for the model). State
//! lives in signals; the non-reactive handles (player, worker, playback generation,
//! transcription job) sit in [`Editor`].

pub mod blob_source;
pub mod caption_draw;
pub mod editing;
pub mod embed;
pub mod export;
pub mod local_data;
pub mod model_store;
pub mod player;
pub mod preview;
pub mod project_store;
pub mod projects;
pub mod publish;
pub mod sound;
pub mod timeline;
pub mod transcriber;
pub mod transcript_panel;
pub mod worker_client;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use reelsmith_core::media::{secs_from_micros, MediaInfo};
use reelsmith_core::protocol::{RequestBody, ResponseBody};
use wasm_bindgen::JsCast;

use editing::{ClipsPanel, Edits, RestoreBanner, SuggestionsPanel};
use reelsmith_core::edit::{SourceRef, Span};
use reelsmith_core::transcript::{Transcript, WindowSpan};
use transcriber::{Job, Phase, Settings, TranscriptState};

use player::{frame_micros, Player};
use preview::PreviewView;
use timeline::THUMBNAILS;
use worker_client::WorkerClient;

/// Asks the browser to load the bundled caption fonts now, so the first captions drawn on a
/// canvas use them (canvas text does not wait for a font).
fn load_caption_fonts() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(fonts) = js_sys::Reflect::get(&document, &"fonts".into()) else {
        return;
    };
    let Ok(load) = js_sys::Reflect::get(&fonts, &"load".into()) else {
        return;
    };
    let Ok(load) = load.dyn_into::<js_sys::Function>() else {
        return;
    };
    for font in ["16px Anton", "16px Inter", "bold 16px Inter"] {
        let _ = load.call1(&fonts, &font.into());
    }
}

/// Length of a clip made with "New clip" (its ends move with I and O).
const NEW_CLIP_SECS: f64 = 15.0;

/// Mounts the editor on the page's body.
pub fn start() {
    console_error_panic_hook::set_once();
    load_caption_fonts();
    // A deletion of the browser's data asked for before a reload runs before the editor.
    local_data::start(|| leptos::mount::mount_to_body(App));
}

/// Handles and signals shared by the editor's event handlers.
#[derive(Clone)]
pub struct Editor {
    player: Rc<RefCell<Option<Rc<Player>>>>,
    /// Bumped to stop playback and to discard stale opens.
    generation: Rc<Cell<u64>>,
    seek_pending: Rc<Cell<Option<i64>>>,
    seek_busy: Rc<Cell<bool>>,
    canvas: NodeRef<leptos::html::Canvas>,
    thumbs: NodeRef<leptos::html::Canvas>,
    /// Bumped as each thumbnail lands in `thumbs`.
    thumbs_drawn: RwSignal<u64>,
    info: RwSignal<Option<MediaInfo>>,
    error: RwSignal<Option<String>>,
    file_name: RwSignal<String>,
    /// The file being opened, while it is.
    opening: RwSignal<Option<String>>,
    /// Bumped by each open, so that only the newest one lands.
    opens: Rc<Cell<u64>>,
    /// Files opened successfully so far (the widget answers an open on it).
    opened: RwSignal<u64>,
    playing: RwSignal<bool>,
    time_micros: RwSignal<i64>,
    shown_pts: RwSignal<Option<i64>>,
    /// Pictures drawn so far (redraws after edits included; tests wait on it).
    draws: RwSignal<u64>,
    /// Frames playback showed late so far (the benchmark reads it).
    late_frames: RwSignal<u32>,
    view: PreviewView,
    settings: Settings,
    transcription: TranscriptState,
    job: Rc<RefCell<Option<Rc<Job>>>>,
    edits: Edits,
}

impl Editor {
    fn new() -> Self {
        Self {
            player: Rc::default(),
            generation: Rc::default(),
            seek_pending: Rc::default(),
            seek_busy: Rc::default(),
            canvas: NodeRef::new(),
            thumbs: NodeRef::new(),
            thumbs_drawn: RwSignal::new(0),
            info: RwSignal::new(None),
            error: RwSignal::new(None),
            file_name: RwSignal::new(String::new()),
            opening: RwSignal::new(None),
            opens: Rc::default(),
            opened: RwSignal::new(0),
            playing: RwSignal::new(false),
            time_micros: RwSignal::new(0),
            shown_pts: RwSignal::new(None),
            draws: RwSignal::new(0),
            late_frames: RwSignal::new(0),
            view: PreviewView::new(),
            settings: Settings::from_page(),
            transcription: TranscriptState::new(),
            job: Rc::default(),
            edits: Edits::new(),
        }
    }

    /// Transcribes the open video's sound track (cancelling any transcription running).
    fn transcribe(&self) {
        self.cancel_transcription();
        let Some(player) = self.player.borrow().clone() else {
            return;
        };
        let job = Job::new(self.settings.clone(), self.transcription);
        self.job.replace(Some(Rc::clone(&job)));
        spawn_local(job.run(player));
    }

    fn cancel_transcription(&self) {
        if let Some(job) = self.job.take() {
            job.cancel();
        }
    }

    fn stop(&self) {
        self.generation.set(self.generation.get() + 1);
        self.playing.set(false);
    }

    /// Opens a picked file. Until it is known to be a video this browser can play, nothing of
    /// what is open changes: a failed open leaves the video, its transcript and the project
    /// as they were.
    fn open(&self, file: web_sys::File) {
        self.opens.set(self.opens.get() + 1);
        let my_open = self.opens.get();
        let name = file.name();
        let source = SourceRef {
            name: name.clone(),
            bytes: file.size() as u64,
            last_modified_ms: file.last_modified(),
            fingerprint: None,
        };
        self.opening.set(Some(name.clone()));
        self.error.set(None);
        let editor = self.clone();
        spawn_local(async move {
            // A digest of the file's ends recognises it when its project is reopened.
            let source = SourceRef {
                fingerprint: projects::fingerprint(&file).await.ok(),
                ..source
            };
            let opened = Player::open(file.into()).await;
            if editor.opens.get() != my_open {
                return; // another file was picked meanwhile
            }
            editor.opening.set(None);
            let player = match opened {
                Ok(player) => player,
                Err(message) => {
                    let kept = if editor.info.with_untracked(Option::is_some) {
                        " What was open is unchanged."
                    } else {
                        ""
                    };
                    editor
                        .error
                        .set(Some(format!("Could not open “{name}”: {message}{kept}")));
                    return;
                }
            };
            // The new video replaces the old one from here on.
            editor.stop();
            editor.cancel_transcription();
            editor.transcription.phase.set(Phase::Idle);
            editor
                .transcription
                .transcript
                .set(reelsmith_core::transcript::Transcript::new());
            editor.shown_pts.set(None);
            editor.file_name.set(name);
            editor.info.set(Some(player.info().clone()));
            let duration = player.info().duration_secs();
            editor.player.replace(Some(Rc::new(player)));
            editor.opened.update(|n| *n += 1);
            editor.seek(0);
            if let Some(strip) = editor.thumbs.get_untracked() {
                editor.draw_thumbnails(strip);
            }
            if editor.edits.start(source, duration) && editor.resume_transcript() {
                return; // the saved project already has this video's transcript
            }
            editor.transcribe();
        });
    }

    fn duration_micros(&self) -> i64 {
        self.info
            .with_untracked(|i| i.as_ref().map_or(0, |i| i.duration_micros))
    }

    fn frame_micros(&self) -> i64 {
        self.info
            .with_untracked(|i| i.as_ref().map_or(40_000, frame_micros))
    }

    /// Shows the frame at `at_micros`. While a seek decodes, newer requests replace older ones.
    fn seek(&self, at_micros: i64) {
        self.stop();
        let last = (self.duration_micros() - self.frame_micros()).max(0);
        let at = at_micros.clamp(0, last);
        self.time_micros.set(at);
        self.seek_pending.set(Some(at));
        if self.seek_busy.replace(true) {
            return;
        }
        let editor = self.clone();
        spawn_local(async move {
            while let Some(at) = editor.seek_pending.take() {
                let Some(player) = editor.player.borrow().clone() else {
                    break;
                };
                match player.frame_at(at).await {
                    Ok(shown) => editor.show(&shown),
                    Err(message) => editor.error.set(Some(message)),
                }
            }
            editor.seek_busy.set(false);
        });
    }

    /// Shows a restored project's transcript instead of transcribing again.
    fn resume_transcript(&self) -> bool {
        let segments = self.edits.project.with_untracked(|p| p.transcript.clone());
        if segments.is_empty() {
            return false;
        }
        let mut transcript = Transcript::new();
        let end = self.duration_micros() as f64 / 1e6;
        transcript.insert(
            WindowSpan {
                index: 0,
                start_secs: 0.0,
                end_secs: end,
            },
            segments,
        );
        self.transcription.transcript.set(transcript);
        self.transcription.total_secs.set(end);
        self.transcription.phase.set(Phase::Done);
        true
    }

    /// Redraws the current frame with the crop window and captions of the selected clip.
    fn redraw(&self) {
        if !self.playing.get_untracked() {
            self.seek(self.time_micros.get_untracked());
        }
    }

    fn show(&self, shown: &player::ShownFrame) {
        if let Some(canvas) = self.canvas.get_untracked() {
            // The playhead, when it lies within the frame shown (a clip starting part-way
            // through a frame shows its crop and captions on it).
            let playhead = self.time_micros.get_untracked();
            let frame = shown.pts_micros..shown.pts_micros + self.frame_micros();
            let at = if frame.contains(&playhead) {
                playhead
            } else {
                shown.pts_micros
            };
            let size = self.source_size().unwrap_or((
                f64::from(shown.frame.display_width()),
                f64::from(shown.frame.display_height()),
            ));
            let clip = self.edits.selected_clip_untracked();
            let drawn = self.edits.project.with_untracked(|p| {
                self.view.draw(
                    &canvas,
                    &shown.frame,
                    p,
                    clip.as_ref(),
                    size,
                    secs_from_micros(at),
                )
            });
            if let Err(message) = drawn {
                self.error
                    .set(Some(format!("The picture could not be drawn: {message}")));
            }
        }
        self.shown_pts.set(Some(shown.pts_micros));
        self.draws.update(|n| *n += 1);
    }

    /// The video's size in pixels, the space crop windows are measured in.
    fn source_size(&self) -> Option<(f64, f64)> {
        self.info.with_untracked(|i| {
            i.as_ref()
                .and_then(|i| i.video.as_ref())
                .map(|v| (f64::from(v.width), f64::from(v.height)))
        })
    }

    fn toggle_play(&self) {
        if self.playing.get_untracked() {
            self.stop();
            return;
        }
        let Some(player) = self.player.borrow().clone() else {
            return;
        };
        self.stop();
        let my_generation = self.generation.get();
        let mut from = self.time_micros.get_untracked();
        if from >= self.duration_micros() - self.frame_micros() {
            from = 0; // at the end: play again from the start
        }
        self.playing.set(true);
        let editor = self.clone();
        spawn_local(async move {
            let result = player
                .play(from, editor.generation.clone(), |shown| {
                    editor.show(&shown);
                    editor.time_micros.set(shown.pts_micros);
                })
                .await;
            if editor.generation.get() == my_generation {
                editor.playing.set(false);
            }
            match result {
                Ok(played) => editor.late_frames.update(|n| *n += played.late_frames),
                Err(message) => editor.error.set(Some(message)),
            }
        });
    }

    /// Plays the selected clip as it will be exported: its kept stretches one after another,
    /// jumping over cuts, stopping at its out point.
    fn play_clip(&self) {
        if let Some(clip) = self.edits.selected_clip_untracked() {
            self.play_spans(clip.kept());
        }
    }

    /// Plays stretches of the source one after another and stops on the last frame of the
    /// last one.
    fn play_spans(&self, spans: Vec<Span>) {
        let Some(player) = self.player.borrow().clone() else {
            return;
        };
        self.stop();
        self.playing.set(true);
        let editor = self.clone();
        spawn_local(async move {
            for span in spans {
                let my_generation = editor.generation.get();
                let end = (span.end_secs * 1e6).round() as i64;
                let reached_end = Rc::new(Cell::new(false));
                let flag = Rc::clone(&reached_end);
                let generation = Rc::clone(&editor.generation);
                let result = player
                    .play(
                        (span.start_secs * 1e6).round() as i64,
                        Rc::clone(&editor.generation),
                        |shown| {
                            if shown.pts_micros >= end {
                                // This stretch is over: stop here and go on with the next.
                                flag.set(true);
                                generation.set(generation.get() + 1);
                                return;
                            }
                            editor.show(&shown);
                            editor.time_micros.set(shown.pts_micros);
                        },
                    )
                    .await;
                match result {
                    Ok(played) => editor.late_frames.update(|n| *n += played.late_frames),
                    Err(message) => {
                        editor.error.set(Some(message));
                        break;
                    }
                }
                if !reached_end.get() && editor.generation.get() != my_generation {
                    return; // stopped by the user
                }
                if !reached_end.get() {
                    break; // the video ended
                }
            }
            editor.playing.set(false);
        });
    }

    /// Draws a strip of thumbnails along the timeline (frames decoded at even intervals).
    fn draw_thumbnails(&self, canvas: web_sys::HtmlCanvasElement) {
        let Some(player) = self.player.borrow().clone() else {
            return;
        };
        let editor = self.clone();
        spawn_local(async move {
            let Ok(Some(ctx)) = canvas.get_context("2d") else {
                return;
            };
            let Ok(ctx) = ctx.dyn_into::<web_sys::CanvasRenderingContext2d>() else {
                return;
            };
            let duration = editor.duration_micros();
            let (w, h) = (f64::from(canvas.width()), f64::from(canvas.height()));
            ctx.clear_rect(0.0, 0.0, w, h);
            let cell = w / THUMBNAILS as f64;
            for i in 0..THUMBNAILS {
                let at = duration * (2 * i as i64 + 1) / (2 * THUMBNAILS as i64);
                let Ok(shown) = player.frame_at(at).await else {
                    return;
                };
                if editor
                    .player
                    .borrow()
                    .as_ref()
                    .is_none_or(|p| !Rc::ptr_eq(p, &player))
                {
                    return; // another file was opened meanwhile
                }
                let _ = ctx.draw_image_with_video_frame_and_dw_and_dh(
                    &shown.frame,
                    i as f64 * cell,
                    0.0,
                    cell,
                    h,
                );
                editor.thumbs_drawn.update(|n| *n += 1);
            }
            let _ = canvas.set_attribute("data-drawn", "true");
            editor.edits.library.take_thumbnail(&canvas, THUMBNAILS);
        });
    }

    fn step(&self, frames: i64) {
        let from = self
            .shown_pts
            .get_untracked()
            .unwrap_or(self.time_micros.get_untracked());
        self.seek(from + frames * self.frame_micros());
    }
}

fn first_file(files: Option<web_sys::FileList>) -> Option<web_sys::File> {
    files.and_then(|f| f.get(0))
}

#[component]
fn App() -> impl IntoView {
    let editor = Editor::new();
    let worker_status = RwSignal::new("starting…".to_string());
    // The status worker only answers hello (it shows the worker builds and runs); it is
    // terminated once it has, so its wasm does not stay in memory beside the page.
    start_worker(worker_status);
    // web-sys has no binding for crossOriginIsolated.
    let isolated = js_sys::Reflect::get(&js_sys::global(), &"crossOriginIsolated".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);

    let on_pick = {
        let editor = editor.clone();
        move |ev: leptos::ev::Event| {
            let input: Option<web_sys::HtmlInputElement> =
                ev.target().and_then(|t| t.dyn_into().ok());
            if let Some(file) = first_file(input.as_ref().and_then(|i| i.files())) {
                editor.open(file);
            }
            // Picking the same file again must open it again.
            if let Some(input) = input {
                input.set_value("");
            }
        }
    };
    let on_drop = {
        let editor = editor.clone();
        move |ev: leptos::ev::DragEvent| {
            ev.prevent_default();
            if let Some(file) = first_file(ev.data_transfer().and_then(|d| d.files())) {
                editor.open(file);
            }
        }
    };
    let shortcuts_open = RwSignal::new(false);
    // The editor is the page: its key handler and worker live as long as it does.
    let _keys = {
        let editor = editor.clone();
        window_event_listener(leptos::ev::keydown, move |ev| {
            let target = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok());
            let on_field = target.as_ref().is_some_and(|el| {
                matches!(
                    el.tag_name().as_str(),
                    "BUTTON" | "INPUT" | "SELECT" | "TEXTAREA"
                )
            });
            // Typing: the field's own undo and keys, not the editor's.
            let on_text = target.as_ref().is_some_and(|el| {
                el.tag_name() == "TEXTAREA"
                    || el
                        .dyn_ref::<web_sys::HtmlInputElement>()
                        .is_some_and(|i| matches!(i.type_().as_str(), "text" | "number" | "search"))
            });
            // The transcript's words move with the arrows themselves.
            let on_word = target
                .as_ref()
                .is_some_and(|el| el.class_list().contains("word"));
            let modified = ev.ctrl_key() || ev.meta_key() || ev.alt_key();
            match ev.key().as_str() {
                "Escape" => shortcuts_open.set(false),
                " " if !on_field => {
                    ev.prevent_default();
                    editor.toggle_play();
                }
                "ArrowLeft" if !on_field && !on_word => editor.step(-1),
                "ArrowRight" if !on_field && !on_word => editor.step(1),
                "z" | "Z" if (ev.ctrl_key() || ev.meta_key()) && !on_text => {
                    ev.prevent_default();
                    if ev.shift_key() {
                        editor.edits.redo();
                    } else {
                        editor.edits.undo();
                    }
                }
                "?" if !on_text => shortcuts_open.update(|o| *o = !*o),
                _ if on_field || modified => {}
                "j" => editor.seek(editor.time_micros.get_untracked() - 2_000_000),
                "k" => editor.stop(),
                "l" if !editor.playing.get_untracked() => editor.toggle_play(),
                "i" => editor
                    .edits
                    .mark(true, secs_from_micros(editor.time_micros.get_untracked())),
                "o" => editor
                    .edits
                    .mark(false, secs_from_micros(editor.time_micros.get_untracked())),
                "Delete" | "Backspace" => editor.edits.cut_selection(),
                _ => {}
            }
        })
    };
    load_model_info(editor.settings.model.clone(), editor.transcription);
    // A finished transcript becomes part of the project.
    {
        let (state, edits) = (editor.transcription, editor.edits);
        Effect::new(move |_| {
            if state.phase.get() == Phase::Done
                && edits.project.with_untracked(|p| p.transcript.is_empty())
            {
                let segments: Vec<_> = state
                    .transcript
                    .with_untracked(|t| t.segments().cloned().collect());
                edits.set_transcript(segments);
            }
        });
    }
    // Any edit redraws the paused picture (crop window, captions).
    {
        let redrawer = StoredValue::new_local(editor.clone());
        let project = editor.edits.project;
        let view = editor.view;
        Effect::new(move |previous: Option<()>| {
            project.track();
            view.whole_frame.track();
            view.guides.track();
            if previous.is_some() {
                redrawer.with_value(Editor::redraw);
            }
        });
    }
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
    let on_import = {
        let editor = editor.clone();
        move |ev: leptos::ev::Event| {
            let input: Option<web_sys::HtmlInputElement> =
                ev.target().and_then(|t| t.dyn_into().ok());
            let Some(file) = first_file(input.as_ref().and_then(|i| i.files())) else {
                return;
            };
            let edits = editor.edits;
            spawn_local(async move {
                match editing::import_project(file).await {
                    // A new project when its video is picked, never a listed one.
                    Ok(project) => edits.restorable.set(Some((None, project))),
                    Err(message) => edits.message.set(Some(message)),
                }
            });
        }
    };

    let e = editor.clone();
    let has_video = move || e.info.with(Option::is_some);
    let (e1, e2, e3, e4) = (
        editor.clone(),
        editor.clone(),
        editor.clone(),
        editor.clone(),
    );
    let info = editor.info;
    let duration =
        Signal::derive(move || info.with(|i| i.as_ref().map_or(0, |i| i.duration_micros)));
    let exported = RwSignal::new_local(None::<publish::Exported>);
    let published = RwSignal::new(None::<String>);
    let export_failed = RwSignal::new(None::<String>);
    embed::connect(&editor, exported, published, export_failed);
    let duration_secs = move || {
        secs_from_micros(info.with_untracked(|i| i.as_ref().map_or(0, |i| i.duration_micros)))
    };
    let seek: editing::SeekFn = StoredValue::new_local(Box::new({
        let editor = editor.clone();
        move |at| editor.seek(at)
    }));
    let open_file: projects::OpenFn = StoredValue::new_local(Box::new({
        let editor = editor.clone();
        move |file| editor.open(file)
    }));
    let preview: editing::PlayFn = StoredValue::new_local(Box::new({
        let editor = editor.clone();
        move |spans| editor.play_spans(spans)
    }));

    view! {
        <header class="topbar">
            <h1>"Reelsmith"</h1>
            <label class="button open-file" title="Open a video (MP4, MOV, WebM)">
                <input
                    type="file"
                    class="visually-hidden"
                    data-testid="file-input"
                    accept="video/mp4,video/quicktime,video/webm,.mp4,.mov,.m4v,.webm,.mkv"
                    on:change=on_pick
                />
                "Open video…"
            </label>
            <span class="file-name" data-testid="file-name">{move || editor.file_name.get()}</span>
            <div class="history" role="group" aria-label="Undo and redo">
                <button
                    data-testid="undo"
                    disabled=move || edits.undo_label.with(Option::is_none)
                    title=move || edits.undo_label.get().map_or("Nothing to undo".to_string(), |l| format!("Undo: {l} (Ctrl+Z)"))
                    aria-label=move || edits.undo_label.get().map_or("Undo".to_string(), |l| format!("Undo: {l}"))
                    on:click=move |_| edits.undo()
                >"↶ Undo"</button>
                <button
                    data-testid="redo"
                    disabled=move || edits.redo_label.with(Option::is_none)
                    title=move || edits.redo_label.get().map_or("Nothing to redo".to_string(), |l| format!("Redo: {l} (Ctrl+Shift+Z)"))
                    aria-label=move || edits.redo_label.get().map_or("Redo".to_string(), |l| format!("Redo: {l}"))
                    on:click=move |_| edits.redo()
                >"↷ Redo"</button>
            </div>
            <button class="shortcuts-button" data-testid="shortcuts-button" title="Keyboard shortcuts (?)"
                aria-label="Keyboard shortcuts" on:click=move |_| shortcuts_open.update(|o| *o = !*o)>"?"</button>
            <span class="tagline">"Your video never leaves this tab."</span>
        </header>
        <Shortcuts open=shortcuts_open />
        <main
            class="editor"
            class:empty=move || !has_video()
            on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default()
            on:drop=on_drop
        >
            <div class="messages">
                <RestoreBanner edits=editor.edits />
                <Show when=move || editor.opening.with(Option::is_some)>
                    <p class="status" data-testid="loading" role="status">"Opening " {move || editor.opening.get()} "…"</p>
                </Show>
                <Show when=move || editor.error.with(Option::is_some)>
                    <p class="error" role="alert" data-testid="error">{move || editor.error.get()}</p>
                </Show>
                <Show when=move || editor.info.with(|i| i.as_ref().is_some_and(|i| !i.warnings.is_empty()))>
                    <p class="warning" data-testid="warning">
                        {move || editor.info.with(|i| i.as_ref().map(|i| i.warnings.join(" ")))}
                    </p>
                </Show>
            </div>
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
                        ></canvas>
                    </div>
                    <div class="controls">
                        <button data-testid="step-back" title="Previous frame (←)" aria-label="Previous frame" on:click=move |_| e1.step(-1)>"◀︎|"</button>
                        <button data-testid="play" class="primary" title="Play or pause (Space)" on:click=move |_| e2.toggle_play()>
                            {move || if editor.playing.get() { "Pause" } else { "Play" }}
                        </button>
                        <button data-testid="step-forward" title="Next frame (→)" aria-label="Next frame" on:click=move |_| e3.step(1)>"|▶︎"</button>
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
            <aside class="side" aria-label="Transcript and suggestions">
                <transcript_panel::TranscriptPanel editor=editor.clone() />
                <SuggestionsPanel edits=editor.edits loudness=editor.transcription.loudness seek=seek preview=preview />
            </aside>
            <aside class="props" aria-label="Clip properties, export and project">
                <ClipsPanel edits=editor.edits time_micros=editor.time_micros />
                <export::panel::ExportPanel edits=editor.edits info=editor.info player=StoredValue::new_local(editor.player.clone()) exported=exported failed=export_failed />
                <publish::PublishPanel exported=exported published=published />
                <MediaDetails info=editor.info name=editor.file_name />
                <projects::ProjectsPanel edits=editor.edits open=open_file />
                <section class="project">
                    <h2>"Project"</h2>
                    <button data-testid="export-project"
                        disabled=move || edits.project.with(|p| p.source.is_none())
                        on:click=move |_| {
                            if let Err(message) = edits.project.with_untracked(editing::export_project) {
                                edits.message.set(Some(message));
                            }
                        }>"Export project"</button>
                    <label class="button">"Import project…"
                        <input type="file" class="visually-hidden" accept=".json,application/json" data-testid="import-project" on:change=on_import />
                    </label>
                    <span class="status" data-testid="saved" role="status" data-saves=move || editor.edits.saves.get().to_string()>
                        {move || if editor.edits.saves.get() > 0 { "Saved in this browser" } else { "" }}
                    </span>
                </section>
                <SettingsPanel state=editor.transcription />
                <local_data::LocalDataPanel />
            </aside>
            <div class="timeline-area" class:hidden=move || !has_video()>
                <timeline::Timeline
                    edits=editor.edits
                    loudness=editor.transcription.loudness
                    time_micros=editor.time_micros
                    duration_micros=duration
                    thumbs=editor.thumbs
                    thumbs_drawn=editor.thumbs_drawn
                    seek=seek
                />
            </div>
        </main>
        <footer>
            <embed::ModeStatus />
            <span data-testid="isolation">
                {if isolated { "Cross-origin isolated" } else { "Not cross-origin isolated" }}
            </span>
            " · worker: " <span data-testid="worker-status">{move || worker_status.get()}</span>
        </footer>
    }
}

/// The keyboard shortcuts, shown by "?" (or the key ?).
#[component]
fn Shortcuts(open: RwSignal<bool>) -> impl IntoView {
    const KEYS: &[(&str, &str)] = &[
        ("Space", "Play / pause"),
        ("← / →", "Previous / next frame"),
        ("J / K / L", "Back 2 s / stop / play"),
        (
            "I / O",
            "Set the selected clip's in / out point at the playhead",
        ),
        ("Delete", "Cut the selected words from the clip"),
        ("Shift + click, Shift + ← / →", "Select a run of words"),
        (
            "← / → on a clip end",
            "Move the clip's start or end to the previous / next word (Shift: 0.1 s)",
        ),
        ("Ctrl + wheel", "Zoom the timeline around the pointer"),
        ("Ctrl + Z / Ctrl + Shift + Z", "Undo / redo"),
        ("?", "Show or hide this list"),
        ("Esc", "Close this list"),
    ];
    let close = NodeRef::<leptos::html::Button>::new();
    // Focus moves into the list when it opens and back to its button when it closes.
    Effect::new(move |was_open: Option<bool>| {
        let is_open = open.get();
        if is_open {
            request_animation_frame(move || {
                if let Some(button) = close.get_untracked() {
                    let _ = button.focus();
                }
            });
        } else if was_open == Some(true) {
            if let Some(button) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| {
                    d.query_selector("[data-testid=shortcuts-button]")
                        .ok()
                        .flatten()
                })
                .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let _ = button.focus();
            }
        }
        is_open
    });
    view! {
        <Show when=move || open.get()>
            <div class="overlay" role="dialog" aria-modal="true" aria-labelledby="shortcuts-title" data-testid="shortcuts">
                <div class="dialog">
                    <h2 id="shortcuts-title">"Keyboard shortcuts"</h2>
                    <dl>
                        {KEYS.iter().map(|(key, what)| view! { <dt><kbd>{*key}</kbd></dt><dd>{*what}</dd> }).collect::<Vec<_>>()}
                    </dl>
                    <button data-testid="shortcuts-close" node_ref=close on:click=move |_| open.set(false)>"Close"</button>
                </div>
            </div>
        </Show>
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Fetches the model's manifest and what of it is stored, for the settings panel.
fn load_model_info(name: String, state: TranscriptState) {
    spawn_local(async move {
        if let Ok(manifest) = model_store::fetch_manifest(&name).await {
            let stored = model_store::stored_bytes(&manifest).await.ok();
            state.model.set(Some(manifest));
            state.stored_bytes.set(stored);
        }
    });
}

#[component]
fn SettingsPanel(state: TranscriptState) -> impl IntoView {
    let remove_error = RwSignal::new(None::<String>);
    let remove = move |_| {
        let Some(manifest) = state.model.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match model_store::remove(&manifest).await {
                Ok(()) => {
                    remove_error.set(None);
                    state.stored_bytes.set(Some(0));
                }
                Err(message) => remove_error.set(Some(message)),
            }
        });
    };
    view! {
        <details class="settings" data-testid="settings">
            <summary>"Settings"</summary>
            <dl>
                <dt>"Speech model"</dt>
                <dd data-testid="model-name">
                    {move || state.model.with(|m| m.as_ref().map_or("not available".to_string(), |m| m.name.clone()))}
                </dd>
                <dt>"Size"</dt>
                <dd data-testid="model-size">
                    {move || state.model.with(|m| m.as_ref().map(|m| megabytes(m.total_bytes())))}
                </dd>
                <dt>"Stored in this browser"</dt>
                <dd data-testid="model-stored">
                    {move || match state.stored_bytes.get() {
                        Some(0) => "no (downloaded on first use)".to_string(),
                        Some(bytes) => format!("yes, {}", megabytes(bytes)),
                        None => "unknown".to_string(),
                    }}
                </dd>
                <dt>"Workers"</dt>
                <dd data-testid="workers">
                    {move || {
                        let n = state.workers.get();
                        match state.worker_memory.get() {
                            Some(bytes) if n > 0 => format!("{n}, each using about {}", megabytes(bytes)),
                            _ if n > 0 => n.to_string(),
                            _ => "started when a video is transcribed".to_string(),
                        }
                    }}
                </dd>
            </dl>
            <button data-testid="remove-model" on:click=remove>"Remove the speech model"</button>
            <Show when=move || remove_error.with(Option::is_some)>
                <p class="error" data-testid="remove-error">{move || remove_error.get()}</p>
            </Show>
        </details>
    }
}

#[component]
fn MediaDetails(info: RwSignal<Option<MediaInfo>>, name: RwSignal<String>) -> impl IntoView {
    move || {
        info.get().map(|info| {
            let video = info.video.clone();
            let audio = info.audio.clone();
            view! {
                <section class="details" data-testid="media-info">
                    <h2>{name.get()}</h2>
                    <dl>
                        <dt>"Container"</dt><dd data-testid="container">{info.container.label()}</dd>
                        <dt>"Duration"</dt><dd data-testid="duration">{format!("{:.3} s", info.duration_secs())}</dd>
                        <dt>"Resolution"</dt>
                        <dd data-testid="resolution">{video.as_ref().map(|v| format!("{}×{}", v.width, v.height))}</dd>
                        <dt>"Frame rate"</dt>
                        <dd data-testid="fps">{video.as_ref().map(|v| format!("{:.2} fps", v.frame_rate))}</dd>
                        <dt>"Video"</dt>
                        <dd data-testid="video-codec">{video.as_ref().map(|v| format!("{} ({})", v.codec.label(), v.codec_string))}</dd>
                        <dt>"Audio"</dt>
                        <dd data-testid="audio-codec">
                            {match audio {
                                Some(a) => format!("{} ({}), {} Hz, {} ch", a.codec.label(), a.codec_string, a.sample_rate_hz, a.channels),
                                None => "none".to_string(),
                            }}
                        </dd>
                    </dl>
                </section>
            }
        })
    }
}

const HELLO_ATTEMPTS: u64 = 100;
const HELLO_INTERVAL_MS: u32 = 100;

/// Starts a worker, says in `status` whether it answered hello, and then lets it go (the
/// worker ends when the asking task drops it).
fn start_worker(status: RwSignal<String>) {
    let client = WorkerClient::start(
        move |response| match response.body {
            Ok(ResponseBody::Ready {
                worker_version,
                cross_origin_isolated,
            }) => status.set(format!(
                "ready (v{worker_version}{})",
                if cross_origin_isolated {
                    ", isolated"
                } else {
                    ""
                }
            )),
            Ok(_) => {} // this worker only answers hello
            Err(message) => status.set(format!("error: {message}")),
        },
        move |message| status.set(format!("failed: {message}")),
    );
    let client = match client {
        Ok(client) => client,
        Err(message) => {
            status.set(format!("failed: {message}"));
            return;
        }
    };
    // A message sent before the worker's wasm has started is lost: ask until it answers.
    spawn_local(async move {
        for attempt in 1..=HELLO_ATTEMPTS {
            if status.with_untracked(|s| !s.starts_with("starting")) {
                return;
            }
            if let Err(message) = client.send(attempt, RequestBody::Hello) {
                status.set(format!("failed: {message}"));
                return;
            }
            gloo_timers::future::TimeoutFuture::new(HELLO_INTERVAL_MS).await;
        }
        status.set("failed: the worker did not start".to_string());
    });
}
