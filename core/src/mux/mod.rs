//! Writing the exported file: MP4 (fast start: `moov` before `mdat`) and WebM. The browser
//! hands over encoded packets one at a time; each muxer returns the bytes to append to the
//! file's body (which the export keeps on disk) and, at the end, the head (and tail) that go
//! around it, so the file is `head ++ body ++ tail` and never has to be held whole in memory.
//! What a muxer keeps grows only with its index (a few bytes per sample) and, for WebM, with
//! the cluster being built (a few seconds) and packets waiting to be interleaved.
//!
//! Times are the output's, in microseconds (0 = the clip's start). Packets of each track come
//! in decode order; the encoders here make no B-frames, so times rise within a track.

mod mp4;
mod webm;

use thiserror::Error;

pub use self::mp4::Mp4Muxer;
pub use self::webm::WebmMuxer;

/// One encoded packet.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    pub pts_micros: i64,
    pub duration_micros: i64,
    pub keyframe: bool,
    pub data: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoFormat {
    /// H.264 with its AVCDecoderConfigurationRecord (WebCodecs' `description` in "avc" format).
    H264 {
        avcc: Vec<u8>,
    },
    Vp9,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoSpec {
    pub format: VideoFormat,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioFormat {
    /// AAC with its AudioSpecificConfig.
    Aac { asc: Vec<u8> },
    /// Opus with its OpusHead (a standard one is made when the encoder gave none).
    Opus { head: Option<Vec<u8>> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioSpec {
    pub format: AudioFormat,
    pub sample_rate: u32,
    pub channels: u16,
}

/// What goes around the body: the file is `head ++ body ++ tail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub head: Vec<u8>,
    pub tail: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MuxError {
    #[error(
        "The {0} track's times went backwards ({1} µs after {2} µs); the file cannot be written."
    )]
    Backwards(&'static str, i64, i64),
    #[error("A WebM file cannot start its sound before the picture (a packet at {0} µs).")]
    NegativeTime(i64),
    #[error("{0} cannot go into {1}.")]
    Unsupported(&'static str, &'static str),
    #[error("The file has no video.")]
    NoVideo,
    #[error("The video's codec description could not be read: {0}")]
    BadDescription(String),
    #[error("The file's index could not be written: {0}")]
    Index(String),
}

/// A muxer the export feeds packet by packet.
pub trait Muxer {
    /// Records a video packet; returns the bytes to append to the body.
    fn video(&mut self, packet: &Packet) -> Result<Vec<u8>, MuxError>;
    /// Records an audio packet; returns the bytes to append to the body.
    fn audio(&mut self, packet: &Packet) -> Result<Vec<u8>, MuxError>;
    /// Ends the body (`tail` may hold its last bytes) and returns what goes around it.
    fn finish(self: Box<Self>) -> Result<Finished, MuxError>;
}

/// An MP4 muxer (H.264, with AAC sound).
pub fn mp4(video: VideoSpec, audio: Option<AudioSpec>) -> Result<Box<dyn Muxer>, MuxError> {
    Ok(Box::new(Mp4Muxer::new(video, audio)?))
}

/// A WebM muxer (VP9, with Opus sound).
pub fn webm(video: VideoSpec, audio: Option<AudioSpec>) -> Result<Box<dyn Muxer>, MuxError> {
    Ok(Box::new(WebmMuxer::new(video, audio)?))
}

/// A standard OpusHead: version 1, `channels`, 312 samples of pre-skip (libopus' look-ahead
/// at 48 kHz), input rate 48 kHz, no gain, mapping family 0.
pub fn opus_head(channels: u16) -> Vec<u8> {
    let mut head = b"OpusHead".to_vec();
    head.push(1);
    head.push(channels.clamp(1, 2) as u8);
    head.extend_from_slice(&312u16.to_le_bytes());
    head.extend_from_slice(&48_000u32.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes());
    head.push(0);
    head
}

/// The pre-skip an OpusHead declares (samples at 48 kHz).
pub fn opus_pre_skip(head: &[u8]) -> u16 {
    head.get(10..12)
        .map_or(312, |b| u16::from_le_bytes([b[0], b[1]]))
}
