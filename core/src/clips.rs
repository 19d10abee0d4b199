//! Clip suggestions from a transcript: candidate stretches on sentence boundaries within a
//! length range, scored by signals a creator would recognise — a hook in the opening seconds
//! (a question, a number, a bold claim, talking to "you"), staying on one topic (TextTiling-
//! style lexical cohesion between neighbouring sentences), completeness (not opening on "and"
//! or "because", ending on a full stop), a lively speaking pace and loud moments in the sound —
//! each with a one-line reason built from the strongest signals.

use std::collections::{HashMap, HashSet};

use crate::transcript::Word;

/// A sentence: words from one to the next terminal punctuation.
#[derive(Debug, Clone, PartialEq)]
pub struct Sentence {
    pub start_secs: f64,
    pub end_secs: f64,
    pub text: String,
    /// Lower-case content words (stop words removed), for topic similarity.
    terms: Vec<String>,
}

/// Splits timed words into sentences at `.`, `!` and `?` (and at pauses over 2 s, since a
/// long silence ends a thought even when the transcript has no full stop).
pub fn sentences(words: &[Word]) -> Vec<Sentence> {
    let mut out = Vec::new();
    let mut current: Vec<&Word> = Vec::new();
    for (i, word) in words.iter().enumerate() {
        current.push(word);
        let text = word.text.trim();
        let ends = text.ends_with(['.', '!', '?']);
        let pause = words
            .get(i + 1)
            .is_some_and(|next| next.start_secs - word.end_secs > 2.0);
        if ends || pause || i + 1 == words.len() {
            out.push(make_sentence(&current));
            current.clear();
        }
    }
    out
}

fn make_sentence(words: &[&Word]) -> Sentence {
    let text = words
        .iter()
        .map(|w| w.text.trim())
        .collect::<Vec<_>>()
        .join(" ");
    let terms = words
        .iter()
        .map(|w| normalise(&w.text))
        .filter(|w| !w.is_empty() && !STOP_WORDS.contains(&w.as_str()))
        .collect();
    Sentence {
        start_secs: words.first().map_or(0.0, |w| w.start_secs),
        end_secs: words.last().map_or(0.0, |w| w.end_secs),
        text,
        terms,
    }
}

fn normalise(word: &str) -> String {
    word.trim()
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase()
}

const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "so", "to", "of", "in", "on", "at", "for", "with", "is",
    "are", "was", "were", "be", "been", "it", "its", "this", "that", "these", "those", "i", "you",
    "he", "she", "we", "they", "me", "my", "your", "our", "their", "his", "her", "as", "by",
    "from", "up", "down", "out", "about", "into", "over", "then", "than", "there", "here", "just",
    "do", "does", "did", "have", "has", "had", "not", "no", "yes", "if", "when", "what", "which",
    "who", "how", "why", "all", "can", "will", "would", "could", "should", "very", "really",
    "like", "um", "uh", "oh", "well", "also", "get", "got", "one",
];

/// Words that make an opening sound like a claim worth hearing out.
const BOLD_WORDS: &[&str] = &[
    "never",
    "always",
    "best",
    "worst",
    "secret",
    "nobody",
    "everyone",
    "everybody",
    "biggest",
    "mistake",
    "mistakes",
    "truth",
    "wrong",
    "stop",
    "must",
    "nothing",
    "everything",
    "only",
    "first",
    "ever",
    "crazy",
    "insane",
    "shocking",
    "guaranteed",
    "proven",
    "surprising",
];
const NUMBER_WORDS: &[&str] = &[
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twenty", "hundred",
    "thousand", "million", "billion", "percent",
];
/// Words a complete thought rarely starts with.
const DANGLING_STARTS: &[&str] = &[
    "and", "but", "so", "because", "which", "that", "or", "then", "also", "though", "although",
];

/// How long suggestions should be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LengthTarget {
    pub min_secs: f64,
    pub target_secs: f64,
    pub max_secs: f64,
}

impl LengthTarget {
    /// Around `target_secs`, kept within the 15–90 s range clips are posted at.
    pub fn around(target_secs: f64) -> Self {
        let target = target_secs.clamp(15.0, 90.0);
        Self {
            min_secs: (target * 0.6).max(15.0),
            target_secs: target,
            max_secs: (target * 1.4).min(90.0),
        }
    }
}

impl Default for LengthTarget {
    fn default() -> Self {
        Self::around(30.0)
    }
}

/// Loudness of the sound track over time (e.g. RMS per 100 ms), for energy peaks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loudness {
    pub step_secs: f64,
    pub values: Vec<f32>,
}

impl Loudness {
    fn mean_between(&self, start: f64, end: f64) -> Option<f64> {
        if self.step_secs <= 0.0 || self.values.is_empty() {
            return None;
        }
        let a = ((start / self.step_secs).floor().max(0.0) as usize).min(self.values.len());
        let b = ((end / self.step_secs).ceil().max(0.0) as usize).min(self.values.len());
        (b > a)
            .then(|| self.values[a..b].iter().map(|v| f64::from(*v)).sum::<f64>() / (b - a) as f64)
    }
}

/// The signals behind a suggestion's score, each from 0 to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signals {
    pub hook: f64,
    pub coherence: f64,
    pub completeness: f64,
    pub pace: f64,
    pub energy: f64,
    pub length_fit: f64,
}

impl Signals {
    fn score(&self) -> f64 {
        100.0
            * (0.30 * self.hook
                + 0.25 * self.coherence
                + 0.20 * self.completeness
                + 0.10 * self.pace
                + 0.10 * self.energy
                + 0.05 * self.length_fit)
    }
}

/// A suggested clip.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub start_secs: f64,
    pub end_secs: f64,
    /// 0–100.
    pub score: f64,
    pub signals: Signals,
    /// One line for the user: why this clip.
    pub reason: String,
    /// The opening words (a title to show until the user names the clip).
    pub opening: String,
}

/// Up to `count` non-overlapping suggestions, best first.
pub fn suggest(
    words: &[Word],
    loudness: &Loudness,
    length: LengthTarget,
    count: usize,
) -> Vec<Suggestion> {
    let sentences = sentences(words);
    if sentences.is_empty() {
        return Vec::new();
    }
    let cohesion = adjacent_cohesion(&sentences);
    let boundaries = topic_boundaries(&cohesion);
    let overall_loudness = loudness.mean_between(0.0, f64::INFINITY);
    let mut candidates = Vec::new();
    for first in 0..sentences.len() {
        for last in first..sentences.len() {
            let duration = sentences[last].end_secs - sentences[first].start_secs;
            if duration > length.max_secs {
                break;
            }
            if duration < length.min_secs {
                continue;
            }
            let signals = Signals {
                hook: hook(&sentences[first]),
                coherence: coherence(&cohesion, &boundaries, first, last),
                completeness: completeness(&sentences[first], &sentences[last]),
                pace: pace(words, sentences[first].start_secs, sentences[last].end_secs),
                energy: energy(
                    loudness,
                    overall_loudness,
                    &sentences[first],
                    &sentences[last],
                ),
                length_fit: 1.0
                    - ((duration - length.target_secs).abs() / length.target_secs).min(1.0),
            };
            candidates.push(Suggestion {
                start_secs: sentences[first].start_secs,
                end_secs: sentences[last].end_secs,
                score: signals.score(),
                reason: reason(&signals, &sentences[first]),
                opening: sentences[first].text.chars().take(60).collect(),
                signals,
            });
        }
    }
    candidates.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.start_secs.total_cmp(&b.start_secs))
    });
    let mut chosen: Vec<Suggestion> = Vec::new();
    for candidate in candidates {
        if chosen.len() == count {
            break;
        }
        let overlaps = chosen
            .iter()
            .any(|c| candidate.start_secs < c.end_secs && c.start_secs < candidate.end_secs);
        if !overlaps {
            chosen.push(candidate);
        }
    }
    chosen
}

fn hook(first: &Sentence) -> f64 {
    let words: Vec<String> = first.text.split_whitespace().map(normalise).collect();
    let question = first.text.trim_end().ends_with('?');
    let number = words
        .iter()
        .any(|w| w.chars().any(|c| c.is_ascii_digit()) || NUMBER_WORDS.contains(&w.as_str()));
    let bold = words.iter().any(|w| BOLD_WORDS.contains(&w.as_str()));
    let direct = words.iter().any(|w| w == "you" || w == "your");
    (0.45 * f64::from(u8::from(question))
        + 0.25 * f64::from(u8::from(number))
        + 0.3 * f64::from(u8::from(bold))
        + 0.15 * f64::from(u8::from(direct)))
    .min(1.0)
}

/// Cosine similarity of the content words of each sentence pair (i, i+1), each side a block
/// of up to two sentences (TextTiling's block comparison).
fn adjacent_cohesion(sentences: &[Sentence]) -> Vec<f64> {
    (0..sentences.len().saturating_sub(1))
        .map(|gap| {
            let left = &sentences[gap.saturating_sub(1)..=gap];
            let right = &sentences[gap + 1..(gap + 3).min(sentences.len())];
            cosine(left, right)
        })
        .collect()
}

fn counts(block: &[Sentence]) -> HashMap<&str, f64> {
    let mut counts = HashMap::new();
    for term in block.iter().flat_map(|s| &s.terms) {
        *counts.entry(term.as_str()).or_insert(0.0) += 1.0;
    }
    counts
}

fn cosine(a: &[Sentence], b: &[Sentence]) -> f64 {
    let (a, b) = (counts(a), counts(b));
    let dot: f64 = a
        .iter()
        .map(|(t, x)| x * b.get(t).copied().unwrap_or(0.0))
        .sum();
    let norm = |m: &HashMap<&str, f64>| m.values().map(|x| x * x).sum::<f64>().sqrt();
    let denominator = norm(&a) * norm(&b);
    if denominator == 0.0 {
        0.0
    } else {
        dot / denominator
    }
}

/// Topic boundaries: gaps whose TextTiling depth (how far cohesion falls below the highest
/// point on each side) is at least the mean depth plus half a standard deviation (stricter
/// than TextTiling's mean − σ/2, so only clear changes of subject count).
fn topic_boundaries(cohesion: &[f64]) -> HashSet<usize> {
    let depths: Vec<f64> = (0..cohesion.len())
        .map(|i| {
            let left = cohesion[..=i].iter().copied().fold(f64::MIN, f64::max);
            let right = cohesion[i..].iter().copied().fold(f64::MIN, f64::max);
            (left - cohesion[i]) + (right - cohesion[i])
        })
        .collect();
    if depths.is_empty() {
        return HashSet::new();
    }
    let mean = depths.iter().sum::<f64>() / depths.len() as f64;
    let sd = (depths.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / depths.len() as f64).sqrt();
    let cutoff = mean + sd / 2.0;
    (0..depths.len())
        .filter(|&i| depths[i] > 0.0 && depths[i] >= cutoff)
        .collect()
}

fn coherence(cohesion: &[f64], boundaries: &HashSet<usize>, first: usize, last: usize) -> f64 {
    if first == last {
        return 0.5;
    }
    let inside = &cohesion[first..last];
    let mean = inside.iter().sum::<f64>() / inside.len() as f64;
    let crossings = (first..last).filter(|g| boundaries.contains(g)).count();
    (0.3 + mean * 1.4 - 0.35 * crossings as f64).clamp(0.0, 1.0)
}

fn completeness(first: &Sentence, last: &Sentence) -> f64 {
    let opening = first.text.split_whitespace().next().map(normalise);
    let dangling = opening.is_some_and(|w| DANGLING_STARTS.contains(&w.as_str()));
    let ends = last.text.trim_end().ends_with(['.', '!', '?']);
    0.5 * f64::from(u8::from(!dangling)) + 0.5 * f64::from(u8::from(ends))
}

/// Words per second: 2.2–3.6 is lively; slower or much faster scores less.
fn pace(words: &[Word], start: f64, end: f64) -> f64 {
    let spoken = words
        .iter()
        .filter(|w| w.start_secs >= start && w.end_secs <= end)
        .count() as f64;
    let rate = spoken / (end - start).max(1e-3);
    if (2.2..=3.6).contains(&rate) {
        1.0
    } else if rate < 2.2 {
        (rate / 2.2).clamp(0.0, 1.0)
    } else {
        (1.0 - (rate - 3.6) / 2.0).clamp(0.0, 1.0)
    }
}

fn energy(loudness: &Loudness, overall: Option<f64>, first: &Sentence, last: &Sentence) -> f64 {
    match (
        loudness.mean_between(first.start_secs, last.end_secs),
        overall,
    ) {
        (Some(here), Some(all)) if all > 0.0 => (0.5 * here / all).clamp(0.0, 1.0),
        _ => 0.5,
    }
}

/// What kind of hook an opening sentence has, in words.
fn hook_kind(first: &Sentence) -> Option<&'static str> {
    let words: Vec<String> = first.text.split_whitespace().map(normalise).collect();
    if first.text.trim_end().ends_with('?') {
        Some("opens with a question")
    } else if words
        .iter()
        .any(|w| w.chars().any(|c| c.is_ascii_digit()) || NUMBER_WORDS.contains(&w.as_str()))
    {
        Some("opens with a number")
    } else if words.iter().any(|w| BOLD_WORDS.contains(&w.as_str())) {
        Some("opens with a bold claim")
    } else {
        None
    }
}

fn reason(s: &Signals, first: &Sentence) -> String {
    let mut parts: Vec<&str> = hook_kind(first).into_iter().collect();
    let mut others: Vec<(f64, &str)> = vec![
        (s.coherence, "stays on one topic"),
        (s.completeness, "a complete thought"),
        (s.pace, "lively pace"),
        (s.energy, "loud moments"),
    ];
    others.sort_by(|a, b| b.0.total_cmp(&a.0));
    parts.extend(
        others
            .iter()
            .filter(|(v, _)| *v >= 0.6)
            .take(2)
            .map(|(_, t)| *t),
    );
    if parts.is_empty() {
        return "The best of this video at this length".to_string();
    }
    let mut line = parts.join(", ");
    if let Some(first) = line.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Timed words for sentences spoken at ~2.9 words a second, 0.4 s between sentences.
    fn speak(text: &[&str]) -> Vec<Word> {
        let mut t = 0.0;
        let mut words = Vec::new();
        for sentence in text {
            for w in sentence.split_whitespace() {
                words.push(Word::new(t, t + 0.3, format!(" {w}")));
                t += 0.345;
            }
            t += 0.4;
        }
        words
    }

    const SMALL_TALK: [&str; 8] = [
        "Okay so I went to the shop this morning.",
        "The shop was busy and the queue went out the door.",
        "I stood in the queue for a while.",
        "Then I walked back home again.",
        "And the bus was late as usual.",
        "Anyway the weather was grey and cold today.",
        "I think it might rain later in the week.",
        "So that was pretty much my morning.",
    ];
    const PASTA: [&str; 7] = [
        "Why do most home cooks ruin their pasta?",
        "The secret is salting the pasta water properly.",
        "Salt the pasta water until the water tastes like the sea.",
        "Then cook the pasta two minutes less than the packet says.",
        "Finish the pasta in the pan with the sauce and a splash of pasta water.",
        "The starch in the pasta water makes the sauce cling to the pasta.",
        "That is how restaurants make pasta taste so good.",
    ];

    fn video() -> Vec<Word> {
        let mut text: Vec<&str> = SMALL_TALK.to_vec();
        text.extend(PASTA);
        text.extend(SMALL_TALK.iter().rev());
        speak(&text)
    }

    #[test]
    fn sentences_split_at_terminal_punctuation_and_long_pauses() {
        let mut words = speak(&["One two three.", "Four five"]);
        words.extend(speak(&["six seven"]).into_iter().map(|mut w| {
            w.start_secs += 10.0;
            w.end_secs += 10.0;
            w
        }));
        let s = sentences(&words);
        let texts: Vec<&str> = s.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, vec!["One two three.", "Four five", "six seven"]);
        assert_eq!(s[0].start_secs, 0.0);
        assert!(s[2].start_secs >= 10.0);
    }

    #[test]
    fn the_obvious_best_segment_ranks_first() {
        let words = video();
        let pasta_start = sentences(&words)
            .iter()
            .find(|s| s.text.starts_with("Why do"))
            .map(|s| s.start_secs)
            .unwrap();
        let suggestions = suggest(&words, &Loudness::default(), LengthTarget::around(25.0), 3);
        assert!(!suggestions.is_empty());
        let best = &suggestions[0];
        assert_eq!(best.start_secs, pasta_start, "{suggestions:#?}");
        assert!(best.opening.starts_with("Why do most home cooks"));
        assert!(
            best.reason.starts_with("Opens with a question"),
            "{}",
            best.reason
        );
        assert!(best.score > suggestions.last().unwrap().score || suggestions.len() == 1);
    }

    #[test]
    fn suggestions_respect_the_length_range_and_do_not_overlap() {
        let words = video();
        let length = LengthTarget::around(20.0);
        let suggestions = suggest(&words, &Loudness::default(), length, 5);
        assert!(suggestions.len() >= 2);
        for s in &suggestions {
            let d = s.end_secs - s.start_secs;
            assert!(d >= length.min_secs && d <= length.max_secs, "{d}");
            assert!((0.0..=100.0).contains(&s.score));
        }
        for (i, a) in suggestions.iter().enumerate() {
            for b in &suggestions[i + 1..] {
                assert!(a.end_secs <= b.start_secs || b.end_secs <= a.start_secs);
            }
        }
        assert!(suggestions.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn the_topic_change_is_found_and_crossing_it_costs() {
        let words = video();
        let s = sentences(&words);
        let cohesion = adjacent_cohesion(&s);
        let boundaries = topic_boundaries(&cohesion);
        // Gap 7 is between the last small-talk sentence and the pasta question; gap 14 after
        // the pasta ends.
        assert!(
            boundaries.contains(&7) || boundaries.contains(&6),
            "{boundaries:?}"
        );
        assert!(
            boundaries.contains(&14) || boundaries.contains(&13),
            "{boundaries:?}"
        );
        assert!(
            coherence(&cohesion, &boundaries, 8, 13) > coherence(&cohesion, &boundaries, 5, 10)
        );
    }

    #[test]
    fn dangling_openings_and_loud_stretches_move_the_score() {
        let s = sentences(&speak(&["And then it broke.", "It works now."]));
        assert_eq!(completeness(&s[0], &s[1]), 0.5);
        assert_eq!(completeness(&s[1], &s[1]), 1.0);
        let loudness = Loudness {
            step_secs: 1.0,
            values: vec![0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.1, 0.1],
        };
        let all = loudness.mean_between(0.0, f64::INFINITY);
        let quiet = Sentence {
            start_secs: 0.0,
            end_secs: 3.0,
            text: String::new(),
            terms: vec![],
        };
        let loud = Sentence {
            start_secs: 4.0,
            end_secs: 6.0,
            text: String::new(),
            terms: vec![],
        };
        assert!(energy(&loudness, all, &loud, &loud) > energy(&loudness, all, &quiet, &quiet));
    }

    #[test]
    fn an_empty_transcript_has_no_suggestions() {
        assert!(suggest(&[], &Loudness::default(), LengthTarget::default(), 3).is_empty());
    }
}
