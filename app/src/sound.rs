//! A video's sound track as 16 kHz mono windows for the speech model: the audio packets come
//! from the demuxer, WebCodecs' `AudioDecoder` decodes them (AAC in MP4/MOV, Opus in WebM),
//! and Rust downmixes, resamples (`reelsmith_core::resample`) and cuts the stream into windows
//! (`reelsmith_core::chunk`). Streaming throughout: packets are read a batch at a time, at most
//! about a second of decoded audio waits in the decoder, and each window waits until a worker
//! takes it, so memory does not grow with the length of the video.

use futures::channel::mpsc;
use futures::SinkExt;
use reelsmith_core::chunk::{AudioWindow, Chunker};
use reelsmith_core::demux::read_samples;
use reelsmith_core::media::{AudioTrack, Sample};
use reelsmith_core::resample::{add_plane_le, scale_mean, Resampler, WHISPER_SAMPLE_RATE_HZ};
use web_codecs::{AudioData, AudioDecoderConfig, EncodedFrame};

use crate::player::Player;

/// Packets read from the file per step.
const PACKETS_PER_READ: usize = 64;
/// Decoded audio allowed to wait in the decoder before we wait for it.
const DECODE_AHEAD_MICROS: i64 = 1_000_000;

/// What the user reads when a video has nothing to transcribe.
pub const NO_SOUND: &str =
    "This video has no sound track, so there is nothing to transcribe. You can still play and cut it.";

/// The decoder configuration for `track`, or None when this browser cannot decode it.
pub async fn decoder_config(track: &AudioTrack) -> Option<AudioDecoderConfig> {
    let mut config = AudioDecoderConfig::new(
        track.codec_string.clone(),
        track.channels,
        track.sample_rate_hz,
    );
    config.description = track.description.clone().map(Into::into);
    config
        .is_supported()
        .await
        .unwrap_or(false)
        .then_some(config)
}

/// What to subtract from packet times for WebCodecs' wrapper, which takes unsigned times:
/// the earliest (priming) packet's time when it is negative, else 0.
pub fn timestamp_base(packets: &[Sample]) -> i64 {
    packets
        .iter()
        .map(|p| p.pts_micros)
        .min()
        .unwrap_or(0)
        .min(0)
}

/// Why the sound track could not be turned into windows; `Cancelled` is not an error to show.
#[derive(Debug, Clone, PartialEq)]
pub enum SoundError {
    NoSound,
    Cancelled,
    Failed(String),
}

impl std::fmt::Display for SoundError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SoundError::NoSound => f.write_str(NO_SOUND),
            SoundError::Cancelled => f.write_str("cancelled"),
            SoundError::Failed(message) => f.write_str(message),
        }
    }
}

fn failed(context: &str) -> impl Fn(web_codecs::Error) -> SoundError + '_ {
    move |e| SoundError::Failed(format!("{context}: {e}"))
}

/// Decoded audio → mono → 16 kHz → windows.
struct Pipeline {
    resampler: Option<Resampler>,
    chunker: Chunker,
    /// Shift subtracted from packet times (WebCodecs' wrapper takes unsigned times).
    base_micros: i64,
    /// One channel's samples as bytes (`f32` little-endian, as WebCodecs copies them).
    channel: Vec<u8>,
    mono: Vec<f32>,
    resampled: Vec<f32>,
    /// RMS per [`LOUDNESS_STEP`] of the 16 kHz stream (the sound's loudness over time).
    loudness: Vec<f32>,
    loud_sum: f64,
    loud_count: usize,
}

/// Loudness is measured over 100 ms at 16 kHz.
pub const LOUDNESS_STEP: usize = 1_600;
/// The same step in seconds.
pub const LOUDNESS_STEP_SECS: f64 = LOUDNESS_STEP as f64 / WHISPER_SAMPLE_RATE_HZ as f64;

impl Pipeline {
    fn measure(&mut self) {
        for &s in &self.resampled {
            self.loud_sum += f64::from(s) * f64::from(s);
            self.loud_count += 1;
            if self.loud_count == LOUDNESS_STEP {
                self.loudness
                    .push((self.loud_sum / LOUDNESS_STEP as f64).sqrt() as f32);
                self.loud_sum = 0.0;
                self.loud_count = 0;
            }
        }
    }
}

impl Pipeline {
    /// Adds one decoded buffer; returns the windows it completes.
    fn push(&mut self, data: &AudioData) -> Result<Vec<AudioWindow>, SoundError> {
        let frames = data.number_of_frames() as usize;
        let channels = (data.number_of_channels() as usize).max(1);
        let rate = data.sample_rate();
        self.mono.clear();
        self.mono.resize(frames, 0.0);
        self.channel.resize(frames * 4, 0);
        for c in 0..channels {
            // Whatever the decoder's own format, ask for 32-bit float, one plane per channel.
            let options = web_sys::AudioDataCopyToOptions::new(c as u32);
            options.set_format(web_sys::AudioSampleFormat::F32Planar);
            data.copy_to_with_u8_slice(&mut self.channel, &options)
                .map_err(|e| {
                    SoundError::Failed(format!(
                        "The sound could not be read: {}",
                        crate::blob_source::js_error_text(&e)
                    ))
                })?;
            add_plane_le(&mut self.mono, &self.channel);
        }
        scale_mean(&mut self.mono, channels);
        // Encoder priming before the video's start (negative times after the edit list).
        let start_micros = data.timestamp().as_micros() as i64 + self.base_micros;
        let skip = if start_micros < 0 {
            ((-start_micros) as f64 * f64::from(rate) / 1e6).round() as usize
        } else {
            0
        };
        let mono = &self.mono[skip.min(frames)..];
        let resampler = match &mut self.resampler {
            Some(r) => r,
            None => self.resampler.insert(
                Resampler::new(rate, WHISPER_SAMPLE_RATE_HZ)
                    .map_err(|e| SoundError::Failed(e.to_string()))?,
            ),
        };
        self.resampled.clear();
        resampler.process(mono, &mut self.resampled);
        self.measure();
        Ok(self.chunker.push(&self.resampled))
    }

    fn finish(&mut self) -> Vec<AudioWindow> {
        self.resampled.clear();
        if let Some(r) = &mut self.resampler {
            r.finish(&mut self.resampled);
        }
        self.measure();
        let mut windows = self.chunker.push(&self.resampled);
        windows.extend(self.chunker.finish());
        windows
    }
}

/// Hands windows on, waiting while the receiver is full; a dropped receiver means cancelled.
async fn send_all(
    out: &mut mpsc::Sender<AudioWindow>,
    windows: Vec<AudioWindow>,
) -> Result<(), SoundError> {
    for window in windows {
        out.send(window).await.map_err(|_| SoundError::Cancelled)?;
    }
    Ok(())
}

/// Decodes the sound track of `player`'s file and sends its windows in order to `out`,
/// waiting whenever `out` is full; returns the loudness over time (RMS per 100 ms). Stops
/// early (with `Cancelled`) when `cancelled()` turns true or the receiver is gone.
pub async fn stream_windows(
    player: &Player,
    mut out: mpsc::Sender<AudioWindow>,
    cancelled: impl Fn() -> bool,
) -> Result<Vec<f32>, SoundError> {
    let info = player.info();
    let track = info.audio.as_ref().ok_or(SoundError::NoSound)?;
    let Some(config) = decoder_config(track).await else {
        return Err(SoundError::Failed(format!(
            "This browser cannot decode the sound track ({}), so it cannot be transcribed.",
            track.codec_string
        )));
    };
    let (_, packets) = player
        .demuxer()
        .all_samples(player.source())
        .await
        .map_err(|e| SoundError::Failed(e.to_string()))?;
    if packets.is_empty() {
        return Err(SoundError::NoSound);
    }
    let base_micros = timestamp_base(&packets);
    let (decoder, mut decoded) = config
        .build()
        .map_err(failed("The audio decoder could not start"))?;
    let mut pipeline = Pipeline {
        resampler: None,
        chunker: Chunker::default(),
        base_micros,
        channel: Vec::new(),
        mono: Vec::new(),
        resampled: Vec::new(),
        loudness: Vec::new(),
        loud_sum: 0.0,
        loud_count: 0,
    };
    let mut submitted_until = 0i64;
    let mut received_until = 0i64;
    for batch in packets.chunks(PACKETS_PER_READ) {
        if cancelled() {
            return Err(SoundError::Cancelled);
        }
        let frames = read_samples(player.source(), batch)
            .await
            .map_err(|e| SoundError::Failed(e.to_string()))?;
        for frame in frames {
            let at = frame.pts_micros - base_micros;
            decoder
                .decode(EncodedFrame {
                    payload: frame.data.into(),
                    timestamp: std::time::Duration::from_micros(at as u64),
                    // Every AAC and Opus packet decodes on its own.
                    keyframe: true,
                })
                .map_err(failed("The sound track could not be decoded"))?;
            submitted_until = at + frame.duration_micros;
        }
        while submitted_until - received_until > DECODE_AHEAD_MICROS {
            let Some(data) = decoded
                .next()
                .await
                .map_err(failed("The sound track could not be decoded"))?
            else {
                break;
            };
            received_until = (data.timestamp() + data.duration()).as_micros() as i64;
            let windows = pipeline.push(&data)?;
            drop(data);
            send_all(&mut out, windows).await?;
        }
    }
    decoder
        .flush()
        .await
        .map_err(failed("The sound track could not be decoded"))?;
    // Closing the decoder ends the stream of outputs after the ones already delivered.
    drop(decoder);
    while let Some(data) = decoded
        .next()
        .await
        .map_err(failed("The sound track could not be decoded"))?
    {
        let windows = pipeline.push(&data)?;
        send_all(&mut out, windows).await?;
    }
    send_all(&mut out, pipeline.finish()).await?;
    out.close_channel();
    Ok(pipeline.loudness)
}
