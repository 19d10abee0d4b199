//! Export planning, the pure part of turning a clip into a file: the output size and codecs,
//! which container the clip gets and why, the output time line (kept stretches of the source
//! laid end to end, sampled at a constant frame rate), which source audio packets are copied
//! and where they land, how decoded audio is trimmed at the cuts, and the clip's subtitles in
//! the output time line. The browser side (`app/src/export`) only follows these plans.

use serde::{Deserialize, Serialize};

use crate::edit::{Aspect, Span};
use crate::media::{AudioCodec, Sample, MICROS_PER_SEC};
use crate::transcript::{Segment, Word};

/// The container (and with it the codecs) of an exported clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputFormat {
    /// H.264 video, AAC sound.
    Mp4,
    /// VP9 video, Opus sound.
    WebM,
}

impl OutputFormat {
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Mp4 => "mp4",
            OutputFormat::WebM => "webm",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            OutputFormat::Mp4 => "video/mp4",
            OutputFormat::WebM => "video/webm",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OutputFormat::Mp4 => "MP4 (H.264 + AAC)",
            OutputFormat::WebM => "WebM (VP9 + Opus)",
        }
    }
}

/// The picture size: the output's short side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputSize {
    /// Short side 1080 px (1080×1920 for 9:16).
    Full,
    /// Short side 720 px (720×1280 for 9:16).
    Small,
}

impl OutputSize {
    pub fn short_side(self) -> u32 {
        match self {
            OutputSize::Full => 1080,
            OutputSize::Small => 720,
        }
    }
}

/// Width and height of the output for a clip's shape (both even, as 4:2:0 video needs).
pub fn output_dimensions(aspect: Aspect, size: OutputSize) -> (u32, u32) {
    let short = size.short_side();
    let long = |ratio: f64| ((f64::from(short) * ratio / 2.0).round() as u32) * 2;
    match aspect {
        Aspect::Portrait9x16 => (short, long(16.0 / 9.0)),
        Aspect::Square1x1 => (short, short),
        Aspect::Landscape16x9 => (long(16.0 / 9.0), short),
    }
}

/// How the sound gets into the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SoundPlan {
    /// The source has no sound track.
    None,
    /// AAC packets are copied from the source (no re-encoding; cuts land on packet edges).
    CopyAac,
    /// Decoded and encoded again as Opus, cut to the sample.
    EncodeOpus,
}

/// The container the clip will get, how its sound is made, and the sentence that tells the
/// user why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatChoice {
    pub format: OutputFormat,
    pub sound: SoundPlan,
    pub reason: String,
}

/// Chooses the container for a clip. `wanted` is the user's choice (None: the best one);
/// `sound` the source's audio codec; `can_encode_aac` whether this browser has an AAC encoder
/// (Chromium on Linux has none, so AAC can only be copied).
pub fn choose_format(
    wanted: Option<OutputFormat>,
    sound: Option<&AudioCodec>,
    can_encode_aac: bool,
) -> FormatChoice {
    let webm = |reason: String| FormatChoice {
        format: OutputFormat::WebM,
        sound: if sound.is_some() {
            SoundPlan::EncodeOpus
        } else {
            SoundPlan::None
        },
        reason,
    };
    match (wanted, sound) {
        (Some(OutputFormat::WebM), _) => webm(
            "WebM (VP9 + Opus), as chosen. Not every app or site takes WebM; TikTok does."
                .to_string(),
        ),
        (_, None) => FormatChoice {
            format: OutputFormat::Mp4,
            sound: SoundPlan::None,
            reason: "MP4 (H.264), which plays everywhere. The source has no sound.".to_string(),
        },
        (_, Some(AudioCodec::Aac)) => FormatChoice {
            format: OutputFormat::Mp4,
            sound: SoundPlan::CopyAac,
            reason: if can_encode_aac {
                "MP4 (H.264 + AAC), which plays everywhere. The sound is copied from the \
                 source unchanged."
            } else {
                "MP4 (H.264 + AAC), which plays everywhere. This browser cannot encode AAC, so \
                 the sound is copied from the source unchanged; cuts inside the clip land on \
                 the nearest audio packet (about 20 ms)."
            }
            .to_string(),
        },
        (_, Some(other)) => webm(format!(
            "WebM (VP9 + Opus): the source's sound is {}, and this browser cannot make the AAC \
             sound an MP4 needs, so the sound is encoded as Opus in WebM.",
            other.label()
        )),
    }
}

/// WebCodecs codec string for the output video: the lowest H.264 High level (or VP9 level)
/// whose frame size and macroblock rate fit.
pub fn video_codec(format: OutputFormat, width: u32, height: u32, fps: f64) -> String {
    match format {
        OutputFormat::Mp4 => {
            let mbs = u64::from(width.div_ceil(16)) * u64::from(height.div_ceil(16));
            let rate = mbs as f64 * fps;
            // (level_idc, max macroblocks per frame, max macroblocks per second)
            const LEVELS: [(u8, u64, f64); 5] = [
                (0x1f, 3_600, 108_000.0),
                (0x28, 8_192, 245_760.0),
                (0x2a, 8_704, 522_240.0),
                (0x32, 22_080, 589_824.0),
                (0x33, 36_864, 983_040.0),
            ];
            let level = LEVELS
                .iter()
                .find(|(_, frame, per_sec)| mbs <= *frame && rate <= *per_sec)
                .map_or(0x34, |l| l.0);
            format!("avc1.6400{level:02x}")
        }
        OutputFormat::WebM => {
            let rate = f64::from(width) * f64::from(height) * fps;
            let level = if rate <= 83_558_400.0 { 40 } else { 41 };
            format!("vp09.00.{level}.08")
        }
    }
}

/// Target bits per second: enough for sharp captions at this size and rate.
pub fn video_bitrate(format: OutputFormat, width: u32, height: u32, fps: f64) -> u32 {
    let bits_per_pixel = match format {
        OutputFormat::Mp4 => 0.13,
        OutputFormat::WebM => 0.10,
    };
    (f64::from(width) * f64::from(height) * fps * bits_per_pixel).round() as u32
}

/// Frame rates cameras, phones and editors make (NTSC rates as their exact fractions).
const STANDARD_FPS: [f64; 9] = [
    24_000.0 / 1_001.0,
    24.0,
    25.0,
    30_000.0 / 1_001.0,
    30.0,
    48.0,
    50.0,
    60_000.0 / 1_001.0,
    60.0,
];

/// The output frame rate: the source's when TikTok takes it (23–60 fps), otherwise the
/// nearest whole multiple or fraction of it inside that range (so frames repeat or drop
/// evenly).
pub fn output_fps(source_fps: f64) -> f64 {
    if !source_fps.is_finite() || source_fps <= 0.0 {
        return 30.0;
    }
    // A rate measured from a file's timestamps (µs or ms ticks) is a hair off the rate it was
    // made at: 30.0003 for 30. Snap to the standard rate so a 5.5 s clip is 165 frames, not
    // 166 with a 3 ms sliver at the end.
    let source_fps = STANDARD_FPS
        .iter()
        .copied()
        .find(|s| ((source_fps - s) / s).abs() < 0.001)
        .unwrap_or(source_fps);
    if source_fps > 60.5 {
        source_fps / (source_fps / 60.0).ceil()
    } else if source_fps < 23.0 {
        source_fps * (23.0 / source_fps).ceil()
    } else {
        source_fps
    }
}

fn micros(secs: f64) -> i64 {
    (secs * MICROS_PER_SEC as f64).round() as i64
}

/// The output time line: the clip's kept stretches of the source, end to end, sampled at a
/// constant frame rate. Frame `k` is shown at `k / fps` and shows the source picture at the
/// matching source time.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// Kept stretches in source microseconds, in order.
    kept: Vec<(i64, i64)>,
    /// Where each stretch starts in the output.
    starts: Vec<i64>,
    total_micros: i64,
    fps: f64,
    frames: usize,
}

impl Timeline {
    pub fn new(kept: &[Span], fps: f64) -> Self {
        let kept: Vec<(i64, i64)> = kept
            .iter()
            .map(|s| (micros(s.start_secs), micros(s.end_secs)))
            .filter(|(a, b)| b > a)
            .collect();
        let mut starts = Vec::with_capacity(kept.len());
        let mut at = 0;
        for (a, b) in &kept {
            starts.push(at);
            at += b - a;
        }
        let fps = if fps > 0.0 { fps } else { 30.0 };
        // The last frame starts before the end: ceil, less a hair for rounding.
        let frames = ((at as f64 * fps / MICROS_PER_SEC as f64) - 1e-6)
            .ceil()
            .max(0.0) as usize;
        Self {
            kept,
            starts,
            total_micros: at,
            fps,
            frames,
        }
    }

    pub fn fps(&self) -> f64 {
        self.fps
    }

    pub fn frames(&self) -> usize {
        self.frames
    }

    pub fn total_micros(&self) -> i64 {
        self.total_micros
    }

    /// Kept stretches in source microseconds.
    pub fn kept(&self) -> &[(i64, i64)] {
        &self.kept
    }

    /// Where stretch `i` starts in the output.
    pub fn stretch_start(&self, i: usize) -> i64 {
        self.starts.get(i).copied().unwrap_or(self.total_micros)
    }

    /// When output frame `k` starts.
    pub fn frame_micros(&self, k: usize) -> i64 {
        (k as f64 * MICROS_PER_SEC as f64 / self.fps).round() as i64
    }

    /// How long output frame `k` lasts (the last one ends with the clip).
    pub fn frame_duration_micros(&self, k: usize) -> i64 {
        let end = if k + 1 >= self.frames {
            self.total_micros.max(self.frame_micros(k) + 1)
        } else {
            self.frame_micros(k + 1)
        };
        end - self.frame_micros(k)
    }

    /// The stretch an output time falls in and the source time it shows.
    pub fn source_at(&self, out_micros: i64) -> Option<(usize, i64)> {
        let i = self
            .starts
            .partition_point(|&s| s <= out_micros)
            .checked_sub(1)?;
        let (a, b) = self.kept[i];
        let src = a + (out_micros - self.starts[i]);
        Some((i, src.min(b - 1)))
    }

    /// The source time output frame `k` shows.
    pub fn frame_source(&self, k: usize) -> Option<(usize, i64)> {
        self.source_at(self.frame_micros(k))
    }

    /// The source time whose picture output frame `k` takes: the middle of the frame's time
    /// (kept inside its stretch). Taking the last picture at or before that moment picks the
    /// source picture nearest to the frame, so a source whose pictures sit a few ms off the
    /// output's grid (WebM's millisecond ticks, an audio pre-roll shift) is never a whole
    /// frame late.
    pub fn frame_sample(&self, k: usize) -> Option<(usize, i64)> {
        let (i, src) = self.frame_source(k)?;
        let (_, b) = self.kept[i];
        let half = self.frame_duration_micros(k) / 2;
        Some((i, (src + half).min(b - 1)))
    }

    /// Where a source time lands in the output, if it is kept.
    pub fn output_of(&self, src_micros: i64) -> Option<i64> {
        self.kept
            .iter()
            .zip(&self.starts)
            .find(|((a, b), _)| src_micros >= *a && src_micros < *b)
            .map(|((a, _), start)| start + (src_micros - a))
    }

    /// The parts of a decoded audio buffer (starting at `start_micros` in the source,
    /// `frames` samples at `rate` Hz) that are kept: (first sample, sample count, output time).
    pub fn audio_pieces(&self, start_micros: i64, frames: usize, rate: u32) -> Vec<AudioPiece> {
        (0..self.kept.len())
            .filter_map(|i| self.audio_piece(i, start_micros, frames, rate))
            .collect()
    }

    /// The part of a decoded audio buffer inside stretch `i`, if any.
    pub fn audio_piece(
        &self,
        i: usize,
        start_micros: i64,
        frames: usize,
        rate: u32,
    ) -> Option<AudioPiece> {
        let (a, b) = *self.kept.get(i)?;
        let rate = i128::from(rate.max(1));
        let m = i128::from(MICROS_PER_SEC);
        let to_sample = |t: i64| -> i64 {
            // Samples after the buffer's start, rounded to nearest.
            let d = i128::from(t - start_micros) * rate;
            (if d >= 0 {
                (d + m / 2) / m
            } else {
                (d - m / 2) / m
            }) as i64
        };
        let first = to_sample(a).clamp(0, frames as i64);
        let end = to_sample(b).clamp(0, frames as i64);
        (end > first).then(|| {
            let src = start_micros + (i128::from(first) * m / rate) as i64;
            AudioPiece {
                first: first as usize,
                count: (end - first) as usize,
                out_micros: self.starts[i] + (src - a),
            }
        })
    }
}

/// A kept part of a decoded audio buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioPiece {
    pub first: usize,
    pub count: usize,
    pub out_micros: i64,
}

/// A source audio packet copied into the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopiedPacket {
    /// Index in the source's audio sample list.
    pub index: usize,
    /// Its time in the output (the first one may be before 0: it primes the decoder and the
    /// container's edit list hides it).
    pub out_micros: i64,
    pub duration_micros: i64,
}

/// Which source audio packets (decode order = time order for AAC) make the clip's sound, and
/// where each lands in the output. Packets are laid end to end; at each cut the next stretch
/// starts with the packet that keeps sound and picture closest (within half a packet), so the
/// offset never accumulates. One packet before the clip's start is included to prime the
/// decoder.
pub fn plan_audio_copy(packets: &[Sample], timeline: &Timeline) -> Vec<CopiedPacket> {
    let mut out: Vec<CopiedPacket> = Vec::new();
    if packets.is_empty() {
        return out;
    }
    let total = timeline.total_micros();
    let mut cursor: Option<i64> = None; // output time where the next packet starts
    for (i, &(a, b)) in timeline.kept().iter().enumerate() {
        let v_start = timeline.stretch_start(i);
        let v_end = v_start + (b - a);
        let (mut j, mut at) = match cursor {
            None => {
                // The packet that contains the start, and the one before it for priming.
                let containing = packets
                    .partition_point(|p| p.pts_micros + p.duration_micros <= a)
                    .min(packets.len() - 1);
                let j = containing.saturating_sub(1);
                (j, packets[j].pts_micros - a)
            }
            Some(at) => {
                // The packet whose start maps closest to where the sound has got to.
                let target = a + (at - v_start);
                let k = packets.partition_point(|p| p.pts_micros < target);
                let j = if k == 0 {
                    0
                } else if k >= packets.len()
                    || (target - packets[k - 1].pts_micros) <= (packets[k].pts_micros - target)
                {
                    k - 1
                } else {
                    k
                };
                (j, at)
            }
        };
        let end = if i + 1 == timeline.kept().len() {
            total
        } else {
            v_end
        };
        while j < packets.len() {
            let d = packets[j].duration_micros.max(1);
            if at >= end - d / 2 {
                break;
            }
            out.push(CopiedPacket {
                index: j,
                out_micros: at,
                duration_micros: d,
            });
            at += d;
            j += 1;
        }
        cursor = Some(at);
    }
    out
}

/// The clip's words as subtitle cues in the output time line: words inside kept stretches,
/// moved to where they play, grouped into short cues (a sentence end, a pause of more than
/// 0.6 s, 42 characters or 7 words ends a cue).
pub fn subtitles(words: &[&Word], timeline: &Timeline) -> Vec<Segment> {
    let mut cues: Vec<Segment> = Vec::new();
    let mut current: Option<Segment> = None;
    for word in words {
        let start = micros(word.start_secs);
        let end = micros(word.end_secs);
        let Some(out_start) = timeline.output_of(start) else {
            continue;
        };
        // A word cut at its end keeps its start; its end is clamped to its stretch.
        let out_end = timeline
            .output_of((end - 1).max(start))
            .map_or(out_start, |e| e + 1)
            .max(out_start);
        let (s, e) = (
            out_start as f64 / MICROS_PER_SEC as f64,
            out_end as f64 / MICROS_PER_SEC as f64,
        );
        let text = word.text.trim();
        if text.is_empty() {
            continue;
        }
        let shifted = Word {
            start_secs: s,
            end_secs: e,
            ..(*word).clone()
        };
        if let Some(cue) = current.as_mut() {
            let pause = s - cue.end_secs > 0.6;
            let long = cue.text.len() + 1 + text.len() > 42 || cue.words.len() >= 7;
            if pause || long {
                cues.extend(current.take());
            }
        }
        match current.as_mut() {
            Some(cue) => {
                cue.text.push(' ');
                cue.text.push_str(text);
                cue.end_secs = e;
                cue.words.push(shifted);
            }
            None => {
                current = Some(Segment {
                    start_secs: s,
                    end_secs: e,
                    text: text.to_string(),
                    words: vec![shifted],
                })
            }
        }
        if text.ends_with(['.', '?', '!']) {
            cues.extend(current.take());
        }
    }
    cues.extend(current);
    cues
}

/// A file name for the clip: its name with characters that trouble file systems replaced.
pub fn file_stem(name: &str) -> String {
    let cleaned: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches(['.', ' ']).to_string();
    if !cleaned.chars().any(char::is_alphanumeric) {
        "clip".to_string()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(a: f64, b: f64) -> Span {
        Span::new(a, b)
    }

    fn aac_packets(count: usize, first_pts: i64) -> Vec<Sample> {
        // 1024 samples at 48 kHz = 21 333 µs.
        (0..count)
            .map(|i| Sample {
                offset: i as u64 * 100,
                size: 100,
                pts_micros: first_pts + (i as i64 * 1024 * 1_000_000) / 48_000,
                duration_micros: 21_333,
                keyframe: true,
            })
            .collect()
    }

    #[test]
    fn vertical_full_size_is_1080_by_1920_and_sizes_are_even() {
        assert_eq!(
            output_dimensions(Aspect::Portrait9x16, OutputSize::Full),
            (1080, 1920)
        );
        assert_eq!(
            output_dimensions(Aspect::Portrait9x16, OutputSize::Small),
            (720, 1280)
        );
        assert_eq!(
            output_dimensions(Aspect::Square1x1, OutputSize::Small),
            (720, 720)
        );
        assert_eq!(
            output_dimensions(Aspect::Landscape16x9, OutputSize::Full),
            (1920, 1080)
        );
    }

    #[test]
    fn codec_levels_fit_the_size_and_rate() {
        assert_eq!(
            video_codec(OutputFormat::Mp4, 1080, 1920, 30.0),
            "avc1.640028"
        );
        assert_eq!(
            video_codec(OutputFormat::Mp4, 720, 1280, 30.0),
            "avc1.64001f"
        );
        assert_eq!(
            video_codec(OutputFormat::Mp4, 1080, 1920, 60.0),
            "avc1.64002a"
        );
        assert_eq!(
            video_codec(OutputFormat::WebM, 1080, 1920, 30.0),
            "vp09.00.40.08"
        );
        assert_eq!(
            video_codec(OutputFormat::WebM, 1080, 1920, 60.0),
            "vp09.00.41.08"
        );
    }

    #[test]
    fn aac_sources_get_mp4_with_copied_sound_and_opus_sources_get_webm() {
        let aac = choose_format(None, Some(&AudioCodec::Aac), false);
        assert_eq!(aac.format, OutputFormat::Mp4);
        assert_eq!(aac.sound, SoundPlan::CopyAac);
        assert!(aac.reason.contains("cannot encode AAC"), "{}", aac.reason);
        let opus = choose_format(Some(OutputFormat::Mp4), Some(&AudioCodec::Opus), false);
        assert_eq!(opus.format, OutputFormat::WebM);
        assert_eq!(opus.sound, SoundPlan::EncodeOpus);
        assert!(opus.reason.contains("Opus"), "{}", opus.reason);
        let silent = choose_format(None, None, false);
        assert_eq!(
            (silent.format, silent.sound),
            (OutputFormat::Mp4, SoundPlan::None)
        );
        let webm = choose_format(Some(OutputFormat::WebM), Some(&AudioCodec::Aac), false);
        assert_eq!(
            (webm.format, webm.sound),
            (OutputFormat::WebM, SoundPlan::EncodeOpus)
        );
    }

    #[test]
    fn frame_rates_outside_what_tiktok_takes_are_brought_inside() {
        assert_eq!(output_fps(30.0), 30.0);
        assert_eq!(output_fps(29.97), 30_000.0 / 1_001.0);
        assert_eq!(output_fps(120.0), 60.0);
        assert_eq!(output_fps(100.0), 50.0);
        assert_eq!(output_fps(15.0), 30.0);
        assert_eq!(output_fps(0.0), 30.0);
    }

    #[test]
    fn measured_rates_snap_to_the_standard_rate_they_were_made_at() {
        // 33 333 µs per frame, as an MP4 at 30 fps with a µs-ish timescale measures.
        assert_eq!(output_fps(30.000_300_003), 30.0);
        assert_eq!(output_fps(24.999), 25.0);
        assert_eq!(output_fps(29.970_03), 30_000.0 / 1_001.0);
        // Not near a standard rate: kept as it is.
        assert_eq!(output_fps(27.5), 27.5);
        let t = Timeline::new(&[span(0.5, 6.0)], output_fps(30.000_300_003));
        assert_eq!(t.frames(), 165);
    }

    #[test]
    fn a_frame_takes_the_source_picture_nearest_to_it() {
        let t = Timeline::new(&[span(0.5, 1.0)], 30.0);
        // Frame 0 starts at 0.5 s and lasts 33 333 µs: its middle.
        assert_eq!(t.frame_source(0), Some((0, 500_000)));
        assert_eq!(t.frame_sample(0), Some((0, 516_666)));
        // A frame at the end of a short stretch never samples past the cut.
        let t = Timeline::new(&[span(0.5, 0.51), span(2.0, 3.0)], 30.0);
        assert_eq!(t.frame_source(0), Some((0, 500_000)));
        assert_eq!(t.frame_sample(0), Some((0, 509_999)));
    }

    #[test]
    fn the_timeline_lays_kept_stretches_end_to_end() {
        let t = Timeline::new(&[span(10.0, 12.0), span(13.0, 14.5)], 30.0);
        assert_eq!(t.total_micros(), 3_500_000);
        assert_eq!(t.frames(), 105);
        assert_eq!(t.frame_source(0), Some((0, 10_000_000)));
        // Frame 60 is 2.0 s in: the first frame of the second stretch.
        assert_eq!(t.frame_source(60), Some((1, 13_000_000)));
        assert_eq!(t.frame_source(59).map(|f| f.0), Some(0));
        assert_eq!(t.output_of(13_500_000), Some(2_500_000));
        assert_eq!(t.output_of(12_500_000), None);
        let durations: i64 = (0..t.frames()).map(|k| t.frame_duration_micros(k)).sum();
        assert_eq!(durations, t.total_micros());
    }

    #[test]
    fn a_length_that_is_not_whole_frames_ends_within_one_frame() {
        let t = Timeline::new(&[span(0.0, 1.01)], 30.0);
        assert_eq!(t.frames(), 31);
        let last = t.frames() - 1;
        assert!(t.frame_duration_micros(last) > 0);
        assert_eq!(
            t.frame_micros(last) + t.frame_duration_micros(last),
            1_010_000
        );
    }

    #[test]
    fn copied_audio_starts_one_packet_early_and_covers_the_clip() {
        let packets = aac_packets(500, -21_333);
        let t = Timeline::new(&[span(2.0, 5.0)], 30.0);
        let plan = plan_audio_copy(&packets, &t);
        let first = plan[0];
        assert!(first.out_micros < 0 && first.out_micros > -2 * 21_334);
        // Source time of the first packet minus the clip start equals its output time.
        assert_eq!(
            packets[first.index].pts_micros - 2_000_000,
            first.out_micros
        );
        let last = plan[plan.len() - 1];
        let end = last.out_micros + last.duration_micros;
        assert!((end - 3_000_000).abs() <= 21_333 / 2 + 1, "ends at {end}");
        // Contiguous in the output.
        for pair in plan.windows(2) {
            assert_eq!(
                pair[0].out_micros + pair[0].duration_micros,
                pair[1].out_micros
            );
        }
    }

    #[test]
    fn after_a_cut_the_sound_stays_within_half_a_packet_of_the_picture() {
        let packets = aac_packets(1000, 0);
        let kept = [span(1.0, 2.013), span(4.5, 5.777), span(7.002, 9.0)];
        let t = Timeline::new(&kept, 30.0);
        let plan = plan_audio_copy(&packets, &t);
        for p in &plan {
            let src = packets[p.index].pts_micros;
            // Where this packet's source time sits in the output picture, if it is kept.
            let Some(shown) = t.output_of(src) else {
                continue;
            };
            assert!(
                (shown - p.out_micros).abs() <= 21_333 / 2 + 1,
                "packet {} plays at {} but its picture is at {}",
                p.index,
                p.out_micros,
                shown
            );
        }
        let last = plan[plan.len() - 1];
        assert!((last.out_micros + last.duration_micros - t.total_micros()).abs() <= 10_667);
    }

    #[test]
    fn decoded_audio_is_trimmed_to_the_sample_at_cuts() {
        let t = Timeline::new(&[span(1.0, 1.5), span(2.0, 3.0)], 30.0);
        // A buffer of 48 000 samples (1 s) starting at 0.75 s straddles the first cut.
        let pieces = t.audio_pieces(750_000, 48_000, 48_000);
        assert_eq!(
            pieces,
            vec![
                AudioPiece {
                    first: 12_000,
                    count: 24_000,
                    out_micros: 0
                },
                // Nothing of the second stretch is in it (it ends at 1.75 s).
            ]
        );
        let pieces = t.audio_pieces(1_750_000, 48_000, 48_000);
        assert_eq!(
            pieces,
            vec![AudioPiece {
                first: 12_000,
                count: 36_000,
                out_micros: 500_000
            }]
        );
    }

    #[test]
    fn subtitles_follow_the_output_time_line_and_skip_cut_words() {
        let words = [
            Word::new(10.0, 10.4, "Hello"),
            Word::new(10.5, 10.9, "there."),
            Word::new(11.0, 11.3, "um"),
            Word::new(11.4, 11.9, "Cut"),
            Word::new(12.1, 12.5, "kept"),
        ];
        let refs: Vec<&Word> = words.iter().collect();
        let t = Timeline::new(&[span(10.0, 11.0), span(12.0, 13.0)], 30.0);
        let cues = subtitles(&refs, &t);
        assert_eq!(cues.len(), 2);
        assert_eq!(cues[0].text, "Hello there.");
        assert!((cues[0].start_secs - 0.0).abs() < 1e-6);
        assert!((cues[0].end_secs - 0.9).abs() < 1e-6);
        assert_eq!(cues[1].text, "kept");
        assert!((cues[1].start_secs - 1.1).abs() < 1e-6);
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_stem("Clip 1: the hook?"), "Clip 1_ the hook_");
        assert_eq!(file_stem("../.."), "clip");
        assert_eq!(file_stem("  "), "clip");
    }
}
