//! The log-mel spectrogram of the spoken fixture (tests/fixtures/out/speech.wav, made by
//! tests/fixtures/make.sh with espeak-ng) against tools/mel_reference.py, an independent numpy
//! implementation of whisper/audio.py that make.sh runs on the same file.

#![cfg(not(target_arch = "wasm32"))] // reads fixtures from disk
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use std::path::PathBuf;

use reelsmith_speech::audio::{read_wav_16k_mono, read_wav_info, read_wav_mono};
use reelsmith_speech::mel::{log_mel_spectrogram, model_input, N_MELS};

fn fixture(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/out")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run tests/fixtures/make.sh",
        path.display()
    );
    path
}

fn reference_mel() -> (usize, usize, Vec<f32>) {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("speech.mel.json")).unwrap())
            .unwrap();
    let n_mels = json["n_mels"].as_u64().unwrap() as usize;
    let n_frames = json["n_frames"].as_u64().unwrap() as usize;
    let values: Vec<f32> = std::fs::read(fixture("speech.mel.f32"))
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(values.len(), n_mels * n_frames);
    (n_mels, n_frames, values)
}

#[test]
fn speech_mel_matches_the_numpy_reference() {
    let wav = std::fs::read(fixture("speech.wav")).unwrap();
    let info = read_wav_info(&wav).unwrap();
    assert_eq!((info.sample_rate_hz, info.channels), (16_000, 1));
    let samples = read_wav_16k_mono(&wav).unwrap();
    // Already 16 kHz: read unchanged.
    assert_eq!(samples, read_wav_mono(&wav).unwrap().samples);

    let mel = log_mel_spectrogram(&samples);
    let (n_mels, n_frames, reference) = reference_mel();
    assert_eq!((mel.n_mels(), mel.n_frames()), (n_mels, n_frames));
    assert_eq!(n_mels, N_MELS);
    assert_eq!(n_frames, samples.len() / 160);
    let max_diff = mel
        .values()
        .iter()
        .zip(&reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(max_diff <= 1e-4, "max |rust - numpy| = {max_diff}");
    // Speech, not silence: the values span Whisper's whole 80 dB range.
    let max = reference.iter().copied().fold(f32::MIN, f32::max);
    let min = reference.iter().copied().fold(f32::MAX, f32::min);
    assert!(max - min > 1.9, "range {min}..{max}");
}

#[test]
fn speech_model_input_starts_with_the_speech_mel() {
    let samples = read_wav_16k_mono(&std::fs::read(fixture("speech.wav")).unwrap()).unwrap();
    let input = model_input(&samples);
    assert_eq!((input.n_mels(), input.n_frames()), (80, 3_000));
    let (_, n_frames, reference) = reference_mel();
    // Padding adds silence after the speech; frames well before its end are unchanged (the
    // padding does not raise the global maximum, so the floor is the same).
    let mut max_diff = 0.0f32;
    for m in 0..80 {
        for t in 0..n_frames - 3 {
            let diff = (input.get(m, t).unwrap() - reference[m * n_frames + t]).abs();
            max_diff = max_diff.max(diff);
        }
    }
    assert!(max_diff <= 1e-4, "max |rust - numpy| = {max_diff}");
}
