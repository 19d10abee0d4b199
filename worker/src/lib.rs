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
    OPTIONAL_MODEL_FILES,
};
use reelsmith_core::transcript::Segment;
use reelsmith_speech::model::{Graph, ModelError, WhisperModel};
use reelsmith_speech::transcribe::{DecodeOptions, Engine};
use reelsmith_speech::vad::Vad;
use sha2::{Digest, Sha256};

/// Builds the engine from the model's files, refusing any whose SHA-256 differs from the
/// manifest's.
pub fn load_engine(
    manifest: &ModelManifest,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<Engine, WorkerError> {
    let mut loader = ModelLoader::new(manifest);
    for name in ModelLoader::files(manifest) {
        let bytes = files.get(name).ok_or_else(|| WorkerError::ModelMissing {
            file: name.to_string(),
        })?;
        loader.add(name, bytes)?;
    }
    loader.finish()
}

/// Builds the engine a file at a time: each graph is parsed as its file arrives, so the caller
/// can drop the bytes before reading the next (a worker's wasm memory never shrinks: holding
/// every file while parsing would set its size for good).
pub struct ModelLoader<'m> {
    manifest: &'m ModelManifest,
    encoder: Option<Graph>,
    decoder: Option<Graph>,
    config: Option<String>,
    vocabulary: Option<String>,
    vad: Option<Vad>,
}

impl<'m> ModelLoader<'m> {
    /// The files an engine needs, the largest first.
    pub const FILES: [&'static str; 4] = [
        "decoder.onnx",
        "encoder.onnx",
        "config.json",
        "vocabulary.txt",
    ];

    /// The files to load for `manifest`'s model, in order: [`Self::FILES`], then those of
    /// [`OPTIONAL_MODEL_FILES`] it lists (Silero VAD, which finds the speech).
    pub fn files(manifest: &ModelManifest) -> impl Iterator<Item = &'static str> + '_ {
        Self::FILES.into_iter().chain(
            OPTIONAL_MODEL_FILES
                .into_iter()
                .filter(|name| manifest.file(name).is_some()),
        )
    }

    pub fn new(manifest: &'m ModelManifest) -> Self {
        Self {
            manifest,
            encoder: None,
            decoder: None,
            config: None,
            vocabulary: None,
            vad: None,
        }
    }

    /// Checks one file against the manifest and takes what the engine needs of it.
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> Result<(), WorkerError> {
        let expected = self
            .manifest
            .file(name)
            .ok_or_else(|| WorkerError::ModelInvalid(format!("the manifest lacks {name}")))?;
        if format!("{:x}", Sha256::digest(bytes)) != expected.sha256 {
            return Err(WorkerError::ModelDamaged {
                file: name.to_string(),
            });
        }
        let invalid = |e: ModelError| WorkerError::ModelInvalid(e.to_string());
        let text = || {
            String::from_utf8(bytes.to_vec())
                .map_err(|_| WorkerError::ModelInvalid(format!("{name} is not UTF-8 text")))
        };
        match name {
            "encoder.onnx" => self.encoder = Some(Graph::load(bytes).map_err(invalid)?),
            "decoder.onnx" => self.decoder = Some(Graph::load(bytes).map_err(invalid)?),
            "config.json" => self.config = Some(text()?),
            "vocabulary.txt" => self.vocabulary = Some(text()?),
            "vad.onnx" => self.vad = Some(Vad::load(bytes).map_err(invalid)?),
            _ => {}
        }
        Ok(())
    }

    /// The engine, once every file of [`Self::files`] was added.
    pub fn finish(self) -> Result<Engine, WorkerError> {
        let missing = |file: &str| WorkerError::ModelMissing {
            file: file.to_string(),
        };
        let encoder = self.encoder.ok_or_else(|| missing("encoder.onnx"))?;
        let decoder = self.decoder.ok_or_else(|| missing("decoder.onnx"))?;
        let config = self.config.ok_or_else(|| missing("config.json"))?;
        let vocabulary = self.vocabulary.ok_or_else(|| missing("vocabulary.txt"))?;
        if self.manifest.file("vad.onnx").is_some() && self.vad.is_none() {
            return Err(missing("vad.onnx"));
        }
        Engine::from_model(
            WhisperModel::from_graphs(encoder, decoder),
            &config,
            &vocabulary,
        )
        .map(|engine| engine.with_vad(self.vad))
        .map_err(|e| WorkerError::ModelInvalid(e.to_string()))
    }
}

/// A window's segments, in the video's time line, and the language they were decoded in.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowTranscript {
    pub segments: Vec<Segment>,
    pub language: Option<String>,
}

/// Transcribes one window in the language and task the request asks for.
pub fn transcribe(
    engine: &Engine,
    request: &TranscribeRequest,
) -> Result<WindowTranscript, WorkerError> {
    let samples = pcm_from_bytes(&request.pcm_f32le)?;
    let options = DecodeOptions {
        language: request.language.clone(),
        task: request.task,
        prompt: request.prompt.clone(),
        beam_size: usize::from(request.beam_size),
    };
    let transcription = engine
        .transcribe_with(&samples, &options)
        .map_err(|e| WorkerError::Transcription(e.to_string()))?;
    let offset = request.span.start_secs;
    Ok(WindowTranscript {
        segments: transcription
            .segments
            .into_iter()
            .map(|s| s.shifted(offset))
            .collect(),
        language: transcription.language,
    })
}

/// What the worker answers to a finished window.
pub fn transcribed(
    request: &TranscribeRequest,
    window: WindowTranscript,
    millis: f64,
    memory_bytes: u64,
) -> ResponseBody {
    ResponseBody::Transcribed {
        span: request.span,
        segments: window.segments,
        language: window.language,
        millis,
        memory_bytes,
    }
}

#[cfg(target_arch = "wasm32")]
mod web;
#[cfg(target_arch = "wasm32")]
pub use web::{load_model_from_cache, read_model_from_cache, start, wasm_memory_bytes};
