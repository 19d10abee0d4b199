//! Whisper's log-mel spectrogram, the encoder's input, computed exactly as openai/whisper
//! `whisper/audio.py` `log_mel_spectrogram` does it: a periodic Hann window of 400 samples, an
//! STFT with a hop of 160 and reflect padding of 200 on both sides (`torch.stft(center=True)`),
//! the last frame dropped (`stft[..., :-1]`), power `|X|²`, the mel filterbank of
//! `librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)` (Slaney scale and normalisation,
//! computed here), `log10(max(mel, 1e-10))`, a floor 8 below the global maximum and
//! `(x + 4) / 4`.
//!
//! This module owns the filterbank, the STFT and those normalisation steps, and the helpers
//! that pad or trim audio to Whisper's 30-second window ([`model_input`], `[80, 3000]`).
//! The arithmetic is in `f64` (values are stored as `f32`), so the result is a faithful
//! reference rather than a re-creation of torch's `f32` rounding.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

/// Sample rate of the audio Whisper reads.
pub const SAMPLE_RATE_HZ: u32 = 16_000;
/// STFT window length in samples (25 ms).
pub const N_FFT: usize = 400;
/// STFT hop in samples (10 ms): one mel frame per hop.
pub const HOP_LENGTH: usize = 160;
/// Mel bands of every Whisper model before large-v3 (which uses 128).
pub const N_MELS: usize = 80;
/// Length of the window the encoder sees.
pub const CHUNK_SECS: u32 = 30;
/// Samples in one 30-second window.
pub const N_SAMPLES: usize = 480_000;
/// Mel frames in one 30-second window.
pub const N_FRAMES: usize = N_SAMPLES / HOP_LENGTH;

/// Values below this power are clamped before the logarithm (whisper: `clamp(min=1e-10)`).
const MIN_POWER: f64 = 1e-10;
/// Dynamic range kept below the loudest value, in log10 units (80 dB).
const DYNAMIC_RANGE_LOG10: f64 = 8.0;

/// A spectrogram stored row-major as `[n_mels, n_frames]` (one row per mel band), the layout
/// of Whisper's `[80, 3000]` encoder input.
#[derive(Debug, Clone, PartialEq)]
pub struct LogMel {
    n_mels: usize,
    n_frames: usize,
    values: Vec<f32>,
}

impl LogMel {
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    pub fn n_frames(&self) -> usize {
        self.n_frames
    }

    /// All values, row-major `[n_mels, n_frames]`.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    pub fn into_values(self) -> Vec<f32> {
        self.values
    }

    /// The value of band `mel` in frame `frame`, if both are in range.
    pub fn get(&self, mel: usize, frame: usize) -> Option<f32> {
        if mel >= self.n_mels || frame >= self.n_frames {
            return None;
        }
        self.values.get(mel * self.n_frames + frame).copied()
    }

    /// One mel band across all frames.
    pub fn row(&self, mel: usize) -> Option<&[f32]> {
        if mel >= self.n_mels {
            return None;
        }
        self.values
            .get(mel * self.n_frames..(mel + 1) * self.n_frames)
    }
}

/// Computes log-mel spectrograms for one number of mel bands; the FFT plan, window and
/// filterbank are made once and reused.
#[derive(Clone)]
pub struct MelSpectrogram {
    n_mels: usize,
    /// `[n_mels, N_FFT / 2 + 1]`, as `librosa.filters.mel` gives it (`f32`).
    filters: Vec<f32>,
    /// For each band, the range of FFT bins where its filter is non-zero.
    bands: Vec<std::ops::Range<usize>>,
    window: Vec<f64>,
    fft: Arc<dyn Fft<f64>>,
}

impl std::fmt::Debug for MelSpectrogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MelSpectrogram")
            .field("n_mels", &self.n_mels)
            .finish_non_exhaustive()
    }
}

impl Default for MelSpectrogram {
    fn default() -> Self {
        Self::new(N_MELS)
    }
}

impl MelSpectrogram {
    /// A spectrogram with `n_mels` bands (80 for Whisper up to large-v2, 128 for large-v3).
    pub fn new(n_mels: usize) -> Self {
        let filters = mel_filters(SAMPLE_RATE_HZ, N_FFT, n_mels);
        let n_bins = N_FFT / 2 + 1;
        let bands = filters
            .chunks_exact(n_bins)
            .map(|row| {
                let first = row.iter().position(|&w| w != 0.0).unwrap_or(0);
                let end = row.iter().rposition(|&w| w != 0.0).map_or(0, |k| k + 1);
                first..end.max(first)
            })
            .collect();
        MelSpectrogram {
            n_mels,
            filters,
            bands,
            window: hann_window(N_FFT),
            fft: FftPlanner::new().plan_fft_forward(N_FFT),
        }
    }

    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// The filterbank, row-major `[n_mels, N_FFT / 2 + 1]`.
    pub fn filters(&self) -> &[f32] {
        &self.filters
    }

    /// Whisper's log-mel spectrogram of 16 kHz mono audio: `samples.len() / 160` frames.
    pub fn log_mel(&self, samples: &[f32]) -> LogMel {
        let (n_frames, mut values) = self.log10_mel_f64(samples);
        normalize(&mut values);
        LogMel {
            n_mels: self.n_mels,
            n_frames,
            values: values.into_iter().map(|v| v as f32).collect(),
        }
    }

    /// `log10(max(mel power, 1e-10))` before Whisper's normalisation ([`normalize_whisper`]),
    /// for callers that compute the global maximum over more than one piece of audio.
    pub fn log10_mel(&self, samples: &[f32]) -> LogMel {
        let (n_frames, values) = self.log10_mel_f64(samples);
        LogMel {
            n_mels: self.n_mels,
            n_frames,
            values: values.into_iter().map(|v| v as f32).collect(),
        }
    }

    /// The encoder's input for up to 30 s of audio: the audio padded with silence or cut to
    /// 480 000 samples, then its log-mel spectrogram, `[n_mels, 3000]`.
    pub fn model_input(&self, samples: &[f32]) -> LogMel {
        self.log_mel(&pad_or_trim(samples, N_SAMPLES))
    }

    fn log10_mel_f64(&self, samples: &[f32]) -> (usize, Vec<f64>) {
        let power = self.power_spectrogram(samples);
        let n_bins = N_FFT / 2 + 1;
        let n_frames = power.len() / n_bins;
        let mut values = vec![0.0; self.n_mels * n_frames];
        for (m, (filter, band)) in self
            .filters
            .chunks_exact(n_bins)
            .zip(&self.bands)
            .enumerate()
        {
            let out = &mut values[m * n_frames..(m + 1) * n_frames];
            for (t, frame_power) in power.chunks_exact(n_bins).enumerate() {
                let mel: f64 = filter[band.clone()]
                    .iter()
                    .zip(&frame_power[band.clone()])
                    .map(|(&w, &p)| f64::from(w) * p)
                    .sum();
                out[t] = mel.max(MIN_POWER).log10();
            }
        }
        (n_frames, values)
    }

    /// `|STFT|²` frame by frame, `[n_frames, N_FFT / 2 + 1]`, without torch's last frame.
    fn power_spectrogram(&self, samples: &[f32]) -> Vec<f64> {
        let n_bins = N_FFT / 2 + 1;
        let n_frames = samples.len() / HOP_LENGTH;
        let pad = N_FFT / 2;
        let mut power = Vec::with_capacity(n_frames * n_bins);
        let mut buffer = vec![Complex::new(0.0, 0.0); N_FFT];
        let mut scratch = vec![Complex::new(0.0, 0.0); self.fft.get_inplace_scratch_len()];
        for t in 0..n_frames {
            let start = t * HOP_LENGTH;
            for (k, (slot, &w)) in buffer.iter_mut().zip(&self.window).enumerate() {
                let at = reflect_index(start as i64 + k as i64 - pad as i64, samples.len());
                *slot = Complex::new(f64::from(samples[at]) * w, 0.0);
            }
            self.fft.process_with_scratch(&mut buffer, &mut scratch);
            power.extend(buffer[..n_bins].iter().map(|c| c.norm_sqr()));
        }
        power
    }
}

/// Whisper's log-mel spectrogram (80 bands) of 16 kHz mono audio.
pub fn log_mel_spectrogram(samples: &[f32]) -> LogMel {
    MelSpectrogram::new(N_MELS).log_mel(samples)
}

/// Whisper's 80-band encoder input, `[80, 3000]`, for up to 30 s of 16 kHz mono audio.
pub fn model_input(samples: &[f32]) -> LogMel {
    MelSpectrogram::new(N_MELS).model_input(samples)
}

/// Audio cut to `len_samples`, or padded with silence to it (whisper's `pad_or_trim`).
pub fn pad_or_trim(samples: &[f32], len_samples: usize) -> Vec<f32> {
    let mut out = samples[..samples.len().min(len_samples)].to_vec();
    out.resize(len_samples, 0.0);
    out
}

/// Whisper's normalisation of a [`MelSpectrogram::log10_mel`] result: values below the
/// maximum minus 8 are raised to it, then `(x + 4) / 4`.
pub fn normalize_whisper(mel: &mut LogMel) {
    let mut values: Vec<f64> = mel.values.iter().map(|&v| f64::from(v)).collect();
    normalize(&mut values);
    for (out, v) in mel.values.iter_mut().zip(values) {
        *out = v as f32;
    }
}

fn normalize(values: &mut [f64]) {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let floor = max - DYNAMIC_RANGE_LOG10;
    for v in values.iter_mut() {
        *v = (v.max(floor) + 4.0) / 4.0;
    }
}

/// The periodic Hann window `torch.hann_window(n)` gives: `0.5 − 0.5·cos(2πk/n)`.
pub fn hann_window(n: usize) -> Vec<f64> {
    (0..n)
        .map(|k| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * k as f64 / n as f64).cos())
        .collect()
}

/// Index into a signal of `len` samples for position `i`, mirrored at both ends without
/// repeating the edge sample (numpy `pad(mode="reflect")`, repeated for pads longer than the
/// signal). `len` must not be 0.
fn reflect_index(i: i64, len: usize) -> usize {
    if len == 1 {
        return 0;
    }
    let period = 2 * (len as i64 - 1);
    let folded = i.rem_euclid(period);
    if folded < len as i64 {
        folded as usize
    } else {
        (period - folded) as usize
    }
}

/// The mel filterbank of `librosa.filters.mel(sr, n_fft, n_mels)` with its defaults (fmin 0,
/// fmax sr/2, Slaney mel scale, Slaney area normalisation, `float32`), row-major
/// `[n_mels, n_fft / 2 + 1]`. Ported from librosa `filters.py` `mel` and `convert.py`
/// `hz_to_mel`/`mel_to_hz`/`mel_frequencies`, keeping its order of operations so that the
/// result equals the `mel_filters.npz` whisper ships.
pub fn mel_filters(sample_rate_hz: u32, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let sr = f64::from(sample_rate_hz);
    let n_bins = n_fft / 2 + 1;
    // np.fft.rfftfreq(n_fft, 1 / sr)
    let bin_hz = 1.0 / (n_fft as f64 * (1.0 / sr));
    let fft_freqs: Vec<f64> = (0..n_bins).map(|k| k as f64 * bin_hz).collect();
    // mel_frequencies(n_mels + 2, fmin=0, fmax=sr/2): np.linspace in mel, back to Hz.
    let n_points = n_mels + 2;
    let (min_mel, max_mel) = (hz_to_mel(0.0), hz_to_mel(sr / 2.0));
    let step = (max_mel - min_mel) / (n_points - 1) as f64;
    let mel_f: Vec<f64> = (0..n_points)
        .map(|i| {
            let mel = if i == n_points - 1 {
                max_mel
            } else {
                i as f64 * step + min_mel
            };
            mel_to_hz(mel)
        })
        .collect();
    let mut weights = vec![0.0f32; n_mels * n_bins];
    for i in 0..n_mels {
        let lower_width = mel_f[i + 1] - mel_f[i];
        let upper_width = mel_f[i + 2] - mel_f[i + 1];
        // Slaney normalisation: constant energy per band.
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = -(mel_f[i] - f) / lower_width;
            let upper = (mel_f[i + 2] - f) / upper_width;
            // librosa stores the triangle as float32, then scales it in place.
            let triangle = lower.min(upper).max(0.0) as f32;
            weights[i * n_bins + k] = (f64::from(triangle) * enorm) as f32;
        }
    }
    weights
}

// librosa's Slaney mel scale: linear below 1 kHz, logarithmic above.
const MEL_F_SP: f64 = 200.0 / 3.0;
const MEL_MIN_LOG_HZ: f64 = 1000.0;

fn mel_min_log_mel() -> f64 {
    MEL_MIN_LOG_HZ / MEL_F_SP
}

fn mel_logstep() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MEL_MIN_LOG_HZ {
        mel_min_log_mel() + (hz / MEL_MIN_LOG_HZ).ln() / mel_logstep()
    } else {
        hz / MEL_F_SP
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= mel_min_log_mel() {
        MEL_MIN_LOG_HZ * (mel_logstep() * (mel - mel_min_log_mel())).exp()
    } else {
        MEL_F_SP * mel
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// A reproducible test signal: two tones, a chirp and pseudo-random noise.
    fn test_signal(n: usize) -> Vec<f32> {
        let mut seed = 12_345u32;
        (0..n)
            .map(|i| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (seed >> 8) as f64 / (1u32 << 24) as f64 - 0.5;
                let t = i as f64 / 16_000.0;
                (0.3 * (2.0 * PI * 440.0 * t).sin()
                    + 0.2 * (2.0 * PI * 3_000.0 * t).sin()
                    + 0.1 * (2.0 * PI * (200.0 + 2_000.0 * t) * t).sin()
                    + 0.05 * noise) as f32
            })
            .collect()
    }

    /// The slow, obvious log-mel: explicit reflect padding, an O(n²) DFT, dense matrix product.
    fn reference_log_mel(samples: &[f32], n_mels: usize) -> (usize, Vec<f64>) {
        let pad = N_FFT / 2;
        let n = samples.len();
        let mut padded: Vec<f64> = Vec::new();
        for i in (1..=pad).rev() {
            padded.push(f64::from(samples[i])); // requires n > pad
        }
        padded.extend(samples.iter().map(|&x| f64::from(x)));
        for i in 0..pad {
            padded.push(f64::from(samples[n - 2 - i]));
        }
        let window = hann_window(N_FFT);
        let n_frames = 1 + (padded.len() - N_FFT) / HOP_LENGTH - 1;
        let filters = mel_filters(16_000, N_FFT, n_mels);
        let n_bins = N_FFT / 2 + 1;
        let mut out = vec![0.0; n_mels * n_frames];
        for t in 0..n_frames {
            let frame: Vec<f64> = (0..N_FFT)
                .map(|k| padded[t * HOP_LENGTH + k] * window[k])
                .collect();
            let power: Vec<f64> = (0..n_bins)
                .map(|bin| {
                    let (mut re, mut im) = (0.0, 0.0);
                    for (k, &x) in frame.iter().enumerate() {
                        let angle = -2.0 * PI * (bin * k) as f64 / N_FFT as f64;
                        re += x * angle.cos();
                        im += x * angle.sin();
                    }
                    re * re + im * im
                })
                .collect();
            for m in 0..n_mels {
                let mel: f64 = (0..n_bins)
                    .map(|b| f64::from(filters[m * n_bins + b]) * power[b])
                    .sum();
                out[m * n_frames + t] = mel.max(1e-10).log10();
            }
        }
        let max = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        for v in &mut out {
            *v = (v.max(max - 8.0) + 4.0) / 4.0;
        }
        (n_frames, out)
    }

    #[test]
    fn filterbank_triangles_have_slaney_area_and_cover_the_band() {
        let filters = mel_filters(16_000, 400, 80);
        // First band: peak at the second mel point (~25 Hz), nothing above ~50 Hz (bin 40 Hz
        // spacing): only bins 0 and 1 can be non-zero.
        assert!(filters[0] == 0.0 && filters[1] > 0.0 && filters[2] == 0.0);
        for m in 0..80 {
            let row = &filters[m * 201..(m + 1) * 201];
            assert!(row.iter().all(|&w| w >= 0.0));
            assert!(row.iter().any(|&w| w > 0.0), "band {m} is empty");
        }
        // Every bin below 8 kHz belongs to some band.
        for bin in 1..200 {
            assert!(
                (0..80).any(|m| filters[m * 201 + bin] > 0.0),
                "bin {bin} uncovered"
            );
        }
    }

    #[test]
    fn window_is_torchs_periodic_hann() {
        let w = hann_window(400);
        assert_eq!(w[0], 0.0);
        assert!((w[200] - 1.0).abs() < 1e-15);
        assert!((w[100] - 0.5).abs() < 1e-15);
        for k in 1..400 {
            assert!((w[k] - w[400 - k]).abs() < 1e-15);
        }
    }

    #[test]
    fn reflect_padding_matches_numpy() {
        // np.pad([1, 2, 3], 5, mode="reflect") == [2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2]
        let signal = [1, 2, 3];
        let padded: Vec<i32> = (-5..8).map(|i| signal[reflect_index(i, 3)]).collect();
        assert_eq!(padded, [2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2]);
        // np.pad([1, 2], 3, mode="reflect") == [2, 1, 2, 1, 2, 1, 2, 1]
        let padded: Vec<i32> = (-3..5).map(|i| [1, 2][reflect_index(i, 2)]).collect();
        assert_eq!(padded, [2, 1, 2, 1, 2, 1, 2, 1]);
        assert_eq!(reflect_index(-3, 1), 0);
    }

    #[test]
    fn equals_a_slow_dft_reference() {
        for n_mels in [80, 128] {
            let samples = test_signal(4_000);
            let ours = MelSpectrogram::new(n_mels).log_mel(&samples);
            let (n_frames, reference) = reference_log_mel(&samples, n_mels);
            assert_eq!(ours.n_frames(), n_frames);
            assert_eq!(ours.n_mels(), n_mels);
            let max_diff = ours
                .values()
                .iter()
                .zip(&reference)
                .map(|(&a, &b)| (f64::from(a) - b).abs())
                .fold(0.0, f64::max);
            assert!(max_diff < 1e-6, "{n_mels} bands: max difference {max_diff}");
        }
    }

    #[test]
    fn drops_torchs_last_frame() {
        let mel = MelSpectrogram::default();
        for (n, frames) in [
            (0, 0),
            (159, 0),
            (160, 1),
            (4_000, 25),
            (111_200, 695),
            (111_359, 695),
        ] {
            assert_eq!(
                mel.log_mel(&vec![0.01; n]).n_frames(),
                frames,
                "{n} samples"
            );
        }
        // Inputs shorter than the padding are mirrored repeatedly, as numpy does.
        let short = mel.log_mel(&test_signal(170));
        assert_eq!(short.n_frames(), 1);
        assert!(short.values().iter().all(|v| v.is_finite()));
    }

    #[test]
    fn a_tone_peaks_in_its_own_band() {
        let samples: Vec<f32> = (0..16_000)
            .map(|i| (0.5 * (2.0 * PI * 1_000.0 * i as f64 / 16_000.0).sin()) as f32)
            .collect();
        let mel = log_mel_spectrogram(&samples);
        let filters = mel_filters(16_000, 400, 80);
        // 1 kHz is bin 25; the band with the largest weight there should be loudest.
        let band = (0..80)
            .max_by(|&a, &b| filters[a * 201 + 25].total_cmp(&filters[b * 201 + 25]))
            .unwrap();
        for frame in 5..mel.n_frames() - 5 {
            let loudest = (0..80)
                .max_by(|&a, &b| {
                    mel.get(a, frame)
                        .unwrap()
                        .total_cmp(&mel.get(b, frame).unwrap())
                })
                .unwrap();
            assert_eq!(loudest, band, "frame {frame}");
        }
    }

    #[test]
    fn normalisation_keeps_80_db_below_the_peak() {
        let silence = log_mel_spectrogram(&[0.0; 1_600]);
        // log10(1e-10) = -10 everywhere: (-10 + 4) / 4.
        assert!(silence.values().iter().all(|&v| v == -1.5));
        let mut samples = vec![0.0f32; 3_200];
        samples[..1_600].copy_from_slice(&test_signal(1_600));
        let mel = log_mel_spectrogram(&samples);
        let max = mel.values().iter().copied().fold(f32::MIN, f32::max);
        let min = mel.values().iter().copied().fold(f32::MAX, f32::min);
        assert!(
            (max - min - 2.0).abs() < 1e-6,
            "range {} (8 log10 units / 4)",
            max - min
        );
        // Splitting the two steps gives the same result.
        let mut split = MelSpectrogram::default().log10_mel(&samples);
        normalize_whisper(&mut split);
        let diff = split
            .values()
            .iter()
            .zip(mel.values())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(diff < 1e-6, "{diff}");
    }

    #[test]
    fn model_input_is_30_seconds_of_80_bands() {
        let samples = test_signal(16_000 * 3);
        let input = model_input(&samples);
        assert_eq!((input.n_mels(), input.n_frames()), (80, 3_000));
        assert_eq!(input.values().len(), 240_000);
        assert_eq!(
            input,
            log_mel_spectrogram(&pad_or_trim(&samples, N_SAMPLES))
        );
        let long = model_input(&test_signal(N_SAMPLES + 5_000));
        assert_eq!(long.n_frames(), 3_000);
        assert_eq!(
            long,
            log_mel_spectrogram(&test_signal(N_SAMPLES + 5_000)[..N_SAMPLES])
        );
    }

    #[test]
    fn pad_or_trim_pads_with_silence_and_cuts() {
        assert_eq!(pad_or_trim(&[1.0, 2.0], 4), vec![1.0, 2.0, 0.0, 0.0]);
        assert_eq!(pad_or_trim(&[1.0, 2.0, 3.0], 2), vec![1.0, 2.0]);
        assert!(pad_or_trim(&[1.0], 0).is_empty());
    }

    #[test]
    fn accessors_index_row_major() {
        let mel = log_mel_spectrogram(&test_signal(800));
        assert_eq!(mel.n_frames(), 5);
        assert_eq!(mel.get(3, 2), Some(mel.values()[3 * 5 + 2]));
        assert_eq!(mel.row(79).unwrap(), &mel.values()[79 * 5..]);
        assert_eq!(mel.get(80, 0), None);
        assert_eq!(mel.get(0, 5), None);
        assert!(mel.row(80).is_none());
    }
}
