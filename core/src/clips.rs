//! Clip suggestions from a transcript. Candidates are runs of whole sentences inside one topic
//! segment (`topics.rs`: a clip never spans a change of subject or a break), within ±15 % of
//! the target length, that open on something said (not an echo such as "Right, right.", not
//! the answer to a question asked just before — the clip starts on the question instead) and
//! end on a finished thought (not on a question still waiting for its answer). They are
//! scored by signals a creator would recognise — a hook in the opening sentence (a question,
//! a number, a bold claim, talking to "you"), lexical cohesion, completeness, speaking pace
//! and loud moments — and the best that do not overlap are offered, each with a title, the
//! opening words, and reasons quoting what is particular to it (its hook, the numbers it
//! mentions, the line it ends on).

use std::collections::HashMap;
use std::ops::Range;

use crate::topics::{self, normalise, SegmentKind, Sentence, STOP_WORDS};
use crate::transcript::Word;

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
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "twenty", "thirty", "forty", "fifty", "hundred", "thousand", "million", "billion", "percent",
    "half", "double", "twice",
];
/// Words a complete thought rarely starts with.
const DANGLING_STARTS: &[&str] = &[
    "and", "but", "so", "because", "which", "that", "or", "then", "also", "though", "although",
];
/// How far a suggestion's length may be from the target, as a share of the target.
pub const LENGTH_TOLERANCE: f64 = 0.15;
/// Longest title, in characters (cut on a word boundary, with "…").
pub const TITLE_MAX_CHARS: usize = 50;
/// Longest opening quote, in characters (cut on a word boundary, with "…").
pub const OPENING_MAX_CHARS: usize = 60;
/// Longest quote inside a reason, in characters.
const QUOTE_MAX_CHARS: usize = 60;

/// How long suggestions should be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LengthTarget {
    pub min_secs: f64,
    pub target_secs: f64,
    pub max_secs: f64,
}

impl LengthTarget {
    /// Around `target_secs` (clamped to the 15–90 s clips are posted at): from
    /// [`LENGTH_TOLERANCE`] (15 %) below the target to 15 % above it. A stretch that does not
    /// fit is not offered.
    pub fn around(target_secs: f64) -> Self {
        let target = target_secs.clamp(15.0, 90.0);
        Self {
            min_secs: target * (1.0 - LENGTH_TOLERANCE),
            target_secs: target,
            max_secs: target * (1.0 + LENGTH_TOLERANCE),
        }
    }

    pub fn fits(&self, duration_secs: f64) -> bool {
        (self.min_secs..=self.max_secs).contains(&duration_secs)
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
    /// A short name from the content: the question the clip opens on, or its key terms.
    /// Never cut inside a word (a shortened title ends in "…").
    pub title: String,
    /// What is particular to this clip, strongest first: its hook quoted, the numbers it
    /// mentions, the line it ends on, what it keeps talking about.
    pub reasons: Vec<String>,
    /// The reasons as one line for the user.
    pub reason: String,
    /// The opening sentence, shortened on a word boundary (then ending in "…").
    pub opening: String,
}

/// Up to `count` non-overlapping suggestions, best first.
pub fn suggest(
    words: &[Word],
    loudness: &Loudness,
    length: LengthTarget,
    count: usize,
) -> Vec<Suggestion> {
    let sentences = topics::sentences(words);
    if sentences.is_empty() {
        return Vec::new();
    }
    let segments = topics::segments(&sentences);
    let cohesion = topics::gap_cohesion(&sentences);
    let weights = TermWeights::new(&sentences);
    let overall_loudness = loudness.mean_between(0.0, f64::INFINITY);
    let mut candidates: Vec<(Range<usize>, Signals)> = candidates(&sentences, &segments, length)
        .into_iter()
        .map(|span| {
            let (first, last) = (&sentences[span.start], &sentences[span.end - 1]);
            let duration = last.end_secs - first.start_secs;
            let signals = Signals {
                hook: hook(first),
                coherence: coherence(&cohesion[span.start..span.end - 1]),
                completeness: completeness(&sentences, &segments, &span),
                pace: pace(words, first.start_secs, last.end_secs),
                energy: energy(loudness, overall_loudness, first, last),
                length_fit: 1.0
                    - ((duration - length.target_secs).abs() / length.target_secs).min(1.0),
            };
            (span, signals)
        })
        .collect();
    candidates.sort_by(|(a, sa), (b, sb)| {
        sb.score()
            .total_cmp(&sa.score())
            .then(a.start.cmp(&b.start))
            .then(a.end.cmp(&b.end))
    });
    let chosen = pick_non_overlapping(candidates, count);
    let mut out: Vec<Suggestion> = chosen
        .into_iter()
        .map(|(span, signals)| {
            let segment = segments
                .iter()
                .find(|s| s.sentences.contains(&span.start))
                .map_or(span.clone(), |s| s.sentences.clone());
            let segment = &sentences[segment];
            let clip = &sentences[span];
            let first = &clip[0];
            Suggestion {
                start_secs: first.start_secs,
                end_secs: clip[clip.len() - 1].end_secs,
                score: signals.score(),
                title: title(clip, segment, &weights),
                reasons: reasons(clip, segment, &signals, &weights),
                reason: String::new(),
                opening: shorten(&first.text, OPENING_MAX_CHARS),
                signals,
            }
        })
        .collect();
    make_reasons_distinct(&mut out);
    for s in &mut out {
        s.reason = capitalised(&s.reasons.join("; "));
    }
    out
}

/// Every run of sentences a suggestion may be: inside one topic segment, opening on
/// something said that is not an answer, ending on a finished thought, and of a length that
/// fits. Sentence index ranges, in order.
pub(crate) fn candidates(
    sentences: &[Sentence],
    segments: &[topics::TopicSegment],
    length: LengthTarget,
) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for segment in segments.iter().filter(|s| s.kind == SegmentKind::Topic) {
        let range = segment.sentences.clone();
        for first in range.clone().filter(|&i| can_start(sentences, &range, i)) {
            for last in first..range.end {
                let duration = sentences[last].end_secs - sentences[first].start_secs;
                if duration > length.max_secs {
                    break;
                }
                if length.fits(duration) && can_end(sentences, last) {
                    out.push(first..last + 1);
                }
            }
        }
    }
    out
}

/// A clip may open on sentence `i` of `segment` when it says something and does not answer a
/// question asked just before it (echoes in between do not count).
pub(crate) fn can_start(sentences: &[Sentence], segment: &Range<usize>, i: usize) -> bool {
    if !sentences[i].has_content() {
        return false;
    }
    let asked = (segment.start..i)
        .rev()
        .find(|&j| !sentences[j].is_backchannel())
        .is_some_and(|j| sentences[j].is_question());
    !asked
}

/// A clip may end on sentence `i` unless it is a question (the answer would be missing) or
/// an echo or bare cue (nothing said).
pub(crate) fn can_end(sentences: &[Sentence], i: usize) -> bool {
    let s = &sentences[i];
    s.has_content() && !s.is_question()
}

/// The best candidates (already sorted best first) that overlap none better, up to `count`.
fn pick_non_overlapping(
    candidates: Vec<(Range<usize>, Signals)>,
    count: usize,
) -> Vec<(Range<usize>, Signals)> {
    let mut chosen: Vec<(Range<usize>, Signals)> = Vec::new();
    for candidate in candidates {
        if chosen.len() == count {
            break;
        }
        let overlaps = chosen
            .iter()
            .any(|(c, _)| candidate.0.start < c.end && c.start < candidate.0.end);
        if !overlaps {
            chosen.push(candidate);
        }
    }
    chosen
}

fn is_number(token: &str) -> bool {
    token.chars().any(|c| c.is_ascii_digit()) || NUMBER_WORDS.contains(&token)
}

fn hook(first: &Sentence) -> f64 {
    let number = first.tokens.iter().any(|w| is_number(w));
    let bold = first
        .tokens
        .iter()
        .any(|w| BOLD_WORDS.contains(&w.as_str()));
    let direct = first.tokens.iter().any(|w| w == "you" || w == "your");
    (0.45 * f64::from(u8::from(first.is_question()))
        + 0.25 * f64::from(u8::from(number))
        + 0.3 * f64::from(u8::from(bold))
        + 0.15 * f64::from(u8::from(direct)))
    .min(1.0)
}

/// Mean cohesion over the gaps inside the clip (a single sentence counts as middling).
fn coherence(inside: &[f64]) -> f64 {
    if inside.is_empty() {
        return 0.5;
    }
    let mean = inside.iter().sum::<f64>() / inside.len() as f64;
    (0.3 + mean * 1.4).clamp(0.0, 1.0)
}

/// Not opening on "and" or "because" (0.4), ending on a full stop (0.3), and ending where the
/// speaker does (0.3): at the end of the segment, before a question or an echo.
fn completeness(
    sentences: &[Sentence],
    segments: &[topics::TopicSegment],
    span: &Range<usize>,
) -> f64 {
    let first = &sentences[span.start];
    let last = &sentences[span.end - 1];
    let dangling = first
        .tokens
        .first()
        .is_some_and(|w| DANGLING_STARTS.contains(&w.as_str()));
    let ends = last.text.trim_end().ends_with(['.', '!']);
    let segment_end = segments.iter().any(|s| s.sentences.end == span.end);
    let handed_over = sentences
        .get(span.end)
        .is_some_and(|next| next.is_question() || next.is_backchannel());
    0.4 * f64::from(u8::from(!dangling))
        + 0.3 * f64::from(u8::from(ends))
        + 0.3 * f64::from(u8::from(segment_end || handed_over))
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

/// How particular each content word is to a stretch: inverse sentence frequency over the
/// whole transcript (a word said everywhere names nothing).
struct TermWeights {
    idf: HashMap<String, f64>,
}

impl TermWeights {
    fn new(sentences: &[Sentence]) -> Self {
        let idf = topics::inverse_frequencies(sentences)
            .into_iter()
            .map(|(t, w)| (t.to_string(), w))
            .collect();
        Self { idf }
    }

    /// The clip's `n` key words (not numbers), as written in the clip: those its whole topic
    /// segment keeps coming back to (count in the segment × inverse sentence frequency), so
    /// one-off words do not name it.
    fn key_terms(&self, clip: &[Sentence], segment: &[Sentence], n: usize) -> Vec<String> {
        let mut in_segment: HashMap<&str, f64> = HashMap::new();
        for t in segment.iter().flat_map(|s| &s.terms) {
            *in_segment.entry(t.as_str()).or_insert(0.0) += 1.0;
        }
        // Each term's written form, and whether it was seen inside a sentence: a capital
        // there marks a name ("Spanish"); at a sentence's start it says nothing, so such a
        // word stays lower-case until it is seen inside one.
        let mut spelling: HashMap<String, (String, bool)> = HashMap::new();
        for s in clip {
            for (i, raw) in s.text.split_whitespace().enumerate() {
                let Some(key) = topics::term(&normalise(raw)) else {
                    continue;
                };
                let inside = i > 0;
                let word = if inside {
                    display_word(raw)
                } else {
                    display_word(raw).to_lowercase()
                };
                let known_inside = spelling.get(&key).map(|(_, inside)| *inside);
                if known_inside.is_none() || (inside && known_inside == Some(false)) {
                    spelling.insert(key, (word, inside));
                }
            }
        }
        let mut ranked: Vec<(&str, f64, usize)> = Vec::new();
        for (i, t) in clip.iter().flat_map(|s| &s.terms).enumerate() {
            if t.chars().count() < 3 || is_number(t) || ranked.iter().any(|r| r.0 == t) {
                continue;
            }
            let count = in_segment.get(t.as_str()).copied().unwrap_or(1.0);
            let idf = self.idf.get(t).copied().unwrap_or(0.0);
            ranked.push((t.as_str(), count * idf, i));
        }
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
        ranked
            .into_iter()
            .take(n)
            .filter_map(|(t, _, _)| spelling.get(t).map(|(word, _)| word.clone()))
            .collect()
    }
}

/// A word as written, without the punctuation that ends a phrase ("$5," → "$5", "pasta." →
/// "pasta"); currency signs, percent signs and inner hyphens stay.
fn display_word(raw: &str) -> String {
    raw.trim()
        .trim_matches(|c: char| matches!(c, ',' | '.' | '!' | '?' | ';' | ':' | '"' | '“' | '”'))
        .to_string()
}

/// "a", "a and b", "a, b and c".
fn listed(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `text` cut to at most `max_chars` characters between words, with "…" when cut (and any
/// comma or dash before the cut dropped). A first word longer than the limit is kept whole.
pub fn shorten(text: &str, max_chars: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut out = String::new();
    for word in text.split_whitespace() {
        let with = if out.is_empty() {
            word.chars().count()
        } else {
            out.chars().count() + 1 + word.chars().count()
        };
        // Room for the "…" too.
        if with + 1 > max_chars && !out.is_empty() {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    let kept = out.trim_end_matches([',', ';', ':', '-', '–', '—']).len();
    out.truncate(kept);
    out.push('…');
    out
}

/// The question the clip opens on (without "So" or "Before we finish," in front), else its
/// key terms.
fn title(clip: &[Sentence], segment: &[Sentence], weights: &TermWeights) -> String {
    let first = &clip[0];
    if first.is_question() {
        let words: Vec<&str> = first.text.split_whitespace().collect();
        let normalised: Vec<String> = words.iter().map(|w| normalise(w)).collect();
        let lead = topics::lead_in_len(&normalised);
        let question = words[lead.min(words.len().saturating_sub(1))..].join(" ");
        return capitalised(&shorten(&question, TITLE_MAX_CHARS));
    }
    let terms = weights.key_terms(clip, segment, 3);
    if terms.is_empty() {
        return capitalised(&shorten(&first.text, TITLE_MAX_CHARS));
    }
    capitalised(&shorten(&listed(&terms), TITLE_MAX_CHARS))
}

/// Numbers said in the clip with the word after each when that word says what is counted
/// ("12 years", "$200", "two minutes"), in order, each once.
fn numbers(clip: &[Sentence]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in clip {
        let raw: Vec<&str> = s.text.split_whitespace().collect();
        for (i, word) in raw.iter().enumerate() {
            let token = normalise(word);
            if !is_number(&token) || token == "percent" {
                continue;
            }
            let mut phrase = display_word(word);
            let ends_phrase = word.ends_with([',', '.', '!', '?', ';', ':']);
            if let Some(next) = raw.get(i + 1).filter(|_| !ends_phrase) {
                let next_token = normalise(next);
                if !STOP_WORDS.contains(&next_token.as_str()) && !next_token.is_empty() {
                    phrase = format!("{phrase} {}", display_word(next));
                }
            }
            if !out.contains(&phrase) {
                out.push(phrase);
            }
        }
    }
    out
}

/// What is particular to the clip, strongest first.
fn reasons(
    clip: &[Sentence],
    segment: &[Sentence],
    signals: &Signals,
    weights: &TermWeights,
) -> Vec<String> {
    let first = &clip[0];
    let last = &clip[clip.len() - 1];
    let quote = |s: &Sentence| format!("“{}”", shorten(&s.text, QUOTE_MAX_CHARS));
    let mut out = Vec::new();
    let tokens = &first.tokens;
    if first.is_question() {
        out.push(format!("asks {} and answers it", quote(first)));
    } else if tokens.iter().any(|w| BOLD_WORDS.contains(&w.as_str())) {
        out.push(format!("opens on a bold claim: {}", quote(first)));
    } else if tokens.iter().any(|w| is_number(w)) {
        out.push(format!("opens with a number: {}", quote(first)));
    } else if tokens.iter().any(|w| w == "you" || w == "your") {
        out.push(format!("speaks to the viewer: {}", quote(first)));
    }
    let numbers = numbers(clip);
    if !numbers.is_empty() {
        let shown: Vec<String> = numbers.into_iter().take(3).collect();
        out.push(format!("mentions {}", listed(&shown)));
    }
    if clip.len() > 1 {
        out.push(format!("ends on {}", quote(last)));
    }
    let terms = weights.key_terms(clip, segment, 2);
    if signals.coherence >= 0.6 && !terms.is_empty() {
        out.push(format!("stays on {}", listed(&terms)));
    }
    if signals.energy >= 0.7 {
        out.push("louder than the rest of the video".to_string());
    }
    if out.is_empty() {
        out.push(format!("opens on {}", quote(first)));
    }
    out
}

/// Two clips that say the same words (a repeated line) would read alike: the later one is
/// told apart by where it starts.
fn make_reasons_distinct(suggestions: &mut [Suggestion]) {
    for i in 1..suggestions.len() {
        let (before, rest) = suggestions.split_at_mut(i);
        let current = &mut rest[0];
        if before.iter().any(|b| b.reasons == current.reasons) {
            let secs = current.start_secs.max(0.0).round() as u64;
            current
                .reasons
                .push(format!("from {}:{:02}", secs / 60, secs % 60));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Timed words for sentences at ~2.9 words a second, 0.4 s between sentences.
    fn speak(text: &[&str]) -> Vec<Word> {
        topics::tests::speak(text, 0.4)
    }

    fn start_of(words: &[Word], sentence: &str) -> f64 {
        topics::sentences(words)
            .iter()
            .find(|s| s.text == sentence)
            .map(|s| s.start_secs)
            .unwrap()
    }

    const SMALL_TALK: [&str; 6] = [
        "Okay so I went to the shop this morning.",
        "The shop was busy and the queue went out the door.",
        "I stood in the queue for a while.",
        "Then I walked back home again.",
        "Anyway the weather was grey and cold today.",
        "So that was pretty much my morning.",
    ];
    const PASTA_QUESTION: &str = "Why do most home cooks ruin their pasta?";
    const PASTA: [&str; 6] = [
        "The secret is salting the pasta water properly.",
        "Salt the pasta water until the water tastes like the sea.",
        "Then cook the pasta two minutes less than the packet says.",
        "Finish the pasta in the pan with the sauce and a splash of pasta water.",
        "The starch in the pasta water makes the sauce cling to the pasta.",
        "That is how restaurants make pasta taste so good.",
    ];

    fn video() -> Vec<Word> {
        let mut text: Vec<&str> = SMALL_TALK.to_vec();
        text.push(PASTA_QUESTION);
        text.extend(PASTA);
        text.extend(SMALL_TALK.iter().rev());
        speak(&text)
    }

    #[test]
    fn the_length_range_is_the_target_plus_or_minus_15_percent() {
        let l = LengthTarget::around(20.0);
        assert_eq!((l.min_secs, l.target_secs, l.max_secs), (17.0, 20.0, 23.0));
        assert!(l.fits(17.0) && l.fits(23.0) && !l.fits(16.9) && !l.fits(23.1));
        assert_eq!(LengthTarget::around(5.0).target_secs, 15.0);
        assert_eq!(LengthTarget::around(200.0).max_secs, 90.0 * 1.15);
    }

    #[test]
    fn the_question_opens_the_clip_and_never_its_answer() {
        let words = video();
        let question = start_of(&words, PASTA_QUESTION);
        let answer = start_of(&words, PASTA[0]);
        for target in [15.0, 20.0, 25.0] {
            let found = suggest(
                &words,
                &Loudness::default(),
                LengthTarget::around(target),
                5,
            );
            assert_eq!(found[0].start_secs, question, "{target}: {found:#?}");
            assert!(found.iter().all(|s| s.start_secs != answer), "{found:#?}");
        }
        // Without the rule, the answer's bold opening ("The secret …") would be a candidate.
        let s = topics::sentences(&words);
        let i = s.iter().position(|s| s.text == PASTA[0]).unwrap();
        assert!(s[i].has_content());
        assert!(!can_start(&s, &(0..s.len()), i));
        assert!(can_start(&s, &(0..s.len()), i + 1));
    }

    #[test]
    fn a_clip_never_ends_on_a_question_waiting_for_its_answer() {
        // The question comes last in the stretch: a clip of the talk before it must stop
        // before the question, not on it.
        let mut text: Vec<&str> = PASTA.to_vec();
        text.push("But why does the pasta water matter so much?");
        text.push("The starch in the pasta water thickens the sauce.");
        let words = speak(&text);
        let question_end = topics::sentences(&words)[6].end_secs;
        for target in [15.0, 17.0, 19.0] {
            let found = suggest(
                &words,
                &Loudness::default(),
                LengthTarget::around(target),
                5,
            );
            assert!(
                found.iter().all(|s| s.end_secs != question_end),
                "{found:#?}"
            );
        }
        let s = topics::sentences(&words);
        assert!(!can_end(&s, 6) && can_end(&s, 7));
    }

    #[test]
    fn no_clip_opens_on_an_echo() {
        let mut text: Vec<&str> = vec!["Right, right."];
        text.extend(PASTA);
        text.insert(4, "Yeah, yeah.");
        let words = speak(&text);
        let echoes = [
            start_of(&words, "Right, right."),
            start_of(&words, "Yeah, yeah."),
        ];
        for target in [15.0, 16.0, 18.0, 20.0] {
            let found = suggest(
                &words,
                &Loudness::default(),
                LengthTarget::around(target),
                5,
            );
            assert!(!found.is_empty());
            assert!(
                found.iter().all(|s| !echoes.contains(&s.start_secs)),
                "{found:#?}"
            );
        }
    }

    #[test]
    fn the_words_of_a_break_are_in_no_clip() {
        let mut text: Vec<&str> = PASTA.to_vec();
        text.extend([
            "Let us take a short break.",
            "This show is brought to you by the pasta water company.",
            "Buy pasta water today and save 20 percent.",
            "And we are back.",
        ]);
        text.extend(PASTA);
        let words = speak(&text);
        let s = topics::sentences(&words);
        let (ad_start, ad_end) = (s[6].start_secs, s[9].end_secs);
        for target in [15.0, 20.0] {
            let found = suggest(
                &words,
                &Loudness::default(),
                LengthTarget::around(target),
                5,
            );
            assert!(!found.is_empty());
            for c in &found {
                assert!(c.end_secs <= ad_start || c.start_secs >= ad_end, "{c:#?}");
            }
        }
        // Each side of the break is about 25 s: a 30 s clip would have to span it.
        let found = suggest(&words, &Loudness::default(), LengthTarget::around(30.0), 5);
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn titles_openings_and_reasons_are_particular_and_whole_words() {
        let words = speak(&[
            "Nobody tells you that a $5 sourdough starter beats a $400 bread machine every time you bake.",
            "The starter needs flour, water and 6 hours in a warm kitchen.",
            "Feed the sourdough starter twice and the bread rises like a bakery loaf.",
            "Why do most home cooks ruin their pasta?",
            "Salt the pasta water until it tastes like the sea, about 10 grams a litre.",
            "Cook the pasta two minutes less than the packet says.",
            "That is how restaurants make pasta taste so good.",
        ]);
        let found = suggest(&words, &Loudness::default(), LengthTarget::around(15.0), 5);
        assert_eq!(found.len(), 2, "{found:#?}");
        let pasta = found.iter().find(|s| s.title.contains("pasta")).unwrap();
        assert_eq!(pasta.title, "Why do most home cooks ruin their pasta?");
        assert!(pasta.reasons[0].contains("“Why do most home cooks ruin their pasta?”"));
        assert!(
            pasta.reason.contains("mentions 10 grams and two minutes"),
            "{}",
            pasta.reason
        );
        assert!(
            pasta.reason.contains("ends on “That is how restaurants"),
            "{}",
            pasta.reason
        );
        let bread = found.iter().find(|s| s.start_secs == 0.0).unwrap();
        assert!(
            bread.reason.contains("$5 sourdough, $400 bread"),
            "{}",
            bread.reason
        );
        assert!(bread
            .reason
            .starts_with("Opens on a bold claim: “Nobody tells you"));
        assert_eq!(
            bread.opening,
            "Nobody tells you that a $5 sourdough starter beats a $400…"
        );
        assert!(
            bread.title.to_lowercase().contains("starter"),
            "{}",
            bread.title
        );
        assert_ne!(found[0].reason, found[1].reason);
        assert!(found.iter().all(|s| !s.reason.contains("lively pace")));
    }

    #[test]
    fn shorten_cuts_between_words() {
        assert_eq!(shorten("Short enough.", 20), "Short enough.");
        assert_eq!(shorten("One two, three four", 10), "One two…");
        assert_eq!(
            shorten("Supercalifragilistic word", 5),
            "Supercalifragilistic…"
        );
    }

    #[test]
    fn repeated_lines_still_get_distinct_reasons() {
        // The same two sentences twice, split by a cue: two clips that say the same words.
        let mut text: Vec<&str> = PASTA[..5].to_vec();
        text.push("Moving on.");
        text.extend(&PASTA[..5]);
        let words = speak(&text);
        let found = suggest(&words, &Loudness::default(), LengthTarget::around(17.0), 5);
        assert!(found.len() >= 2, "{found:#?}");
        for (i, a) in found.iter().enumerate() {
            for b in &found[i + 1..] {
                assert_ne!(a.reason, b.reason);
            }
        }
    }

    #[test]
    fn an_empty_transcript_has_no_suggestions() {
        assert!(suggest(&[], &Loudness::default(), LengthTarget::default(), 3).is_empty());
    }

    #[test]
    fn loud_stretches_score_higher() {
        let loudness = Loudness {
            step_secs: 1.0,
            values: vec![0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.1, 0.1],
        };
        let all = loudness.mean_between(0.0, f64::INFINITY);
        let s = topics::sentences(&speak(&["Quiet words here.", "Loud words here."]));
        let mut quiet = s[0].clone();
        (quiet.start_secs, quiet.end_secs) = (0.0, 3.0);
        let mut loud = s[1].clone();
        (loud.start_secs, loud.end_secs) = (4.0, 6.0);
        assert!(energy(&loudness, all, &loud, &loud) > energy(&loudness, all, &quiet, &quiet));
    }
}

/// Random conversations made of known parts (statements on a few subjects, questions, echoes,
/// cues, ad breaks), with each part labelled, against the rules every suggestion keeps.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    const SUBJECTS: [[&str; 6]; 4] = [
        ["sourdough", "starter", "flour", "oven", "dough", "loaf"],
        ["marathon", "training", "miles", "pace", "knees", "shoes"],
        ["savings", "budget", "interest", "rent", "account", "payday"],
        ["tomatoes", "garden", "compost", "roots", "soil", "sunlight"],
    ];
    const GLUE: [&str; 8] = ["the", "and", "we", "it", "with", "a", "for", "then"];

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Kind {
        Statement,
        Question,
        Echo,
        Cue,
        Break,
    }

    /// A labelled sentence: its kind and time span (a break is three sentences, one span).
    struct Part {
        kind: Kind,
        start_secs: f64,
        end_secs: f64,
    }

    fn part() -> impl Strategy<Value = (Kind, usize, Vec<usize>, f64)> {
        let kind = prop_oneof![
            10 => Just(Kind::Statement),
            3 => Just(Kind::Question),
            2 => Just(Kind::Echo),
            1 => Just(Kind::Cue),
            1 => Just(Kind::Break),
        ];
        (
            kind,
            0..SUBJECTS.len(),
            prop::collection::vec(0..14usize, 4..14),
            0.2..1.6f64,
        )
    }

    fn conversation(parts: &[(Kind, usize, Vec<usize>, f64)]) -> (Vec<Word>, Vec<Part>) {
        let mut words = Vec::new();
        let mut labels = Vec::new();
        let mut t = 0.0;
        let mut say = |text: &str, pause: f64, words: &mut Vec<Word>| {
            t += pause;
            let start = t;
            for w in text.split_whitespace() {
                let d = 0.12 + 0.03 * w.len() as f64;
                words.push(Word::new(t, t + d, format!(" {w}")));
                t += d + 0.06;
            }
            (start, t - 0.06)
        };
        for (kind, subject, picks, pause) in parts {
            let vocabulary: Vec<&str> = picks
                .iter()
                .map(|&p| SUBJECTS[*subject].get(p).copied().unwrap_or(GLUE[p % 8]))
                .collect();
            let (start, end) = match kind {
                Kind::Statement => {
                    say(&format!("So {}.", vocabulary.join(" ")), *pause, &mut words)
                }
                Kind::Question => say(
                    &format!("Why {}?", vocabulary.join(" ")),
                    *pause,
                    &mut words,
                ),
                Kind::Echo => say("Right, right.", *pause, &mut words),
                Kind::Cue => say("Moving on.", *pause, &mut words),
                Kind::Break => {
                    let (start, _) = say("Let us take a short break.", *pause, &mut words);
                    say(
                        &format!("Buy {} today.", vocabulary.join(" ")),
                        0.4,
                        &mut words,
                    );
                    let (_, end) = say("And we are back.", 0.8, &mut words);
                    (start, end)
                }
            };
            labels.push(Part {
                kind: *kind,
                start_secs: start,
                end_secs: end,
            });
        }
        (words, labels)
    }

    /// `shorten` by its definition: the most whole words (commas before the cut dropped) that
    /// fit with the "…".
    fn shorten_reference(text: &str, max_chars: usize) -> String {
        let text = text.trim();
        if text.chars().count() <= max_chars {
            return text.to_string();
        }
        let words: Vec<&str> = text.split_whitespace().collect();
        let fits = |n: usize| words[..n].join(" ").chars().count() < max_chars;
        let n = (1..=words.len()).rev().find(|&n| fits(n)).unwrap_or(1);
        let kept = words[..n].join(" ");
        format!("{}…", kept.trim_end_matches([',', ';', ':', '-', '–', '—']))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn shorten_matches_its_definition(
            picks in prop::collection::vec((0..14usize, any::<bool>()), 1..20),
            max_chars in 8usize..70,
        ) {
            let text: Vec<String> = picks
                .iter()
                .map(|&(p, comma)| {
                    let w = SUBJECTS[p % 4].get(p / 4).copied().unwrap_or(GLUE[p % 8]);
                    if comma { format!("{w},") } else { w.to_string() }
                })
                .collect();
            let text = text.join(" ");
            prop_assert_eq!(shorten(&text, max_chars), shorten_reference(&text, max_chars));
        }

        #[test]
        fn candidates_are_every_run_that_keeps_the_rules(
            parts in prop::collection::vec(part(), 1..40),
            target in 15.0..40.0f64,
        ) {
            let (words, _) = conversation(&parts);
            let sentences = topics::sentences(&words);
            let segments = topics::segments(&sentences);
            let length = LengthTarget::around(target);
            // Naive: every pair of sentences, checked against each rule on its own.
            let mut naive = Vec::new();
            for first in 0..sentences.len() {
                for last in first..sentences.len() {
                    let Some(segment) = segments.iter().find(|s| {
                        s.kind == SegmentKind::Topic
                            && s.sentences.contains(&first)
                            && s.sentences.contains(&last)
                    }) else {
                        continue;
                    };
                    let duration = sentences[last].end_secs - sentences[first].start_secs;
                    if length.fits(duration)
                        && can_start(&sentences, &segment.sentences, first)
                        && can_end(&sentences, last)
                    {
                        naive.push(first..last + 1);
                    }
                }
            }
            prop_assert_eq!(candidates(&sentences, &segments, length), naive);
        }

        #[test]
        fn suggestions_keep_the_rules(
            parts in prop::collection::vec(part(), 1..60),
            target in 15.0..45.0f64,
        ) {
            let (words, labels) = conversation(&parts);
            let length = LengthTarget::around(target);
            let found = suggest(&words, &Loudness::default(), length, 5);
            for (i, s) in found.iter().enumerate() {
                let (a, b) = (s.start_secs, s.end_secs);
                prop_assert!(length.fits(b - a), "length {}", b - a);
                for other in &found[i + 1..] {
                    prop_assert!(b <= other.start_secs || other.end_secs <= a, "overlap");
                    prop_assert_ne!(&s.reason, &other.reason);
                }
                for (j, p) in labels.iter().enumerate() {
                    match p.kind {
                        Kind::Break => prop_assert!(b <= p.start_secs || a >= p.end_secs, "break"),
                        Kind::Cue => prop_assert!(!(a <= p.start_secs && p.start_secs < b), "cue"),
                        Kind::Echo => prop_assert!(a != p.start_secs, "opens on an echo"),
                        Kind::Question => {
                            prop_assert!(b != p.end_secs, "ends on a question");
                            let answer = labels[j + 1..].iter().find(|q| q.kind != Kind::Echo);
                            if let Some(answer) = answer {
                                prop_assert!(a != answer.start_secs, "opens on an answer");
                            }
                        }
                        Kind::Statement => {}
                    }
                }
                prop_assert!(!s.title.is_empty() && s.title.chars().count() <= TITLE_MAX_CHARS);
                prop_assert!(s.opening.chars().count() <= OPENING_MAX_CHARS);
                let opening = s.opening.trim_end_matches('…');
                let spoken: Vec<&str> = words
                    .iter()
                    .filter(|w| w.start_secs >= a)
                    .map(|w| w.text.trim())
                    .collect();
                let spoken = spoken.join(" ");
                prop_assert!(spoken.starts_with(opening));
                prop_assert!(spoken[opening.len()..].chars().next().is_none_or(|c| c == ' ' || c == ','));
            }
        }
    }
}
