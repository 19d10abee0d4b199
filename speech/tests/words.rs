//! Words to know: text encoded into the models' own tokens (the vocabulary's ids are tiktoken's
//! merge ranks), and names the models mishear spelled right once they are given as a prompt
//! (`names.wav`, made by tests/fixtures/make.sh).
//!
//! Native only: it reads the prepared models from disk, and proptest's random source needs a
//! browser-specific getrandom on wasm32.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use proptest::prelude::*;
use reelsmith_speech::audio::read_wav_16k_mono;
use reelsmith_speech::tokenizer::Tokenizer;
use reelsmith_speech::transcribe::DecodeOptions;

mod common;
use common::{engine, fixture, read, words};

fn tokenizer(model: &str) -> Tokenizer {
    Tokenizer::from_vocabulary(&String::from_utf8(read(model, "vocabulary.txt")).unwrap()).unwrap()
}

#[test]
fn text_is_encoded_into_the_vocabularys_tokens() {
    let tiny = tokenizer("whisper-tiny.en");
    // GPT-2's ids, as tokenizer.json lists them: "ĠHello", "Ġworld", "Ċ".
    assert_eq!(tiny.encode(" Hello world"), [18435, 995]);
    assert_eq!(tiny.encode("\n"), [198]);
    // A name the vocabulary lacks is made of the pieces it has.
    assert_eq!(
        tiny.decode(&tiny.encode(" Reelsmith")).unwrap(),
        " Reelsmith"
    );
    assert!(tiny.encode(" Reelsmith").len() > 1);
}

#[test]
fn what_the_model_writes_encodes_back_to_its_own_tokens() {
    let engine = engine("whisper-tiny.en");
    let samples = read_wav_16k_mono(&std::fs::read(fixture("speech.wav")).unwrap()).unwrap();
    let window = engine.transcribe_window(&samples).unwrap();
    assert!(window.tokens.len() > 10);
    // The window's text is given without the space its first token starts with.
    let text = format!(" {}", window.text.trim_start());
    assert_eq!(engine.tokenizer().encode(&text), window.tokens);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_text_decodes_back_from_its_tokens(text in "\\PC{0,30}") {
        for model in ["whisper-tiny.en", "whisper-base"] {
            let tokenizer = tokenizer(model);
            let ids = tokenizer.encode(&text);
            prop_assert_eq!(tokenizer.decode(&ids).unwrap(), text.clone());
        }
    }
}

#[test]
fn names_given_as_words_to_know_are_written_as_given() {
    let samples = read_wav_16k_mono(&std::fs::read(fixture("names.wav")).unwrap()).unwrap();
    for model in ["whisper-tiny.en", "whisper-base"] {
        let engine = engine(model);
        let heard = |prompt: Option<&str>| {
            let options = DecodeOptions {
                language: Some("en".into()).filter(|_| engine.is_multilingual()),
                prompt: prompt.map(str::to_owned),
                ..Default::default()
            };
            let t = engine.transcribe_with(&samples, &options).unwrap();
            let text: Vec<String> = t.segments.iter().flat_map(|s| words(&s.text)).collect();
            text.join(" ")
        };
        let count = |text: &str, word: &str| text.split(' ').filter(|w| *w == word).count();
        let plain = heard(None);
        assert_eq!(count(&plain, "reelsmith"), 0, "{model}: {plain}");
        let told = heard(Some("Reelsmith, Kestrel Dyne"));
        assert!(count(&told, "reelsmith") >= 1, "{model}: {told}");
        assert!(told.contains("kestrel dyne"), "{model}: {told}");
        // The prompt is not written out as if it were said.
        assert!(!told.starts_with("reelsmith kestrel"), "{model}: {told}");
    }
}
