//! The engine on the models `scripts/prepare-model.sh` makes: the random-weights graph for
//! shapes and cache behaviour, the real Whisper tiny.en for recognition of the speech fixture.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use std::path::PathBuf;

use reelsmith_speech::audio::read_wav_16k_mono;
use reelsmith_speech::mel::{N_FRAMES, N_MELS};
use reelsmith_speech::model::WhisperModel;
use reelsmith_speech::transcribe::Engine;

fn models_dir() -> PathBuf {
    std::env::var_os("REELSMITH_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/reelsmith/models")
        })
}

fn read(model: &str, file: &str) -> Vec<u8> {
    let path = models_dir().join(model).join(file);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/prepare-model.sh)", path.display()))
}

fn engine(model: &str) -> Engine {
    Engine::load(
        &read(model, "encoder.onnx"),
        &read(model, "decoder.onnx"),
        &String::from_utf8(read(model, "config.json")).unwrap(),
        &String::from_utf8(read(model, "vocabulary.txt")).unwrap(),
    )
    .unwrap()
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/out")
        .join(name)
}

#[test]
fn random_model_shapes_and_cache() {
    let model = WhisperModel::load(
        &read("whisper-random", "encoder.onnx"),
        &read("whisper-random", "decoder.onnx"),
    )
    .unwrap();
    let mel: Vec<f32> = (0..N_MELS * N_FRAMES)
        .map(|i| ((i % 97) as f32 / 97.0) - 0.5)
        .collect();
    let cross = model.encode(&mel).unwrap();
    assert_eq!(cross.dims, (1, 2, 16));

    // All at once…
    let tokens = [50257u32, 50362, 440, 2068, 7586];
    let mut cache = model.empty_cache(&cross).unwrap();
    let whole = model.step(&cross, &mut cache, &tokens).unwrap();
    assert_eq!(cache.len, 5);
    assert_eq!(whole.logits.len(), 51864);
    assert_eq!(whole.alignment_heads, 2);
    assert_eq!(whole.alignment.len(), 2 * 5 * 1500);
    // …equals one token at a time through the cache.
    let mut cache = model.empty_cache(&cross).unwrap();
    let mut last = None;
    for &t in &tokens {
        last = Some(model.step(&cross, &mut cache, &[t]).unwrap());
    }
    let last = last.unwrap();
    assert_eq!(last.alignment.len(), 2 * 1500);
    let max_diff = whole
        .logits
        .iter()
        .zip(&last.logits)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        max_diff < 1e-3,
        "cached and uncached logits differ by {max_diff}"
    );
}

fn words(text: &str) -> Vec<String> {
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
fn wer(reference: &[String], hypothesis: &[String]) -> f64 {
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

#[test]
fn word_error_rate_counts_edits() {
    let r = words("the quick brown fox");
    assert_eq!(wer(&r, &words("the quick brown fox")), 0.0);
    assert_eq!(wer(&r, &words("the quick fox")), 0.25);
    assert_eq!(wer(&r, &words("a quick brown fox jumps")), 0.5);
}

#[test]
fn tiny_en_transcribes_the_speech_fixture() {
    let engine = engine("whisper-tiny.en");
    let audio = read_wav_16k_mono(&std::fs::read(fixture("speech.wav")).unwrap()).unwrap();
    let out = engine.transcribe_window(&audio).unwrap();
    let reference = words(&std::fs::read_to_string(fixture("speech.txt")).unwrap());
    let error = wer(&reference, &words(&out.text));
    assert!(
        error <= 0.10,
        "WER {:.1}% for {:?}",
        error * 100.0,
        out.text
    );
    assert_eq!(out.tokens.len(), out.logprobs.len());
    assert!(out.logprobs.iter().all(|p| *p <= 0.0 && p.is_finite()));
}
