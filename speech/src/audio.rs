//! Audio as Whisper wants it: WAV bytes in, 16 kHz mono `f32` samples in [-1, 1] out.
//!
//! This module owns WAV decoding (through `hound`: PCM 8/16/24/32-bit integer and 32-bit float,
//! any channel count and sample rate), chunk by chunk through the downmix to mono and the
//! streaming [`Resampler`] from `reelsmith_core::resample`.
//!
//! Integer samples are scaled by 2^(bits−1), so 16-bit audio gives exactly what Whisper's
//! `load_audio` gives (`int16 / 32768`).

use std::io::Cursor;

// The resampler and downmix live in `reelsmith-core` (the editor uses them on a video's sound
// track); they are re-exported here so the speech API stays in one place.
use reelsmith_core::resample::downmix_into;
pub use reelsmith_core::resample::{
    downmix_to_mono, ResampleError, Resampler, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ,
    WHISPER_SAMPLE_RATE_HZ,
};

/// Frames decoded per step when a WAV file is streamed through the downmix and resampler.
const FRAMES_PER_CHUNK: usize = 8_192;

/// Why audio could not be read or resampled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudioError {
    #[error("This file is not a WAV file Reelsmith can read ({0}). Convert it to 16-bit PCM WAV, e.g. `ffmpeg -i input -c:a pcm_s16le output.wav`.")]
    NotWav(String),
    #[error("This WAV file uses a sample format Reelsmith cannot read ({0}). Convert it to 16-bit PCM WAV, e.g. `ffmpeg -i input -c:a pcm_s16le output.wav`.")]
    UnsupportedFormat(String),
    #[error("The sample rate {0} Hz is outside what Reelsmith can resample (1 kHz to 768 kHz). Convert the audio to 16 kHz or 48 kHz first.")]
    UnsupportedSampleRate(u32),
}

impl From<ResampleError> for AudioError {
    fn from(e: ResampleError) -> Self {
        match e {
            ResampleError::UnsupportedSampleRate(hz) => AudioError::UnsupportedSampleRate(hz),
        }
    }
}

/// Resamples a whole signal at once (the same output as streaming it through [`Resampler`]).
pub fn resample(input: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>, AudioError> {
    Ok(reelsmith_core::resample::resample(input, from_hz, to_hz)?)
}

/// Sample encoding of a WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    Int,
    Float,
}

/// What a WAV file's header says about its audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavInfo {
    pub sample_rate_hz: u32,
    pub channels: u16,
    pub bits_per_sample: u16,
    pub sample_format: SampleFormat,
    /// Sample frames (one sample per channel) the data chunk declares.
    pub frames: u64,
}

impl WavInfo {
    pub fn duration_secs(&self) -> f64 {
        if self.sample_rate_hz == 0 {
            return 0.0;
        }
        self.frames as f64 / f64::from(self.sample_rate_hz)
    }
}

/// Mono samples at a known rate.
#[derive(Debug, Clone, PartialEq)]
pub struct MonoAudio {
    pub sample_rate_hz: u32,
    pub samples: Vec<f32>,
}

impl MonoAudio {
    pub fn duration_secs(&self) -> f64 {
        if self.sample_rate_hz == 0 {
            return 0.0;
        }
        self.samples.len() as f64 / f64::from(self.sample_rate_hz)
    }
}

/// Reads a WAV file's header.
pub fn read_wav_info(wav_bytes: &[u8]) -> Result<WavInfo, AudioError> {
    let reader = open_wav(wav_bytes)?;
    Ok(info_of(&reader))
}

/// Decodes a WAV file to mono at its own sample rate.
pub fn read_wav_mono(wav_bytes: &[u8]) -> Result<MonoAudio, AudioError> {
    let mut samples = Vec::new();
    let info = stream_wav_mono(wav_bytes, |chunk| samples.extend_from_slice(chunk))?;
    Ok(MonoAudio {
        sample_rate_hz: info.sample_rate_hz,
        samples,
    })
}

/// Decodes a WAV file to what Whisper takes: mono, 16 kHz. Decoding, downmix and resampling
/// run chunk by chunk, so no full-rate copy of a long file is ever held.
pub fn read_wav_16k_mono(wav_bytes: &[u8]) -> Result<Vec<f32>, AudioError> {
    let info = read_wav_info(wav_bytes)?;
    let mut resampler = Resampler::new(info.sample_rate_hz, WHISPER_SAMPLE_RATE_HZ)?;
    let mut out =
        Vec::with_capacity(usize::try_from(resampler.output_len(info.frames)).unwrap_or(0));
    stream_wav_mono(wav_bytes, |chunk| resampler.process(chunk, &mut out))?;
    resampler.finish(&mut out);
    Ok(out)
}

/// Decodes a WAV file to mono in chunks of at most 8192 samples, handing each to `on_chunk`.
///
/// A file cut off before the end its header declares gives the audio up to the cut (as ffmpeg
/// does), without the last incomplete frame: a partial recording is still worth transcribing.
pub fn stream_wav_mono(
    wav_bytes: &[u8],
    mut on_chunk: impl FnMut(&[f32]),
) -> Result<WavInfo, AudioError> {
    let mut reader = open_wav(wav_bytes)?;
    let info = info_of(&reader);
    let channels = usize::from(info.channels);
    let mut interleaved = Vec::with_capacity(FRAMES_PER_CHUNK * channels);
    let mut mono = Vec::with_capacity(FRAMES_PER_CHUNK);
    let mut flush = |interleaved: &mut Vec<f32>, mono: &mut Vec<f32>| {
        let whole = interleaved.len() - interleaved.len() % channels;
        downmix_into(&interleaved[..whole], channels, mono);
        on_chunk(mono);
        interleaved.clear();
        mono.clear();
    };
    match info.sample_format {
        SampleFormat::Float => {
            for sample in reader.samples::<f32>() {
                let Ok(sample) = sample else { break };
                interleaved.push(sample);
                if interleaved.len() == FRAMES_PER_CHUNK * channels {
                    flush(&mut interleaved, &mut mono);
                }
            }
        }
        SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (info.bits_per_sample - 1)) as f64;
            for sample in reader.samples::<i32>() {
                let Ok(sample) = sample else { break };
                interleaved.push((f64::from(sample) * scale) as f32);
                if interleaved.len() == FRAMES_PER_CHUNK * channels {
                    flush(&mut interleaved, &mut mono);
                }
            }
        }
    }
    if !interleaved.is_empty() {
        flush(&mut interleaved, &mut mono);
    }
    Ok(info)
}

fn open_wav(wav_bytes: &[u8]) -> Result<hound::WavReader<Cursor<&[u8]>>, AudioError> {
    let reader = hound::WavReader::new(Cursor::new(wav_bytes)).map_err(|e| match e {
        hound::Error::Unsupported => {
            AudioError::UnsupportedFormat("a compressed or unusual WAV encoding".into())
        }
        hound::Error::IoError(_) => AudioError::NotWav("it ends before its audio data".into()),
        other => AudioError::NotWav(other.to_string()),
    })?;
    let spec = reader.spec();
    if spec.sample_format == hound::SampleFormat::Float && spec.bits_per_sample != 32 {
        return Err(AudioError::UnsupportedFormat(format!(
            "{}-bit float",
            spec.bits_per_sample
        )));
    }
    if spec.sample_format == hound::SampleFormat::Int && !(8..=32).contains(&spec.bits_per_sample) {
        return Err(AudioError::UnsupportedFormat(format!(
            "{}-bit integer",
            spec.bits_per_sample
        )));
    }
    Ok(reader)
}

fn info_of<R: std::io::Read>(reader: &hound::WavReader<R>) -> WavInfo {
    let spec = reader.spec();
    WavInfo {
        sample_rate_hz: spec.sample_rate,
        channels: spec.channels,
        bits_per_sample: spec.bits_per_sample,
        sample_format: match spec.sample_format {
            hound::SampleFormat::Float => SampleFormat::Float,
            hound::SampleFormat::Int => SampleFormat::Int,
        },
        frames: u64::from(reader.duration()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a WAV file with hound's writer, the samples given as i32 or f32 per channel.
    fn wav_bytes(spec: hound::WavSpec, frames: &[Vec<f64>]) -> Vec<u8> {
        let mut cursor = Cursor::new(Vec::new());
        {
            let mut writer = hound::WavWriter::new(&mut cursor, spec).unwrap();
            for frame in frames {
                for &x in frame {
                    match spec.sample_format {
                        hound::SampleFormat::Float => writer.write_sample(x as f32).unwrap(),
                        hound::SampleFormat::Int => {
                            let full = (1i64 << (spec.bits_per_sample - 1)) as f64;
                            let v = (x * full).round().clamp(-full, full - 1.0) as i32;
                            writer.write_sample(v).unwrap()
                        }
                    }
                }
            }
            writer.finalize().unwrap();
        }
        cursor.into_inner()
    }

    fn spec(channels: u16, rate: u32, bits: u16, format: hound::SampleFormat) -> hound::WavSpec {
        hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: format,
        }
    }

    #[test]
    fn reads_every_pcm_layout_and_downmixes() {
        let frames: Vec<Vec<f64>> = (0..1_000)
            .map(|i| {
                let t = i as f64 / 1_000.0;
                vec![0.5 * (t * 20.0).sin(), -0.25, 0.125 * t]
            })
            .collect();
        let expected: Vec<f64> = frames.iter().map(|f| f.iter().sum::<f64>() / 3.0).collect();
        for (bits, format, tolerance) in [
            (8, hound::SampleFormat::Int, 1.0 / 128.0),
            (16, hound::SampleFormat::Int, 1.0 / 32768.0),
            (24, hound::SampleFormat::Int, 1.0 / 8_388_608.0),
            (32, hound::SampleFormat::Int, 1e-7),
            (32, hound::SampleFormat::Float, 1e-7),
        ] {
            let bytes = wav_bytes(spec(3, 22_050, bits, format), &frames);
            let info = read_wav_info(&bytes).unwrap();
            assert_eq!(info.channels, 3);
            assert_eq!(info.sample_rate_hz, 22_050);
            assert_eq!(info.bits_per_sample, bits);
            assert_eq!(info.frames, 1_000);
            let audio = read_wav_mono(&bytes).unwrap();
            assert_eq!(audio.sample_rate_hz, 22_050);
            assert_eq!(audio.samples.len(), 1_000);
            let err = audio
                .samples
                .iter()
                .zip(&expected)
                .map(|(a, b)| (f64::from(*a) - b).abs())
                .fold(0.0, f64::max);
            assert!(err <= tolerance, "{bits}-bit {format:?}: error {err}");
        }
    }

    #[test]
    fn sixteen_bit_samples_scale_like_whisper() {
        let bytes = wav_bytes(
            spec(1, 16_000, 16, hound::SampleFormat::Int),
            &[vec![-1.0], vec![0.5], vec![32767.0 / 32768.0]],
        );
        assert_eq!(
            read_wav_mono(&bytes).unwrap().samples,
            vec![-1.0, 0.5, 32767.0 / 32768.0]
        );
    }

    #[test]
    fn reads_long_files_in_chunks_and_resamples_to_16k() {
        // Stereo 48 kHz, 1 s: more than one 8192-frame chunk.
        let left: Vec<f32> = (0..48_000)
            .map(|i| (0.4 * (std::f64::consts::TAU * 440.0 * f64::from(i) / 48_000.0).sin()) as f32)
            .collect();
        let frames: Vec<Vec<f64>> = left
            .iter()
            .map(|&x| vec![f64::from(x), f64::from(x)])
            .collect();
        let bytes = wav_bytes(spec(2, 48_000, 32, hound::SampleFormat::Float), &frames);
        let mut chunks = 0;
        stream_wav_mono(&bytes, |chunk| {
            assert!(chunk.len() <= FRAMES_PER_CHUNK);
            chunks += 1;
        })
        .unwrap();
        assert!(chunks > 1);
        let out = read_wav_16k_mono(&bytes).unwrap();
        // The same samples as resampling the decoded signal in one go (the resampler's own
        // accuracy is tested in reelsmith-core).
        assert_eq!(out, resample(&left, 48_000, 16_000).unwrap());
        assert_eq!(out.len(), 16_000);
    }

    #[test]
    fn a_cut_off_file_gives_the_audio_before_the_cut() {
        let frames: Vec<Vec<f64>> = (0..1_000).map(|i| vec![i as f64 / 1_000.0]).collect();
        let bytes = wav_bytes(spec(1, 16_000, 16, hound::SampleFormat::Int), &frames);
        let cut = &bytes[..bytes.len() - 1_001]; // 500 frames and one odd byte missing
        let audio = read_wav_mono(cut).unwrap();
        assert_eq!(audio.samples.len(), 499);
        assert!((audio.samples[498] - 0.498).abs() < 1e-4);
    }

    #[test]
    fn says_what_is_wrong_with_files_it_cannot_read() {
        let err = read_wav_mono(b"this is a text file, not audio").unwrap_err();
        assert!(matches!(err, AudioError::NotWav(_)), "{err:?}");
        assert!(err.to_string().contains("pcm_s16le"), "{err}");
        assert!(matches!(
            read_wav_mono(&[]).unwrap_err(),
            AudioError::NotWav(_)
        ));
        let bytes = wav_bytes(spec(1, 16_000, 16, hound::SampleFormat::Int), &[vec![0.0]]);
        assert!(matches!(
            read_wav_mono(&bytes[..20]).unwrap_err(),
            AudioError::NotWav(_)
        ));
        let mut rate_zero = wav_bytes(spec(1, 1_000, 16, hound::SampleFormat::Int), &[vec![0.0]]);
        rate_zero[24..28].copy_from_slice(&500u32.to_le_bytes()); // sample rate
        rate_zero[28..32].copy_from_slice(&1_000u32.to_le_bytes()); // byte rate
        assert_eq!(
            read_wav_16k_mono(&rate_zero).unwrap_err(),
            AudioError::UnsupportedSampleRate(500)
        );
    }
}
