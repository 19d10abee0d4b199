//! A transcript as timed segments of words, assembled from windows that finish in any order
//! (several workers transcribe at once), plus what the transcript panel needs: the word being
//! spoken at a time, and progress with an estimate of the time left.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A word and when it is spoken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub start_secs: f64,
    pub end_secs: f64,
    pub text: String,
    /// The model's mean token probability for the word, 0 to 1.
    pub probability: f32,
}

impl Word {
    /// A word heard with certainty (tests, imported transcripts).
    pub fn new(start_secs: f64, end_secs: f64, text: impl Into<String>) -> Self {
        Self {
            start_secs,
            end_secs,
            text: text.into(),
            probability: 1.0,
        }
    }
}

/// A stretch of speech shown as one caption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start_secs: f64,
    pub end_secs: f64,
    pub text: String,
    #[serde(default)]
    pub words: Vec<Word>,
}

impl Segment {
    /// The same segment `secs` later (window-relative times → times in the video).
    pub fn shifted(mut self, secs: f64) -> Self {
        self.start_secs += secs;
        self.end_secs += secs;
        for word in &mut self.words {
            word.start_secs += secs;
            word.end_secs += secs;
        }
        self
    }
}

/// Which stretch of the audio a window covers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WindowSpan {
    pub index: u32,
    pub start_secs: f64,
    pub end_secs: f64,
}

impl WindowSpan {
    pub fn duration_secs(&self) -> f64 {
        (self.end_secs - self.start_secs).max(0.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum WindowResult {
    Done(Vec<Segment>),
    Failed(String),
}

/// Windows' results kept in window order, whatever order they arrive in.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Transcript {
    windows: BTreeMap<u32, (WindowSpan, WindowResult)>,
    words: Vec<Word>,
}

impl Transcript {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a finished window's segments (times already in the video's time line). A window
    /// given twice keeps the later result.
    pub fn insert(&mut self, span: WindowSpan, segments: Vec<Segment>) {
        self.windows
            .insert(span.index, (span, WindowResult::Done(segments)));
        self.rebuild_words();
    }

    /// Records that a window could not be transcribed, with the reason shown to the user.
    pub fn fail(&mut self, span: WindowSpan, message: String) {
        self.windows
            .insert(span.index, (span, WindowResult::Failed(message)));
        self.rebuild_words();
    }

    fn rebuild_words(&mut self) {
        self.words = self
            .segments()
            .flat_map(|s| s.words.iter().cloned())
            .collect();
    }

    /// Every segment, in time order.
    pub fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.windows.values().flat_map(|(_, result)| match result {
            WindowResult::Done(segments) => segments.as_slice(),
            WindowResult::Failed(_) => &[],
        })
    }

    /// Every word, in time order.
    pub fn words(&self) -> &[Word] {
        &self.words
    }

    /// The windows that failed, with their reasons.
    pub fn failures(&self) -> impl Iterator<Item = (&WindowSpan, &str)> {
        self.windows
            .values()
            .filter_map(|(span, result)| match result {
                WindowResult::Failed(message) => Some((span, message.as_str())),
                WindowResult::Done(_) => None,
            })
    }

    /// Seconds of audio whose windows have finished (done or failed).
    pub fn done_secs(&self) -> f64 {
        self.windows
            .values()
            .map(|(span, _)| span.duration_secs())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// The whole text, segments joined by spaces.
    pub fn text(&self) -> String {
        self.segments()
            .map(|s| s.text.trim())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Longest pause after a word during which it stays the current word.
pub const HIGHLIGHT_HOLD_SECS: f64 = 1.0;

/// The index of the word being spoken at `secs`: the last word that has started, while it
/// lasts and for up to [`HIGHLIGHT_HOLD_SECS`] of the pause after it (so the highlight does not
/// flicker between words). `words` must be in time order.
pub fn word_index_at(words: &[Word], secs: f64) -> Option<usize> {
    let started = words.partition_point(|w| w.start_secs <= secs);
    let index = started.checked_sub(1)?;
    let word = &words[index];
    let next_start = words.get(index + 1).map_or(f64::INFINITY, |w| w.start_secs);
    let hold_until = (word.end_secs + HIGHLIGHT_HOLD_SECS).min(next_start);
    (secs < hold_until.max(word.end_secs)).then_some(index)
}

/// Estimated seconds left, from the pace so far: `elapsed · (total − done) / done`. `None`
/// until some audio is done.
pub fn eta_secs(done_audio_secs: f64, total_audio_secs: f64, elapsed_secs: f64) -> Option<f64> {
    if done_audio_secs <= 0.0 || elapsed_secs <= 0.0 {
        return None;
    }
    let left = (total_audio_secs - done_audio_secs).max(0.0);
    Some(elapsed_secs * left / done_audio_secs)
}

/// Workers to transcribe with: `navigator.hardwareConcurrency − 1` (one core stays with the
/// page), at least one.
pub fn default_workers(cores: usize) -> usize {
    cores.saturating_sub(1).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(start: f64, end: f64, text: &str) -> Word {
        Word::new(start, end, text)
    }

    fn segment(words: Vec<Word>) -> Segment {
        Segment {
            start_secs: words[0].start_secs,
            end_secs: words[words.len() - 1].end_secs,
            text: words.iter().map(|w| w.text.as_str()).collect(),
            words,
        }
    }

    fn span(index: u32, start: f64, end: f64) -> WindowSpan {
        WindowSpan {
            index,
            start_secs: start,
            end_secs: end,
        }
    }

    #[test]
    fn windows_arriving_out_of_order_read_in_time_order() {
        let mut t = Transcript::new();
        t.insert(
            span(1, 30.0, 60.0),
            vec![segment(vec![word(31.0, 31.5, " two")])],
        );
        assert_eq!(t.text(), "two");
        t.insert(
            span(0, 0.0, 30.0),
            vec![segment(vec![word(1.0, 1.5, " one")])],
        );
        t.insert(
            span(2, 60.0, 75.0),
            vec![segment(vec![word(61.0, 61.5, " three")])],
        );
        assert_eq!(t.text(), "one two three");
        let starts: Vec<f64> = t.words().iter().map(|w| w.start_secs).collect();
        assert_eq!(starts, vec![1.0, 31.0, 61.0]);
        assert_eq!(t.done_secs(), 75.0);
    }

    #[test]
    fn a_failed_window_counts_as_done_and_says_why() {
        let mut t = Transcript::new();
        t.fail(span(0, 0.0, 30.0), "worker crashed twice".into());
        t.insert(
            span(1, 30.0, 40.0),
            vec![segment(vec![word(31.0, 32.0, " hi")])],
        );
        assert_eq!(t.done_secs(), 40.0);
        let failures: Vec<_> = t.failures().collect();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].1, "worker crashed twice");
        assert_eq!(t.text(), "hi");
        // A retried window replaces its failure.
        t.insert(
            span(0, 0.0, 30.0),
            vec![segment(vec![word(2.0, 3.0, " back")])],
        );
        assert_eq!(t.failures().count(), 0);
        assert_eq!(t.text(), "back hi");
    }

    #[test]
    fn shifting_moves_the_segment_and_its_words() {
        let s = segment(vec![word(1.0, 1.5, " a"), word(2.0, 2.5, " b")]).shifted(30.0);
        assert_eq!((s.start_secs, s.end_secs), (31.0, 32.5));
        assert_eq!(s.words[1].start_secs, 32.0);
    }

    #[test]
    fn the_current_word_is_the_last_started_while_it_lasts_and_briefly_after() {
        let words = vec![
            word(1.0, 1.4, "a"),
            word(1.5, 2.0, "b"),
            word(5.0, 5.5, "c"),
        ];
        assert_eq!(word_index_at(&words, 0.5), None);
        assert_eq!(word_index_at(&words, 1.0), Some(0));
        assert_eq!(word_index_at(&words, 1.45), Some(0)); // gap shorter than the next start
        assert_eq!(word_index_at(&words, 1.5), Some(1));
        assert_eq!(word_index_at(&words, 2.9), Some(1)); // held for a second of pause
        assert_eq!(word_index_at(&words, 3.1), None);
        assert_eq!(word_index_at(&words, 5.2), Some(2));
        assert_eq!(word_index_at(&words, 7.0), None);
        assert_eq!(word_index_at(&[], 1.0), None);
    }

    #[test]
    fn eta_follows_the_pace_so_far() {
        assert_eq!(eta_secs(0.0, 60.0, 5.0), None);
        assert_eq!(eta_secs(30.0, 60.0, 5.0), Some(5.0));
        assert_eq!(eta_secs(60.0, 60.0, 9.0), Some(0.0));
    }

    #[test]
    fn one_core_is_left_for_the_page() {
        assert_eq!(default_workers(0), 1);
        assert_eq!(default_workers(2), 1);
        assert_eq!(default_workers(8), 7);
    }
}
