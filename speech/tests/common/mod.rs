//! What the speech crate's model tests share: the prepared models, the fixtures, word error
//! rate.
#![allow(dead_code)] // each test file uses its own part
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use std::path::PathBuf;

use reelsmith_speech::transcribe::Engine;
use reelsmith_speech::vad::Vad;

pub fn models_dir() -> PathBuf {
    std::env::var_os("REELSMITH_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/reelsmith/models")
        })
}

pub fn read(model: &str, file: &str) -> Vec<u8> {
    let path = models_dir().join(model).join(file);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/prepare-model.sh)", path.display()))
}

/// The model as the app runs it: with its VAD when the folder has one.
pub fn engine(model: &str) -> Engine {
    let vad_file = models_dir().join(model).join("vad.onnx");
    let vad = vad_file
        .exists()
        .then(|| Vad::load(&std::fs::read(&vad_file).unwrap()).unwrap());
    engine_without_vad(model).with_vad(vad)
}

/// The model decoding every window as it is.
pub fn engine_without_vad(model: &str) -> Engine {
    Engine::load(
        &read(model, "encoder.onnx"),
        &read(model, "decoder.onnx"),
        &String::from_utf8(read(model, "config.json")).unwrap(),
        &String::from_utf8(read(model, "vocabulary.txt")).unwrap(),
    )
    .unwrap()
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/out")
        .join(name)
}

/// A spoken fixture (`NAME.wav`) and the words of its text (`NAME.txt`).
pub fn spoken(name: &str) -> (Vec<f32>, Vec<String>) {
    let wav = std::fs::read(fixture(&format!("{name}.wav"))).unwrap();
    let audio = reelsmith_speech::audio::read_wav_16k_mono(&wav).unwrap();
    let reference = words(&std::fs::read_to_string(fixture(&format!("{name}.txt"))).unwrap());
    (audio, reference)
}

pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Word error rate: word-level edit distance over the reference length.
pub fn wer(reference: &[String], hypothesis: &[String]) -> f64 {
    let mut row: Vec<usize> = (0..=hypothesis.len()).collect();
    for (i, r) in reference.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, h) in hypothesis.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(r != h)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[hypothesis.len()] as f64 / reference.len() as f64
}
