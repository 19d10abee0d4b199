//! The Reelsmith editor UI (Leptos, client-side rendered). It opens a video, shows what it
//! holds, plays and scrubs it frame-exactly, and transcribes its sound track in the tab
//! (transcript panel with the spoken word highlighted; settings panel for the model). State
//! lives in signals; the non-reactive handles (player, worker, playback generation,
//! transcription job) sit in [`Editor`].

pub mod blob_source;
pub mod caption_draw;
pub mod clips_panel;
pub mod details;
pub mod editing;
pub mod editor;
pub mod embed;
pub mod export;
pub mod keys;
pub mod local_data;
pub mod model_store;
pub mod player;
pub mod preview;
pub mod project_store;
pub mod projects;
pub mod publish;
pub mod settings;
pub mod sound;
pub mod speaker;
pub mod stage;
pub mod suggestions;
pub mod timeline;
pub mod transcriber;
pub mod transcript_panel;
pub mod worker_client;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use clips_panel::ClipsPanel;
use editing::RestoreBanner;
use editor::{first_file, Editor};
use suggestions::SuggestionsPanel;
use transcriber::Phase;

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
    // A letter of every subset (Latin, Latin Extended, Vietnamese, Greek and its extension,
    // Cyrillic and its extension) loads every file of the family.
    const EVERY_SUBSET: &str = "aĀạΩἀжѢ";
    for font in ["16px Anton", "16px Inter", "bold 16px Inter"] {
        let _ = load.call2(&fonts, &font.into(), &EVERY_SUBSET.into());
    }
}

/// Mounts the editor on the page's body.
pub fn start() {
    console_error_panic_hook::set_once();
    load_caption_fonts();
    // A deletion of the browser's data asked for before a reload runs before the editor.
    local_data::start(|| leptos::mount::mount_to_body(App));
}

#[component]
fn App() -> impl IntoView {
    let editor = Editor::new();
    editor::provide(&editor);
    let worker_status = RwSignal::new("starting…".to_string());
    worker_client::start_status_worker(worker_status);
    let isolated = embed::cross_origin_isolated();

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
    // The editor is the page: its key handler lives as long as it does.
    keys::listen(editor.clone(), shortcuts_open);
    settings::restore_choice(&editor.settings, editor.transcription);
    // A finished transcript becomes part of the project.
    {
        let (state, edits) = (editor.transcription, editor.edits);
        Effect::new(move |_| {
            if state.phase.get() != Phase::Done {
                return;
            }
            let replaces = state.replaces_transcript.get_untracked();
            state.replaces_transcript.set(false);
            let segments: Vec<_> = state
                .transcript
                .with_untracked(|t| t.segments().cloned().collect());
            if edits.project.with_untracked(|p| p.transcript.is_empty()) {
                edits.set_transcript(segments);
            } else if replaces {
                // Transcribed again: the new transcript replaces the project's only whole.
                let whole = !segments.is_empty()
                    && state
                        .transcript
                        .with_untracked(|t| t.failures().next().is_none());
                if whole {
                    edits.set_transcript(segments);
                } else {
                    state.notices.update(|n| {
                        n.push(
                            "The new transcript has parts missing, so the project keeps the one it had."
                                .to_string(),
                        )
                    });
                }
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
    let edits = editor.edits;
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
    let exported = RwSignal::new_local(None::<publish::Exported>);
    let published = RwSignal::new(None::<String>);
    let export_failed = RwSignal::new(None::<String>);
    embed::connect(&editor, exported, published, export_failed);
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
        <keys::Shortcuts open=shortcuts_open />
        <main
            class="editor"
            class:empty=move || !has_video()
            on:dragover=|ev: leptos::ev::DragEvent| ev.prevent_default()
            on:drop=on_drop
        >
            <div class="messages">
                <RestoreBanner />
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
            <stage::Stage />
            <aside class="side" aria-label="Transcript and suggestions">
                <transcript_panel::TranscriptPanel />
                <SuggestionsPanel />
            </aside>
            <aside class="props" aria-label="Clip properties, export and project">
                <ClipsPanel />
                <export::panel::ExportPanel exported=exported failed=export_failed />
                <publish::PublishPanel exported=exported published=published />
                <details::MediaDetails info=editor.info name=editor.file_name />
                <projects::ProjectsPanel />
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
                <settings::SettingsPanel state=editor.transcription />
                <local_data::LocalDataPanel />
            </aside>
            <div class="timeline-area" class:hidden=move || !has_video()>
                <timeline::Timeline />
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
