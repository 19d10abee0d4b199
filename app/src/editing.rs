//! The editing side of the editor: the project (clips cut from the transcript) with undo/redo
//! and autosave, clip suggestions, the clip list with trim handles over a waveform, cuts from
//! selected words, silence/filler clean-up, caption templates and reframing drawn over the
//! preview. The logic is `reelsmith_core::{edit, clips, captions}`; this is the glue.

use leptos::prelude::*;
use leptos::task::spawn_local;
use reelsmith_core::captions::{template, templates, Rgba, StyleOverrides, FONTS};
use reelsmith_core::clips::{suggest, LengthTarget, Loudness, Suggestion};
use reelsmith_core::edit::{
    describe_change, fillers, silences, Aspect, Clip, EditError, History, Project, SourceRef, Span,
    DEFAULT_FILLERS,
};
use reelsmith_core::guides::caption_warning;
use reelsmith_core::media::{clock, secs_from_micros};
use reelsmith_core::projects::check_source;
use reelsmith_core::transcript::{Segment, Word};
use wasm_bindgen::JsCast;

use crate::projects::Library;
use crate::sound::LOUDNESS_STEP;

/// Shows the frame at a time in µs (the editor's seek, handed to panels).
pub type SeekFn = StoredValue<Box<dyn Fn(i64)>, LocalStorage>;
/// Plays stretches of the source one after another.
pub type PlayFn = StoredValue<Box<dyn Fn(Vec<Span>)>, LocalStorage>;

/// Pauses longer than this are cut by the clean-up.
const SILENCE_SECS: f64 = 0.8;
/// Kept on each side of a cut pause.
const SILENCE_KEEP_SECS: f64 = 0.15;

/// The project and what edits it. All handles are `Copy`.
#[derive(Clone, Copy)]
pub struct Edits {
    pub project: RwSignal<Project>,
    history: StoredValue<History<Project>, LocalStorage>,
    /// The project before the drag in progress, if any.
    gesture: StoredValue<Option<Project>, LocalStorage>,
    /// The projects in this browser; the open one is saved into it.
    pub library: Library,
    /// Selected transcript words (anchor, focus) as word indices.
    pub selection: RwSignal<Option<(usize, usize)>>,
    pub target_secs: RwSignal<f64>,
    /// A saved project waiting for its video to be picked again, with the id of the listed
    /// project it continues (`None` for an imported file: it becomes a new project).
    pub restorable: RwSignal<Option<(Option<String>, Project)>>,
    pub message: RwSignal<Option<String>>,
    /// Completed autosaves (shown as "saved"; tests wait on it).
    pub saves: RwSignal<u64>,
    /// Clean-up cuts shown before they are applied.
    pub cleanup: RwSignal<Option<Vec<Span>>>,
    /// The filler words and phrases the clean-up removes, comma-separated (editable).
    pub fillers: RwSignal<String>,
    /// What Undo and Redo would change, named (`None`: nothing to undo / redo).
    pub undo_label: RwSignal<Option<String>>,
    pub redo_label: RwSignal<Option<String>>,
}

impl Edits {
    pub fn new() -> Self {
        Self {
            project: RwSignal::new(Project::default()),
            history: StoredValue::new_local(History::new(200)),
            gesture: StoredValue::new_local(None),
            library: Library::new(),
            selection: RwSignal::new(None),
            target_secs: RwSignal::new(30.0),
            restorable: RwSignal::new(None),
            message: RwSignal::new(None),
            saves: RwSignal::new(0),
            cleanup: RwSignal::new(None),
            fillers: RwSignal::new(DEFAULT_FILLERS.join(", ")),
            undo_label: RwSignal::new(None),
            redo_label: RwSignal::new(None),
        }
    }

    /// Names the steps Undo and Redo would take now.
    fn name_history(&self) {
        let current = self.project.get_untracked();
        let (undo, redo) = self.history.with_value(|h| {
            (
                h.undo_target()
                    .map(|before| describe_change(before, &current)),
                h.redo_target()
                    .map(|after| describe_change(&current, after)),
            )
        });
        self.undo_label.set(undo);
        self.redo_label.set(redo);
    }

    /// Applies an edit: remembered for undo, saved, or its error shown.
    pub fn edit(&self, change: impl FnOnce(&mut Project) -> Result<(), EditError>) -> bool {
        let before = self.project.get_untracked();
        let mut next = before.clone();
        match change(&mut next) {
            Ok(()) => {
                self.history.update_value(|h| h.record(&before));
                self.project.set(next);
                self.message.set(None);
                self.cleanup.set(None);
                self.name_history();
                self.save();
                true
            }
            Err(e) => {
                self.message
                    .set(Some(format!("That edit is not possible: {e}.")));
                false
            }
        }
    }

    fn save(&self) {
        let (saves, message) = (self.saves, self.message);
        let project = self.project.get_untracked();
        self.library.save(&project, move |result| match result {
            Ok(()) => saves.update(|n| *n += 1),
            Err(e) => message.set(Some(e)),
        });
    }

    pub fn undo(&self) {
        self.travel(History::undo);
    }

    pub fn redo(&self) {
        self.travel(History::redo);
    }

    fn travel(&self, step: fn(&mut History<Project>, &Project) -> Option<Project>) {
        let current = self.project.get_untracked();
        if let Some(other) = self
            .history
            .try_update_value(|h| step(h, &current))
            .flatten()
        {
            self.project.set(other);
            self.name_history();
            self.save();
        }
    }

    /// Starts a gesture (a drag) whose intermediate states are shown but not each remembered:
    /// the project as it was before is kept for one undo step at [`end_gesture`].
    /// Returns false (and changes nothing) while another gesture is under way: one at a time.
    pub fn begin_gesture(&self) -> bool {
        if self.gesture.with_value(Option::is_some) {
            return false;
        }
        let before = self.project.get_untracked();
        self.gesture.set_value(Some(before));
        true
    }

    /// Changes the project during a gesture (no undo step, no save yet).
    pub fn during_gesture(&self, change: impl FnOnce(&mut Project) -> Result<(), EditError>) {
        if self.gesture.with_value(Option::is_none) {
            return;
        }
        let mut next = self.project.get_untracked();
        if change(&mut next).is_ok() {
            self.project.set(next);
        }
    }

    /// Changes the project as it was when the gesture began: a drag shows where it is now,
    /// not the sum of its steps (a clip edge dragged over a cut and back keeps the cut).
    pub fn during_gesture_from_start(
        &self,
        change: impl FnOnce(&mut Project) -> Result<(), EditError>,
    ) {
        let Some(mut next) = self.gesture.get_value() else {
            return;
        };
        if change(&mut next).is_ok() {
            self.project.set(next);
        }
    }

    /// Ends a gesture: one undo step for all of it, and a save.
    pub fn end_gesture(&self) {
        let Some(before) = self.gesture.try_update_value(Option::take).flatten() else {
            return;
        };
        if before != self.project.get_untracked() {
            self.history.update_value(|h| h.record(&before));
            self.cleanup.set(None); // proposals were for the project before
            self.name_history();
            self.save();
        }
    }

    /// A new video was opened: continue the project being restored if it is that video, else
    /// start a new one (the one before stays in the list). Returns whether the restored one
    /// (with its transcript) was taken.
    pub fn start(&self, source: SourceRef, duration_secs: f64) -> bool {
        self.selection.set(None);
        self.cleanup.set(None);
        self.history.set_value(History::new(200));
        let restored = self
            .restorable
            .get_untracked()
            .filter(|(_, p)| {
                p.source
                    .as_ref()
                    .is_some_and(|s| check_source(s, &source).is_ok())
            })
            // The file as picked now (a project saved without a digest of it gains one).
            .map(|(id, mut p)| {
                p.source = Some(source.clone());
                (id, p)
            });
        let resumed = restored.is_some();
        self.restorable.set(None);
        let (continued, restored) = restored.unzip();
        self.library.start(continued.flatten());
        self.project
            .set(restored.unwrap_or_else(|| Project::new(source, duration_secs)));
        self.name_history();
        self.save();
        resumed
    }

    /// The finished transcript becomes part of the project (not an undoable edit): of every
    /// state Undo and Redo can go to too, and of the one before a drag in progress, so stepping
    /// back over an edit made while it was transcribed keeps it (and saves it).
    pub fn set_transcript(&self, segments: Vec<Segment>) {
        self.history
            .update_value(|h| h.for_each_mut(|p| p.transcript.clone_from(&segments)));
        self.gesture.update_value(|g| {
            if let Some(p) = g {
                p.transcript.clone_from(&segments);
            }
        });
        self.project.update(|p| p.transcript = segments);
        self.name_history();
        self.save();
    }

    pub fn selected_clip(&self) -> Option<Clip> {
        self.project.with(|p| {
            p.selected
                .and_then(|id| p.clips.iter().find(|c| c.id == id).cloned())
        })
    }

    /// The selected clip, without subscribing (for drawing).
    pub fn selected_clip_untracked(&self) -> Option<Clip> {
        self.project.with_untracked(|p| {
            p.selected
                .and_then(|id| p.clips.iter().find(|c| c.id == id).cloned())
        })
    }

    fn selected_id(&self) -> Option<u32> {
        self.project.with_untracked(|p| p.selected)
    }

    /// Cuts the selected words from the selected clip.
    pub fn cut_selection(&self) {
        let (Some(id), Some((a, b))) = (self.selected_id(), self.selection.get_untracked()) else {
            self.message
                .set(Some("Select a clip and some words first.".to_string()));
            return;
        };
        if self.edit(|p| p.delete_words(id, a, b)) {
            self.selection.set(None);
        }
    }

    /// Sets the selected clip's in (`true`) or out point at `at` seconds.
    pub fn mark(&self, is_in: bool, at: f64) {
        let Some(clip) = self.selected_clip() else {
            return;
        };
        let span = if is_in {
            Span::new(at, clip.span.end_secs)
        } else {
            Span::new(clip.span.start_secs, at)
        };
        self.edit(|p| p.trim(clip.id, span));
    }

    /// Finds the pauses and fillers in the selected clip, to show before applying.
    pub fn preview_cleanup(&self) {
        let Some(clip) = self.selected_clip() else {
            return;
        };
        let list = self.fillers.get_untracked();
        let list: Vec<String> = list
            .split(',')
            .map(|f| f.trim().to_lowercase())
            .filter(|f| !f.is_empty())
            .collect();
        let list: Vec<&str> = list.iter().map(String::as_str).collect();
        let spans = self.project.with_untracked(|p| {
            let words = p.words();
            let mut spans = silences(&words, clip.span, SILENCE_SECS, SILENCE_KEEP_SECS);
            spans.extend(fillers(&words, clip.span, &list));
            spans
        });
        self.cleanup.set(Some(spans));
    }

    pub fn apply_cleanup(&self) {
        let (Some(id), Some(spans)) = (self.selected_id(), self.cleanup.get_untracked()) else {
            return;
        };
        self.edit(|p| p.cut(id, spans));
    }
}

impl Default for Edits {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a word lies in one of the clip's cuts.
pub fn is_cut(clip: Option<&Clip>, word: &Word) -> bool {
    clip.is_some_and(|c| within(&c.cuts, word))
}

/// Whether a word lies in one of `spans` (cuts made or proposed).
pub fn within(spans: &[Span], word: &Word) -> bool {
    spans
        .iter()
        .any(|cut| word.start_secs >= cut.start_secs - 1e-6 && word.end_secs <= cut.end_secs + 1e-6)
}

fn fmt_secs(secs: f64) -> String {
    format!("{:.1} s", secs)
}

/// Offers a saved project when the page opens.
#[component]
pub fn RestoreBanner(edits: Edits) -> impl IntoView {
    // What the banner says; the project itself is read again when it is restored, as it may
    // have been reopened from the list and changed since.
    let saved = RwSignal::new(None::<(String, Project)>);
    let library = edits.library;
    library.when_loaded(move || {
        let Some(id) = library
            .index
            .with_untracked(|i| i.latest().map(|e| e.id.clone()))
        else {
            return;
        };
        spawn_local(async move {
            if let Ok(project) = library.project(&id).await {
                saved.set(Some((id, project)));
            }
        });
    });
    let restore = move |_| {
        let Some((id, _)) = saved.get_untracked() else {
            return;
        };
        saved.set(None);
        if library.current.get_untracked().is_some() {
            return;
        }
        spawn_local(async move {
            match library.project(&id).await {
                Ok(project) => edits.restorable.set(Some((Some(id), project))),
                Err(e) => library.message.set(Some(e)),
            }
        });
    };
    // The project stays in the list of projects.
    let discard = move |_| saved.set(None);
    view! {
        // Once a project is open (a video, or one reopened from the list) the offer is gone.
        <Show when=move || saved.with(Option::is_some) && library.current.with(Option::is_none)>
            <div class="banner" data-testid="restore">
                {move || saved.with(|p| p.as_ref().map(|(_, p)| format!(
                    "Your last project ({}, {} clip{}) was saved in this browser.",
                    p.source.as_ref().map_or("a video", |s| s.name.as_str()),
                    p.clips.len(),
                    if p.clips.len() == 1 { "" } else { "s" },
                )))}
                <button data-testid="restore-yes" on:click=restore>"Restore it"</button>
                <button data-testid="restore-no" on:click=discard>"Not now"</button>
            </div>
        </Show>
        <Show when=move || edits.restorable.with(Option::is_some)>
            <p class="banner" data-testid="restore-pick">
                {move || edits.restorable.with(|p| p.as_ref().and_then(|(_, p)| p.source.as_ref()).map(|s| format!(
                    "Pick “{}” again to continue where you left off (the browser does not keep the file itself).",
                    s.name
                )))}
            </p>
        </Show>
    }
}

/// Suggested clips for the transcript.
#[component]
pub fn SuggestionsPanel(
    edits: Edits,
    loudness: RwSignal<Vec<f32>>,
    seek: SeekFn,
    preview: PlayFn,
) -> impl IntoView {
    // Only the words matter: a pan drag or a style change must not recompute suggestions.
    let words = Memo::new(move |_| {
        edits
            .project
            .with(|p| p.words().into_iter().cloned().collect::<Vec<Word>>())
    });
    let suggestions = Memo::new(move |_| {
        let target = edits.target_secs.get();
        let loud = Loudness {
            step_secs: LOUDNESS_STEP as f64 / 16_000.0,
            values: loudness.get(),
        };
        words.with(|words| suggest(words, &loud, LengthTarget::around(target), 5))
    });
    // A chosen suggestion becomes the selected clip, and the playhead goes to its start so
    // the preview shows it with its frame and captions.
    let use_it = move |s: &Suggestion| {
        let span = Span::new(s.start_secs, s.end_secs);
        if edits.edit(|p| p.add_clip(&s.title, span, "karaoke").map(|_| ())) {
            seek.with_value(|seek| seek((s.start_secs * 1e6).round() as i64));
            crate::preview::bring_into_view();
        }
    };
    view! {
        <section class="suggestions" class:hidden=move || edits.project.with(|p| p.transcript.is_empty())>
            <h2>"Suggested clips"</h2>
            <label>"Target length "
                <input type="number" min="15" max="90" step="5" data-testid="target-length"
                    prop:value=move || edits.target_secs.get().to_string()
                    on:change=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse::<f64>() {
                            edits.target_secs.set(v.clamp(15.0, 90.0));
                        }
                    }
                />" s"
            </label>
            <ol class="cards">
                <For
                    each=move || suggestions.get()
                    key=|s| ((s.start_secs * 1000.0) as i64, (s.end_secs * 1000.0) as i64, s.title.clone())
                    let(s)
                >
                    {
                        let chosen = s.clone();
                        let span = Span::new(s.start_secs, s.end_secs);
                        let title = s.title.clone();
                        view! {
                            <li class="card" data-testid="suggestion" data-start=format!("{:.2}", s.start_secs) data-end=format!("{:.2}", s.end_secs)>
                                <h3 class="title">{s.title.clone()}</h3>
                                <p class="meta">
                                    <span class="range">{format!("{} – {}", clock(s.start_secs), clock(s.end_secs))}</span>
                                    " · " <span class="length">{format!("{:.0} s", s.end_secs - s.start_secs)}</span>
                                    " · " <span class="score" title="How likely this stretch works as a short, out of 100">{format!("score {:.0}", s.score)}</span>
                                </p>
                                <p class="quote">"“" {s.opening.clone()} "”"</p>
                                <ul class="reasons">
                                    {s.reasons.iter().map(|r| view! { <li>{r.clone()}</li> }).collect::<Vec<_>>()}
                                </ul>
                                <div class="actions">
                                    <button data-testid="preview-suggestion" aria-label=format!("Preview “{title}”")
                                        on:click=move |_| preview.with_value(|play| play(vec![span]))>"▶ Preview"</button>
                                    <button data-testid="use-suggestion" class="primary" aria-label=format!("Use “{}” as a clip", s.title)
                                        on:click=move |_| use_it(&chosen)>"Use this clip"</button>
                                </div>
                            </li>
                        }
                    }
                </For>
            </ol>
            <Show when=move || suggestions.with(Vec::is_empty)>
                <p>"No stretch of this transcript fits the target length; try another length."</p>
            </Show>
        </section>
    }
}

/// The clips: list, trim handles over the waveform, split/delete/reorder, clean-up,
/// template and aspect.
#[component]
pub fn ClipsPanel(edits: Edits, time_micros: RwSignal<i64>) -> impl IntoView {
    let duration = move || edits.project.with(|p| p.duration_secs);
    let selected = move || edits.selected_clip();
    let now = move || secs_from_micros(time_micros.get_untracked());
    let trim_to = move |is_in: bool, ev: leptos::ev::Event| {
        if let Ok(v) = event_target_value(&ev).parse::<f64>() {
            edits.mark(is_in, v);
        }
    };
    view! {
        <section class="clips" class:hidden=move || edits.project.with(|p| p.clips.is_empty())>
            <h2>"Clips"</h2>
            <ul>
                {move || edits.project.with(|p| p.clips.iter().enumerate().map(|(i, c)| {
                    let id = c.id;
                    let is_selected = p.selected == Some(id);
                    view! {
                        <li data-testid="clip" class:selected=is_selected>
                            <button class="pick" on:click=move |_| {
                                edits.project.update(|p| p.selected = Some(id));
                                crate::preview::bring_into_view();
                            }>
                                {c.name.clone()}
                            </button>
                            " " {format!("{} – {} ({} after cuts)", clock(c.span.start_secs), clock(c.span.end_secs), fmt_secs(c.output_secs()))}
                            // Named after their clip: a screen reader lists each apart.
                            <button title="Move up" aria-label=format!("Move {} up", c.name) on:click=move |_| { edits.edit(|p| p.move_clip(id, i.saturating_sub(1))); }>"↑"</button>
                            <button title="Move down" aria-label=format!("Move {} down", c.name) on:click=move |_| { edits.edit(|p| p.move_clip(id, i + 1)); }>"↓"</button>
                            <button data-testid="delete-clip" aria-label=format!("Delete {}", c.name) on:click=move |_| { edits.edit(|p| p.delete_clip(id)); }>"Delete"</button>
                        </li>
                    }
                }).collect::<Vec<_>>())}
            </ul>
            <Show when=move || selected().is_some()>
                <div class="trim">
                    <label>"In "
                        <input type="range" data-testid="clip-in" min="0" max=move || duration().to_string() step="0.01"
                            prop:value=move || selected().map(|c| c.span.start_secs.to_string())
                            on:change=move |ev| trim_to(true, ev) />
                    </label>
                    <label>"Out "
                        <input type="range" data-testid="clip-out" min="0" max=move || duration().to_string() step="0.01"
                            prop:value=move || selected().map(|c| c.span.end_secs.to_string())
                            on:change=move |ev| trim_to(false, ev) />
                    </label>
                    <span data-testid="clip-span"
                        data-start=move || selected().map(|c| c.span.start_secs.to_string())
                        data-end=move || selected().map(|c| c.span.end_secs.to_string())>
                        {move || selected().map(|c| format!("{:.2}–{:.2}", c.span.start_secs, c.span.end_secs))}
                    </span>
                    <button data-testid="split-clip" title="Split at the playhead" on:click=move |_| {
                        if let Some(c) = selected() { edits.edit(|p| p.split(c.id, now()).map(|_| ())); }
                    }>"Split at playhead"</button>
                    <button data-testid="cut-words" title="Delete" on:click=move |_| edits.cut_selection()>"Cut selected words"</button>
                    <button data-testid="clean-up" on:click=move |_| edits.preview_cleanup()>"Remove silences and fillers…"</button>
                    <label>"Fillers "
                        <input type="text" data-testid="filler-list" size="28"
                            prop:value=move || edits.fillers.get()
                            on:change=move |ev| edits.fillers.set(event_target_value(&ev)) />
                    </label>
                    <button data-testid="restore-cuts" on:click=move |_| {
                        if let Some(c) = selected() { edits.edit(|p| p.restore_cuts(c.id)); }
                    }>"Put cuts back"</button>
                </div>
                <Show when=move || edits.cleanup.with(Option::is_some)>
                    <p data-testid="clean-up-preview">
                        {move || edits.cleanup.with(|c| c.as_ref().map(|spans| format!(
                            "{} pause{} and filler{} ({}) will be cut.",
                            spans.len(), if spans.len() == 1 { "" } else { "s" }, "s",
                            fmt_secs(spans.iter().map(Span::duration).sum())
                        )))}
                        <button data-testid="apply-clean-up" on:click=move |_| edits.apply_cleanup()>"Apply"</button>
                        <button on:click=move |_| edits.cleanup.set(None)>"Cancel"</button>
                    </p>
                </Show>
                <div class="style">
                    <label>"Captions "
                        <select data-testid="template"
                            prop:value=move || selected().map(|c| c.template)
                            on:change=move |ev| {
                            let id = event_target_value(&ev);
                            if let Some(c) = selected() { edits.edit(|p| p.set_template(c.id, &id)); }
                        }>
                            {templates().into_iter().map(|t| {
                                let id = t.id.clone();
                                view! { <option value=t.id.clone() selected=move || selected().is_some_and(|c| c.template == id)>{t.name.clone()}</option> }
                            }).collect::<Vec<_>>()}
                            <option value="none" selected=move || selected().is_some_and(|c| c.template == "none")>"No captions"</option>
                        </select>
                    </label>
                    <label>" Shape "
                        <select data-testid="aspect"
                            prop:value=move || selected().map(|c| c.reframe.aspect.label().to_string())
                            on:change=move |ev| {
                            let aspect = match event_target_value(&ev).as_str() {
                                "1:1" => Aspect::Square1x1,
                                "16:9" => Aspect::Landscape16x9,
                                _ => Aspect::Portrait9x16,
                            };
                            if let Some(c) = selected() { edits.edit(|p| p.set_aspect(c.id, aspect)); }
                        }>
                            {[Aspect::Portrait9x16, Aspect::Square1x1, Aspect::Landscape16x9].into_iter().map(|a| view! {
                                <option value=a.label() selected=move || selected().is_some_and(|c| c.reframe.aspect == a)>{a.label()}</option>
                            }).collect::<Vec<_>>()}
                        </select>
                    </label>
                    " Drag the picture to move it in the frame; each drag sets a pan keyframe at the playhead."
                </div>
                <StyleControls edits=edits />
            </Show>
            <Show when=move || edits.message.with(Option::is_some)>
                <p class="error" data-testid="edit-message">{move || edits.message.get()}</p>
            </Show>
        </section>
    }
}

/// Downloads the project as a JSON file.
pub fn export_project(project: &Project) -> Result<(), String> {
    let json = serde_json::to_string_pretty(project).map_err(|e| e.to_string())?;
    let parts = js_sys::Array::of1(&json.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|e| crate::blob_source::js_error_text(&e))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|e| crate::blob_source::js_error_text(&e))?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| crate::blob_source::js_error_text(&e))?
        .unchecked_into();
    a.set_href(&url);
    let name = project
        .source
        .as_ref()
        .map_or("project".to_string(), |s| s.name.clone());
    a.set_download(&format!("{name}.reelsmith.json"));
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// Reads a project file the user picked; it is then restored like an autosaved one.
pub async fn import_project(file: web_sys::File) -> Result<Project, String> {
    let text = wasm_bindgen_futures::JsFuture::from(file.text())
        .await
        .map_err(|e| crate::blob_source::js_error_text(&e))?
        .as_string()
        .unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| format!("This is not a Reelsmith project file: {e}"))
}

/// The look of the selected clip's captions on top of its template.
#[component]
fn StyleControls(edits: Edits) -> impl IntoView {
    let current = move || {
        edits.selected_clip().map(|c| {
            let base = template(&c.template);
            (c.id, c.style.clone(), c.style.apply(&base))
        })
    };
    let change = move |f: Box<dyn Fn(&mut StyleOverrides)>| {
        if let Some((id, mut style, _)) = current() {
            f(&mut style);
            edits.edit(|p| p.set_style(id, style));
        }
    };
    let note = Memo::new(move |_| {
        edits
            .selected_clip()
            .and_then(|c| Some((c.caption_style()?, c.reframe.aspect)))
            .and_then(|(style, aspect)| caption_warning(&style, aspect))
    });
    let number = move |ev: &leptos::ev::Event| event_target_value(ev).parse::<f64>().ok();
    let checked = move |ev: &leptos::ev::Event| {
        ev.target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            .is_some_and(|i| i.checked())
    };
    view! {
        <div class="style" data-testid="style-controls">
            <label>"Font "
                <select data-testid="style-font"
                    prop:value=move || current().map(|(_, _, s)| s.font.family.to_string())
                    on:change=move |ev| {
                    let family = event_target_value(&ev);
                    change(Box::new(move |s| s.font_family = Some(family.clone())));
                }>
                    {FONTS.into_iter().map(|f| view! {
                        <option value=f selected=move || current().is_some_and(|(_, _, s)| s.font.family == f)>{f}</option>
                    }).collect::<Vec<_>>()}
                </select>
            </label>
            <label>" Size "
                <input type="range" data-testid="style-size" min="0.5" max="2" step="0.05"
                    prop:value=move || current().map(|(_, o, _)| o.size_scale.unwrap_or(1.0).to_string())
                    on:change=move |ev| { let v = number(&ev); change(Box::new(move |s| s.size_scale = v)); } />
            </label>
            <label>" Position "
                <input type="range" data-testid="style-position" min="0.1" max="0.9" step="0.01"
                    prop:value=move || current().map(|(_, _, s)| s.position_y.to_string())
                    on:change=move |ev| { let v = number(&ev); change(Box::new(move |s| s.position_y = v)); } />
            </label>
            <label>" Text "
                <input type="color" data-testid="style-text"
                    prop:value=move || current().map(|(_, _, s)| s.text.hex())
                    on:change=move |ev| { let c = Rgba::from_hex(&event_target_value(&ev)); change(Box::new(move |s| s.text = c)); } />
            </label>
            <label>" Highlight "
                <input type="color" data-testid="style-highlight"
                    prop:value=move || current().map(|(_, _, s)| s.highlight.unwrap_or(Rgba(255, 214, 0, 255)).hex())
                    on:change=move |ev| { let c = Rgba::from_hex(&event_target_value(&ev)); change(Box::new(move |s| s.highlight = c)); } />
            </label>
            <label>" Outline "
                <input type="range" data-testid="style-outline" min="0" max="16" step="1"
                    prop:value=move || current().map(|(_, _, s)| s.outline_px.to_string())
                    on:change=move |ev| { let v = number(&ev); change(Box::new(move |s| s.outline_px = v)); } />
            </label>
            <label>" UPPERCASE "
                <input type="checkbox" data-testid="style-uppercase"
                    prop:checked=move || current().is_some_and(|(_, _, s)| s.uppercase)
                    on:change=move |ev| { let v = checked(&ev); change(Box::new(move |s| s.uppercase = Some(v))); } />
            </label>
            <label>" Emoji "
                <input type="checkbox" data-testid="style-emoji"
                    prop:checked=move || current().is_some_and(|(_, _, s)| s.emoji)
                    on:change=move |ev| { let v = checked(&ev); change(Box::new(move |s| s.emoji = Some(v))); } />
            </label>
            // One live region kept on the page, its text changed, so screen readers announce it.
            <p role="status" class:warning=move || note.with(Option::is_some)>
                <Show when=move || note.with(Option::is_some)>
                    <span data-testid="caption-warning">{move || note.get()}</span>
                </Show>
            </p>
        </div>
    }
}
