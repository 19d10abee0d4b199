//! Export: a clip becomes a video file in a Web Worker of its own (`reelsmith-export`, built
//! by trunk from `src/export_main.rs`). The page sends the job (the clip, its words, the
//! chosen format and size) and the source `File`; the worker decodes only the kept stretches
//! (from the keyframe before each), crops and scales every frame in Rust, blends the caption
//! sprite over it, encodes with WebCodecs, muxes in Rust (`reelsmith_core::mux`) and appends
//! the bytes to a file in the origin-private file system, so memory does not grow with the
//! clip. The finished file comes back as a `Blob` (head + the on-disk body) to download.
//!
//! - `pipeline` — the video path and the run of a job;
//! - `audio` — the sound: AAC packets copied, or decoded, trimmed and encoded as Opus;
//! - `sprites` — caption pages rendered once per state on an `OffscreenCanvas`;
//! - `sink` — the on-disk body (OPFS sync access handle);
//! - `panel` — the page's side: the export panel, progress, cancel, downloads.

pub mod audio;
pub mod panel;
pub mod pipeline;
pub mod sink;
pub mod sprites;

use reelsmith_core::edit::Clip;
use reelsmith_core::export::{OutputFormat, OutputSize, SoundPlan};
use reelsmith_core::transcript::Word;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::blob_source::js_error_text;

/// Where trunk puts the export worker's loader shim.
pub const EXPORT_WORKER_URL: &str = "./reelsmith-export_loader.js";

/// What the page asks the export worker to make.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportJob {
    pub clip: Clip,
    /// The clip's words (cut words left out), for its captions.
    pub words: Vec<Word>,
    pub format: OutputFormat,
    pub sound: SoundPlan,
    pub size: OutputSize,
    /// The name the temporary file gets in the origin-private file system.
    pub scratch_name: String,
    /// Decoded pictures go to the encoder as they are (no crop, scale or captions): the
    /// transcode ceiling the export benchmark compares against (`?export=direct`).
    #[serde(default)]
    pub direct_frames: bool,
}

/// What the worker tells the page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum ExportEvent {
    /// The worker's handler is installed: the page sends the job now (a message sent before
    /// the worker's wasm has started would be lost).
    Ready,
    Started {
        frames_total: usize,
        width: u32,
        height: u32,
        codec: String,
    },
    Progress {
        frames_done: usize,
        frames_total: usize,
        fps: f64,
    },
    /// The file itself travels beside this message as the `blob` property.
    Done {
        bytes: u64,
        frames: usize,
        millis: f64,
    },
    Failed {
        message: String,
    },
}

/// The message the page posts: `{ job, file }`.
pub fn job_message(job: &ExportJob, file: &web_sys::Blob) -> Result<JsValue, String> {
    let message = js_sys::Object::new();
    let job = serde_wasm_bindgen::to_value(job).map_err(|e| e.to_string())?;
    js_sys::Reflect::set(&message, &"job".into(), &job).map_err(|e| js_error_text(&e))?;
    js_sys::Reflect::set(&message, &"file".into(), file).map_err(|e| js_error_text(&e))?;
    Ok(message.into())
}

/// The worker's entry point: runs each job it is sent and reports events.
pub fn worker_start() {
    console_error_panic_hook::set_once();
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let reply_scope = scope.clone();
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let scope = reply_scope.clone();
            let data = ev.data();
            wasm_bindgen_futures::spawn_local(async move {
                let post = |event: &ExportEvent, blob: Option<&web_sys::Blob>| {
                    post_event(&scope, event, blob);
                };
                let job = js_sys::Reflect::get(&data, &"job".into())
                    .map_err(|e| js_error_text(&e))
                    .and_then(|v| {
                        serde_wasm_bindgen::from_value::<ExportJob>(v).map_err(|e| e.to_string())
                    });
                let file = js_sys::Reflect::get(&data, &"file".into())
                    .ok()
                    .and_then(|f| f.dyn_into::<web_sys::Blob>().ok());
                let (job, file) = match (job, file) {
                    (Ok(job), Some(file)) => (job, file),
                    (Err(e), _) => {
                        post(&ExportEvent::Failed { message: e }, None);
                        return;
                    }
                    (_, None) => {
                        post(
                            &ExportEvent::Failed {
                                message: "The export got no video file.".into(),
                            },
                            None,
                        );
                        return;
                    }
                };
                match pipeline::run(&job, file, &|event| post(&event, None)).await {
                    Ok((blob, done)) => post(&done, Some(&blob)),
                    Err(message) => post(&ExportEvent::Failed { message }, None),
                }
            });
        });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post_event(&scope, &ExportEvent::Ready, None);
}

fn post_event(
    scope: &web_sys::DedicatedWorkerGlobalScope,
    event: &ExportEvent,
    blob: Option<&web_sys::Blob>,
) {
    let Ok(value) = serde_wasm_bindgen::to_value(event) else {
        return;
    };
    let message = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&message, &"event".into(), &value);
    if let Some(blob) = blob {
        let _ = js_sys::Reflect::set(&message, &"blob".into(), blob);
    }
    if let Err(e) = scope.post_message(&message) {
        web_sys::console::error_1(&e);
    }
}

/// `performance.now()` in a window or a worker.
pub fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
        .map_or(0.0, |p| p.now())
}
