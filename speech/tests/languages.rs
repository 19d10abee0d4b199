//! Whisper base, the multilingual model, on the Spanish and German fixtures (espeak-ng, made by
//! tests/fixtures/make.sh) and the English one: which language it hears, transcription in a
//! language detected or given, translation into English; and what the English-only model
//! refuses. The voices are rough, so the checks are on key words.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use reelsmith_speech::audio::read_wav_16k_mono;
use reelsmith_speech::tokenizer::Task;
use reelsmith_speech::transcribe::{DecodeOptions, Engine, EngineError, Transcription};

mod common;
use common::{engine, fixture, words};

fn audio(name: &str) -> Vec<f32> {
    read_wav_16k_mono(&std::fs::read(fixture(name)).unwrap()).unwrap()
}

fn options(language: Option<&str>, task: Task) -> DecodeOptions {
    DecodeOptions {
        language: language.map(str::to_owned),
        task,
        ..Default::default()
    }
}

fn text(t: &Transcription) -> String {
    let text: Vec<&str> = t.segments.iter().map(|s| s.text.as_str()).collect();
    words(&text.join(" ")).join(" ")
}

/// Every key word (lower case, no punctuation) is in the transcript's words.
fn assert_has(t: &Transcription, keys: &[&str], what: &str) {
    let text = text(t);
    for key in keys {
        assert!(text.contains(key), "{what}: {key:?} missing from {text:?}");
    }
}

#[test]
fn the_editor_lists_the_languages_base_knows_in_token_order() {
    let base = engine("whisper-base");
    let model: Vec<&str> = base
        .tokenizer()
        .languages()
        .iter()
        .map(|(code, _)| code.as_str())
        .collect();
    let editor: Vec<&str> = reelsmith_core::language::LANGUAGES
        .iter()
        .map(|l| l.code)
        .collect();
    assert_eq!(model, editor);
}

#[test]
fn base_hears_which_language_is_spoken() {
    let base = engine("whisper-base");
    assert!(base.is_multilingual());
    for (name, code) in [
        ("speech.wav", "en"),
        ("speech_es.wav", "es"),
        ("speech_de.wav", "de"),
    ] {
        let heard = base.detect_language(&audio(name)).unwrap();
        assert_eq!(heard.len(), 99, "{name}: every language has a probability");
        assert_eq!(heard[0].0, code, "{name}: {:?}", &heard[..3]);
        assert!(heard[0].1 > 0.5, "{name}: {:?}", &heard[..3]);
        let total: f32 = heard.iter().map(|(_, p)| p).sum();
        assert!(
            (total - 1.0).abs() < 1e-3,
            "{name}: probabilities add to {total}"
        );
    }
}

#[test]
fn base_transcribes_in_the_language_detected() {
    let base = engine("whisper-base");
    let auto = DecodeOptions::default();
    let spanish = base
        .transcribe_with(&audio("speech_es.wav"), &auto)
        .unwrap();
    assert_eq!(spanish.language.as_deref(), Some("es"));
    assert_has(
        &spanish,
        &["buenos días", "española", "paella", "arroz"],
        "Spanish",
    );
    let german = base
        .transcribe_with(&audio("speech_de.wav"), &auto)
        .unwrap();
    assert_eq!(german.language.as_deref(), Some("de"));
    assert_has(&german, &["guten morgen", "berlin", "winter"], "German");
    // Words carry times inside their segments, as for English.
    for segment in spanish.segments.iter().chain(&german.segments) {
        assert!(!segment.words.is_empty(), "{segment:?}");
        for word in &segment.words {
            assert!(word.start_secs <= word.end_secs, "{word:?}");
        }
    }
}

#[test]
fn silence_names_no_language_and_speech_after_it_does() {
    let base = engine("whisper-base");
    let auto = DecodeOptions::default();
    let silence = vec![0.0f32; 16_000 * 30];
    let quiet = base.transcribe_with(&silence, &auto).unwrap();
    assert_eq!(quiet.language, None, "{:?}", quiet.segments);
    let mut late = vec![0.0f32; 16_000 * 35];
    late.extend(audio("speech_es.wav"));
    let spanish = base.transcribe_with(&late, &auto).unwrap();
    assert_eq!(spanish.language.as_deref(), Some("es"));
    assert_has(&spanish, &["paella", "arroz"], "Spanish after silence");
}

#[test]
fn a_language_given_is_the_one_decoded() {
    let base = engine("whisper-base");
    let german = audio("speech_de.wav");
    let detected = base
        .transcribe_with(&german, &DecodeOptions::default())
        .unwrap();
    assert_has(&detected, &["guten morgen"], "German, detected");
    // Told it is English, the model writes English for the German greeting.
    let forced = base
        .transcribe_with(&german, &options(Some("en"), Task::Transcribe))
        .unwrap();
    assert_eq!(forced.language.as_deref(), Some("en"));
    assert!(!text(&forced).contains("guten morgen"), "{}", text(&forced));
    assert_has(&forced, &["good morning"], "German, decoded as English");
}

#[test]
fn base_translates_into_english() {
    let base = engine("whisper-base");
    let translate = options(None, Task::Translate);
    let spanish = base
        .transcribe_with(&audio("speech_es.wav"), &translate)
        .unwrap();
    assert_eq!(spanish.language.as_deref(), Some("es"));
    assert_has(
        &spanish,
        &["good morning", "today", "spanish"],
        "Spanish → English",
    );
    let german = base
        .transcribe_with(&audio("speech_de.wav"), &translate)
        .unwrap();
    assert_eq!(german.language.as_deref(), Some("de"));
    assert_has(&german, &["good morning", "berlin"], "German → English");
}

#[test]
fn what_a_model_cannot_do_is_refused_with_the_reason() {
    let tiny = engine("whisper-tiny.en");
    assert!(!tiny.is_multilingual());
    assert!(tiny.check_options(&DecodeOptions::default()).is_ok());
    assert!(tiny
        .check_options(&options(Some("en"), Task::Transcribe))
        .is_ok());
    let refused = |engine: &Engine, options: DecodeOptions| {
        let error = engine
            .transcribe_with(&audio("speech.wav"), &options)
            .unwrap_err();
        (
            matches!(error, EngineError::EnglishOnly(_)),
            error.to_string(),
        )
    };
    let (english_only, message) = refused(&tiny, options(Some("es"), Task::Transcribe));
    assert!(
        english_only && message.contains("only English"),
        "{message}"
    );
    let (english_only, message) = refused(&tiny, options(None, Task::Translate));
    assert!(english_only && message.contains("translate"), "{message}");
    // tiny.en hears no languages: it has none to tell apart.
    assert!(tiny
        .detect_language(&audio("speech.wav"))
        .unwrap()
        .is_empty());

    let base = engine("whisper-base");
    let (english_only, message) = refused(&base, options(Some("xx"), Task::Transcribe));
    assert!(!english_only && message.contains("\"xx\""), "{message}");
}
