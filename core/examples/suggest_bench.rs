//! Scores the clip suggester on the labelled transcripts in `core/tests/fixtures/suggest/`
//! (made by `tests/fixtures/suggest_fixtures.py`) for BENCHMARKS.md:
//! `cargo run --release -p reelsmith-core --example suggest_bench [FIXTURE_DIR]`.
//!
//! It reads only `clips::{suggest, LengthTarget, Loudness}` (fields `start_secs`, `end_secs`,
//! `reason`, `opening`) and `topics::topic_boundaries`, so `scripts/bench-suggest.sh` can run
//! the same file against an older suggester for comparison.

use std::path::PathBuf;

use reelsmith_core::clips::{suggest, LengthTarget, Loudness};
use reelsmith_core::topics::topic_boundaries;
use reelsmith_core::transcript::Word;
use serde_json::Value;

/// A detected boundary matches a labelled one at most this many seconds away.
const MATCH_SECS: f64 = 3.0;
/// Target lengths asked for, as the app's length field offers them.
const TARGETS: [f64; 4] = [15.0, 30.0, 45.0, 60.0];
/// Suggestions asked for, as the app asks.
const COUNT: usize = 5;
/// Seconds of slack when comparing times taken from the same words.
const EPS: f64 = 0.01;

type Span = (f64, f64);

struct Fixture {
    name: String,
    words: Vec<Word>,
    topic_boundaries: Vec<f64>,
    break_span: Span,
    /// (question, first sentence of its answer)
    questions: Vec<(Span, Span)>,
    echoes: Vec<Span>,
}

fn span(v: &Value) -> Option<Span> {
    Some((v.get(0)?.as_f64()?, v.get(1)?.as_f64()?))
}

fn load(path: &PathBuf) -> Result<Fixture, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let bad = || format!("{}: not a suggest fixture", path.display());
    let words = v["words"]
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|w| {
            Some(Word::new(
                w["start_secs"].as_f64()?,
                w["end_secs"].as_f64()?,
                w["text"].as_str()?,
            ))
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(bad)?;
    let numbers =
        |key: &str| -> Option<Vec<f64>> { v[key].as_array()?.iter().map(Value::as_f64).collect() };
    let spans = |key: &str, field: Option<&str>| -> Option<Vec<Span>> {
        v[key]
            .as_array()?
            .iter()
            .map(|x| span(field.map_or(x, |f| &x[f])))
            .collect()
    };
    let questions = spans("questions", Some("question"))
        .zip(spans("questions", Some("answer_first_sentence")))
        .map(|(q, a)| q.into_iter().zip(a).collect())
        .ok_or_else(bad)?;
    Ok(Fixture {
        name: v["name"].as_str().ok_or_else(bad)?.to_string(),
        words,
        topic_boundaries: numbers("topic_boundaries_secs").ok_or_else(bad)?,
        break_span: (
            v["break"]["start_secs"].as_f64().ok_or_else(bad)?,
            v["break"]["end_secs"].as_f64().ok_or_else(bad)?,
        ),
        questions,
        echoes: spans("echoes", None).ok_or_else(bad)?,
    })
}

/// Labelled boundaries matched one to one by detected ones within [`MATCH_SECS`] (nearest
/// first): (matched, detected, labelled).
fn matched(detected: &[f64], labelled: &[f64]) -> (usize, usize, usize) {
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (i, d) in detected.iter().enumerate() {
        for (j, l) in labelled.iter().enumerate() {
            if (d - l).abs() <= MATCH_SECS {
                pairs.push(((d - l).abs(), i, j));
            }
        }
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut used_d, mut used_l) = (vec![false; detected.len()], vec![false; labelled.len()]);
    let mut n = 0;
    for (_, i, j) in pairs {
        if !used_d[i] && !used_l[j] {
            used_d[i] = true;
            used_l[j] = true;
            n += 1;
        }
    }
    (n, detected.len(), labelled.len())
}

#[derive(Default)]
struct Tally {
    suggestions: usize,
    one_topic: usize,
    question_with_answer: usize,
    not_on_echo: usize,
    length_ok: usize,
    opening_whole_words: usize,
    all_rules: usize,
    overlapping_pairs: usize,
    repeated_reasons: usize,
    length_error_sum: f64,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.suggestions += other.suggestions;
        self.one_topic += other.one_topic;
        self.question_with_answer += other.question_with_answer;
        self.not_on_echo += other.not_on_echo;
        self.length_ok += other.length_ok;
        self.opening_whole_words += other.opening_whole_words;
        self.all_rules += other.all_rules;
        self.overlapping_pairs += other.overlapping_pairs;
        self.repeated_reasons += other.repeated_reasons;
        self.length_error_sum += other.length_error_sum;
    }

    fn row(&self, label: &str) -> String {
        let share = |n: usize| {
            if self.suggestions == 0 {
                "–".to_string()
            } else {
                format!("{:.0} %", 100.0 * n as f64 / self.suggestions as f64)
            }
        };
        let error = if self.suggestions == 0 {
            "–".to_string()
        } else {
            format!(
                "{:.1} %",
                100.0 * self.length_error_sum / self.suggestions as f64
            )
        };
        format!(
            "| {label} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {error} |",
            self.suggestions,
            share(self.all_rules),
            share(self.one_topic),
            share(self.question_with_answer),
            share(self.not_on_echo),
            share(self.length_ok),
            share(self.opening_whole_words),
            self.overlapping_pairs,
            self.repeated_reasons,
        )
    }
}

/// The transcript's text from `start` on, words joined by single spaces.
fn text_from(words: &[Word], start: f64) -> String {
    words
        .iter()
        .filter(|w| w.start_secs >= start - EPS)
        .map(|w| w.text.trim())
        .collect::<Vec<_>>()
        .join(" ")
}

fn score(f: &Fixture, target_secs: f64) -> Tally {
    let found = suggest(
        &f.words,
        &Loudness::default(),
        LengthTarget::around(target_secs),
        COUNT,
    );
    let mut t = Tally::default();
    for (i, s) in found.iter().enumerate() {
        let (a, b) = (s.start_secs, s.end_secs);
        let one_topic = f.topic_boundaries.iter().all(|&x| !(a < x && x < b))
            && !(a < f.break_span.1 && f.break_span.0 < b);
        let question_with_answer = f.questions.iter().all(|(q, answer)| {
            let starts_on_answer = a > q.0 + EPS && a < answer.0 + EPS;
            let ends_on_question = b > q.0 - EPS && b < answer.0;
            !starts_on_answer && !ends_on_question
        });
        let not_on_echo = f.echoes.iter().all(|e| !(a > e.0 - EPS && a < e.1));
        let length = b - a;
        let length_ok = (length - target_secs).abs() <= 0.15 * target_secs + 1e-9;
        let text = text_from(&f.words, a);
        let opening = s.opening.trim_end_matches('…').trim_end();
        let opening_whole_words = text.starts_with(opening)
            && text[opening.len()..]
                .chars()
                .next()
                .is_none_or(|c| c.is_whitespace() || ",;:-–—".contains(c));
        t.suggestions += 1;
        t.one_topic += usize::from(one_topic);
        t.question_with_answer += usize::from(question_with_answer);
        t.not_on_echo += usize::from(not_on_echo);
        t.length_ok += usize::from(length_ok);
        t.opening_whole_words += usize::from(opening_whole_words);
        t.all_rules += usize::from(
            one_topic && question_with_answer && not_on_echo && length_ok && opening_whole_words,
        );
        t.length_error_sum += (length - target_secs).abs() / target_secs;
        for other in &found[i + 1..] {
            t.overlapping_pairs += usize::from(a < other.end_secs && other.start_secs < b);
        }
        t.repeated_reasons += usize::from(
            found
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && o.reason == s.reason),
        );
    }
    t
}

fn main() -> Result<(), String> {
    let dir = std::env::args().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/suggest"),
        PathBuf::from,
    );
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let fixtures = paths.iter().map(load).collect::<Result<Vec<_>, _>>()?;

    println!("Topic boundaries (a detected boundary matches a labelled one within ±{MATCH_SECS} s; the break's two edges count as boundaries):\n");
    println!("| fixture | minutes | labelled | detected | matched | precision | recall |");
    println!("|---|---|---|---|---|---|---|");
    let mut total = (0, 0, 0);
    for f in &fixtures {
        let mut labelled = f.topic_boundaries.clone();
        labelled.extend([f.break_span.0, f.break_span.1]);
        let (m, d, l) = matched(&topic_boundaries(&f.words), &labelled);
        total = (total.0 + m, total.1 + d, total.2 + l);
        let minutes = f.words.last().map_or(0.0, |w| w.end_secs) / 60.0;
        println!(
            "| {} | {minutes:.1} | {l} | {d} | {m} | {:.2} | {:.2} |",
            f.name,
            m as f64 / d.max(1) as f64,
            m as f64 / l.max(1) as f64
        );
    }
    println!(
        "| all | | {} | {} | {} | {:.2} | {:.2} |",
        total.2,
        total.1,
        total.0,
        total.0 as f64 / total.1.max(1) as f64,
        total.0 as f64 / total.2.max(1) as f64
    );

    println!(
        "\nSuggestions ({COUNT} asked per fixture and target; shares of the suggestions made):\n"
    );
    println!("| target | suggestions | all rules | inside one topic, no break | question kept with answer | not opening on an echo | length within ±15 % | opening on a word boundary | overlapping pairs | repeated reasons | mean length error |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut all = Tally::default();
    for target in TARGETS {
        let mut per_target = Tally::default();
        for f in &fixtures {
            per_target.add(&score(f, target));
        }
        println!("{}", per_target.row(&format!("{target:.0} s")));
        all.add(&per_target);
    }
    println!("{}", all.row("all"));
    Ok(())
}
