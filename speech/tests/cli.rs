//! The `reelsmith` binary on the speech fixture, in each output format, and its errors.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use std::path::PathBuf;
use std::process::{Command, Output};

use reelsmith_speech::subtitles::from_json;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/out")
        .join(name)
}

fn reelsmith(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reelsmith"));
    command.args(args);
    if let Some(dir) = std::env::var_os("REELSMITH_MODELS") {
        command
            .arg("--model")
            .arg(PathBuf::from(dir).join("whisper-tiny.en"));
    }
    command.output().unwrap()
}

fn transcribe(format: &str) -> String {
    let wav = fixture("speech.wav");
    let out = reelsmith(&["transcribe", wav.to_str().unwrap(), "--format", format]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{format}: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn transcribes_to_json_srt_and_vtt() {
    let json = transcribe("json");
    let segments = from_json(&json).unwrap();
    assert!(!segments.is_empty());
    let text: String = segments.iter().map(|s| s.text.as_str()).collect();
    assert!(text.to_lowercase().contains("brown fox"), "{text}");
    assert!(segments.iter().all(|s| !s.words.is_empty()), "{json}");

    let srt = transcribe("srt");
    assert!(srt.starts_with("1\n00:00:0"), "{srt}");
    assert!(
        srt.contains(" --> ") && srt.contains("short clips"),
        "{srt}"
    );

    let vtt = transcribe("vtt");
    assert!(vtt.starts_with("WEBVTT\n\n00:00:0"), "{vtt}");
    assert!(vtt.contains("short clips"), "{vtt}");
}

#[test]
fn errors_say_what_went_wrong() {
    let out = reelsmith(&["transcribe"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no WAV file given"));

    let wav = fixture("speech.wav");
    let out = reelsmith(&["transcribe", wav.to_str().unwrap(), "--format", "doc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("json, srt or vtt"));

    let out = reelsmith(&["transcribe", wav.to_str().unwrap(), "--words"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--words needs"));

    let out = reelsmith(&["transcribe", "/nonexistent/audio.wav"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot read the audio file"), "{stderr}");

    let out = Command::new(env!("CARGO_BIN_EXE_reelsmith"))
        .args([
            "transcribe",
            wav.to_str().unwrap(),
            "--model",
            "/nonexistent",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("prepare-model.sh"), "{stderr}");
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reelsmith"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn models_by_name_languages_and_translation() {
    let spanish = fixture("speech_es.wav");
    let spanish = spanish.to_str().unwrap();
    let out = run(&[
        "transcribe",
        spanish,
        "--model",
        "base",
        "--task",
        "translate",
        "--format",
        "srt",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("language detected: es"), "{stderr}");
    let srt = String::from_utf8(out.stdout).unwrap().to_lowercase();
    assert!(
        srt.starts_with("1\n00:00:0") && srt.contains("good morning"),
        "{srt}"
    );

    // A language given is not detected, and is what the text is written in.
    let out = run(&[
        "transcribe",
        spanish,
        "--model",
        "base",
        "--language",
        "es",
        "--format",
        "vtt",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("detected"), "{stderr}");
    let vtt = String::from_utf8(out.stdout).unwrap().to_lowercase();
    assert!(vtt.contains("paella"), "{vtt}");

    // tiny.en by name: English only.
    let out = run(&[
        "transcribe",
        spanish,
        "--model",
        "tiny.en",
        "--language",
        "es",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("only English"), "{stderr}");

    for (args, says) in [
        (["--language", "Spanish"], "--language takes"),
        (["--task", "summarize"], "transcribe or translate"),
    ] {
        let out = run(&[&["transcribe", spanish][..], &args[..]].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[test]
fn the_vad_is_used_unless_no_vad_is_given() {
    let wav = fixture("music_speech.wav");
    let first_start = |extra: &[&str]| {
        let mut args = vec!["transcribe", wav.to_str().unwrap(), "--format", "json"];
        args.extend_from_slice(extra);
        let out = reelsmith(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let segments = from_json(&String::from_utf8(out.stdout).unwrap()).unwrap();
        segments.first().map(|s| s.start_secs).unwrap()
    };
    // The sentence is spoken from 25 s over music: with the VAD nothing comes before it;
    // decoding everything, the model starts its first words with the music.
    assert!(first_start(&[]) >= 24.0);
    assert!(first_start(&["--no-vad"]) < 24.0);
}

#[test]
fn words_to_know_are_spelled_as_given() {
    let wav = fixture("names.wav");
    let out = reelsmith(&[
        "transcribe",
        wav.to_str().unwrap(),
        "--format",
        "srt",
        "--words",
        "Reelsmith, Kestrel Dyne",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let srt = String::from_utf8(out.stdout).unwrap();
    assert!(
        srt.contains("Reelsmith") && srt.contains("Kestrel Dyne"),
        "{srt}"
    );
}
