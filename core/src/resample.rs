//! Sample-rate conversion and downmixing for audio on its way to the speech model: a
//! windowed-sinc polyphase [`Resampler`] that runs in a streaming way (push chunks, get output,
//! only a filter's length of input kept between calls, output identical to one-shot
//! processing) and the downmix to mono (the mean of the channels, as ffmpeg's `-ac 1` gives).
//!
//! Pure Rust so both the editor (decoding a video's sound track) and the speech engine (WAV
//! files) use the same code.

/// The sample rate Whisper's encoder expects.
pub const WHISPER_SAMPLE_RATE_HZ: u32 = 16_000;

/// Lowest sample rate [`Resampler`] accepts (below it the file is hardly speech).
pub const MIN_SAMPLE_RATE_HZ: u32 = 1_000;
/// Highest sample rate [`Resampler`] accepts (above it the filter would be pointlessly long).
pub const MAX_SAMPLE_RATE_HZ: u32 = 768_000;

/// Why audio could not be resampled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResampleError {
    #[error("The sample rate {0} Hz is outside what Reelsmith can resample (1 kHz to 768 kHz). Convert the audio to 16 kHz or 48 kHz first.")]
    UnsupportedSampleRate(u32),
}

/// Averages interleaved channels into one. A trailing incomplete frame is dropped.
pub fn downmix_to_mono(interleaved: &[f32], channels: usize) -> Vec<f32> {
    let mut mono = Vec::with_capacity(interleaved.len() / channels.max(1));
    downmix_into(interleaved, channels, &mut mono);
    mono
}

/// Adds one channel, as little-endian `f32` bytes (WebCodecs' `f32-planar` copies), to `mono`
/// sample by sample; after every channel is added, [`scale_mean`] makes the mean of them.
pub fn add_plane_le(mono: &mut [f32], plane: &[u8]) {
    for (m, s) in mono.iter_mut().zip(plane.chunks_exact(4)) {
        *m += f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
    }
}

/// Little-endian `f32` bytes as samples, into `out` (replacing what it held).
pub fn plane_from_le(plane: &[u8], out: &mut Vec<f32>) {
    out.clear();
    out.extend(
        plane
            .chunks_exact(4)
            .map(|s| f32::from_le_bytes([s[0], s[1], s[2], s[3]])),
    );
}

/// Divides sums of `channels` channels into their mean.
pub fn scale_mean(mono: &mut [f32], channels: usize) {
    let scale = 1.0 / channels.max(1) as f32;
    mono.iter_mut().for_each(|m| *m *= scale);
}

pub fn downmix_into(interleaved: &[f32], channels: usize, mono: &mut Vec<f32>) {
    match channels {
        0 => {}
        1 => mono.extend_from_slice(interleaved),
        _ => {
            let scale = 1.0 / channels as f32;
            mono.extend(
                interleaved
                    .chunks_exact(channels)
                    .map(|frame| frame.iter().sum::<f32>() * scale),
            );
        }
    }
}

/// Resamples a whole signal at once (the same output as streaming it through [`Resampler`]).
pub fn resample(input: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>, ResampleError> {
    let mut resampler = Resampler::new(from_hz, to_hz)?;
    let mut out =
        Vec::with_capacity(usize::try_from(resampler.output_len(input.len() as u64)).unwrap_or(0));
    resampler.process(input, &mut out);
    resampler.finish(&mut out);
    Ok(out)
}

/// Zero crossings of the sinc on each side of the kernel, counted at the lower of the two
/// rates. With the Kaiser window and cut-off below, 48 kHz → 16 kHz is flat within 0.01 dB up
/// to 7 kHz, −6 dB at 7.6 kHz and below −85 dB from 8.4 kHz (measured; ffmpeg's default, which
/// Whisper was trained behind, uses 16 and lets more through).
const ZERO_CROSSINGS: f64 = 32.0;
/// Cut-off as a fraction of the lower rate's Nyquist frequency (7.6 kHz for 16 kHz output).
const CUTOFF: f64 = 0.95;
const KAISER_BETA: f64 = 8.6;
/// Up to this many phases (the reduced output rate, e.g. 160 for 44.1 kHz → 16 kHz) each output
/// phase gets its own exact row of coefficients; above it, rows are interpolated from a table
/// of this many phases.
const MAX_EXACT_PHASES: u64 = 1_024;

/// A streaming sample-rate converter: a Kaiser-windowed sinc evaluated at the exact output
/// times (output sample `n` sits at input time `n · from_hz / to_hz`, no delay).
///
/// Feed input with [`process`](Self::process) in chunks of any size, then call
/// [`finish`](Self::finish) once; the output equals [`resample`] of the whole input, sample for
/// sample, and has `ceil(input_len · to_hz / from_hz)` samples. Between calls only about one
/// filter length of input is kept. After `finish` the resampler is ready for a new signal.
#[derive(Debug, Clone)]
pub struct Resampler {
    from_hz: u32,
    to_hz: u32,
    engine: Engine,
}

#[derive(Debug, Clone)]
enum Engine {
    Copy,
    Sinc(Box<SincState>),
}

#[derive(Debug, Clone)]
struct SincState {
    /// Output and input rates divided by their greatest common divisor.
    up: u64,
    down: u64,
    table: PhaseTable,
    /// Input, preceded by `taps / 2 - 1` zeros; `pending[0]` is padded-input sample
    /// `pending_start`.
    pending: Vec<f32>,
    pending_start: u64,
    /// Padded-input index of the first tap and phase (0..up) of the next output sample.
    next_in: u64,
    next_phase: u64,
    produced: u64,
    received: u64,
}

impl Resampler {
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Self, ResampleError> {
        for rate in [from_hz, to_hz] {
            if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&rate) {
                return Err(ResampleError::UnsupportedSampleRate(rate));
            }
        }
        let engine = if from_hz == to_hz {
            Engine::Copy
        } else {
            let divisor = gcd(u64::from(from_hz), u64::from(to_hz));
            let up = u64::from(to_hz) / divisor;
            let down = u64::from(from_hz) / divisor;
            let table = PhaseTable::new(up, down);
            let mut state = SincState {
                up,
                down,
                table,
                pending: Vec::new(),
                pending_start: 0,
                next_in: 0,
                next_phase: 0,
                produced: 0,
                received: 0,
            };
            state.reset();
            Engine::Sinc(Box::new(state))
        };
        Ok(Resampler {
            from_hz,
            to_hz,
            engine,
        })
    }

    pub fn from_hz(&self) -> u32 {
        self.from_hz
    }

    pub fn to_hz(&self) -> u32 {
        self.to_hz
    }

    /// Number of output samples for `input_len` input samples: `ceil(input_len · to / from)`.
    pub fn output_len(&self, input_len: u64) -> u64 {
        let num = u128::from(input_len) * u128::from(self.to_hz);
        num.div_ceil(u128::from(self.from_hz)) as u64
    }

    /// Consumes a chunk of input and appends every output sample it completes.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        match &mut self.engine {
            Engine::Copy => out.extend_from_slice(input),
            Engine::Sinc(state) => {
                state.received += input.len() as u64;
                state.pending.extend_from_slice(input);
                state.produce(out, u64::MAX);
                state.discard_consumed();
            }
        }
    }

    /// Ends the signal: appends the remaining output (the input is taken as silent after its
    /// end) and resets the resampler for a new signal.
    pub fn finish(&mut self, out: &mut Vec<f32>) {
        let Engine::Sinc(state) = &mut self.engine else {
            return;
        };
        let total = (u128::from(state.received) * u128::from(state.up))
            .div_ceil(u128::from(state.down)) as u64;
        let taps = state.table.taps;
        while state.produced < total {
            state.pending.resize(state.pending.len() + taps, 0.0);
            state.produce(out, total);
            state.discard_consumed();
        }
        state.reset();
    }
}

impl SincState {
    fn reset(&mut self) {
        self.pending.clear();
        self.pending.resize(self.table.taps / 2 - 1, 0.0);
        self.pending_start = 0;
        self.next_in = 0;
        self.next_phase = 0;
        self.produced = 0;
        self.received = 0;
    }

    /// Computes output samples while their whole window is in `pending`, up to `limit` in all.
    fn produce(&mut self, out: &mut Vec<f32>, limit: u64) {
        let taps = self.table.taps as u64;
        let available_end = self.pending_start + self.pending.len() as u64;
        while self.produced < limit && self.next_in + taps <= available_end {
            let start = (self.next_in - self.pending_start) as usize;
            let window = &self.pending[start..start + self.table.taps];
            out.push(self.table.apply(window, self.next_phase, self.up));
            self.produced += 1;
            self.next_phase += self.down;
            self.next_in += self.next_phase / self.up;
            self.next_phase %= self.up;
        }
    }

    fn discard_consumed(&mut self) {
        let consumed = (self.next_in - self.pending_start) as usize;
        let consumed = consumed.min(self.pending.len());
        self.pending.drain(..consumed);
        self.pending_start += consumed as u64;
    }
}

/// Kernel coefficients for `phases + 1` evenly spaced fractional positions in [0, 1].
#[derive(Debug, Clone)]
struct PhaseTable {
    phases: u64,
    taps: usize,
    /// Row `q` (of `phases + 1`) holds the kernel for an output at fraction `q / phases` past
    /// the tap `taps / 2 - 1`; each row sums to 1 so that DC passes exactly.
    coeffs: Vec<f32>,
}

impl PhaseTable {
    fn new(up: u64, down: u64) -> Self {
        let cutoff = CUTOFF * (up as f64 / down as f64).min(1.0);
        let half_width = ZERO_CROSSINGS / cutoff;
        let half_taps = half_width.ceil() as usize + 1;
        let taps = 2 * half_taps;
        let phases = up.min(MAX_EXACT_PHASES);
        let mut coeffs = Vec::with_capacity((phases as usize + 1) * taps);
        for q in 0..=phases {
            let frac = q as f64 / phases as f64;
            let row: Vec<f64> = (0..taps)
                .map(|k| {
                    let offset = k as f64 - (half_taps as f64 - 1.0);
                    kernel(frac - offset, cutoff, half_width)
                })
                .collect();
            let sum: f64 = row.iter().sum();
            coeffs.extend(row.iter().map(|c| (c / sum) as f32));
        }
        PhaseTable {
            phases,
            taps,
            coeffs,
        }
    }

    fn row(&self, q: usize) -> &[f32] {
        &self.coeffs[q * self.taps..(q + 1) * self.taps]
    }

    /// The output for a window of `taps` inputs at phase `phase / up` past its centre tap.
    fn apply(&self, window: &[f32], phase: u64, up: u64) -> f32 {
        let scaled = phase * self.phases;
        let q = (scaled / up) as usize;
        let rem = scaled % up;
        let y0 = dot(window, self.row(q));
        if rem == 0 {
            return y0;
        }
        let t = (rem as f64 / up as f64) as f32;
        let y1 = dot(window, self.row(q + 1));
        y0 + t * (y1 - y0)
    }
}

/// The anti-aliasing interpolation kernel at `t` input samples from the output time.
fn kernel(t: f64, cutoff: f64, half_width: f64) -> f64 {
    if t.abs() >= half_width {
        return 0.0;
    }
    let x = t / half_width;
    let window = bessel_i0(KAISER_BETA * (1.0 - x * x).sqrt()) / bessel_i0(KAISER_BETA);
    cutoff * sinc(cutoff * t) * window
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let px = std::f64::consts::PI * x;
        px.sin() / px
    }
}

/// Modified Bessel function of the first kind, order 0 (power series; converges fast for the
/// arguments a Kaiser window uses).
fn bessel_i0(x: f64) -> f64 {
    let half = x / 2.0;
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut k = 1.0;
    while term > sum * 1e-17 {
        term *= (half / k) * (half / k);
        sum += term;
        k += 1.0;
    }
    sum
}

/// Dot product with four accumulators: fast, and the same order of additions whatever the
/// chunking, so streaming and one-shot outputs are bit-identical.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 4];
    let chunks_a = a.chunks_exact(4);
    let chunks_b = b.chunks_exact(4);
    let tail: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in chunks_a.zip(chunks_b) {
        for i in 0..4 {
            acc[i] += x[i] * y[i];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn sine(freq_hz: f64, rate_hz: u32, secs: f64, amplitude: f64) -> Vec<f32> {
        let n = (secs * f64::from(rate_hz)).round() as usize;
        (0..n)
            .map(|i| {
                (amplitude * (2.0 * PI * freq_hz * i as f64 / f64::from(rate_hz)).sin()) as f32
            })
            .collect()
    }

    /// The slow, obvious resampler: evaluate the normalised kernel sum at each output time.
    fn reference_resample(input: &[f32], from_hz: u32, to_hz: u32) -> Vec<f64> {
        let ratio = f64::from(to_hz) / f64::from(from_hz);
        let cutoff = CUTOFF * ratio.min(1.0);
        let half_width = ZERO_CROSSINGS / cutoff;
        let n_out = (input.len() as f64 * ratio).ceil() as usize;
        (0..n_out)
            .map(|n| {
                let t = n as f64 * f64::from(from_hz) / f64::from(to_hz);
                let lo = (t - half_width).floor() as i64;
                let hi = (t + half_width).ceil() as i64;
                let (mut acc, mut norm) = (0.0, 0.0);
                for j in lo..=hi {
                    let w = kernel(t - j as f64, cutoff, half_width);
                    norm += w;
                    if j >= 0 && (j as usize) < input.len() {
                        acc += w * f64::from(input[j as usize]);
                    }
                }
                acc / norm
            })
            .collect()
    }

    /// Amplitude and phase of `signal` at `freq_hz` by least squares on a sine and a cosine.
    fn tone(signal: &[f32], rate_hz: u32, freq_hz: f64) -> (f64, f64) {
        let (mut s, mut c) = (0.0, 0.0);
        for (i, &x) in signal.iter().enumerate() {
            let w = 2.0 * PI * freq_hz * i as f64 / f64::from(rate_hz);
            s += f64::from(x) * w.sin();
            c += f64::from(x) * w.cos();
        }
        let n = signal.len() as f64;
        let (a, b) = (2.0 * s / n, 2.0 * c / n);
        ((a * a + b * b).sqrt(), b.atan2(a))
    }

    fn rms(signal: &[f32]) -> f64 {
        (signal.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / signal.len() as f64).sqrt()
    }

    fn max_abs_diff(a: &[f32], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - y).abs())
            .fold(0.0, f64::max)
    }

    /// Skips `edge_secs` at both ends, where the signal starts and stops abruptly.
    fn middle(signal: &[f32], rate_hz: u32, edge_secs: f64) -> &[f32] {
        let edge = (edge_secs * f64::from(rate_hz)) as usize;
        &signal[edge..signal.len() - edge]
    }

    #[test]
    fn matches_the_direct_kernel_sum() {
        for (from, to) in [
            (48_000, 16_000),
            (44_100, 16_000),
            (8_000, 16_000),
            (22_050, 16_000),
        ] {
            let input = sine(997.0, from, 0.2, 0.5)
                .iter()
                .zip(sine(3_001.0, from, 0.2, 0.3))
                .map(|(a, b)| a + b)
                .collect::<Vec<_>>();
            let out = resample(&input, from, to).unwrap();
            let reference = reference_resample(&input, from, to);
            let err = max_abs_diff(&out, &reference);
            assert!(err < 2e-6, "{from} -> {to}: max error {err}");
        }
    }

    #[test]
    fn interpolated_phases_stay_close_to_the_direct_kernel_sum() {
        // 44 101 Hz has 16 000 output phases: rows are interpolated from a 1024-phase table.
        let input = sine(1_234.0, 44_101, 0.1, 0.8);
        let out = resample(&input, 44_101, 16_000).unwrap();
        let err = max_abs_diff(&out, &reference_resample(&input, 44_101, 16_000));
        assert!(err < 1e-5, "max error {err}");
    }

    #[test]
    fn preserves_a_sines_frequency_amplitude_and_phase() {
        for from in [48_000, 44_100, 22_050, 8_000] {
            for freq in [100.0, 440.0, 1_000.0, 3_500.0, 6_000.0] {
                if freq > 0.45 * f64::from(from) {
                    continue;
                }
                let input = sine(freq, from, 1.0, 0.5);
                let out = resample(&input, from, 16_000).unwrap();
                let expected = sine(freq, 16_000, 1.0, 0.5);
                assert_eq!(out.len(), expected.len());
                let (amp, phase) = tone(middle(&out, 16_000, 0.05), 16_000, freq);
                assert!(
                    (amp - 0.5).abs() < 0.5 * 2e-3,
                    "{from} Hz, {freq} Hz: amplitude {amp}"
                );
                // Same phase as a sine generated at 16 kHz: no delay, no drift.
                let (_, expected_phase) = tone(middle(&expected, 16_000, 0.05), 16_000, freq);
                assert!(
                    (phase - expected_phase).abs() < 1e-3,
                    "{from} Hz, {freq} Hz: phase {phase}"
                );
                let err = middle(&out, 16_000, 0.05)
                    .iter()
                    .zip(middle(&expected, 16_000, 0.05))
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(err < 2e-3, "{from} Hz, {freq} Hz: max sample error {err}");
            }
        }
    }

    #[test]
    fn removes_what_would_alias() {
        // 12 kHz and 9 kHz at 48 kHz would fold to 4 kHz and 7 kHz at 16 kHz.
        for freq in [12_000.0, 9_000.0] {
            let out = resample(&sine(freq, 48_000, 1.0, 0.5), 48_000, 16_000).unwrap();
            let level = rms(middle(&out, 16_000, 0.05)) / (0.5 / 2f64.sqrt());
            assert!(level < 1e-3, "{freq} Hz leaks through at {level}");
        }
        let out = resample(&sine(15_000.0, 44_100, 1.0, 0.5), 44_100, 16_000).unwrap();
        let level = rms(middle(&out, 16_000, 0.05)) / (0.5 / 2f64.sqrt());
        assert!(level < 1e-3, "15 kHz at 44.1 kHz leaks through at {level}");
    }

    #[test]
    fn passes_dc_exactly() {
        let out = resample(&vec![0.25; 48_000], 48_000, 16_000).unwrap();
        for &x in middle(&out, 16_000, 0.05) {
            assert!((x - 0.25).abs() < 1e-6, "{x}");
        }
    }

    #[test]
    fn streaming_equals_one_shot() {
        for (from, to) in [
            (48_000, 16_000),
            (44_100, 16_000),
            (8_000, 16_000),
            (44_101, 16_000),
        ] {
            let input: Vec<f32> = sine(440.0, from, 0.3, 0.7)
                .iter()
                .enumerate()
                .map(|(i, x)| x + ((i * 7919 % 1000) as f32 / 1000.0 - 0.5) * 0.1)
                .collect();
            let one_shot = resample(&input, from, to).unwrap();
            for chunk in [1, 7, 160, 441, 4_096, 100_000] {
                let mut resampler = Resampler::new(from, to).unwrap();
                let mut out = Vec::new();
                for piece in input.chunks(chunk) {
                    resampler.process(piece, &mut out);
                }
                resampler.finish(&mut out);
                assert_eq!(out, one_shot, "{from} -> {to} in chunks of {chunk}");
            }
        }
    }

    #[test]
    fn memory_stays_bounded_while_streaming() {
        let mut resampler = Resampler::new(44_100, 16_000).unwrap();
        let chunk = sine(440.0, 44_100, 0.1, 0.5);
        let mut out = Vec::new();
        for _ in 0..200 {
            resampler.process(&chunk, &mut out);
            out.clear();
            let Engine::Sinc(state) = &resampler.engine else {
                panic!("44.1 kHz needs the sinc resampler")
            };
            assert!(
                state.pending.len() <= state.table.taps + 2,
                "{}",
                state.pending.len()
            );
        }
    }

    #[test]
    fn is_reusable_after_finish() {
        let input = sine(440.0, 48_000, 0.1, 0.5);
        let mut resampler = Resampler::new(48_000, 16_000).unwrap();
        let mut first = Vec::new();
        resampler.process(&input, &mut first);
        resampler.finish(&mut first);
        let mut second = Vec::new();
        resampler.process(&input, &mut second);
        resampler.finish(&mut second);
        assert_eq!(first, second);
    }

    #[test]
    fn output_length_covers_the_input() {
        assert_eq!(
            resample(&[0.0; 48_000], 48_000, 16_000).unwrap().len(),
            16_000
        );
        assert_eq!(
            resample(&[0.0; 44_100], 44_100, 16_000).unwrap().len(),
            16_000
        );
        assert_eq!(resample(&[0.0; 10], 44_100, 16_000).unwrap().len(), 4);
        assert_eq!(resample(&[0.0; 3], 8_000, 16_000).unwrap().len(), 6);
        assert!(resample(&[], 48_000, 16_000).unwrap().is_empty());
        assert_eq!(
            resample(&[0.5, -0.5], 16_000, 16_000).unwrap(),
            vec![0.5, -0.5]
        );
    }

    #[test]
    fn rejects_unusable_rates() {
        assert_eq!(
            Resampler::new(0, 16_000).unwrap_err(),
            ResampleError::UnsupportedSampleRate(0)
        );
        assert_eq!(
            Resampler::new(48_000, 10_000_000).unwrap_err(),
            ResampleError::UnsupportedSampleRate(10_000_000)
        );
    }

    #[test]
    #[cfg(not(target_arch = "wasm32"))] // proptest is a native-only dependency
    fn planes_added_and_scaled_are_the_interleaved_downmix() {
        proptest::proptest!(|(channels in 1usize..7, frames in 0usize..200, seed in 0u32..1000)| {
            let interleaved: Vec<f32> = (0..channels * frames)
                .map(|i| ((i as f32 + seed as f32) * 0.37).sin())
                .collect();
            let mut mono = vec![0.0; frames];
            for c in 0..channels {
                let plane: Vec<u8> = interleaved
                    .iter()
                    .skip(c)
                    .step_by(channels)
                    .flat_map(|s| s.to_le_bytes())
                    .collect();
                let mut samples = Vec::new();
                plane_from_le(&plane, &mut samples);
                proptest::prop_assert_eq!(samples.len(), frames);
                add_plane_le(&mut mono, &plane);
            }
            scale_mean(&mut mono, channels);
            let expected = downmix_to_mono(&interleaved, channels);
            for (a, b) in mono.iter().zip(&expected) {
                proptest::prop_assert!((a - b).abs() < 1e-5);
            }
        });
    }

    #[test]
    fn downmix_averages_channels() {
        assert_eq!(
            downmix_to_mono(&[1.0, 0.0, 0.5, 0.5, 0.25], 2),
            vec![0.5, 0.5]
        );
        assert_eq!(downmix_to_mono(&[0.1, 0.2], 1), vec![0.1, 0.2]);
        assert!(downmix_to_mono(&[0.1, 0.2], 0).is_empty());
    }
}
