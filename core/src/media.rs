//! The media model every demuxer produces: what a file holds (tracks, codecs, timing) and the
//! encoded samples a decoder needs. Times are integer microseconds (`*_micros`) so that
//! comparisons are exact; seconds (`*_secs`) only at the edges, for display.

use serde::{Deserialize, Serialize};

use crate::source::SourceError;

pub const MICROS_PER_SEC: i64 = 1_000_000;

/// Converts a time in `timescale` units to microseconds, rounding to nearest.
pub fn micros_from_ticks(ticks: i64, timescale: u32) -> i64 {
    if timescale == 0 {
        return 0;
    }
    let ts = i128::from(timescale);
    let scaled = i128::from(ticks) * i128::from(MICROS_PER_SEC);
    // Round half away from zero.
    let rounded = if scaled >= 0 {
        (scaled + ts / 2) / ts
    } else {
        (scaled - ts / 2) / ts
    };
    rounded as i64
}

pub fn secs_from_micros(micros: i64) -> f64 {
    micros as f64 / MICROS_PER_SEC as f64
}

/// A time as the editor writes it everywhere: `m:ss.ss` (`h:mm:ss.ss` from an hour on).
pub fn clock(secs: f64) -> String {
    let hundredths = (secs.max(0.0) * 100.0).round() as i64;
    let (hours, rest) = (hundredths / 360_000, hundredths % 360_000);
    let (minutes, rest) = (rest / 6_000, rest % 6_000);
    let (seconds, fraction) = (rest / 100, rest % 100);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}.{fraction:02}")
    } else {
        format!("{minutes}:{seconds:02}.{fraction:02}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Container {
    Mp4,
    QuickTime,
    WebM,
    Matroska,
}

impl Container {
    pub fn label(self) -> &'static str {
        match self {
            Container::Mp4 => "MP4",
            Container::QuickTime => "QuickTime (MOV)",
            Container::WebM => "WebM",
            Container::Matroska => "Matroska",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VideoCodec {
    H264,
    Hevc,
    Vp8,
    Vp9,
    Av1,
    Other(String),
}

impl VideoCodec {
    pub fn label(&self) -> String {
        match self {
            VideoCodec::H264 => "H.264".into(),
            VideoCodec::Hevc => "HEVC (H.265)".into(),
            VideoCodec::Vp8 => "VP8".into(),
            VideoCodec::Vp9 => "VP9".into(),
            VideoCodec::Av1 => "AV1".into(),
            VideoCodec::Other(name) => name.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AudioCodec {
    Aac,
    Opus,
    Vorbis,
    Mp3,
    Other(String),
}

impl AudioCodec {
    pub fn label(&self) -> String {
        match self {
            AudioCodec::Aac => "AAC".into(),
            AudioCodec::Opus => "Opus".into(),
            AudioCodec::Vorbis => "Vorbis".into(),
            AudioCodec::Mp3 => "MP3".into(),
            AudioCodec::Other(name) => name.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoTrack {
    pub track_id: u64,
    pub codec: VideoCodec,
    /// WebCodecs codec string, e.g. `avc1.64001f`, `vp09.00.10.08`.
    pub codec_string: String,
    pub width: u32,
    pub height: u32,
    pub frame_rate: f64,
    /// Codec configuration a decoder needs (`avcC`/`hvcC` payload), if the format has one.
    pub description: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioTrack {
    pub track_id: u64,
    pub codec: AudioCodec,
    /// WebCodecs codec string, e.g. `mp4a.40.2`, `opus`.
    pub codec_string: String,
    pub sample_rate_hz: u32,
    pub channels: u32,
    /// AudioSpecificConfig (AAC) or OpusHead (Opus), if the file carries one.
    pub description: Option<Vec<u8>>,
}

/// What a file holds, as shown to the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaInfo {
    pub container: Container,
    pub duration_micros: i64,
    pub video: Option<VideoTrack>,
    pub audio: Option<AudioTrack>,
    /// Problems that still let the file be used (e.g. a truncated tail).
    pub warnings: Vec<String>,
}

impl MediaInfo {
    pub fn duration_secs(&self) -> f64 {
        secs_from_micros(self.duration_micros)
    }
}

/// Where one encoded sample (a video frame or an audio packet) lies in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    pub pts_micros: i64,
    pub duration_micros: i64,
    pub offset: u64,
    pub size: u32,
    pub keyframe: bool,
}

/// An encoded frame with its bytes, ready for a decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    pub pts_micros: i64,
    pub duration_micros: i64,
    pub keyframe: bool,
    pub data: Vec<u8>,
}

/// A keyframe and the frames that depend on it, in decode order: what a decoder needs to show
/// any frame from `start_micros` up to (not including) `end_micros`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gop {
    pub start_micros: i64,
    pub end_micros: i64,
    /// When the keyframe that starts the next GOP is shown; `None` for the last GOP. This,
    /// not `end_micros`, is how playback finds the next GOP: in an open GOP the frames that
    /// follow a keyframe in decode order may be shown before it ("leading" frames), so the
    /// GOP before it ends (`end_micros`) earlier than the next keyframe starts.
    pub next_key_micros: Option<i64>,
    pub frames: Vec<EncodedFrame>,
}

impl Gop {
    /// The frame to show at `at_micros`: the last one (in presentation order) that starts at or
    /// before it; before the first frame, the first frame.
    pub fn frame_at(&self, at_micros: i64) -> Option<&EncodedFrame> {
        self.frames
            .iter()
            .filter(|f| f.pts_micros <= at_micros)
            .max_by_key(|f| f.pts_micros)
            .or_else(|| self.frames.iter().min_by_key(|f| f.pts_micros))
    }

    /// What must be decoded to show the frame at `at_micros`: the frames in decode order up to
    /// and including it. Later frames cannot be its references, so a seek into a long GOP
    /// decodes only part of it; leading frames are left out (see [`Gop::decodable_alone`]).
    pub fn frames_for(&self, at_micros: i64) -> Vec<&EncodedFrame> {
        let Some(target) = self.frame_at(at_micros) else {
            return vec![];
        };
        let end = self
            .frames
            .iter()
            .position(|f| std::ptr::eq(f, target))
            .map_or(self.frames.len(), |i| i + 1);
        self.frames[..end]
            .iter()
            .filter(|f| !self.is_leading(f))
            .collect()
    }

    /// Whether `frame` is one of this GOP's leading frames: after its keyframe in decode order
    /// but shown before it (open GOPs). It refers to the GOP before, so it can be decoded only
    /// after that one.
    pub fn is_leading(&self, frame: &EncodedFrame) -> bool {
        frame.pts_micros < self.start_micros
    }

    /// The frames a decoder can take when this GOP is the first it sees: all but the leading
    /// ones, in decode order.
    pub fn decodable_alone(self) -> Vec<EncodedFrame> {
        let start = self.start_micros;
        self.frames
            .into_iter()
            .filter(|f| f.pts_micros >= start)
            .collect()
    }

    /// Whether the frame shown at `at_micros` is a leading frame of the next GOP: past every
    /// frame of this one but before the next keyframe (open GOPs only).
    pub fn leads_into_next(&self, at_micros: i64) -> bool {
        self.next_key_micros
            .is_some_and(|next| at_micros >= self.end_micros && at_micros < next)
    }

    /// Of this GOP's leading frames (after its keyframe in decode order, shown before it), the
    /// one shown at `at_micros`, and what to decode after the previous GOP to show it: this
    /// GOP's frames in decode order up to it. `None` when no leading frame is shown then.
    pub fn leading_frame_at(&self, at_micros: i64) -> Option<(&EncodedFrame, &[EncodedFrame])> {
        let (index, frame) = self
            .frames
            .iter()
            .enumerate()
            .filter(|(_, f)| f.pts_micros < self.start_micros && f.pts_micros <= at_micros)
            .max_by_key(|(_, f)| f.pts_micros)?;
        Some((frame, &self.frames[..=index]))
    }
}

/// Why a file cannot be opened or played, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("This file is not a video Reelsmith can read (MP4, MOV or WebM expected).")]
    NotAVideo,
    #[error("This file is incomplete: {0}. It may have been cut off while copying or recording; try the original file.")]
    Truncated(String),
    #[error("This file is damaged: {0}.")]
    Corrupt(String),
    #[error("This file has no video track (audio only).")]
    NoVideoTrack,
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Read(#[from] SourceError),
}

/// Drops samples whose bytes lie past the end of the file. Returns whether any were dropped.
pub(crate) fn drop_samples_past_end(samples: &mut Vec<Sample>, file_len: u64) -> bool {
    let total = samples.len();
    samples.retain(|s| s.offset + u64::from(s.size) <= file_len);
    samples.len() != total
}

/// End time of the last sample, i.e. how much of a track can be played.
pub(crate) fn playable_micros(samples: &[Sample]) -> i64 {
    samples
        .iter()
        .map(|s| s.pts_micros + s.duration_micros)
        .max()
        .unwrap_or(0)
}

/// The warning for a file whose tail is missing.
pub(crate) fn cut_short_warning(playable_micros: i64, duration_micros: i64) -> String {
    format!(
        "The file is cut short: only the first {:.1} s of {:.1} s can be played.",
        secs_from_micros(playable_micros),
        secs_from_micros(duration_micros)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_to_nearest_micro() {
        assert_eq!(micros_from_ticks(1, 3), 333_333);
        assert_eq!(micros_from_ticks(2, 3), 666_667);
        assert_eq!(micros_from_ticks(-2, 3), -666_667);
        assert_eq!(micros_from_ticks(90_000, 90_000), 1_000_000);
        assert_eq!(micros_from_ticks(5, 0), 0);
    }

    #[test]
    fn one_way_to_write_a_time() {
        assert_eq!(clock(0.0), "0:00.00");
        assert_eq!(clock(-3.0), "0:00.00", "never negative");
        assert_eq!(clock(15.004), "0:15.00");
        assert_eq!(clock(128.256), "2:08.26");
        assert_eq!(
            clock(59.996),
            "1:00.00",
            "rounding carries into the minutes"
        );
        assert_eq!(clock(3_725.5), "1:02:05.50");
    }

    #[test]
    fn frame_at_picks_latest_started_frame_in_presentation_order() {
        let frame = |pts| EncodedFrame {
            pts_micros: pts,
            duration_micros: 10,
            keyframe: pts == 0,
            data: vec![],
        };
        // Decode order with B-frames: 0, 30, 10, 20.
        let gop = Gop {
            start_micros: 0,
            end_micros: 40,
            next_key_micros: None,
            frames: vec![frame(0), frame(30), frame(10), frame(20)],
        };
        assert_eq!(gop.frame_at(25).map(|f| f.pts_micros), Some(20));
        assert_eq!(gop.frame_at(30).map(|f| f.pts_micros), Some(30));
        assert_eq!(gop.frame_at(-1).map(|f| f.pts_micros), Some(0));

        // To show 10 the decoder needs 0 and 30 (its references come first in decode order).
        let pts =
            |frames: Vec<&EncodedFrame>| frames.iter().map(|f| f.pts_micros).collect::<Vec<_>>();
        assert_eq!(pts(gop.frames_for(10)), vec![0, 30, 10]);
        assert_eq!(pts(gop.frames_for(0)), vec![0]);
        assert_eq!(pts(gop.frames_for(25)), vec![0, 30, 10, 20]);
        assert_eq!(pts(gop.frames_for(35)), vec![0, 30]);
    }

    /// Two open GOPs, 10 µs frames: I0 P30 B10 B20 | I60 B40 B50 P90 B70 B80 (decode order).
    /// The second GOP's keyframe is shown at 60, but its leading B-frames at 40 and 50.
    fn open_gops() -> (Gop, Gop) {
        let frame = |pts: i64, key: bool| EncodedFrame {
            pts_micros: pts,
            duration_micros: 10,
            keyframe: key,
            data: vec![],
        };
        let first = Gop {
            start_micros: 0,
            end_micros: 40,
            next_key_micros: Some(60),
            frames: vec![
                frame(0, true),
                frame(30, false),
                frame(10, false),
                frame(20, false),
            ],
        };
        let second = Gop {
            start_micros: 60,
            end_micros: 100,
            next_key_micros: None,
            frames: [
                (60, true),
                (40, false),
                (50, false),
                (90, false),
                (70, false),
                (80, false),
            ]
            .into_iter()
            .map(|(pts, key)| frame(pts, key))
            .collect(),
        };
        (first, second)
    }

    #[test]
    fn open_gop_leading_frames_belong_to_the_next_gop() {
        let (first, second) = open_gops();
        // Times covered by the first GOP's own frames.
        assert!(!first.leads_into_next(0));
        assert!(!first.leads_into_next(39));
        // 40..60 shows the second GOP's leading frames, though its keyframe is at 60.
        assert!(first.leads_into_next(40));
        assert!(first.leads_into_next(59));
        assert!(!first.leads_into_next(60));
        assert!(!second.leads_into_next(95), "the last GOP leads nowhere");

        let pts = |frames: &[EncodedFrame]| frames.iter().map(|f| f.pts_micros).collect::<Vec<_>>();
        let (shown, decode) = second.leading_frame_at(45).unwrap();
        assert_eq!(shown.pts_micros, 40);
        assert_eq!(pts(decode), vec![60, 40]);
        let (shown, decode) = second.leading_frame_at(59).unwrap();
        assert_eq!(shown.pts_micros, 50);
        assert_eq!(pts(decode), vec![60, 40, 50]);
        assert!(second.leading_frame_at(39).is_none());
        assert!(
            first.leading_frame_at(25).is_none(),
            "a GOP without leading frames"
        );
    }
}
