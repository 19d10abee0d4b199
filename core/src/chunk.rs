//! Cuts a stream of 16 kHz mono audio into windows of at most 30 s for the speech model, each
//! ending at the quietest moment near its end, so that several workers can transcribe windows
//! independently without cutting words in half.
//!
//! Streaming: only the current window's samples are held, so memory does not grow with the
//! length of the video.

use crate::resample::WHISPER_SAMPLE_RATE_HZ;
use crate::transcript::WindowSpan;

/// Longest window: what the model sees at once.
pub const MAX_WINDOW_SECS: f64 = 30.0;
/// The cut is made at the quietest moment within this many seconds before the window's end.
pub const CUT_SEARCH_SECS: f64 = 10.0;
/// Energy is compared over frames of this length (20 ms at 16 kHz).
const FRAME: usize = 320;
/// Frames on each side summed with a frame when looking for the quietest stretch (±140 ms).
const SMOOTH_FRAMES: usize = 7;

/// A window of audio ready for the model.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioWindow {
    pub index: u32,
    /// Position of the first sample in the whole stream.
    pub start_sample: u64,
    pub samples: Vec<f32>,
}

impl AudioWindow {
    pub fn span(&self) -> WindowSpan {
        let rate = f64::from(WHISPER_SAMPLE_RATE_HZ);
        WindowSpan {
            index: self.index,
            start_secs: self.start_sample as f64 / rate,
            end_secs: (self.start_sample + self.samples.len() as u64) as f64 / rate,
        }
    }
}

/// Collects samples and hands out windows. Push any number of samples at a time; call
/// [`finish`](Self::finish) at the end for the last, shorter window.
#[derive(Debug, Clone)]
pub struct Chunker {
    max_len: usize,
    search_len: usize,
    pending: Vec<f32>,
    pending_start: u64,
    next_index: u32,
}

impl Default for Chunker {
    fn default() -> Self {
        Self::new(MAX_WINDOW_SECS, CUT_SEARCH_SECS)
    }
}

impl Chunker {
    /// Windows of at most `max_secs`, cut within the last `search_secs` of that (16 kHz).
    pub fn new(max_secs: f64, search_secs: f64) -> Self {
        let rate = f64::from(WHISPER_SAMPLE_RATE_HZ);
        let max_len = ((max_secs * rate) as usize).max(FRAME);
        let search_len = ((search_secs * rate) as usize).clamp(FRAME, max_len);
        Self {
            max_len,
            search_len,
            pending: Vec::with_capacity(max_len),
            pending_start: 0,
            next_index: 0,
        }
    }

    /// Adds samples; returns the windows they complete (usually none or one).
    pub fn push(&mut self, mut samples: &[f32]) -> Vec<AudioWindow> {
        let mut windows = Vec::new();
        while !samples.is_empty() {
            let room = self.max_len - self.pending.len();
            let take = room.min(samples.len());
            self.pending.extend_from_slice(&samples[..take]);
            samples = &samples[take..];
            if self.pending.len() == self.max_len {
                let cut = self.quietest_cut();
                windows.push(self.emit(cut));
            }
        }
        windows
    }

    /// The rest of the stream as a last window (`None` if nothing is left).
    pub fn finish(&mut self) -> Option<AudioWindow> {
        (!self.pending.is_empty()).then(|| self.emit(self.pending.len()))
    }

    /// Samples held right now (never more than one window).
    pub fn held(&self) -> usize {
        self.pending.len()
    }

    /// Where to end the full pending window: in the middle of the quietest stretch of the
    /// search region. Frame energies are summed over about 300 ms around each frame, so a
    /// pause between sentences wins over the short gap between two words (the latest one on
    /// ties, for longer windows).
    fn quietest_cut(&self) -> usize {
        let region_start = self.max_len - self.search_len;
        let energies: Vec<f32> = self.pending[region_start..]
            .chunks_exact(FRAME)
            .map(|frame| frame.iter().map(|s| s * s).sum())
            .collect();
        if energies.is_empty() {
            return self.max_len;
        }
        let mut best = (f32::INFINITY, energies.len() - 1);
        for k in (0..energies.len()).rev() {
            let around = &energies
                [k.saturating_sub(SMOOTH_FRAMES)..(k + SMOOTH_FRAMES + 1).min(energies.len())];
            let energy = around.iter().sum::<f32>();
            if energy < best.0 {
                best = (energy, k);
            }
        }
        region_start + best.1 * FRAME + FRAME / 2
    }

    fn emit(&mut self, cut: usize) -> AudioWindow {
        let rest = self.pending.split_off(cut);
        let samples = std::mem::replace(&mut self.pending, rest);
        self.pending.reserve(self.max_len - self.pending.len());
        let window = AudioWindow {
            index: self.next_index,
            start_sample: self.pending_start,
            samples,
        };
        self.next_index += 1;
        self.pending_start += window.samples.len() as u64;
        window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: usize = 16_000;

    /// A tone with silent gaps at the given seconds (each 0.2 s long).
    fn speech_like(secs: f64, gaps: &[f64]) -> Vec<f32> {
        let n = (secs * RATE as f64) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / RATE as f64;
                if gaps.iter().any(|g| t >= *g && t < g + 0.2) {
                    0.0
                } else {
                    (0.3 * (t * 440.0 * std::f64::consts::TAU).sin()) as f32
                }
            })
            .collect()
    }

    fn chunk_all(signal: &[f32], piece: usize) -> Vec<AudioWindow> {
        let mut chunker = Chunker::default();
        let mut windows = Vec::new();
        for part in signal.chunks(piece) {
            windows.extend(chunker.push(part));
            assert!(chunker.held() <= 30 * RATE, "held {}", chunker.held());
        }
        windows.extend(chunker.finish());
        windows
    }

    #[test]
    fn windows_cover_the_stream_exactly_in_order() {
        let signal = speech_like(95.0, &[24.0, 51.0, 77.0]);
        let windows = chunk_all(&signal, 4_321);
        let joined: Vec<f32> = windows.iter().flat_map(|w| w.samples.clone()).collect();
        assert_eq!(joined, signal);
        let mut expected_start = 0;
        for (i, w) in windows.iter().enumerate() {
            assert_eq!(w.index as usize, i);
            assert_eq!(w.start_sample, expected_start);
            assert!(w.samples.len() <= 30 * RATE);
            expected_start += w.samples.len() as u64;
        }
    }

    #[test]
    fn cuts_fall_in_the_silent_gaps() {
        let signal = speech_like(95.0, &[24.0, 51.0, 77.0]);
        let windows = chunk_all(&signal, 16_000);
        let cuts: Vec<f64> = windows
            .iter()
            .skip(1)
            .map(|w| w.span().start_secs)
            .collect();
        assert_eq!(cuts.len(), 3);
        for (cut, gap) in cuts.iter().zip([24.0, 51.0, 77.0]) {
            assert!(
                *cut >= gap && *cut <= gap + 0.2,
                "cut at {cut}, gap at {gap}"
            );
        }
    }

    #[test]
    fn a_pause_between_sentences_wins_over_a_later_gap_between_words() {
        let rate = RATE as f64;
        let mut signal = speech_like(40.0, &[]);
        // 0.6 s of silence at 22 s, then a 40 ms gap between two words at 27 s.
        signal[(22.0 * rate) as usize..(22.6 * rate) as usize].fill(0.0);
        signal[(27.0 * rate) as usize..(27.04 * rate) as usize].fill(0.0);
        let windows = chunk_all(&signal, 8_000);
        let cut = windows[1].span().start_secs;
        assert!((22.0..=22.6).contains(&cut), "cut at {cut}");
    }

    #[test]
    fn without_a_quiet_moment_windows_are_full_length() {
        let signal = speech_like(65.0, &[]);
        let windows = chunk_all(&signal, 10_000);
        assert_eq!(windows.len(), 3);
        // A steady tone has the same energy in every whole period; the cut stays in the last
        // ten seconds.
        for w in &windows[..2] {
            assert!(w.samples.len() >= 20 * RATE && w.samples.len() <= 30 * RATE);
        }
    }

    #[test]
    fn short_and_empty_streams() {
        assert!(chunk_all(&[], 100).is_empty());
        let windows = chunk_all(&speech_like(3.0, &[]), 1_000);
        assert_eq!(windows.len(), 1);
        let span = windows[0].span();
        assert_eq!((span.start_secs, span.end_secs), (0.0, 3.0));
    }
}
