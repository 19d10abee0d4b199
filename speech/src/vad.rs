//! Where the speech is: Silero VAD (PyPI `silero-vad` 6.2.3, MIT, its
//! `silero_vad_16k_sequence.onnx`, prepared into each model folder as `vad.onnx` by
//! `scripts/prepare-model.sh`) gives a speech probability per 32 ms frame ([`Vad::speech_probs`]);
//! [`speech_regions`] turns them into stretches of speech as the package's
//! `get_speech_timestamps_from_probs` does (hysteresis between two thresholds, short silences
//! bridged, short blips dropped, padding shared between neighbours); [`keep_speech`] silences
//! everything else, so Whisper never hears music or noise it could take for words, and a window
//! without speech is not decoded at all.
//!
//! The sequence model takes a block of frames at once, each 512 new samples preceded by the 64
//! before them (zeros before the first), and carries the LSTM state from block to block.

use std::ops::Range;

use tract_onnx::prelude::*;

use crate::model::ModelError;

/// New samples per frame at 16 kHz (32 ms).
pub const FRAME: usize = 512;
/// Samples of the previous frame each frame is given before its own.
pub const CONTEXT: usize = 64;
/// Frames per call of the graph: a fixed shape (4.1 s), the last block padded with silence.
pub const BLOCK_FRAMES: usize = 128;
/// The LSTM state's size.
const STATE: usize = 128;

/// How probabilities become stretches of speech, in samples at 16 kHz.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionRules {
    /// A frame at or above this starts (or continues) speech.
    pub threshold: f32,
    /// Speech ends only after frames below this…
    pub neg_threshold: f32,
    /// …for at least this long.
    pub min_silence: usize,
    /// Speech shorter than this is dropped (a click, a cough).
    pub min_speech: usize,
    /// Added before and after each stretch (halved between close neighbours).
    pub pad: usize,
    /// Added again before each stretch, up to the one before it: the model is slow to hear a
    /// voice begin over music (its first syllable scores low).
    pub lead: usize,
}

impl RegionRules {
    /// For Whisper: the package's thresholds, with longer silences bridged and a wider margin
    /// (as faster-whisper's VAD filter does) so that no word's edge is silenced.
    pub const WHISPER: RegionRules = RegionRules {
        threshold: 0.5,
        neg_threshold: 0.35,
        min_silence: 16_000 / 2,
        min_speech: 16_000 / 4,
        pad: 16_000 * 2 / 5,
        lead: 16_000 * 3 / 5,
    };
}

/// Silero VAD's sequence graph, ready to run.
pub struct Vad {
    graph: Arc<TypedRunnableModel>,
}

fn run_err(e: impl std::fmt::Display) -> ModelError {
    ModelError::Run(format!("voice activity detection: {e}"))
}

impl Vad {
    /// Parses and optimises `vad.onnx` for blocks of [`BLOCK_FRAMES`] frames.
    pub fn load(bytes: &[u8]) -> Result<Self, ModelError> {
        let load = |e: TractError| ModelError::Load(format!("vad.onnx: {e:#}"));
        let graph = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(bytes))
            .and_then(|m| m.with_input_fact(0, f32::fact([BLOCK_FRAMES, CONTEXT + FRAME]).into()))
            .and_then(|m| m.with_input_fact(1, f32::fact([1, 1, STATE]).into()))
            .and_then(|m| m.with_input_fact(2, f32::fact([1, 1, STATE]).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(load)?;
        Ok(Vad { graph })
    }

    /// The probability that each 32 ms frame of `samples_16k` is speech (the last frame padded
    /// with silence).
    pub fn speech_probs(&self, samples_16k: &[f32]) -> Result<Vec<f32>, ModelError> {
        let frames = samples_16k.len().div_ceil(FRAME);
        let mut probs = Vec::with_capacity(frames);
        let mut h: TValue = Tensor::zero::<f32>(&[1, 1, STATE]).map_err(run_err)?.into();
        let mut c = h.clone();
        for first in (0..frames).step_by(BLOCK_FRAMES) {
            let block = frame_block(samples_16k, first);
            let input =
                Tensor::from_shape(&[BLOCK_FRAMES, CONTEXT + FRAME], &block).map_err(run_err)?;
            let mut out = self.graph.run(tvec!(input.into(), h, c)).map_err(run_err)?;
            if out.len() != 3 {
                return Err(run_err(format!("{} outputs, not 3", out.len())));
            }
            c = out.remove(2);
            h = out.remove(1);
            let values = out[0].to_plain_array_view::<f32>().map_err(run_err)?;
            let real = (frames - first).min(BLOCK_FRAMES);
            probs.extend(values.iter().take(real).copied());
        }
        Ok(probs)
    }

    /// The stretches of `samples_16k` that hold speech, by [`RegionRules::WHISPER`].
    pub fn speech(&self, samples_16k: &[f32]) -> Result<Vec<Range<usize>>, ModelError> {
        let probs = self.speech_probs(samples_16k)?;
        Ok(speech_regions(
            &probs,
            samples_16k.len(),
            &RegionRules::WHISPER,
        ))
    }
}

/// The graph's input for the block of frames starting at frame `first`: each row is the 64
/// samples before the frame and its 512, zeros beyond the end of the audio (and before its
/// start).
pub fn frame_block(samples: &[f32], first: usize) -> Vec<f32> {
    let width = CONTEXT + FRAME;
    let mut block = vec![0.0; BLOCK_FRAMES * width];
    for (row, out) in block.chunks_exact_mut(width).enumerate() {
        let frame_start = (first + row) * FRAME;
        for (i, value) in out.iter_mut().enumerate() {
            // Position of this value in the audio: may be before 0 (the first frame's context).
            if let Some(at) = (frame_start + i).checked_sub(CONTEXT) {
                // The context of frame n is the end of frame n-1, which lies in the audio
                // whenever n > 0; past the audio's end everything is silence.
                *value = samples.get(at).copied().unwrap_or(0.0);
            }
        }
    }
    block
}

/// Stretches of speech from per-frame probabilities, in samples: Silero's
/// `get_speech_timestamps_from_probs` with no maximum length. `len` is the audio's length.
pub fn speech_regions(probs: &[f32], len: usize, rules: &RegionRules) -> Vec<Range<usize>> {
    let mut speeches: Vec<Range<usize>> = vec![];
    let mut start: Option<usize> = None;
    let mut temp_end = 0usize;
    for (i, &p) in probs.iter().enumerate() {
        let at = i * FRAME;
        if p >= rules.threshold && temp_end != 0 {
            temp_end = 0;
        }
        let Some(begun) = start else {
            if p >= rules.threshold {
                start = Some(at);
            }
            continue;
        };
        if p < rules.neg_threshold {
            if temp_end == 0 {
                temp_end = at;
            }
            if at - temp_end < rules.min_silence {
                continue;
            }
            if temp_end - begun > rules.min_speech {
                speeches.push(begun..temp_end);
            }
            start = None;
            temp_end = 0;
        }
    }
    if let Some(begun) = start {
        if len.saturating_sub(begun) > rules.min_speech {
            speeches.push(begun..len);
        }
    }
    pad(&mut speeches, len, rules.pad);
    for i in 0..speeches.len() {
        let floor = if i == 0 { 0 } else { speeches[i - 1].end };
        speeches[i].start = speeches[i].start.saturating_sub(rules.lead).max(floor);
    }
    speeches
}

/// Widens each stretch by `pad` on both sides, sharing the gap when two are closer than two
/// pads, and keeps them inside `0..len`.
fn pad(speeches: &mut [Range<usize>], len: usize, pad: usize) {
    let count = speeches.len();
    for i in 0..count {
        if i == 0 {
            speeches[0].start = speeches[0].start.saturating_sub(pad);
        }
        if i + 1 < count {
            let silence = speeches[i + 1].start.saturating_sub(speeches[i].end);
            let (end_grow, next_shrink) = if silence < 2 * pad {
                (silence / 2, silence / 2)
            } else {
                (pad, pad)
            };
            speeches[i].end = (speeches[i].end + end_grow).min(len);
            speeches[i + 1].start = speeches[i + 1].start.saturating_sub(next_shrink);
        } else {
            speeches[i].end = (speeches[i].end + pad).min(len);
        }
    }
}

/// `samples` with everything outside `regions` silenced: times are kept, so timestamps and
/// word timings need no mapping back.
pub fn keep_speech(samples: &[f32], regions: &[Range<usize>]) -> Vec<f32> {
    let mut kept = vec![0.0; samples.len()];
    for region in regions {
        let range = region.start.min(samples.len())..region.end.min(samples.len());
        kept[range.clone()].copy_from_slice(&samples[range]);
    }
    kept
}

/// `samples[range]` with everything outside `regions` (positions in `samples`) silenced.
pub fn keep_speech_in(samples: &[f32], regions: &[Range<usize>], range: Range<usize>) -> Vec<f32> {
    let inside: Vec<Range<usize>> = regions
        .iter()
        .map(|r| r.start.max(range.start)..r.end.min(range.end))
        .filter(|r| r.start < r.end)
        .map(|r| r.start - range.start..r.end - range.start)
        .collect();
    keep_speech(&samples[range], &inside)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: RegionRules = RegionRules {
        threshold: 0.5,
        neg_threshold: 0.35,
        min_silence: 1_600,
        min_speech: 4_000,
        pad: 480,
        lead: 0,
    };

    /// Frames of a probability, as the model would give for `n` frames.
    fn frames(parts: &[(f32, usize)]) -> Vec<f32> {
        parts
            .iter()
            .flat_map(|&(p, n)| std::iter::repeat_n(p, n))
            .collect()
    }

    #[test]
    fn one_stretch_of_speech_is_found_and_padded() {
        // 10 frames quiet, 20 of speech, 20 quiet.
        let probs = frames(&[(0.1, 10), (0.9, 20), (0.1, 20)]);
        let regions = speech_regions(&probs, 50 * FRAME, &RULES);
        assert_eq!(regions, vec![(10 * FRAME - 480)..(30 * FRAME + 480)]);
    }

    #[test]
    fn a_short_blip_is_not_speech_and_a_short_pause_does_not_end_it() {
        let blip = frames(&[(0.1, 10), (0.9, 3), (0.1, 40)]);
        assert!(speech_regions(&blip, 53 * FRAME, &RULES).is_empty());
        // A 2-frame (64 ms) dip below the low threshold is shorter than the 100 ms silence.
        let pause = frames(&[(0.9, 20), (0.1, 2), (0.9, 20), (0.1, 20)]);
        assert_eq!(speech_regions(&pause, 62 * FRAME, &RULES).len(), 1);
        // Between the thresholds speech goes on.
        let between = frames(&[(0.9, 20), (0.4, 20), (0.1, 20)]);
        assert_eq!(
            speech_regions(&between, 60 * FRAME, &RULES),
            vec![0..(40 * FRAME + 480)]
        );
    }

    #[test]
    fn the_lead_reaches_back_to_the_stretch_before_and_no_further() {
        let probs = frames(&[(0.1, 40), (0.9, 20), (0.1, 6), (0.9, 20), (0.1, 10)]);
        let rules = RegionRules {
            lead: 16_000,
            ..RULES
        };
        let regions = speech_regions(&probs, 96 * FRAME, &rules);
        assert_eq!(regions.len(), 2);
        assert_eq!(regions[0].start, 40 * FRAME - 480 - 16_000);
        assert_eq!(regions[1].start, regions[0].end);
    }

    #[test]
    fn speech_running_to_the_end_ends_there() {
        let probs = frames(&[(0.1, 5), (0.9, 30)]);
        assert_eq!(
            speech_regions(&probs, 35 * FRAME - 100, &RULES),
            vec![(5 * FRAME - 480)..(35 * FRAME - 100)]
        );
    }

    #[test]
    fn close_neighbours_share_the_gap_between_them() {
        // Two stretches 4 frames (2048 samples) apart: closer than two pads of 2000, so each
        // takes half the gap.
        let probs = frames(&[(0.9, 20), (0.1, 4), (0.9, 20), (0.1, 10)]);
        let rules = RegionRules {
            min_silence: 1_000,
            pad: 2_000,
            ..RULES
        };
        let regions = speech_regions(&probs, 54 * FRAME, &rules);
        assert_eq!(regions.len(), 2);
        assert_eq!(regions[0].end, regions[1].start);
        assert_eq!(regions[0].end, 22 * FRAME);
    }

    #[test]
    fn frame_blocks_carry_the_previous_frames_end_as_context() {
        let samples: Vec<f32> = (0..(FRAME * 3 + 10)).map(|i| i as f32).collect();
        let block = frame_block(&samples, 0);
        let width = CONTEXT + FRAME;
        assert!(block[..CONTEXT].iter().all(|&v| v == 0.0));
        assert_eq!(block[CONTEXT], 0.0);
        assert_eq!(block[width], (FRAME - CONTEXT) as f32);
        assert_eq!(block[width + CONTEXT], FRAME as f32);
        // The fourth frame holds the 10 last samples, then silence.
        assert_eq!(block[3 * width + CONTEXT + 9], (3 * FRAME + 9) as f32);
        assert_eq!(block[3 * width + CONTEXT + 10], 0.0);
        // A later block starts with the end of the frame before it.
        let next = frame_block(&samples, 2);
        assert_eq!(next[0], (2 * FRAME - CONTEXT) as f32);
    }

    // proptest's random source needs a browser-specific getrandom on wasm32: native only.
    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Probabilities in runs of one level: quiet, in between the thresholds, or speech.
        fn runs() -> impl Strategy<Value = Vec<f32>> {
            proptest::collection::vec(
                (prop_oneof![Just(0.1f32), Just(0.4), Just(0.9)], 1usize..20),
                0..30,
            )
            .prop_map(|runs| frames(&runs))
        }

        proptest! {
            #[test]
            fn regions_are_ordered_inside_the_audio_and_keep_every_long_run_of_speech(
                probs in runs(),
                tail in 0usize..FRAME,
            ) {
                let len = (probs.len() * FRAME).saturating_sub(tail);
                let regions = speech_regions(&probs, len, &RULES);
                for pair in regions.windows(2) {
                    prop_assert!(pair[0].end <= pair[1].start);
                }
                for r in &regions {
                    prop_assert!(r.start < r.end && r.end <= len);
                    // Each stretch holds a frame of speech.
                    let first = r.start / FRAME;
                    let last = r.end.div_ceil(FRAME).min(probs.len());
                    prop_assert!(probs[first..last].iter().any(|&p| p >= RULES.threshold));
                }
                // A run of speech frames longer than the shortest speech kept is always kept.
                let long = RULES.min_speech / FRAME + 1;
                let mut i = 0;
                while i < probs.len() {
                    let run = probs[i..].iter().take_while(|&&p| p >= RULES.threshold).count();
                    if run > long {
                        for at in (i..i + run).map(|f| f * FRAME).filter(|&at| at < len) {
                            prop_assert!(regions.iter().any(|r| r.contains(&at)), "frame at {} dropped", at);
                        }
                    }
                    i += run.max(1);
                }
            }

            #[test]
            fn a_window_of_kept_speech_is_that_window_of_the_whole(
                samples in proptest::collection::vec(-1.0f32..1.0, 1..2000),
                cuts in proptest::collection::vec(0usize..2500, 0..6),
                a in 0usize..2000,
                b in 0usize..2000,
            ) {
                let mut cuts = cuts;
                cuts.sort();
                let regions: Vec<Range<usize>> = cuts.chunks_exact(2).map(|c| c[0]..c[1]).collect();
                let (a, b) = (a.min(b).min(samples.len()), a.max(b).min(samples.len()));
                let whole = keep_speech(&samples, &regions);
                prop_assert_eq!(keep_speech_in(&samples, &regions, a..b), whole[a..b].to_vec());
            }

            #[test]
            fn kept_speech_is_the_input_inside_regions_and_silence_outside(
                samples in proptest::collection::vec(-1.0f32..1.0, 0..2000),
                cuts in proptest::collection::vec(0usize..2500, 0..6),
            ) {
                let mut cuts = cuts;
                cuts.sort();
                let regions: Vec<Range<usize>> = cuts.chunks_exact(2).map(|c| c[0]..c[1]).collect();
                let kept = keep_speech(&samples, &regions);
                prop_assert_eq!(kept.len(), samples.len());
                for (i, (&k, &s)) in kept.iter().zip(&samples).enumerate() {
                    let inside = regions.iter().any(|r| r.contains(&i));
                    prop_assert_eq!(k, if inside { s } else { 0.0 });
                }
            }
        }
    }
}
