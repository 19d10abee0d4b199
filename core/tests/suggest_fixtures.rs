//! The clip suggester on labelled conversations (core/tests/fixtures/suggest/, written by
//! tests/fixtures/suggest_fixtures.py): every labelled change of subject and both edges of the
//! ad break are found, and at every target length each suggestion stays inside one subject and
//! out of the break, keeps a question with its answer, does not open on an echo, is within
//! ±15 % of the target, overlaps no other, has its own reason, and a title and opening quote
//! cut between words. The committed files are checked against the generator's output.

#![cfg(not(target_arch = "wasm32"))] // reads fixtures from disk, runs python3
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use reelsmith_core::clips::{suggest, LengthTarget, Loudness, OPENING_MAX_CHARS, TITLE_MAX_CHARS};
use reelsmith_core::topics::topic_boundaries;
use reelsmith_core::transcript::Word;
use serde_json::Value;

const EPS: f64 = 0.01;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/suggest")
}

fn fixtures() -> Vec<(String, Value)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 3, "{paths:?}");
    paths
        .iter()
        .map(|p| {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            (v["name"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

fn words(v: &Value) -> Vec<Word> {
    v["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            Word::new(
                w["start_secs"].as_f64().unwrap(),
                w["end_secs"].as_f64().unwrap(),
                w["text"].as_str().unwrap(),
            )
        })
        .collect()
}

fn span(v: &Value) -> (f64, f64) {
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

#[test]
fn committed_fixtures_are_what_the_generator_writes() {
    let out = tempfile::tempdir().unwrap();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/suggest_fixtures.py");
    let status = Command::new("python3")
        .arg(&script)
        .arg(out.path())
        .status()
        .expect("python3 runs tests/fixtures/suggest_fixtures.py");
    assert!(status.success());
    let mut made: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    made.sort();
    let mut committed: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    committed.sort();
    assert_eq!(made, committed, "regenerate: python3 {}", script.display());
    for name in made {
        let a = std::fs::read(out.path().join(&name)).unwrap();
        let b = std::fs::read(dir().join(&name)).unwrap();
        assert!(
            a == b,
            "{name} is stale: python3 {} {}",
            script.display(),
            dir().display()
        );
    }
}

#[test]
fn every_labelled_change_of_subject_and_break_edge_is_found() {
    for (name, v) in fixtures() {
        let found = topic_boundaries(&words(&v));
        let mut labelled: Vec<f64> = v["topic_boundaries_secs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_f64().unwrap())
            .collect();
        labelled.push(v["break"]["start_secs"].as_f64().unwrap());
        labelled.push(v["break"]["end_secs"].as_f64().unwrap());
        for l in labelled {
            assert!(
                found.iter().any(|f| (f - l).abs() <= 3.0),
                "{name}: {l} not found in {found:?}"
            );
        }
    }
}

#[test]
fn suggestions_keep_every_rule_on_the_labelled_conversations() {
    for (name, v) in fixtures() {
        let words = words(&v);
        let boundaries: Vec<f64> = v["topic_boundaries_secs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_f64().unwrap())
            .collect();
        let ad = (
            v["break"]["start_secs"].as_f64().unwrap(),
            v["break"]["end_secs"].as_f64().unwrap(),
        );
        let questions: Vec<((f64, f64), (f64, f64))> = v["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| (span(&q["question"]), span(&q["answer_first_sentence"])))
            .collect();
        let echoes: Vec<(f64, f64)> = v["echoes"].as_array().unwrap().iter().map(span).collect();
        for target in [15.0, 20.0, 30.0, 45.0, 60.0] {
            let found = suggest(
                &words,
                &Loudness::default(),
                LengthTarget::around(target),
                5,
            );
            let at = format!("{name} at {target} s");
            assert!(found.len() >= 3, "{at}: {found:#?}");
            for (i, s) in found.iter().enumerate() {
                let (a, b) = (s.start_secs, s.end_secs);
                let d = b - a;
                assert!((d - target).abs() <= 0.15 * target + 1e-9, "{at}: {d} s");
                for x in &boundaries {
                    assert!(!(a < *x && *x < b), "{at}: {a}–{b} spans the change at {x}");
                }
                assert!(
                    b <= ad.0 || a >= ad.1,
                    "{at}: {a}–{b} holds some of the break"
                );
                for (q, answer) in &questions {
                    assert!(
                        !(a > q.0 + EPS && a < answer.0 + EPS),
                        "{at}: {a} opens on the answer to the question at {}",
                        q.0
                    );
                    assert!(
                        !(b > q.0 - EPS && b < answer.0),
                        "{at}: {b} ends on the question at {}",
                        q.0
                    );
                }
                for e in &echoes {
                    assert!(
                        !(a > e.0 - EPS && a < e.1),
                        "{at}: opens on the echo at {}",
                        e.0
                    );
                }
                for o in &found[i + 1..] {
                    assert!(b <= o.start_secs || o.end_secs <= a, "{at}: overlap");
                    assert_ne!(s.reason, o.reason, "{at}");
                }
                // Title and opening: whole words of what is said (a "$" kept as "$").
                let spoken: Vec<&str> = words
                    .iter()
                    .filter(|w| w.start_secs >= a - EPS && w.end_secs <= b + EPS)
                    .map(|w| w.text.trim())
                    .collect();
                let said: Vec<String> = spoken
                    .iter()
                    .map(|w| w.trim_matches(|c: char| ",.?!".contains(c)).to_lowercase())
                    .collect();
                assert!(!s.title.is_empty() && s.title.chars().count() <= TITLE_MAX_CHARS);
                for word in s.title.split_whitespace() {
                    let word = word
                        .trim_matches(|c: char| ",.?!…".contains(c))
                        .to_lowercase();
                    assert!(
                        word == "and" || said.contains(&word),
                        "{at}: title {:?} has {word:?}",
                        s.title
                    );
                }
                assert!(s.opening.chars().count() <= OPENING_MAX_CHARS);
                let opening = s.opening.trim_end_matches('…');
                let text = spoken.join(" ");
                assert!(text.starts_with(opening), "{at}: {:?}", s.opening);
                assert!(
                    text[opening.len()..].starts_with([' ', ',']) || text.len() == opening.len(),
                    "{at}: {:?} cut inside a word",
                    s.opening
                );
                assert!(!s.reasons.is_empty() && s.reason.len() > 20);
                assert!(!s.reason.contains("lively pace"));
            }
        }
    }
}
