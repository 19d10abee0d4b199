//! Reelsmith's transcription building blocks, in pure Rust that builds natively and for wasm32
//! (no web-sys, no threads): WAV decoding and resampling to 16 kHz ([`audio`]), Whisper's
//! log-mel spectrogram ([`mel`]), Whisper's byte-level BPE decoding ([`tokenizer`]), word timing
//! by dynamic time warping over cross-attention ([`dtw`]), and SRT/WebVTT/JSON output
//! ([`subtitles`]); the network itself, Whisper's encoder and decoder as ONNX graphs run by tract
//! ([`model`]), and the decoding loop that turns audio into text ([`transcribe`]).

pub mod attend;
pub mod audio;
pub mod beam;
pub mod dtw;
pub mod int8;
pub mod mel;
pub mod model;
pub mod qgemm;
pub mod subtitles;
pub mod tokenizer;
pub mod transcribe;
pub mod vad;

pub use audio::{read_wav_16k_mono, AudioError, Resampler};
pub use mel::{log_mel_spectrogram, LogMel, MelSpectrogram};
pub use subtitles::{Segment, Word};
pub use tokenizer::{Tokenizer, TokenizerError};
