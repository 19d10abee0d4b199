//! Messages between the app and its Web Worker, defined once here so both sides agree.
//! Versioned: a worker built from other sources answers with an error, not garbage.

use serde::{Deserialize, Serialize};

use crate::language::Task;
use crate::transcript::{Segment, WindowSpan};

pub const PROTOCOL_VERSION: u32 = 4;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    pub version: u32,
    pub body: RequestBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RequestBody {
    /// Asks the worker what it can do (sent once at start-up).
    Hello,
    /// Load the speech model from the browser's model cache, checking every file's hash.
    LoadModel(ModelManifest),
    /// Transcribe one window of 16 kHz mono audio.
    Transcribe(TranscribeRequest),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscribeRequest {
    pub span: WindowSpan,
    /// The samples as little-endian `f32` bytes (a `Uint8Array` on the JS side, not an array
    /// of numbers): see [`pcm_to_bytes`].
    #[serde(with = "serde_bytes")]
    pub pcm_f32le: Vec<u8>,
    /// The language spoken (a code of [`crate::language::LANGUAGES`]); `None` lets a
    /// multilingual model detect it in this window. English-only models take `None` or "en".
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub task: Task,
    /// Words to know (names, brands, jargon) the decoder is told before the window.
    #[serde(default)]
    pub prompt: Option<String>,
    /// Hypotheses the beam search keeps at temperature 0; 0 or 1 decodes greedily.
    #[serde(default)]
    pub beam_size: u8,
    /// Makes the worker crash on this request (fault injection for the restart path; the app
    /// sets it only when the page is opened with `?fault=worker-crash`).
    #[serde(default)]
    pub crash: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub id: u64,
    pub body: Result<ResponseBody, WorkerError>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ResponseBody {
    Ready {
        worker_version: String,
        /// Whether the worker runs cross-origin isolated (SharedArrayBuffer available).
        cross_origin_isolated: bool,
    },
    ModelLoaded {
        name: String,
        /// Whether the model knows languages other than English (it then detects or takes a
        /// language, and translates); an English-only model decodes no language.
        #[serde(default)]
        multilingual: bool,
        millis: f64,
        /// The worker's WebAssembly memory after loading: what each worker costs.
        memory_bytes: u64,
    },
    /// A window's segments, times already in the video's time line.
    Transcribed {
        span: WindowSpan,
        segments: Vec<Segment>,
        /// The language the window was decoded in (given or detected); `None` for an
        /// English-only model or a window without speech.
        language: Option<String>,
        millis: f64,
        memory_bytes: u64,
    },
}

/// What went wrong in the worker, as data the app can act on; `Display` is the user's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum WorkerError {
    #[error("the app speaks protocol {app} but this worker speaks {worker}; reload the page")]
    VersionMismatch { app: u32, worker: u32 },
    #[error("the request could not be read: {0}")]
    BadRequest(String),
    #[error("the speech model file {file} is not in the browser's storage; reload the page to download it again")]
    ModelMissing { file: String },
    #[error("the stored speech model file {file} is damaged (its checksum does not match); remove the model in Settings and reload")]
    ModelDamaged { file: String },
    #[error("the speech model could not be loaded: {0}")]
    ModelInvalid(String),
    #[error("no speech model is loaded in this worker")]
    NoModel,
    #[error("transcription failed: {0}")]
    Transcription(String),
}

/// The files of a speech model as the server lists them (`/models/<name>/manifest.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelManifest {
    pub name: String,
    /// Cache Storage bucket the app keeps the files in.
    pub cache: String,
    pub files: Vec<ModelFile>,
}

impl ModelManifest {
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    pub fn file(&self, name: &str) -> Option<&ModelFile> {
        self.files.iter().find(|f| f.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelFile {
    pub name: String,
    /// Absolute path on the app's origin, e.g. `/models/whisper-tiny.en/encoder.onnx`.
    pub url: String,
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
}

/// The files the speech engine needs, in the order it loads them.
pub const MODEL_FILES: [&str; 4] = [
    "encoder.onnx",
    "decoder.onnx",
    "config.json",
    "vocabulary.txt",
];

/// Files a model folder may also have, served and used when it lists them: `vad.onnx`, Silero
/// VAD, which finds the speech (prepared beside tiny.en and base).
pub const OPTIONAL_MODEL_FILES: [&str; 1] = ["vad.onnx"];

/// Samples → little-endian bytes for [`TranscribeRequest`].
pub fn pcm_to_bytes(samples: &[f32]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// The inverse of [`pcm_to_bytes`]; a trailing partial sample is an error.
pub fn pcm_from_bytes(bytes: &[u8]) -> Result<Vec<f32>, WorkerError> {
    if !bytes.len().is_multiple_of(4) {
        return Err(WorkerError::BadRequest(format!(
            "{} bytes of audio is not a whole number of samples",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// Checks the version of a request; the worker answers a mismatch with this error.
pub fn check_version(request: &Request) -> Result<(), WorkerError> {
    if request.version == PROTOCOL_VERSION {
        Ok(())
    } else {
        Err(WorkerError::VersionMismatch {
            app: request.version,
            worker: PROTOCOL_VERSION,
        })
    }
}

/// The worker's answer to `Hello`.
pub fn ready(cross_origin_isolated: bool) -> ResponseBody {
    ResponseBody::Ready {
        worker_version: env!("CARGO_PKG_VERSION").to_string(),
        cross_origin_isolated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(request: &Request) -> Request {
        let wire = serde_json::to_string(request).unwrap();
        serde_json::from_str(&wire).unwrap()
    }

    #[test]
    fn requests_round_trip_through_json() {
        let hello = Request {
            id: 7,
            version: PROTOCOL_VERSION,
            body: RequestBody::Hello,
        };
        assert_eq!(round_trip(&hello), hello);
        let transcribe = Request {
            id: 8,
            version: PROTOCOL_VERSION,
            body: RequestBody::Transcribe(TranscribeRequest {
                span: WindowSpan {
                    index: 3,
                    start_secs: 90.0,
                    end_secs: 118.5,
                },
                pcm_f32le: pcm_to_bytes(&[0.5, -0.25, 1.0]),
                language: Some("es".into()),
                task: Task::Translate,
                prompt: Some("Reelsmith, TikTok".into()),
                beam_size: 5,
                crash: false,
            }),
        };
        assert_eq!(round_trip(&transcribe), transcribe);
    }

    #[test]
    fn pcm_bytes_round_trip_and_reject_partial_samples() {
        let samples = [0.0, -1.0, 0.123_456_79, f32::MIN_POSITIVE];
        assert_eq!(pcm_from_bytes(&pcm_to_bytes(&samples)).unwrap(), samples);
        assert!(matches!(
            pcm_from_bytes(&[0, 0, 0]),
            Err(WorkerError::BadRequest(_))
        ));
    }

    #[test]
    fn version_mismatch_is_an_error_not_a_crash() {
        let request = Request {
            id: 1,
            version: PROTOCOL_VERSION + 1,
            body: RequestBody::Hello,
        };
        let err = check_version(&request).unwrap_err();
        assert!(err.to_string().contains("reload"));
    }

    #[test]
    fn errors_survive_the_wire_as_data() {
        let response = Response {
            id: 4,
            body: Err(WorkerError::ModelDamaged {
                file: "encoder.onnx".into(),
            }),
        };
        let back: Response =
            serde_json::from_str(&serde_json::to_string(&response).unwrap()).unwrap();
        assert_eq!(back, response);
    }
}
