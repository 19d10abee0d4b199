//! Reelsmith's Web Worker: runs the speech engine off the UI thread. The app starts several
//! of these; each loads its own model instance from the browser's Cache Storage (where the app
//! put the files after checking their hashes), checks the hashes again, and transcribes the
//! windows of audio it is sent. Messages are the enums of `reelsmith_core::protocol`.
//!
//! The pure parts ([`load_engine`], [`transcribe`]) are plain functions so they are tested
//! with the real engine in wasm (`tests/web.rs`) as well as natively.

use std::collections::BTreeMap;

use reelsmith_core::protocol::{
    pcm_from_bytes, ModelManifest, ResponseBody, TranscribeRequest, WorkerError,
};
use reelsmith_core::transcript::Segment;
use reelsmith_speech::transcribe::Engine;
use sha2::{Digest, Sha256};

/// Builds the engine from the model's files, refusing any whose SHA-256 differs from the
/// manifest's.
pub fn load_engine(
    manifest: &ModelManifest,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<Engine, WorkerError> {
    let get = |name: &str| -> Result<&[u8], WorkerError> {
        let expected = manifest
            .file(name)
            .ok_or_else(|| WorkerError::ModelInvalid(format!("the manifest lacks {name}")))?;
        let bytes = files.get(name).ok_or_else(|| WorkerError::ModelMissing {
            file: name.to_string(),
        })?;
        let actual = format!("{:x}", Sha256::digest(bytes));
        if actual != expected.sha256 {
            return Err(WorkerError::ModelDamaged {
                file: name.to_string(),
            });
        }
        Ok(bytes)
    };
    let text = |name: &str| -> Result<&str, WorkerError> {
        std::str::from_utf8(get(name)?)
            .map_err(|_| WorkerError::ModelInvalid(format!("{name} is not UTF-8 text")))
    };
    Engine::load(
        get("encoder.onnx")?,
        get("decoder.onnx")?,
        text("config.json")?,
        text("vocabulary.txt")?,
    )
    .map_err(|e| WorkerError::ModelInvalid(e.to_string()))
}

/// Transcribes one window; the segments come back in the video's time line.
pub fn transcribe(
    engine: &Engine,
    request: &TranscribeRequest,
) -> Result<Vec<Segment>, WorkerError> {
    let samples = pcm_from_bytes(&request.pcm_f32le)?;
    let segments = engine
        .transcribe(&samples)
        .map_err(|e| WorkerError::Transcription(e.to_string()))?;
    let offset = request.span.start_secs;
    Ok(segments.into_iter().map(|s| s.shifted(offset)).collect())
}

/// What the worker answers to a finished window.
pub fn transcribed(
    request: &TranscribeRequest,
    segments: Vec<Segment>,
    millis: f64,
    memory_bytes: u64,
) -> ResponseBody {
    ResponseBody::Transcribed {
        span: request.span,
        segments,
        millis,
        memory_bytes,
    }
}

#[cfg(target_arch = "wasm32")]
mod web;
#[cfg(target_arch = "wasm32")]
pub use web::{read_model_from_cache, start, wasm_memory_bytes};
