//! The project being edited: `Edits` (the project with undo/redo, named steps and autosave,
//! the selection and the clean-up's proposal), the offer to restore a saved project, and
//! project files. The logic is `reelsmith_core::edit`; the panels that edit it are
//! `suggestions.rs`, `clips_panel.rs` and `transcript_panel.rs`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use reelsmith_core::edit::{
    describe_change, fillers, silences, Clip, EditError, History, Project, SourceRef, Span,
    DEFAULT_FILLERS,
};
use reelsmith_core::projects::check_source;
use reelsmith_core::transcript::{Segment, Word};
use wasm_bindgen::JsCast;

use crate::editor::use_editor;
use crate::projects::Library;

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
        // Word positions of the transcript before mean nothing in this one.
        self.selection.set(None);
        self.cleanup.set(None);
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

pub(crate) fn fmt_secs(secs: f64) -> String {
    format!("{:.1} s", secs)
}

/// Offers a saved project when the page opens.
#[component]
pub fn RestoreBanner() -> impl IntoView {
    let edits = use_editor().edits;
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
