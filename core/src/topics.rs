//! Where a spoken conversation changes subject. The transcript's words are split into
//! sentences; each pause between sentences gets a lexical cohesion score (TextTiling: cosine
//! similarity of the content words (tf-idf) spoken in the 30 s before and after it, then the depth of
//! that score below the nearest peaks on both sides); a change of subject is a deep enough
//! valley, helped by a long pause and by a question opening the next stretch. Cue phrases
//! decide outright: "moving on", "next question", "before we finish" start a new subject, and
//! "let us take a short break" … "we are back" is a break — a segment of its own that holds
//! the ad read. A question is never separated from the sentence that answers it.
//!
//! [`topic_segments`] covers the sentences end to end; [`topic_boundaries`] gives the times
//! between segments. The suggester (`clips.rs`) keeps each clip inside one topic segment.

use std::collections::HashMap;
use std::ops::Range;

use crate::transcript::Word;

/// A sentence: words from one to the next terminal punctuation.
#[derive(Debug, Clone, PartialEq)]
pub struct Sentence {
    pub start_secs: f64,
    pub end_secs: f64,
    pub text: String,
    /// Lower-case content words (stop words removed), for topic similarity.
    pub(crate) terms: Vec<String>,
    /// Every word lower-cased without its punctuation (stop words kept), for cue phrases.
    pub(crate) tokens: Vec<String>,
}

impl Sentence {
    pub fn is_question(&self) -> bool {
        self.text.trim_end().ends_with('?')
    }

    /// "Right, right.", "Yeah.", "I see.": a listener's acknowledgement, not content.
    pub fn is_backchannel(&self) -> bool {
        !self.tokens.is_empty()
            && self.tokens.len() <= 4
            && self
                .tokens
                .iter()
                .all(|t| BACKCHANNEL_WORDS.contains(&t.as_str()))
    }

    /// A sentence that only announces what comes next ("Moving on.", "Next question.").
    fn is_bare_cue(&self) -> bool {
        self.tokens.len() <= 4 && starts_with_cue(&self.tokens, TOPIC_CUES)
    }

    /// Whether a clip may open on this sentence as far as its words go: it says something.
    pub(crate) fn has_content(&self) -> bool {
        !self.terms.is_empty() && !self.is_backchannel() && !self.is_bare_cue()
    }
}

/// Splits timed words into sentences at `.`, `!` and `?` (and at pauses over 2 s, since a
/// long silence ends a thought even when the transcript has no full stop).
pub fn sentences(words: &[Word]) -> Vec<Sentence> {
    let mut out = Vec::new();
    let mut current: Vec<&Word> = Vec::new();
    for (i, word) in words.iter().enumerate() {
        current.push(word);
        let ends = word.text.trim().ends_with(['.', '!', '?']);
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
    let tokens: Vec<String> = words
        .iter()
        .map(|w| normalise(&w.text))
        .filter(|w| !w.is_empty())
        .collect();
    let terms = tokens.iter().filter_map(|w| term(w)).collect();
    Sentence {
        start_secs: words.first().map_or(0.0, |w| w.start_secs),
        end_secs: words.last().map_or(0.0, |w| w.end_secs),
        text,
        terms,
        tokens,
    }
}

/// A word lower-cased without the punctuation around it ("Pasta," → "pasta", "$5" → "5").
pub(crate) fn normalise(word: &str) -> String {
    word.trim()
        .trim_matches(|c: char| !c.is_alphanumeric())
        .replace('’', "'")
        .to_lowercase()
}

/// The content word a normalised token stands for, crudely stemmed so that "savings" and
/// "saving", "learned" and "learn" meet; `None` for a stop word.
pub(crate) fn term(token: &str) -> Option<String> {
    if token.is_empty() || STOP_WORDS.contains(&token) {
        return None;
    }
    let mut t = token.trim_end_matches("'s").to_string();
    let len = t.chars().count();
    if len > 4 && t.ends_with("ies") {
        t.truncate(t.len() - 3);
        t.push('y');
    } else if len > 3 && t.ends_with('s') && !t.ends_with("ss") && !t.ends_with("us") {
        t.pop();
    }
    let len = t.chars().count();
    if len > 5 && t.ends_with("ing") {
        t.truncate(t.len() - 3);
    } else if len > 4 && t.ends_with("ed") {
        t.truncate(t.len() - 2);
    }
    Some(t)
}

pub(crate) const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "so", "to", "of", "in", "on", "at", "for", "with", "is",
    "are", "was", "were", "be", "been", "it", "its", "this", "that", "these", "those", "i", "you",
    "he", "she", "we", "they", "me", "my", "your", "our", "their", "his", "her", "as", "by",
    "from", "up", "down", "out", "about", "into", "over", "then", "than", "there", "here", "just",
    "do", "does", "did", "have", "has", "had", "not", "no", "yes", "if", "when", "what", "which",
    "who", "how", "why", "all", "can", "will", "would", "could", "should", "very", "really",
    "like", "um", "uh", "oh", "well", "also", "get", "got", "one", "mean", "know", "okay", "ok",
    "yeah", "right", "am", "them", "him", "us", "more", "most", "much", "many", "some", "any",
    "every", "each", "only", "even", "still", "too", "because", "after", "before", "where",
    "while", "whole", "same", "other", "make", "makes", "way", "thing", "things", "lot", "let",
    "it's", "that's", "i'm", "don't", "you're", "we're", "there's",
];

const BACKCHANNEL_WORDS: &[&str] = &[
    "right",
    "yeah",
    "yes",
    "yep",
    "exactly",
    "totally",
    "sure",
    "okay",
    "ok",
    "mm",
    "mm-hm",
    "mhm",
    "uh-huh",
    "hmm",
    "wow",
    "true",
    "absolutely",
    "definitely",
    "interesting",
    "i",
    "see",
    "got",
    "it",
    "that",
    "makes",
    "sense",
    "cool",
    "nice",
    "great",
    "oh",
    "so",
    "um",
    "uh",
    "huh",
    "indeed",
];

/// Words said before a cue phrase without changing it ("Okay, so, moving on").
const LEAD_INS: &[&str] = &[
    "okay", "ok", "so", "alright", "well", "and", "now", "um", "uh", "but",
];

/// Phrases that open a new subject when a sentence starts with them.
const TOPIC_CUES: &[&[&str]] = &[
    &["moving", "on"],
    &["next", "question"],
    &["my", "next", "question"],
    &["switching", "gears"],
    &["changing", "gears"],
    &["change", "of", "subject"],
    &["changing", "the", "subject"],
    &["before", "we", "finish"],
    &["before", "we", "wrap", "up"],
    &["before", "we", "go"],
    &["let", "us", "talk", "about"],
    &["let's", "talk", "about"],
    &["last", "question"],
    &["one", "last", "question"],
    &["on", "a", "different", "note"],
];

/// Phrases anywhere in a sentence that start an ad or a pause in the show.
const BREAK_STARTS: &[&[&str]] = &[
    &["take", "a", "short", "break"],
    &["take", "a", "quick", "break"],
    &["take", "a", "break"],
    &["be", "right", "back"],
    &["word", "from", "our", "sponsor"],
    &["after", "the", "break"],
];

/// Phrases anywhere in a sentence that end a break.
const BREAK_ENDS: &[&[&str]] = &[
    &["we", "are", "back"],
    &["we're", "back"],
    &["welcome", "back"],
    &["back", "to", "the", "conversation"],
];

/// A break with no "we are back" is taken to last at most this long.
const MAX_BREAK_SECS: f64 = 180.0;

/// Seconds of speech on each side of a pause compared for lexical cohesion.
const BLOCK_SECS: f64 = 30.0;

/// Two detected changes of subject are at least this far apart (the stronger one stays).
const MIN_TOPIC_SECS: f64 = 15.0;

/// A change of subject found by the words alone lies at least this far from either end.
const MIN_EDGE_SECS: f64 = 8.0;

/// How deep a cohesion valley (plus the pause and question bonuses) must be to end a topic.
/// Set low enough to find every change in the labelled conversations (BENCHMARKS.md): a
/// missed change lets a clip run across two subjects, an extra one only splits a subject.
const BOUNDARY_SCORE: f64 = 0.25;

/// The length of the cue a sentence opens with, if any, lead-ins included.
fn cue_at_start(tokens: &[String], cues: &[&[&str]]) -> Option<usize> {
    let lead = tokens
        .iter()
        .take_while(|t| LEAD_INS.contains(&t.as_str()))
        .count();
    let rest = &tokens[lead..];
    cues.iter()
        .find(|cue| rest.len() >= cue.len() && cue.iter().zip(rest).all(|(c, t)| *c == t.as_str()))
        .map(|cue| lead + cue.len())
}

fn starts_with_cue(tokens: &[String], cues: &[&[&str]]) -> bool {
    cue_at_start(tokens, cues).is_some()
}

/// How many of a sentence's leading words (normalised, one per written word) only lead in:
/// "So", "Okay", or a topic cue with them ("Before we finish, …" → 3).
pub(crate) fn lead_in_len(tokens: &[String]) -> usize {
    cue_at_start(tokens, TOPIC_CUES).unwrap_or_else(|| {
        tokens
            .iter()
            .take_while(|t| LEAD_INS.contains(&t.as_str()))
            .count()
    })
}

fn contains_cue(tokens: &[String], cues: &[&[&str]]) -> bool {
    cues.iter().any(|cue| {
        tokens
            .windows(cue.len())
            .any(|w| cue.iter().zip(w).all(|(c, t)| *c == t.as_str()))
    })
}

/// What a stretch of the transcript is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentKind {
    /// Conversation on one subject.
    Topic,
    /// An ad or a pause in the show, from its cue to "we are back".
    Break,
}

/// Consecutive sentences on one subject, or a break.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicSegment {
    pub start_secs: f64,
    pub end_secs: f64,
    pub kind: SegmentKind,
    /// Indices into the sentences the segments were found in.
    pub sentences: Range<usize>,
}

/// The transcript's topic segments and breaks, in order, covering every sentence.
pub fn topic_segments(words: &[Word]) -> Vec<TopicSegment> {
    segments(&sentences(words))
}

/// Times where one segment ends and the next begins (the middle of the pause between them):
/// changes of subject and both edges of each break.
pub fn topic_boundaries(words: &[Word]) -> Vec<f64> {
    let segments = topic_segments(words);
    segments
        .windows(2)
        .map(|pair| (pair[0].end_secs + pair[1].start_secs) / 2.0)
        .collect()
}

/// [`topic_segments`] over sentences already split.
pub fn segments(sentences: &[Sentence]) -> Vec<TopicSegment> {
    let breaks = breaks(sentences);
    let in_break = |i: usize| breaks.iter().any(|b| b.contains(&i));
    // Sentence indices that start a new segment.
    let mut starts: Vec<usize> = Vec::new();
    for b in &breaks {
        starts.extend([b.start, b.end]);
    }
    for (i, s) in sentences.iter().enumerate().skip(1) {
        if !in_break(i) && starts_with_cue(&s.tokens, TOPIC_CUES) {
            starts.push(i);
        }
    }
    let forced = starts.clone();
    let start_of = |i: usize| sentences.get(i).map_or(f64::INFINITY, |s| s.start_secs);
    starts.extend(
        lexical_boundaries(sentences)
            .into_iter()
            // An echo ("Right, right.") closes the subject it answers.
            .map(|gap| {
                (gap + 1..sentences.len())
                    .find(|&i| !sentences[i].is_backchannel())
                    .unwrap_or(sentences.len())
            })
            .filter(|&i| i < sentences.len() && !in_break(i) && !in_break(i - 1))
            // A cue or a break edge nearby already marks this change.
            .filter(|&i| {
                forced
                    .iter()
                    .all(|&f| (start_of(f) - start_of(i)).abs() >= MIN_TOPIC_SECS)
            }),
    );
    starts.retain(|&i| i > 0 && i < sentences.len());
    starts.sort_unstable();
    starts.dedup();
    let mut out = Vec::new();
    let mut from = 0;
    for end in starts.into_iter().chain([sentences.len()]) {
        if end > from {
            let kind = if in_break(from) {
                SegmentKind::Break
            } else {
                SegmentKind::Topic
            };
            out.push(TopicSegment {
                start_secs: sentences[from].start_secs,
                end_secs: sentences[end - 1].end_secs,
                kind,
                sentences: from..end,
            });
        }
        from = end;
    }
    out
}

/// Each break as sentence indices: from a break cue through the next "we are back" (or the
/// cue sentence alone when no return is announced within [`MAX_BREAK_SECS`]).
fn breaks(sentences: &[Sentence]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < sentences.len() {
        if contains_cue(&sentences[i].tokens, BREAK_STARTS) {
            let back = (i + 1..sentences.len())
                .take_while(|&j| sentences[j].start_secs - sentences[i].end_secs <= MAX_BREAK_SECS)
                .find(|&j| contains_cue(&sentences[j].tokens, BREAK_ENDS));
            let end = back.map_or(i + 1, |j| j + 1);
            out.push(i..end);
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// Lexical cohesion across each gap between sentences `gap` and `gap + 1`: the cosine
/// similarity of the content words in the [`BLOCK_SECS`] before and after it (less near
/// either end, the same on both sides).
pub(crate) fn gap_cohesion(sentences: &[Sentence]) -> Vec<f64> {
    let idf = inverse_frequencies(sentences);
    let (Some(first), Some(last)) = (sentences.first(), sentences.last()) else {
        return Vec::new();
    };
    (0..sentences.len().saturating_sub(1))
        .map(|gap| {
            let at = (sentences[gap].end_secs + sentences[gap + 1].start_secs) / 2.0;
            // Both blocks equally long, so cohesion near either end is not lowered just
            // because less has been said there.
            let block = BLOCK_SECS
                .min(at - first.start_secs)
                .min(last.end_secs - at);
            let left = sentences[..=gap]
                .iter()
                .rev()
                .take_while(|s| s.end_secs >= at - block)
                .flat_map(|s| &s.terms);
            let right = sentences[gap + 1..]
                .iter()
                .take_while(|s| s.start_secs <= at + block)
                .flat_map(|s| &s.terms);
            cosine(&weighted(left, &idf), &weighted(right, &idf))
        })
        .collect()
}

/// ln(sentences / sentences with the term): a word said all through the conversation
/// ("people", "time") says little about where its subject changes.
pub(crate) fn inverse_frequencies(sentences: &[Sentence]) -> HashMap<&str, f64> {
    let mut df: HashMap<&str, f64> = HashMap::new();
    for s in sentences {
        let mut seen: Vec<&str> = s.terms.iter().map(String::as_str).collect();
        seen.sort_unstable();
        seen.dedup();
        for t in seen {
            *df.entry(t).or_insert(0.0) += 1.0;
        }
    }
    let n = sentences.len() as f64;
    df.into_iter().map(|(t, d)| (t, (n / d).ln())).collect()
}

/// Term frequency × inverse sentence frequency.
fn weighted<'a>(
    terms: impl Iterator<Item = &'a String>,
    idf: &HashMap<&str, f64>,
) -> HashMap<&'a str, f64> {
    let mut weights = HashMap::new();
    for term in terms {
        *weights.entry(term.as_str()).or_insert(0.0) +=
            idf.get(term.as_str()).copied().unwrap_or(0.0);
    }
    weights
}

fn cosine(a: &HashMap<&str, f64>, b: &HashMap<&str, f64>) -> f64 {
    let dot: f64 = a
        .iter()
        .map(|(t, x)| x * b.get(t).copied().unwrap_or(0.0))
        .sum();
    let norm = |m: &HashMap<&str, f64>| m.values().map(|x| x * x).sum::<f64>().sqrt();
    let denominator = norm(a) * norm(b);
    if denominator == 0.0 {
        0.0
    } else {
        dot / denominator
    }
}

/// TextTiling depth of each gap: how far cohesion falls below the nearest peak on its left
/// plus below the nearest peak on its right (Hearst 1997, §5.3).
pub(crate) fn depths(cohesion: &[f64]) -> Vec<f64> {
    (0..cohesion.len())
        .map(|i| {
            let mut left = cohesion[i];
            for &c in cohesion[..i].iter().rev() {
                if c < left {
                    break;
                }
                left = c;
            }
            let mut right = cohesion[i];
            for &c in &cohesion[i + 1..] {
                if c < right {
                    break;
                }
                right = c;
            }
            (left - cohesion[i]) + (right - cohesion[i])
        })
        .collect()
}

/// Gaps (between sentence `gap` and `gap + 1`) where the subject changes by the words alone:
/// valleys of cohesion whose depth, plus up to 0.15 for a long pause and 0.1 when a question
/// follows, reaches [`BOUNDARY_SCORE`]; of two within [`MIN_TOPIC_SECS`] the stronger stays.
/// Never between a question and its answer: they belong together.
fn lexical_boundaries(sentences: &[Sentence]) -> Vec<usize> {
    let depths = depths(&gap_cohesion(sentences));
    let scores: Vec<f64> = depths
        .iter()
        .enumerate()
        .map(|(gap, depth)| {
            let (before, after) = (&sentences[gap], &sentences[gap + 1]);
            // Echoes ("Right.") may come between a question and its answer.
            let asked = sentences[..=gap]
                .iter()
                .rev()
                .find(|s| !s.is_backchannel())
                .is_some_and(Sentence::is_question);
            if asked {
                return 0.0;
            }
            let pause = after.start_secs - before.end_secs;
            let pause_bonus = 0.15 * ((pause - 0.6) / 0.8).clamp(0.0, 1.0);
            let question_bonus = if after.is_question() { 0.1 } else { 0.0 };
            depth + pause_bonus + question_bonus
        })
        .collect();
    let at = |gap: usize| sentences[gap + 1].start_secs;
    let (Some(first), Some(last)) = (sentences.first(), sentences.last()) else {
        return Vec::new();
    };
    (0..scores.len())
        .filter(|&gap| scores[gap] >= BOUNDARY_SCORE)
        // Too little said on one side for its words to mean anything.
        .filter(|&gap| {
            at(gap) - first.start_secs >= MIN_EDGE_SECS && last.end_secs - at(gap) >= MIN_EDGE_SECS
        })
        .filter(|&gap| {
            // The strongest within MIN_TOPIC_SECS either side (earlier wins a tie).
            (0..scores.len()).all(|other| {
                other == gap
                    || (at(other) - at(gap)).abs() >= MIN_TOPIC_SECS
                    || scores[other] < scores[gap]
                    || (scores[other] == scores[gap] && other > gap)
            })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Timed words for sentences at ~2.9 words a second, `pause` seconds between sentences.
    pub(crate) fn speak(text: &[&str], pause: f64) -> Vec<Word> {
        let mut t = 0.0;
        let mut words = Vec::new();
        for sentence in text {
            for w in sentence.split_whitespace() {
                words.push(Word::new(t, t + 0.3, format!(" {w}")));
                t += 0.345;
            }
            t += pause;
        }
        words
    }

    #[test]
    fn sentences_split_at_terminal_punctuation_and_long_pauses() {
        let mut words = speak(&["One two three.", "Four five"], 0.4);
        words.extend(speak(&["six seven"], 0.4).into_iter().map(|mut w| {
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
    fn echoes_and_bare_cues_have_no_content() {
        let s = sentences(&speak(
            &[
                "Right, right.",
                "Yeah, I see.",
                "Moving on.",
                "Okay, next question.",
                "Right, the oven matters most.",
                "Moving on to bread, the oven matters.",
            ],
            0.4,
        ));
        let content: Vec<bool> = s.iter().map(Sentence::has_content).collect();
        assert_eq!(content, vec![false, false, false, false, true, true]);
        assert!(s[0].is_backchannel() && !s[4].is_backchannel());
    }

    #[test]
    fn depth_is_the_fall_below_the_nearest_peaks() {
        // Peaks at 0.8 (left) and 0.6 (right) around the valley at 0.1; the far 0.9 is
        // behind a lower point and does not count (TextTiling climbs only while rising).
        let d = depths(&[0.9, 0.5, 0.8, 0.1, 0.6, 0.4]);
        assert!((d[3] - (0.7 + 0.5)).abs() < 1e-12, "{d:?}");
        assert!((d[1] - (0.4 + 0.3)).abs() < 1e-12, "{d:?}");
        assert_eq!(d[0], 0.0);
    }

    const BREAD: [&str; 6] = [
        "Sourdough bread needs a lively starter and a hot oven.",
        "Feed the sourdough starter flour and water before the dough.",
        "The starter makes the bread dough rise slowly.",
        "Bake the sourdough bread in a hot oven with the dough covered.",
        "A hot oven gives sourdough bread its crust.",
        "Good bread takes a slow dough and a lively starter.",
    ];
    const GARDEN: [&str; 6] = [
        "Tomatoes love full sun in the garden.",
        "Plant tomatoes deep so the roots grow strong.",
        "Water the tomato roots in the morning, never the leaves.",
        "Garden soil needs compost before the tomatoes go in.",
        "Compost feeds the soil and the roots all summer.",
        "Pick the tomatoes when the garden smells sweet.",
    ];

    const MORE_BREAD: [&str; 6] = [
        "Shape the dough into a round loaf on a floured board.",
        "Score the loaf so the bread opens in the oven.",
        "Steam in the oven keeps the crust of the bread soft at first.",
        "A sourdough loaf needs an hour to cool before you slice the bread.",
        "Rye flour makes the starter and the dough more sour.",
        "Bread from a lively starter keeps for days.",
    ];
    const MORE_GARDEN: [&str; 6] = [
        "Stake the tomatoes before the plants grow heavy in the garden.",
        "Pinch the side shoots so the tomato plants fruit sooner.",
        "Mulch keeps the soil moist and the roots cool in the garden.",
        "Tomatoes split when the soil goes from dry to soaked.",
        "Rotate the garden beds so the soil stays healthy for tomatoes.",
        "Green tomatoes ripen on a sunny windowsill.",
    ];

    /// A subject talked about for about 40 s: twelve sentences.
    fn at_length(subject: &[&'static str; 6], more: &[&'static str; 6]) -> Vec<&'static str> {
        let mut text = subject.to_vec();
        text.extend(more);
        text
    }

    fn two_subjects(bridge: &[&'static str]) -> (Vec<Word>, f64) {
        let mut text = at_length(&BREAD, &MORE_BREAD);
        let last_bread = text.len() - 1;
        text.extend(bridge);
        text.extend(at_length(&GARDEN, &MORE_GARDEN));
        let words = speak(&text, 0.5);
        let s = sentences(&words);
        let change = (s[last_bread].end_secs + s[last_bread + 1].start_secs) / 2.0;
        (words, change)
    }

    #[test]
    fn a_change_of_vocabulary_is_a_boundary() {
        let (words, change) = two_subjects(&[]);
        let b = topic_boundaries(&words);
        assert_eq!(b.len(), 1, "{b:?}");
        assert!((b[0] - change).abs() < 1.0, "{b:?} vs {change}");
    }

    #[test]
    fn one_subject_has_no_boundary() {
        let text = at_length(&BREAD, &MORE_BREAD);
        assert!(topic_boundaries(&speak(&text, 0.5)).is_empty());
    }

    #[test]
    fn a_cue_phrase_starts_a_topic_even_with_the_same_words() {
        let mut text = at_length(&BREAD, &MORE_BREAD);
        text.push("Okay, moving on.");
        text.extend(at_length(&MORE_BREAD, &BREAD));
        let words = speak(&text, 0.5);
        let s = sentences(&words);
        let b = topic_boundaries(&words);
        // (The words may also split each half where it turns from starters to loaves.)
        assert!(
            b.iter()
                .any(|&b| b > s[11].end_secs && b < s[12].start_secs),
            "{b:?}"
        );
    }

    #[test]
    fn a_break_is_its_own_segment_from_cue_to_return() {
        let ad = [
            "Let us take a short break.",
            "This show is brought to you by a bank.",
            "Open an account today.",
            "And we are back.",
        ];
        let (words, _) = two_subjects(&ad);
        let s = sentences(&words);
        let segments = segments(&s);
        let kinds: Vec<SegmentKind> = segments.iter().map(|g| g.kind).collect();
        assert_eq!(
            kinds,
            vec![SegmentKind::Topic, SegmentKind::Break, SegmentKind::Topic],
            "{segments:#?}"
        );
        assert_eq!(segments[1].sentences, 12..16);
        assert_eq!(segments[1].start_secs, s[12].start_secs);
        assert_eq!(segments[1].end_secs, s[15].end_secs);
        // Covering: every sentence in exactly one segment, in order.
        assert_eq!(segments[0].sentences.start, 0);
        assert!(segments
            .windows(2)
            .all(|p| p[0].sentences.end == p[1].sentences.start));
        assert_eq!(segments[2].sentences.end, s.len());
    }

    #[test]
    fn a_question_stays_with_its_answer() {
        // The question shares no word with its answer; cohesion alone would cut after it.
        let (words, _) = two_subjects(&["What else do you enjoy?"]);
        let s = sentences(&words);
        let b = topic_boundaries(&words);
        assert_eq!(b.len(), 1, "{b:?}");
        assert!(b[0] < s[12].start_secs, "{b:?}");
    }
}
