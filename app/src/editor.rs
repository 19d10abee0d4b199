//! The editor's handles and what they do: the open video's player, opening a file (a failed
//! open changes nothing), seeking, playback with sound ("Play clip" and suggestion previews over
//! kept stretches), the timeline's thumbnails and the suggestions' first frames. One `Editor`
//! is made by the `App` and shared with every part of the screen through Leptos context
//! ([`provide`], [`use_editor`]).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use reelsmith_core::edit::{SourceRef, Span};
use reelsmith_core::media::{secs_from_micros, MediaInfo};
use reelsmith_core::transcript::{Transcript, WindowSpan};
use wasm_bindgen::JsCast;

use crate::editing::Edits;
use crate::player::{self, frame_micros, Player};
use crate::preview::PreviewView;
use crate::projects;
use crate::speaker::{Clock, SoundClock, Speaker, WallClock};
use crate::timeline::THUMBNAILS;
use crate::transcriber::{Job, Phase, Settings, TranscriptState};

/// Makes `editor` the one every part of the screen below finds with [`use_editor`].
pub fn provide(editor: &Editor) {
    provide_context(StoredValue::new_local(editor.clone()));
}

/// The editor, from the context the `App` provides.
pub fn use_editor() -> Editor {
    use_editor_handle().get_value()
}

/// The editor behind a store that reactive closures (which must be `Send`) can hold.
pub type EditorHandle = StoredValue<Editor, LocalStorage>;

pub fn use_editor_handle() -> EditorHandle {
    expect_context::<EditorHandle>()
}

/// Handles and signals shared by the editor's event handlers.
#[derive(Clone)]
pub struct Editor {
    pub(crate) player: Rc<RefCell<Option<Rc<Player>>>>,
    /// Bumped to stop playback and to discard stale opens.
    pub(crate) generation: Rc<Cell<u64>>,
    pub(crate) seek_pending: Rc<Cell<Option<i64>>>,
    pub(crate) seek_busy: Rc<Cell<bool>>,
    pub(crate) canvas: NodeRef<leptos::html::Canvas>,
    pub(crate) thumbs: NodeRef<leptos::html::Canvas>,
    /// Bumped as each thumbnail lands in `thumbs`.
    pub(crate) thumbs_drawn: RwSignal<u64>,
    pub(crate) info: RwSignal<Option<MediaInfo>>,
    pub(crate) error: RwSignal<Option<String>>,
    pub(crate) file_name: RwSignal<String>,
    /// The file being opened, while it is.
    pub(crate) opening: RwSignal<Option<String>>,
    /// Bumped by each open, so that only the newest one lands.
    pub(crate) opens: Rc<Cell<u64>>,
    /// Files opened successfully so far (the widget answers an open on it).
    pub(crate) opened: RwSignal<u64>,
    pub(crate) playing: RwSignal<bool>,
    pub(crate) time_micros: RwSignal<i64>,
    pub(crate) shown_pts: RwSignal<Option<i64>>,
    /// Pictures drawn so far (redraws after edits included; tests wait on it).
    pub(crate) draws: RwSignal<u64>,
    /// Frames playback showed late so far (the benchmark reads it).
    pub(crate) late_frames: RwSignal<u32>,
    /// Times playback held the clock for late pictures (the benchmark reads it).
    pub(crate) holds: RwSignal<u32>,
    /// Buffers of sound scheduled by playbacks that have ended.
    pub(crate) sound_buffers: RwSignal<u32>,
    pub(crate) speaker: Speaker,
    pub(crate) muted: RwSignal<bool>,
    /// Suggestion pictures waiting to be drawn, and whether one is being drawn.
    pub(crate) stills: Rc<RefCell<VecDeque<(i64, web_sys::HtmlCanvasElement)>>>,
    pub(crate) stills_busy: Rc<Cell<bool>>,
    pub(crate) view: PreviewView,
    pub(crate) settings: Settings,
    pub(crate) transcription: TranscriptState,
    pub(crate) job: Rc<RefCell<Option<Rc<Job>>>>,
    pub(crate) edits: Edits,
}

impl Editor {
    pub(crate) fn new() -> Self {
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
            holds: RwSignal::new(0),
            sound_buffers: RwSignal::new(0),
            speaker: Speaker::default(),
            muted: RwSignal::new(false),
            stills: Rc::default(),
            stills_busy: Rc::default(),
            view: PreviewView::new(),
            settings: Settings::from_page(),
            transcription: TranscriptState::new(),
            job: Rc::default(),
            edits: Edits::new(),
        }
    }

    /// Transcribes the open video's sound track (cancelling any transcription running).
    pub(crate) fn transcribe(&self) {
        self.cancel_transcription();
        let Some(player) = self.player.borrow().clone() else {
            return;
        };
        let settings = self
            .settings
            .with_choice(&self.transcription.choice.get_untracked());
        let job = Job::new(settings, self.transcription);
        self.job.replace(Some(Rc::clone(&job)));
        spawn_local(job.run(player));
    }

    /// Transcribes the open video again (the Settings' model, language or task changed): the
    /// new transcript replaces the project's.
    pub(crate) fn transcribe_again(&self) {
        self.transcription.replaces_transcript.set(true);
        self.transcribe();
    }

    pub(crate) fn cancel_transcription(&self) {
        if let Some(job) = self.job.take() {
            job.cancel();
        }
    }

    pub(crate) fn stop(&self) {
        self.generation.set(self.generation.get() + 1);
        self.playing.set(false);
        self.speaker.hush();
    }

    /// Opens a picked file. Until it is known to be a video this browser can play, nothing of
    /// what is open changes: a failed open leaves the video, its transcript and the project
    /// as they were.
    pub(crate) fn open(&self, file: web_sys::File) {
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
            editor.transcription.language_note.set(None);
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
            editor.transcription.replaces_transcript.set(false);
            if editor.edits.start(source, duration) && editor.resume_transcript() {
                return; // the saved project already has this video's transcript
            }
            editor.transcribe();
        });
    }

    pub(crate) fn duration_micros(&self) -> i64 {
        self.info
            .with_untracked(|i| i.as_ref().map_or(0, |i| i.duration_micros))
    }

    pub(crate) fn frame_micros(&self) -> i64 {
        self.info
            .with_untracked(|i| i.as_ref().map_or(40_000, frame_micros))
    }

    /// Shows the frame at `at_micros`. While a seek decodes, newer requests replace older ones.
    pub(crate) fn seek(&self, at_micros: i64) {
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
    pub(crate) fn resume_transcript(&self) -> bool {
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
    pub(crate) fn redraw(&self) {
        if !self.playing.get_untracked() {
            self.seek(self.time_micros.get_untracked());
        }
    }

    pub(crate) fn show(&self, shown: &player::ShownFrame) {
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
    pub(crate) fn source_size(&self) -> Option<(f64, f64)> {
        self.info.with_untracked(|i| {
            i.as_ref()
                .and_then(|i| i.video.as_ref())
                .map(|v| (f64::from(v.width), f64::from(v.height)))
        })
    }

    pub(crate) fn toggle_play(&self) {
        if self.playing.get_untracked() {
            self.stop();
            return;
        }
        let mut from = self.time_micros.get_untracked();
        if from >= self.duration_micros() - self.frame_micros() {
            from = 0; // at the end: play again from the start
        }
        // The sound stops with the picture even where the sound track runs on.
        self.play_runs(vec![(from, Some(self.duration_micros()))]);
    }

    /// Plays the selected clip as it will be exported: its kept stretches one after another,
    /// jumping over cuts, stopping at its out point.
    pub(crate) fn play_clip(&self) {
        if let Some(clip) = self.edits.selected_clip_untracked() {
            self.play_spans(clip.kept());
        }
    }

    /// Plays stretches of the source one after another and stops on the last frame of the
    /// last one.
    pub(crate) fn play_spans(&self, spans: Vec<Span>) {
        let micros = |secs: f64| (secs * 1e6).round() as i64;
        self.play_runs(
            spans
                .iter()
                .map(|s| (micros(s.start_secs), Some(micros(s.end_secs))))
                .collect(),
        );
    }

    /// Plays runs `(from, until)` of the source one after another, with their sound; called
    /// from the user's click or key press (the only time browsers let sound start).
    pub(crate) fn play_runs(&self, runs: Vec<(i64, Option<i64>)>) {
        let Some(player) = self.player.borrow().clone() else {
            return;
        };
        self.stop();
        self.speaker.wake();
        self.playing.set(true);
        let my_generation = self.generation.get();
        let editor = self.clone();
        spawn_local(async move {
            for (from, until) in runs {
                if editor.generation.get() != my_generation {
                    return; // stopped by the user
                }
                let generation = Rc::clone(&editor.generation);
                let mut sound = SoundClock::start(
                    &editor.speaker,
                    Rc::clone(&player),
                    from,
                    until,
                    Rc::clone(&generation),
                    my_generation,
                )
                .await;
                if generation.get() != my_generation {
                    return; // stopped while the sound was being set up
                }
                let mut wall = WallClock::default();
                let clock: &mut dyn Clock = match sound.as_mut() {
                    Some(sound) => sound,
                    None => &mut wall,
                };
                let result = player
                    .play(from, until, generation, my_generation, clock, |shown| {
                        editor.show(&shown);
                        editor.time_micros.set(shown.pts_micros);
                    })
                    .await;
                if let Some(sound) = &sound {
                    editor.sound_buffers.update(|n| *n += sound.scheduled());
                }
                drop(sound);
                match result {
                    Ok(played) => {
                        editor.late_frames.update(|n| *n += played.late_frames);
                        editor.holds.update(|n| *n += played.holds);
                        if !played.reached_until {
                            break; // the video ended, or the user stopped it
                        }
                    }
                    Err(message) => {
                        editor.error.set(Some(message));
                        break;
                    }
                }
            }
            if editor.generation.get() == my_generation {
                editor.playing.set(false);
            }
        });
    }

    /// Draws a strip of thumbnails along the timeline (frames decoded at even intervals).
    pub(crate) fn draw_thumbnails(&self, canvas: web_sys::HtmlCanvasElement) {
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

    /// Draws the frame at `at_micros` into `canvas`, one picture at a time in the order asked
    /// (a card gone from the page by its turn is skipped).
    pub(crate) fn draw_still(&self, at_micros: i64, canvas: web_sys::HtmlCanvasElement) {
        self.stills.borrow_mut().push_back((at_micros, canvas));
        if self.stills_busy.replace(true) {
            return;
        }
        let editor = self.clone();
        spawn_local(async move {
            loop {
                let next = editor.stills.borrow_mut().pop_front();
                let Some((at, canvas)) = next else {
                    break;
                };
                let player = editor.player.borrow().clone();
                let Some(player) = player.filter(|_| canvas.is_connected()) else {
                    continue;
                };
                let Ok(shown) = player.frame_at(at).await else {
                    continue;
                };
                let ctx = canvas
                    .get_context("2d")
                    .ok()
                    .flatten()
                    .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok());
                if let Some(ctx) = ctx {
                    let (w, h) = (f64::from(canvas.width()), f64::from(canvas.height()));
                    if ctx
                        .draw_image_with_video_frame_and_dw_and_dh(&shown.frame, 0.0, 0.0, w, h)
                        .is_ok()
                    {
                        let _ = canvas.set_attribute("data-pts", &shown.pts_micros.to_string());
                    }
                }
            }
            editor.stills_busy.set(false);
        });
    }

    pub(crate) fn toggle_mute(&self) {
        let muted = !self.muted.get_untracked();
        self.muted.set(muted);
        self.speaker.set_muted(muted);
    }

    pub(crate) fn step(&self, frames: i64) {
        let from = self
            .shown_pts
            .get_untracked()
            .unwrap_or(self.time_micros.get_untracked());
        self.seek(from + frames * self.frame_micros());
    }
}

pub(crate) fn first_file(files: Option<web_sys::FileList>) -> Option<web_sys::File> {
    files.and_then(|f| f.get(0))
}
