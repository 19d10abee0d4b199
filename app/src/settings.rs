//! The Settings panel: the speech model (name, size, whether it is stored in this browser),
//! transcription workers and threads, and removing the stored model.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::model_store;
use crate::transcriber::TranscriptState;

/// A size as the editor writes it.
pub fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Fetches the model's manifest and what of it is stored, for the settings panel.
pub fn load_model_info(name: String, state: TranscriptState) {
    spawn_local(async move {
        if let Ok(manifest) = model_store::fetch_manifest(&name).await {
            let stored = model_store::stored_bytes(&manifest).await.ok();
            state.model.set(Some(manifest));
            state.stored_bytes.set(stored);
        }
    });
}

#[component]
pub fn SettingsPanel(state: TranscriptState) -> impl IntoView {
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
