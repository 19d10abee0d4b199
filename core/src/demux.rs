//! One entry point for every container: sniff the first bytes, open with the matching
//! demuxer, and hand out groups of frames (a keyframe and its dependants) for any time.

use crate::media::{EncodedFrame, Gop, MediaError, MediaInfo, Sample, VideoCodec};
use crate::mp4::{self, Mp4Demuxer};
use crate::source::ByteSource;
use crate::webm::{self, WebmDemuxer};

/// Frames of a GOP closer together than this in the file are fetched with one read.
const COALESCE_GAP_BYTES: u64 = 256 * 1024;

#[derive(Debug, Clone)]
pub enum Demuxer {
    Mp4(Mp4Demuxer),
    WebM(WebmDemuxer),
}

impl Demuxer {
    pub async fn open<S: ByteSource + ?Sized>(src: &S) -> Result<Self, MediaError> {
        let head = src.read_at(0, 16).await?;
        if head.is_empty() {
            return Err(MediaError::NotAVideo);
        }
        let mut demuxer = if webm::sniff(&head) {
            Demuxer::WebM(WebmDemuxer::open(src).await?)
        } else if mp4::sniff(&head) {
            Demuxer::Mp4(Mp4Demuxer::open(src).await?)
        } else {
            return Err(MediaError::NotAVideo);
        };
        let Some(video) = demuxer.info().video.as_ref() else {
            return Err(MediaError::NoVideoTrack);
        };
        if video.codec == VideoCodec::Vp9 {
            if let Demuxer::WebM(_) = demuxer {
                // WebM does not state the VP9 profile; the first keyframe does.
                let gop = demuxer.gop_at(src, 0).await?;
                if let Some(codec) = gop
                    .frames
                    .first()
                    .and_then(|f| webm::vp9_codec_string(&f.data))
                {
                    if let Some(v) = demuxer.info_mut().video.as_mut() {
                        v.codec_string = codec;
                    }
                }
            }
        }
        Ok(demuxer)
    }

    pub fn info(&self) -> &MediaInfo {
        match self {
            Demuxer::Mp4(d) => &d.info,
            Demuxer::WebM(d) => &d.info,
        }
    }

    /// The earliest video presentation time (negative for pre-roll frames an edit list hides).
    pub fn first_video_pts_micros(&self) -> i64 {
        match self {
            Demuxer::Mp4(d) => d
                .video_samples
                .iter()
                .map(|s| s.pts_micros)
                .min()
                .unwrap_or(0),
            Demuxer::WebM(d) => d.first_video_pts_micros,
        }
    }

    fn info_mut(&mut self) -> &mut MediaInfo {
        match self {
            Demuxer::Mp4(d) => &mut d.info,
            Demuxer::WebM(d) => &mut d.info,
        }
    }

    /// The frames needed to show the video at `at_micros`: from the last keyframe at or before
    /// it up to the next keyframe, in decode order. Past the end, the last GOP.
    pub async fn gop_at<S: ByteSource + ?Sized>(
        &self,
        src: &S,
        at_micros: i64,
    ) -> Result<Gop, MediaError> {
        let (samples, next_key_micros) = match self {
            Demuxer::Mp4(d) => gop_samples(&d.video_samples, at_micros),
            Demuxer::WebM(d) => webm_gop_samples(d, src, at_micros).await?,
        };
        let Some(first) = samples.first() else {
            return Err(MediaError::Truncated(
                "no video frames could be found".into(),
            ));
        };
        let start_micros = first.pts_micros;
        let end_micros = samples
            .iter()
            .map(|s| s.pts_micros + s.duration_micros)
            .max()
            .unwrap_or(start_micros);
        let frames = read_samples(src, &samples).await?;
        Ok(Gop {
            start_micros,
            end_micros,
            next_key_micros,
            frames,
        })
    }

    /// Every video and audio sample of the file (for WebM this reads every cluster).
    pub async fn all_samples<S: ByteSource + ?Sized>(
        &self,
        src: &S,
    ) -> Result<(Vec<Sample>, Vec<Sample>), MediaError> {
        match self {
            Demuxer::Mp4(d) => Ok((d.video_samples.clone(), d.audio_samples.clone())),
            Demuxer::WebM(d) => d.all_samples(src).await,
        }
    }
}

/// Audio packets read in order from a point in time, a batch at a time (playback's sound).
/// MP4 slices its sample table; WebM reads cluster after cluster from the seek point before
/// the start, so a long file is not read whole to play a few seconds of it.
#[derive(Debug, Clone)]
pub struct AudioCursor {
    /// Where playback starts; `i64::MIN` once the packets reached lie past it.
    from_micros: i64,
    next: AudioNext,
    /// WebM: the last packet of a cluster that ends before the start.
    before: Option<Sample>,
}

#[derive(Debug, Clone)]
enum AudioNext {
    /// The index of the next MP4 sample.
    Mp4(usize),
    /// The offset of the next WebM cluster.
    WebM(Option<u64>),
    End,
}

/// Packets per batch from an MP4 sample table.
const AUDIO_BATCH: usize = 64;

impl Demuxer {
    /// A cursor whose first packet is the one before the packet playing at `from_micros` (a
    /// decoder's output for the first packet it is given is not to be trusted), or the first;
    /// nothing when the sound track ends before `from_micros`.
    pub fn audio_from(&self, from_micros: i64) -> AudioCursor {
        let next = match self {
            _ if self.info().audio.is_none() => AudioNext::End,
            Demuxer::Mp4(d) => {
                let playing = d
                    .audio_samples
                    .partition_point(|s| s.pts_micros + s.duration_micros <= from_micros);
                if playing == d.audio_samples.len() {
                    AudioNext::End // nothing plays from there
                } else {
                    AudioNext::Mp4(playing.saturating_sub(1))
                }
            }
            Demuxer::WebM(d) => {
                let point = d
                    .seek_points
                    .iter()
                    .rposition(|p| p.time_micros < from_micros)
                    .map_or(d.first_cluster, |i| d.seek_points[i].offset);
                AudioNext::WebM(Some(point))
            }
        };
        AudioCursor {
            from_micros,
            next,
            before: None,
        }
    }
}

impl AudioCursor {
    /// The next packets with their bytes, in order; empty at the end of the track.
    pub async fn next_batch<S: ByteSource + ?Sized>(
        &mut self,
        demuxer: &Demuxer,
        src: &S,
    ) -> Result<Vec<EncodedFrame>, MediaError> {
        let samples = match (&mut self.next, demuxer) {
            (AudioNext::Mp4(i), Demuxer::Mp4(d)) => {
                let end = (*i + AUDIO_BATCH).min(d.audio_samples.len());
                let batch = d.audio_samples[*i..end].to_vec();
                *i = end;
                batch
            }
            (AudioNext::WebM(next), Demuxer::WebM(d)) => loop {
                let Some(at) = *next else {
                    break vec![];
                };
                let cluster = d.read_cluster(src, at).await?;
                *next = d.cluster_after(src, at, &cluster).await?;
                let mut audio = cluster.audio;
                if self.from_micros != i64::MIN {
                    // Until the start is reached, keep only the packet before it.
                    let playing = audio
                        .iter()
                        .position(|s| s.pts_micros + s.duration_micros > self.from_micros);
                    match playing {
                        Some(p) => {
                            audio.drain(..p.saturating_sub(1));
                            if p == 0 {
                                audio.splice(0..0, self.before.take());
                            }
                            self.from_micros = i64::MIN;
                        }
                        None => {
                            if let Some(last) = audio.pop() {
                                self.before = Some(last);
                            }
                            audio.clear();
                        }
                    }
                }
                if !audio.is_empty() {
                    break audio;
                }
            },
            _ => vec![],
        };
        if samples.is_empty() {
            self.next = AudioNext::End;
            return Ok(vec![]);
        }
        read_samples(src, &samples).await
    }
}

/// The GOP around `at_micros` in a decode-ordered sample list.
/// The GOP's samples in decode order, and the time of the keyframe that starts the next one
/// (`None` for the last GOP).
fn gop_samples(samples: &[Sample], at_micros: i64) -> (Vec<Sample>, Option<i64>) {
    let keys: Vec<usize> = (0..samples.len())
        .filter(|&i| samples[i].keyframe)
        .collect();
    let Some(&first_key) = keys.first() else {
        return (vec![], None);
    };
    let start = keys
        .iter()
        .copied()
        .take_while(|&i| samples[i].pts_micros <= at_micros)
        .last()
        .unwrap_or(first_key);
    let end = keys
        .iter()
        .copied()
        .find(|&i| i > start)
        .unwrap_or(samples.len());
    let next_key_micros = samples.get(end).map(|s| s.pts_micros);
    (samples[start..end].to_vec(), next_key_micros)
}

async fn webm_gop_samples<S: ByteSource + ?Sized>(
    d: &WebmDemuxer,
    src: &S,
    at_micros: i64,
) -> Result<(Vec<Sample>, Option<i64>), MediaError> {
    let points = &d.seek_points;
    let mut idx = points
        .iter()
        .rposition(|p| p.time_micros <= at_micros)
        .unwrap_or(0);
    loop {
        // Read clusters from this seek point until the keyframe after the GOP's own (or the
        // end): the GOP's keyframe is the last at or before `at_micros`, or the first one when
        // `at_micros` comes before every frame.
        let mut samples: Vec<Sample> = vec![];
        let mut next = Some(points[idx].offset);
        while let Some(at) = next {
            let cluster = d.read_cluster(src, at).await?;
            samples.extend(cluster.video.iter().cloned());
            let keys = || samples.iter().filter(|s| s.keyframe).map(|s| s.pts_micros);
            let gop_key = keys().filter(|&k| k <= at_micros).max().or(keys().next());
            let past = gop_key.is_some_and(|g| keys().any(|k| k > g));
            next = if past {
                None
            } else {
                d.cluster_after(src, at, &cluster).await?
            };
        }
        let has_key_before = samples
            .iter()
            .any(|s| s.keyframe && s.pts_micros <= at_micros);
        if has_key_before || idx == 0 {
            return Ok(gop_samples(&samples, at_micros));
        }
        idx -= 1;
    }
}

/// Reads samples' bytes, coalescing neighbours into one read.
pub async fn read_samples<S: ByteSource + ?Sized>(
    src: &S,
    samples: &[Sample],
) -> Result<Vec<EncodedFrame>, MediaError> {
    let mut frames = Vec::with_capacity(samples.len());
    let mut i = 0;
    while i < samples.len() {
        let start = samples[i].offset;
        let mut end = start + u64::from(samples[i].size);
        let mut j = i + 1;
        while j < samples.len()
            && samples[j].offset >= end
            && samples[j].offset - end <= COALESCE_GAP_BYTES
        {
            end = samples[j].offset + u64::from(samples[j].size);
            j += 1;
        }
        let bytes = src
            .read_exact_at(start, (end - start) as usize)
            .await
            .map_err(|_| {
                MediaError::Truncated("the file ends before the frames it lists".into())
            })?;
        for s in &samples[i..j] {
            let from = (s.offset - start) as usize;
            frames.push(EncodedFrame {
                pts_micros: s.pts_micros,
                duration_micros: s.duration_micros,
                keyframe: s.keyframe,
                data: bytes[from..from + s.size as usize].to_vec(),
            });
        }
        i = j;
    }
    Ok(frames)
}
