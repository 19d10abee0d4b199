//! Only speech is heard: the models as the app runs them (with the Silero VAD prepared beside
//! them) on a minute of music with a sentence spoken over it from 25 s
//! (`music_speech.wav`, made by tests/fixtures/make.sh). Without the VAD the models put words
//! over the music before the sentence (at 0.0 s) and base writes the sentence twice.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use reelsmith_speech::vad::Vad;

mod common;
use common::{engine, read, spoken, wer, words};

/// Where the sentence lies in the fixture, with a second's grace either side.
const SPEECH_SECS: std::ops::Range<f64> = 24.0..34.0;

fn music_with_speech() -> (Vec<f32>, Vec<String>) {
    spoken("music_speech")
}

#[test]
fn tract_gives_the_probabilities_onnxruntime_gives() {
    // The reference runs 512 frames per call, tract 128: equal only if the LSTM state and the
    // frames' context carry over between calls as they should.
    let (samples, _) = music_with_speech();
    let vad = Vad::load(&read("whisper-tiny.en", "vad.onnx")).unwrap();
    let probs = vad.speech_probs(&samples).unwrap();
    let reference: Vec<f32> = std::fs::read(common::fixture("music_speech.vad.f32"))
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(probs.len(), reference.len());
    assert!(probs.len() > 3 * reelsmith_speech::vad::BLOCK_FRAMES);
    let worst = probs
        .iter()
        .zip(&reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-3, "largest difference {worst}");
}

#[test]
fn the_vad_finds_the_sentence_and_nothing_in_the_music() {
    let (samples, _) = music_with_speech();
    let vad = Vad::load(&read("whisper-tiny.en", "vad.onnx")).unwrap();
    let regions = vad.speech(&samples).unwrap();
    assert_eq!(regions.len(), 1, "{regions:?}");
    let secs = |at: usize| at as f64 / 16_000.0;
    let (start, end) = (secs(regions[0].start), secs(regions[0].end));
    assert!(
        SPEECH_SECS.contains(&start) && SPEECH_SECS.contains(&end),
        "{start}..{end}"
    );
}

fn only_the_sentence_is_written(model: &str) {
    let (samples, reference) = music_with_speech();
    let transcription = engine(model)
        .transcribe_with(&samples, &Default::default())
        .unwrap();
    let heard: Vec<String> = transcription
        .segments
        .iter()
        .flat_map(|s| words(&s.text))
        .collect();
    for segment in &transcription.segments {
        for word in &segment.words {
            assert!(
                SPEECH_SECS.contains(&word.start_secs) && SPEECH_SECS.contains(&word.end_secs),
                "{model}: {:?} at {:.2}–{:.2} s lies in the music",
                word.text,
                word.start_secs,
                word.end_secs
            );
        }
    }
    // The sentence once, nearly word for word (base hears "son" for "song").
    let error = wer(&reference, &heard);
    assert!(error <= 0.15, "{model}: WER {error:.2} for {heard:?}");
    assert!(heard.len() <= reference.len() + 1, "{model}: {heard:?}");
}

#[test]
fn tiny_en_writes_only_the_sentence_spoken_over_music() {
    only_the_sentence_is_written("whisper-tiny.en");
}

#[test]
fn base_writes_only_the_sentence_spoken_over_music() {
    only_the_sentence_is_written("whisper-base");
}
