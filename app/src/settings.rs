//! The Settings panel: which speech model transcribes (tiny.en or base, with each one's size,
//! and its speed and memory on this device once measured), the language spoken (detected or
//! chosen) and whether captions are in that language or translated into English; whether the
//! model is stored in this browser; transcription workers; removing the stored model. The
//! choice is kept in `localStorage` once the user changes it, and applies from the next
//! transcription ("Transcribe again" applies it to the open video).

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use reelsmith_core::device_speed::{DeviceSpeeds, BEAM_COST, BEAM_SIZE};
use reelsmith_core::language::{by_name, SpeechChoice, Task, MAX_WORDS_CHARS};

use crate::editor::{use_editor, Editor};
use crate::model_store;
use crate::transcriber::{Measured, Phase, Settings, TranscriptState};

/// Where the choice is kept (only once the user changes it: a first visit stores nothing).
const CHOICE_KEY: &str = "reelsmith.speech";

/// The models offered: folder name, short name, what it is good for.
const MODELS: [(&str, &str, &str); 2] = [
    ("whisper-base", "base", "accurate, 99 languages"),
    ("whisper-tiny.en", "tiny.en", "fast, English only"),
];

/// A size as the editor writes it.
pub fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Where each model's speed on this device is kept ([`DeviceSpeeds`]).
const SPEED_KEY: &str = "reelsmith.device-speed";

/// What this device measured of the models (nothing, where the browser keeps nothing).
pub fn device_speeds() -> DeviceSpeeds {
    local_storage()
        .and_then(|s| s.get_item(SPEED_KEY).ok().flatten())
        .map(|json| DeviceSpeeds::parse(&json))
        .unwrap_or_default()
}

/// Keeps a model's first measured speed; whether it was its first.
pub fn keep_device_speed(model: &str, real_time: f64) -> bool {
    let mut speeds = device_speeds();
    if !speeds.record(model, real_time) {
        return false;
    }
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(SPEED_KEY, &speeds.to_json());
    }
    true
}

/// The model used until the user chooses one: tiny.en until this device's measured pace
/// promises base at 2× real time ([`DeviceSpeeds::default_model`]).
pub fn default_model() -> String {
    device_speeds().default_model().to_string()
}

/// Whether the user chose a model (else the default, which may change with a measurement).
pub fn model_chosen() -> bool {
    stored_choice().is_some_and(|c| c.model_chosen)
}

fn stored_choice() -> Option<SpeechChoice> {
    SpeechChoice::parse(&local_storage()?.get_item(CHOICE_KEY).ok().flatten()?)
}

/// Keeps the choice for later visits; where the browser refuses, it holds for this visit.
fn store_choice(choice: &SpeechChoice) {
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(CHOICE_KEY, &choice.to_json());
    }
}

/// The choice at start-up: the one kept, else the defaults; a model the page names
/// (`?model=`) is shown as the one in use. The panel's model facts follow the choice.
pub fn restore_choice(settings: &Settings, state: TranscriptState) {
    let mut choice = stored_choice().unwrap_or_else(|| SpeechChoice::new(&default_model()));
    if !choice.model_chosen {
        // Language, task or words were kept, the model was not: the device's default.
        choice.model = default_model();
    }
    if settings.model_from_page {
        choice.model = settings.model.clone();
    }
    state.choice.set(choice);
    let model = Memo::new(move |_| state.choice.with(|c| c.model.clone()));
    Effect::new(move |_| load_model_info(model.get(), state));
}

/// Fetches the model's manifest and what of it is stored, for the settings panel.
pub fn load_model_info(name: String, state: TranscriptState) {
    spawn_local(async move {
        match model_store::fetch_manifest(&name).await {
            Ok(manifest) => {
                let stored = model_store::stored_bytes(&manifest).await.ok();
                if state.choice.with_untracked(|c| c.model == name) {
                    state.model.set(Some(manifest));
                    state.stored_bytes.set(stored);
                }
            }
            Err(_) if state.choice.with_untracked(|c| c.model == name) => {
                state.model.set(None);
                state.stored_bytes.set(None);
            }
            Err(_) => {}
        }
    });
}

/// One model's entry in the picker: "base — accurate, 99 languages (77.4 MB)".
fn model_label(short: &str, about: &str, size: Option<u64>) -> String {
    match size {
        Some(bytes) => format!("{short} — {about} ({})", megabytes(bytes)),
        None => format!("{short} — {about}"),
    }
}

/// What this session measured of a model on this device.
fn measured_text(measured: Option<Measured>) -> String {
    let Some(m) = measured else {
        return "Speed here: measured when it first transcribes.".to_string();
    };
    let workers = if m.workers == 1 { "worker" } else { "workers" };
    let memory = m
        .memory_bytes
        .map(|bytes| format!(", {} each", megabytes(bytes)))
        .unwrap_or_default();
    format!(
        "Speed here: {:.1}× real time with {} {workers}{memory}.",
        m.real_time, m.workers
    )
}

/// How the model decodes on this device, and why.
fn decoding_text(speeds: &DeviceSpeeds, model: &str) -> String {
    match speeds.get(model) {
        None => "Greedy (fastest) until this model's speed here is measured, on its first \
                 window of 20 s or more with speech."
            .to_string(),
        Some(speed) if speeds.beam_size(model) > 1 => format!(
            "Beam search of {BEAM_SIZE}: more accurate, and this device keeps about {:.1}× \
             real time with it ({speed:.1}× greedy on the first window).",
            speed / BEAM_COST
        ),
        Some(speed) => format!(
            "Greedy (fastest): {speed:.1}× real time on the first window here, too slow for \
             the beam search's {BEAM_COST}× cost."
        ),
    }
}

#[component]
pub fn SettingsPanel(state: TranscriptState) -> impl IntoView {
    let editor = use_editor();
    let handle = StoredValue::new_local(editor.clone());
    let remove_error = RwSignal::new(None::<String>);
    let sizes = RwSignal::new(BTreeMap::<String, u64>::new());
    // The offered models' sizes, from their manifests (a model the server lacks shows none).
    for (name, _, _) in MODELS {
        spawn_local(async move {
            if let Ok(manifest) = model_store::fetch_manifest(name).await {
                sizes.update(|s| {
                    s.insert(name.to_string(), manifest.total_bytes());
                });
            }
        });
    }
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
    let page_model = editor.settings.model_from_page;
    let change = move |f: &dyn Fn(&mut SpeechChoice)| {
        let before = state.choice.with_untracked(|c| c.model.clone());
        state.choice.update(|c| f(c));
        let mut kept = state.choice.get_untracked();
        if page_model && kept.model == before {
            // A model the page named (tests, benchmarks) is not the user's choice to keep.
            let stored = stored_choice();
            kept.model_chosen = stored.as_ref().is_some_and(|c| c.model_chosen);
            kept.model = stored.map_or_else(default_model, |c| c.model);
        }
        store_choice(&kept);
    };
    let english_only = move || state.choice.with(|c| SpeechChoice::english_only(&c.model));
    let info = editor.info;
    let can_transcribe_again = move || {
        info.with(Option::is_some)
            && !matches!(
                state.phase.get(),
                Phase::Downloading { .. } | Phase::Loading | Phase::Running | Phase::NoSound
            )
    };
    let models = move || {
        let chosen = state.choice.with(|c| c.model.clone());
        let mut list: Vec<(String, String)> = MODELS
            .iter()
            .map(|&(name, short, about)| {
                let size = sizes.with(|s| s.get(name).copied());
                (name.to_string(), model_label(short, about, size))
            })
            .collect();
        // A model the page named (tests, benchmarks) is listed as it is.
        if !list.iter().any(|(name, _)| *name == chosen) {
            list.push((chosen.clone(), chosen.clone()));
        }
        list.into_iter()
            .map(|(name, label)| {
                let selected = name == chosen;
                view! { <option value=name selected=selected>{label}</option> }
            })
            .collect::<Vec<_>>()
    };
    let languages = move || {
        let chosen = state.choice.with(|c| c.language.clone());
        by_name()
            .into_iter()
            .map(|l| {
                let selected = chosen.as_deref() == Some(l.code);
                view! { <option value=l.code selected=selected>{l.name}</option> }
            })
            .collect::<Vec<_>>()
    };
    view! {
        <details class="settings" data-testid="settings">
            <summary>"Settings"</summary>
            <dl>
                <dt><label for="model-choice">"Speech model"</label></dt>
                <dd>
                    <select id="model-choice" data-testid="model-choice"
                        on:change=move |ev| {
                            let model = event_target_value(&ev);
                            change(&|c| {
                                c.model.clone_from(&model);
                                c.model_chosen = true;
                            });
                        }>
                        {models}
                    </select>
                    <p class="hint" data-testid="model-measured">
                        {move || {
                            let model = state.choice.with(|c| c.model.clone());
                            measured_text(state.measured.with(|m| m.get(&model).copied()))
                        }}
                    </p>
                    <span class="visually-hidden" data-testid="model-name">
                        {move || state.model.with(|m| m.as_ref().map_or("not available".to_string(), |m| m.name.clone()))}
                    </span>
                </dd>
                <dt><label for="language-choice">"Language spoken"</label></dt>
                <dd>
                    <select id="language-choice" data-testid="language-choice" disabled=english_only
                        on:change=move |ev| {
                            let code = event_target_value(&ev);
                            change(&|c| c.language = (!code.is_empty()).then(|| code.clone()));
                        }>
                        <option value="" selected=move || state.choice.with(|c| c.language.is_none())>"Detect it"</option>
                        {languages}
                    </select>
                </dd>
                <dt><label for="task-choice">"Transcript in"</label></dt>
                <dd>
                    <select id="task-choice" data-testid="task-choice" disabled=english_only
                        on:change=move |ev| {
                            let task = if event_target_value(&ev) == "translate" { Task::Translate } else { Task::Transcribe };
                            change(&|c| c.task = task);
                        }>
                        <option value="transcribe" selected=move || state.choice.with(|c| c.task == Task::Transcribe)>"the language spoken"</option>
                        <option value="translate" selected=move || state.choice.with(|c| c.task == Task::Translate)>"English (translated)"</option>
                    </select>
                    <Show when=english_only>
                        <p class="hint" data-testid="english-only">"This model knows only English: choose base for other languages or translation."</p>
                    </Show>
                </dd>
                <dt><label for="words-to-know">"Words to know"</label></dt>
                <dd>
                    <textarea id="words-to-know" data-testid="words-to-know" rows="2"
                        maxlength=MAX_WORDS_CHARS.to_string()
                        placeholder="Names, brands, jargon: one per line or with commas"
                        prop:value=move || state.choice.with(|c| c.words.clone())
                        on:change=move |ev| {
                            let words = event_target_value(&ev);
                            change(&|c| c.words = words.clone());
                        }></textarea>
                    <p class="hint">"Spelled as you write them here, in transcripts from now on."</p>
                </dd>
                <dt>"Decoding"</dt>
                <dd data-testid="decoding">
                    {move || {
                        let model = state.choice.with(|c| c.model.clone());
                        state.device_speeds.with(|s| decoding_text(s, &model))
                    }}
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
            <Show when=can_transcribe_again>
                <button data-testid="transcribe-again"
                    on:click=move |_| handle.with_value(Editor::transcribe_again)>
                    "Transcribe this video again with these settings"
                </button>
            </Show>
            <button data-testid="remove-model" on:click=remove>"Remove the speech model"</button>
            <Show when=move || remove_error.with(Option::is_some)>
                <p class="error" data-testid="remove-error">{move || remove_error.get()}</p>
            </Show>
        </details>
    }
}
