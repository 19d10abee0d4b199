//! WebM (and Matroska) demuxing with on-demand reads. EBML is a small format (variable-length
//! IDs and sizes, nested elements), and the Rust Matroska readers all want a blocking
//! `Read + Seek` over the whole file, so this module reads elements itself: the header, `Info`,
//! `Tracks` and `Cues` at open time, and single clusters when frames are needed. Seeking uses
//! `Cues` (cluster positions of keyframes); files without them (e.g. from MediaRecorder) get a
//! cluster index by walking cluster headers.

use crate::media::{
    cut_short_warning, drop_samples_past_end, AudioCodec, AudioTrack, Container, MediaError,
    MediaInfo, Sample, VideoCodec, VideoTrack,
};
use crate::source::ByteSource;

const ID_EBML: u32 = 0x1A45_DFA3;
const ID_DOCTYPE: u32 = 0x4282;
const ID_SEGMENT: u32 = 0x1853_8067;
const ID_SEEKHEAD: u32 = 0x114D_9B74;
const ID_SEEK: u32 = 0x4DBB;
const ID_SEEK_ID: u32 = 0x53AB;
const ID_SEEK_POSITION: u32 = 0x53AC;
const ID_INFO: u32 = 0x1549_A966;
const ID_TIMECODE_SCALE: u32 = 0x2A_D7B1;
const ID_DURATION: u32 = 0x4489;
const ID_TRACKS: u32 = 0x1654_AE6B;
const ID_TRACK_ENTRY: u32 = 0xAE;
const ID_TRACK_NUMBER: u32 = 0xD7;
const ID_TRACK_TYPE: u32 = 0x83;
const ID_CODEC_ID: u32 = 0x86;
const ID_CODEC_PRIVATE: u32 = 0x63A2;
const ID_DEFAULT_DURATION: u32 = 0x23_E383;
const ID_VIDEO: u32 = 0xE0;
const ID_PIXEL_WIDTH: u32 = 0xB0;
const ID_PIXEL_HEIGHT: u32 = 0xBA;
const ID_AUDIO: u32 = 0xE1;
const ID_SAMPLING_FREQUENCY: u32 = 0xB5;
const ID_CHANNELS: u32 = 0x9F;
const ID_CUES: u32 = 0x1C53_BB6B;
const ID_CUE_POINT: u32 = 0xBB;
const ID_CUE_TIME: u32 = 0xB3;
const ID_CUE_TRACK_POSITIONS: u32 = 0xB7;
const ID_CUE_CLUSTER_POSITION: u32 = 0xF1;
const ID_CLUSTER: u32 = 0x1F43_B675;
const ID_TIMECODE: u32 = 0xE7;
const ID_SIMPLE_BLOCK: u32 = 0xA3;
const ID_BLOCK_GROUP: u32 = 0xA0;
const ID_BLOCK: u32 = 0xA1;
const ID_BLOCK_DURATION: u32 = 0x9B;
const ID_REFERENCE_BLOCK: u32 = 0xFB;

/// Level-1 elements: where an unknown-size cluster ends.
const LEVEL1: [u32; 8] = [
    ID_SEEKHEAD,
    ID_INFO,
    ID_TRACKS,
    ID_CUES,
    ID_CLUSTER,
    0x1043_A770,
    0x1941_A469,
    0x1254_C367,
];

/// Masters read whole at open time are capped: a real `Cues` for hours of video is a few MB.
const MAX_META_BYTES: u64 = 64 * 1024 * 1024;
/// A cluster holds a few seconds of media; anything larger is read in pieces by nobody.
const MAX_CLUSTER_BYTES: u64 = 512 * 1024 * 1024;

pub fn sniff(head: &[u8]) -> bool {
    head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3])
}

/// Reads an EBML variable-length integer. Returns (value, length, all value bits set).
fn read_vint(buf: &[u8]) -> Option<(u64, usize, bool)> {
    let first = *buf.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || buf.len() < len {
        return None;
    }
    let mut value = u64::from(first) & (0xFF >> len);
    for &b in &buf[1..len] {
        value = (value << 8) | u64::from(b);
    }
    let all_ones = value == (1u64 << (7 * len)) - 1;
    Some((value, len, all_ones))
}

/// Reads an element ID (the length marker stays part of the ID, as the spec writes them).
fn read_id(buf: &[u8]) -> Option<(u32, usize)> {
    let first = *buf.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 4 || buf.len() < len {
        return None;
    }
    let id = buf[..len]
        .iter()
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
    Some((id, len))
}

#[derive(Debug, Clone, Copy)]
struct Header {
    id: u32,
    header_len: usize,
    /// `None` for an element of unknown size (live recordings).
    size: Option<u64>,
}

fn read_header(buf: &[u8]) -> Option<Header> {
    let (id, id_len) = read_id(buf)?;
    let (size, size_len, unknown) = read_vint(&buf[id_len..])?;
    Some(Header {
        id,
        header_len: id_len + size_len,
        size: (!unknown).then_some(size),
    })
}

/// Children of a master element already in memory; stops at the first malformed child.
fn children(mut buf: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    std::iter::from_fn(move || {
        let h = read_header(buf)?;
        let size = usize::try_from(h.size?).ok()?;
        let end = h.header_len.checked_add(size)?;
        if end > buf.len() {
            return None;
        }
        let data = &buf[h.header_len..end];
        buf = &buf[end..];
        Some((h.id, data))
    })
}

fn child(buf: &[u8], id: u32) -> Option<&[u8]> {
    children(buf).find(|(i, _)| *i == id).map(|(_, d)| d)
}

fn uint(data: &[u8]) -> u64 {
    data.iter()
        .take(8)
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

fn float(data: &[u8]) -> Option<f64> {
    match data.len() {
        4 => Some(f64::from(f32::from_be_bytes(data.try_into().ok()?))),
        8 => Some(f64::from_be_bytes(data.try_into().ok()?)),
        _ => None,
    }
}

async fn element_at<S: ByteSource + ?Sized>(
    src: &S,
    offset: u64,
) -> Result<Option<Header>, MediaError> {
    let head = src.read_at(offset, 12).await?;
    if head.is_empty() {
        return Ok(None);
    }
    read_header(&head)
        .map(Some)
        .ok_or_else(|| MediaError::Truncated(format!("it ends inside an element at byte {offset}")))
}

#[derive(Debug, Clone)]
struct TrackEntry {
    number: u64,
    default_duration_micros: Option<i64>,
}

/// Where a cluster starts and the time of its first block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterRef {
    pub offset: u64,
    pub time_micros: i64,
}

/// Samples of one cluster, per track, in file (decode) order.
#[derive(Debug, Default)]
pub struct ClusterSamples {
    pub video: Vec<Sample>,
    pub audio: Vec<Sample>,
    /// Byte offset just past this cluster.
    pub end: u64,
}

#[derive(Debug, Clone)]
pub struct WebmDemuxer {
    pub info: MediaInfo,
    /// Clusters to start a seek from, in time order: from `Cues` when present.
    pub seek_points: Vec<ClusterRef>,
    pub first_cluster: u64,
    /// Presentation time of the earliest video frame in the first cluster.
    pub first_video_pts_micros: i64,
    timecode_scale_ns: u64,
    video: Option<TrackEntry>,
    audio: Option<TrackEntry>,
}

impl WebmDemuxer {
    pub async fn open<S: ByteSource + ?Sized>(src: &S) -> Result<Self, MediaError> {
        let file_len = src.len_bytes();
        let Some(ebml) = element_at(src, 0).await? else {
            return Err(MediaError::NotAVideo);
        };
        if ebml.id != ID_EBML {
            return Err(MediaError::NotAVideo);
        }
        let ebml_size = ebml.size.ok_or(MediaError::NotAVideo)?;
        let ebml_body = src
            .read_exact_at(ebml.header_len as u64, ebml_size as usize)
            .await?;
        let doc_type = child(&ebml_body, ID_DOCTYPE).unwrap_or(b"matroska");
        let container = match doc_type {
            b"webm" => Container::WebM,
            b"matroska" => Container::Matroska,
            _ => return Err(MediaError::NotAVideo),
        };

        let segment_offset = ebml.header_len as u64 + ebml_size;
        let Some(segment) = element_at(src, segment_offset).await? else {
            return Err(MediaError::Truncated("it ends before any media".into()));
        };
        if segment.id != ID_SEGMENT {
            return Err(MediaError::Corrupt("the WebM segment is missing".into()));
        }
        let segment_start = segment_offset + segment.header_len as u64;

        // Walk level-1 elements up to the first cluster; use the SeekHead for Cues placed later.
        let mut info = None;
        let mut tracks = None;
        let mut cues = None;
        let mut cues_offset = None;
        let mut first_cluster = None;
        let mut offset = segment_start;
        while let Some(h) = element_at(src, offset).await? {
            if h.id == ID_CLUSTER {
                first_cluster = Some(offset);
                break;
            }
            let Some(size) = h.size else {
                return Err(MediaError::Corrupt(format!(
                    "an element at byte {offset} has no size"
                )));
            };
            let body_at = offset + h.header_len as u64;
            if matches!(h.id, ID_SEEKHEAD | ID_INFO | ID_TRACKS | ID_CUES) {
                if size > MAX_META_BYTES {
                    return Err(MediaError::Corrupt(format!(
                        "an index element claims {size} bytes"
                    )));
                }
                let body = src
                    .read_exact_at(body_at, size as usize)
                    .await
                    .map_err(|_| MediaError::Truncated("the file ends inside its header".into()))?;
                match h.id {
                    ID_SEEKHEAD => {
                        for (_, seek) in children(&body).filter(|(id, _)| *id == ID_SEEK) {
                            let id = child(seek, ID_SEEK_ID).map(uint);
                            let pos = child(seek, ID_SEEK_POSITION).map(uint);
                            if let (Some(id), Some(pos)) = (id, pos) {
                                if id == u64::from(ID_CUES) {
                                    cues_offset = Some(segment_start + pos);
                                }
                            }
                        }
                    }
                    ID_INFO => info = Some(body),
                    ID_TRACKS => tracks = Some(body),
                    _ => cues = Some(body),
                }
            }
            offset = body_at + size;
        }
        let Some(tracks) = tracks else {
            return Err(MediaError::Truncated("its track list is missing".into()));
        };
        let Some(first_cluster) = first_cluster else {
            return Err(MediaError::Truncated("it holds no media data".into()));
        };

        let info_body = info.unwrap_or_default();
        let timecode_scale_ns = child(&info_body, ID_TIMECODE_SCALE)
            .map(uint)
            .filter(|&s| s > 0)
            .unwrap_or(1_000_000);
        let duration_micros = child(&info_body, ID_DURATION)
            .and_then(float)
            .map(|ticks| (ticks * timecode_scale_ns as f64 / 1000.0).round() as i64);

        let mut demuxer = WebmDemuxer {
            info: MediaInfo {
                container,
                duration_micros: duration_micros.unwrap_or(0),
                video: None,
                audio: None,
                warnings: vec![],
            },
            seek_points: vec![],
            first_cluster,
            first_video_pts_micros: 0,
            timecode_scale_ns,
            video: None,
            audio: None,
        };
        demuxer.read_tracks(&tracks)?;

        if cues.is_none() {
            if let Some(at) = cues_offset.filter(|&at| at < file_len) {
                if let Some(h) = element_at(src, at).await? {
                    if let (ID_CUES, Some(size)) = (h.id, h.size) {
                        if size <= MAX_META_BYTES {
                            cues = src
                                .read_exact_at(at + h.header_len as u64, size as usize)
                                .await
                                .ok();
                        }
                    }
                }
            }
        }
        match cues {
            Some(cues) => demuxer.read_cues(&cues, segment_start, file_len),
            None => demuxer.seek_points = demuxer.scan_clusters(src).await?,
        }
        if demuxer.seek_points.is_empty() {
            return Err(MediaError::Truncated(
                "it holds no complete media cluster".into(),
            ));
        }

        // Frame rate (when the track does not declare one), duration (when the header does not),
        // and whether the tail is present: read the first and the last cluster.
        let first = demuxer.read_cluster(src, first_cluster).await?;
        demuxer.first_video_pts_micros =
            first.video.iter().map(|s| s.pts_micros).min().unwrap_or(0);
        if let Some(track) = demuxer.info.video.as_mut() {
            if track.frame_rate <= 0.0 {
                let mut pts: Vec<i64> = first.video.iter().map(|s| s.pts_micros).collect();
                pts.sort_unstable();
                let mut gaps: Vec<i64> = pts
                    .windows(2)
                    .map(|w| w[1] - w[0])
                    .filter(|&d| d > 0)
                    .collect();
                gaps.sort_unstable();
                if let Some(&median) = gaps.get(gaps.len() / 2) {
                    track.frame_rate = 1e6 / median as f64;
                }
            }
        }
        let last_ref = demuxer.seek_points[demuxer.seek_points.len() - 1];
        let mut next = Some(last_ref.offset);
        let mut last_end = 0;
        // Clusters after the last seek point (Cues index only keyframe clusters).
        while let Some(at) = next {
            let cluster = demuxer.read_cluster(src, at).await?;
            last_end = cluster
                .video
                .iter()
                .chain(&cluster.audio)
                .map(|s| s.pts_micros + s.duration_micros)
                .fold(last_end, i64::max);
            next = demuxer.cluster_after(src, at, &cluster).await?;
        }
        if demuxer.info.duration_micros <= 0 {
            demuxer.info.duration_micros = last_end;
        } else if last_end + 200_000 < demuxer.info.duration_micros {
            demuxer
                .info
                .warnings
                .push(cut_short_warning(last_end, demuxer.info.duration_micros));
        }
        Ok(demuxer)
    }

    fn read_tracks(&mut self, tracks: &[u8]) -> Result<(), MediaError> {
        for (_, entry) in children(tracks).filter(|(id, _)| *id == ID_TRACK_ENTRY) {
            let number = child(entry, ID_TRACK_NUMBER).map(uint).unwrap_or(0);
            let kind = child(entry, ID_TRACK_TYPE).map(uint).unwrap_or(0);
            let codec_id = child(entry, ID_CODEC_ID)
                .map(|d| {
                    String::from_utf8_lossy(d)
                        .trim_end_matches('\0')
                        .to_string()
                })
                .unwrap_or_default();
            let private = child(entry, ID_CODEC_PRIVATE).map(<[u8]>::to_vec);
            let default_duration_micros = child(entry, ID_DEFAULT_DURATION)
                .map(uint)
                .filter(|&ns| ns > 0)
                .map(|ns| (ns as f64 / 1000.0).round() as i64);
            let track = TrackEntry {
                number,
                default_duration_micros,
            };
            if kind == 1 && self.video.is_none() {
                let video = child(entry, ID_VIDEO).unwrap_or_default();
                let (codec, codec_string) = match codec_id.as_str() {
                    // The VP9 profile is refined from the first keyframe when frames are read.
                    "V_VP9" => (VideoCodec::Vp9, "vp09.00.10.08".to_string()),
                    "V_VP8" => (VideoCodec::Vp8, "vp8".to_string()),
                    "V_AV1" => (VideoCodec::Av1, "av01.0.08M.08".to_string()),
                    "V_MPEG4/ISO/AVC" => (VideoCodec::H264, avc_string(private.as_deref())),
                    "V_MPEGH/ISO/HEVC" => (VideoCodec::Hevc, "hvc1.1.6.L93.B0".to_string()),
                    other => (VideoCodec::Other(other.to_string()), other.to_lowercase()),
                };
                self.info.video = Some(VideoTrack {
                    track_id: number,
                    codec,
                    codec_string,
                    width: child(video, ID_PIXEL_WIDTH).map(uint).unwrap_or(0) as u32,
                    height: child(video, ID_PIXEL_HEIGHT).map(uint).unwrap_or(0) as u32,
                    frame_rate: default_duration_micros.map_or(0.0, |d| 1e6 / d as f64),
                    description: private.filter(|_| {
                        matches!(codec_id.as_str(), "V_MPEG4/ISO/AVC" | "V_MPEGH/ISO/HEVC")
                    }),
                });
                self.video = Some(track);
            } else if kind == 2 && self.audio.is_none() {
                let audio = child(entry, ID_AUDIO).unwrap_or_default();
                let (codec, codec_string) = match codec_id.as_str() {
                    "A_OPUS" => (AudioCodec::Opus, "opus".to_string()),
                    "A_VORBIS" => (AudioCodec::Vorbis, "vorbis".to_string()),
                    "A_AAC" => (AudioCodec::Aac, "mp4a.40.2".to_string()),
                    other => (AudioCodec::Other(other.to_string()), other.to_lowercase()),
                };
                self.info.audio = Some(AudioTrack {
                    track_id: number,
                    codec,
                    codec_string,
                    sample_rate_hz: child(audio, ID_SAMPLING_FREQUENCY)
                        .and_then(float)
                        .map_or(8000, |f| f.round() as u32),
                    channels: child(audio, ID_CHANNELS).map(uint).unwrap_or(1) as u32,
                    description: private,
                });
                self.audio = Some(track);
            }
        }
        Ok(())
    }

    fn read_cues(&mut self, cues: &[u8], segment_start: u64, file_len: u64) {
        let mut points: Vec<ClusterRef> = children(cues)
            .filter(|(id, _)| *id == ID_CUE_POINT)
            .filter_map(|(_, point)| {
                let time = child(point, ID_CUE_TIME).map(uint)?;
                let pos = child(point, ID_CUE_TRACK_POSITIONS)
                    .and_then(|p| child(p, ID_CUE_CLUSTER_POSITION))
                    .map(uint)?;
                Some(ClusterRef {
                    offset: segment_start + pos,
                    time_micros: self.micros(time as i64),
                })
            })
            .filter(|c| c.offset < file_len)
            .collect();
        points.sort_by_key(|c| (c.time_micros, c.offset));
        points.dedup_by_key(|c| c.offset);
        self.seek_points = points;
    }

    /// Every cluster's position and time, by walking cluster headers (for files without Cues).
    async fn scan_clusters<S: ByteSource + ?Sized>(
        &self,
        src: &S,
    ) -> Result<Vec<ClusterRef>, MediaError> {
        let file_len = src.len_bytes();
        let mut points = vec![];
        let mut next = Some(self.first_cluster);
        while let Some(at) = next {
            let Some(h) = element_at(src, at).await? else {
                break;
            };
            let head = src.read_at(at + h.header_len as u64, 16).await?;
            let Some((ID_TIMECODE, data)) = children(&head).next() else {
                break;
            };
            points.push(ClusterRef {
                offset: at,
                time_micros: self.micros(uint(data) as i64),
            });
            let end = self.cluster_end(src, at, h).await?;
            next = if end > at && end < file_len {
                self.next_cluster(src, end).await?
            } else {
                None
            };
        }
        Ok(points)
    }

    /// The first cluster at or after `at`, skipping other level-1 elements (Cues, Tags…);
    /// `None` at the end of the file.
    pub async fn next_cluster<S: ByteSource + ?Sized>(
        &self,
        src: &S,
        mut at: u64,
    ) -> Result<Option<u64>, MediaError> {
        while let Some(h) = element_at(src, at).await? {
            if h.id == ID_CLUSTER {
                return Ok(Some(at));
            }
            let Some(size) = h.size else {
                return Ok(None);
            };
            at += h.header_len as u64 + size;
        }
        Ok(None)
    }

    /// Where a cluster ends; for an unknown-size cluster, at the next level-1 element.
    async fn cluster_end<S: ByteSource + ?Sized>(
        &self,
        src: &S,
        at: u64,
        h: Header,
    ) -> Result<u64, MediaError> {
        let body = at + h.header_len as u64;
        if let Some(size) = h.size {
            return Ok(body + size);
        }
        let mut pos = body;
        while let Some(child) = element_at(src, pos).await? {
            if LEVEL1.contains(&child.id) {
                break;
            }
            let Some(size) = child.size else { break };
            pos += child.header_len as u64 + size;
        }
        Ok(pos.min(src.len_bytes()))
    }

    fn micros(&self, ticks: i64) -> i64 {
        ((ticks as i128 * i128::from(self.timecode_scale_ns)) / 1000) as i64
    }

    /// Reads one cluster and lists its blocks. A cluster cut off by the end of the file gives
    /// the blocks that are wholly present.
    pub async fn read_cluster<S: ByteSource + ?Sized>(
        &self,
        src: &S,
        at: u64,
    ) -> Result<ClusterSamples, MediaError> {
        let file_len = src.len_bytes();
        let Some(h) = element_at(src, at).await? else {
            return Ok(ClusterSamples {
                end: at,
                ..Default::default()
            });
        };
        if h.id != ID_CLUSTER {
            return Err(MediaError::Corrupt(format!("no cluster at byte {at}")));
        }
        let end = self.cluster_end(src, at, h).await?;
        let body_at = at + h.header_len as u64;
        if end - body_at > MAX_CLUSTER_BYTES {
            return Err(MediaError::Corrupt(format!(
                "a cluster at byte {at} is too large"
            )));
        }
        let body = src.read_at(body_at, (end - body_at) as usize).await?;
        let mut out = ClusterSamples {
            end,
            ..Default::default()
        };
        let mut cluster_time = 0i64;
        let mut pos = 0usize;
        while let Some(ch) = read_header(&body[pos..]) {
            let Some(size) = ch.size.and_then(|s| usize::try_from(s).ok()) else {
                break;
            };
            let data_start = pos + ch.header_len;
            let Some(data) = body.get(data_start..data_start + size) else {
                break; // cut off
            };
            let data_offset = body_at + data_start as u64;
            match ch.id {
                ID_TIMECODE => cluster_time = uint(data) as i64,
                ID_SIMPLE_BLOCK => {
                    self.push_block(&mut out, data, data_offset, cluster_time, None, None);
                }
                ID_BLOCK_GROUP => {
                    let mut block = None;
                    let mut duration = None;
                    let mut referenced = false;
                    let mut child_pos = 0usize;
                    while let Some(gh) = read_header(&data[child_pos..]) {
                        let Some(gsize) = gh.size.and_then(|s| usize::try_from(s).ok()) else {
                            break;
                        };
                        let gstart = child_pos + gh.header_len;
                        let Some(gdata) = data.get(gstart..gstart + gsize) else {
                            break;
                        };
                        match gh.id {
                            ID_BLOCK => block = Some((gdata, data_offset + gstart as u64)),
                            ID_BLOCK_DURATION => duration = Some(uint(gdata) as i64),
                            ID_REFERENCE_BLOCK => referenced = true,
                            _ => {}
                        }
                        child_pos = gstart + gsize;
                    }
                    if let Some((bdata, boffset)) = block {
                        self.push_block(
                            &mut out,
                            bdata,
                            boffset,
                            cluster_time,
                            duration,
                            Some(!referenced),
                        );
                    }
                }
                _ => {}
            }
            pos = data_start + size;
        }
        fill_durations(&mut out.video, self.video.as_ref());
        fill_durations(&mut out.audio, self.audio.as_ref());
        if end > file_len {
            drop_samples_past_end(&mut out.video, file_len);
            drop_samples_past_end(&mut out.audio, file_len);
        }
        Ok(out)
    }

    fn push_block(
        &self,
        out: &mut ClusterSamples,
        block: &[u8],
        block_offset: u64,
        cluster_time: i64,
        duration_ticks: Option<i64>,
        keyframe: Option<bool>,
    ) {
        let Some((track, track_len, _)) = read_vint(block) else {
            return;
        };
        let Some(rest) = block.get(track_len..track_len + 3) else {
            return;
        };
        let rel = i64::from(i16::from_be_bytes([rest[0], rest[1]]));
        let flags = rest[2];
        let header_len = track_len + 3;
        let sample = Sample {
            pts_micros: self.micros(cluster_time + rel),
            duration_micros: duration_ticks.map_or(0, |d| self.micros(d)),
            offset: block_offset + header_len as u64,
            size: (block.len() - header_len) as u32,
            keyframe: keyframe.unwrap_or(flags & 0x80 != 0),
        };
        if self.video.as_ref().is_some_and(|t| t.number == track) {
            out.video.push(sample);
        } else if self.audio.as_ref().is_some_and(|t| t.number == track) {
            out.audio.push(sample);
        }
    }

    /// The cluster following one just read at `at`, if any.
    pub async fn cluster_after<S: ByteSource + ?Sized>(
        &self,
        src: &S,
        at: u64,
        cluster: &ClusterSamples,
    ) -> Result<Option<u64>, MediaError> {
        if cluster.end <= at || cluster.end >= src.len_bytes() {
            return Ok(None);
        }
        self.next_cluster(src, cluster.end).await
    }

    /// Every sample in the file, per track (reads all clusters: for tests and whole-file work).
    pub async fn all_samples<S: ByteSource + ?Sized>(
        &self,
        src: &S,
    ) -> Result<(Vec<Sample>, Vec<Sample>), MediaError> {
        let (mut video, mut audio) = (vec![], vec![]);
        let mut next = Some(self.first_cluster);
        while let Some(at) = next {
            let cluster = self.read_cluster(src, at).await?;
            next = self.cluster_after(src, at, &cluster).await?;
            video.extend(cluster.video);
            audio.extend(cluster.audio);
        }
        Ok((video, audio))
    }
}

/// Blocks without a duration last until the next block of their track (or the default).
fn fill_durations(samples: &mut [Sample], track: Option<&TrackEntry>) {
    let default = track.and_then(|t| t.default_duration_micros);
    let mut order: Vec<usize> = (0..samples.len()).collect();
    order.sort_by_key(|&i| samples[i].pts_micros);
    for w in 0..order.len() {
        let i = order[w];
        if samples[i].duration_micros > 0 {
            continue;
        }
        let next = order
            .get(w + 1)
            .map(|&j| samples[j].pts_micros - samples[i].pts_micros);
        samples[i].duration_micros = default.or(next).unwrap_or(0);
    }
}

fn avc_string(avcc: Option<&[u8]>) -> String {
    match avcc {
        Some(b) if b.len() >= 4 => format!("avc1.{:02x}{:02x}{:02x}", b[1], b[2], b[3]),
        _ => "avc1.42e01e".into(),
    }
}

/// The WebCodecs codec string of a VP9 stream, from its first keyframe's uncompressed header
/// (its profile). Level 1.0 is stated: decoders do not hold streams to it.
pub fn vp9_codec_string(keyframe: &[u8]) -> Option<String> {
    let b = *keyframe.first()?;
    if b >> 6 != 0b10 {
        return None; // frame marker
    }
    let profile = ((b >> 5) & 1) | (((b >> 4) & 1) << 1);
    // Profiles 2 and 3 carry 10 or 12 bits; the flag is not byte aligned, and 10 is the norm.
    let depth = if profile >= 2 { 10 } else { 8 };
    Some(format!("vp09.{profile:02}.10.{depth:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vints_and_ids() {
        assert_eq!(read_vint(&[0x81]), Some((1, 1, false)));
        assert_eq!(read_vint(&[0x40, 0x02]), Some((2, 2, false)));
        assert_eq!(
            read_vint(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]).map(|v| v.2),
            Some(true)
        );
        assert_eq!(read_vint(&[0x00]), None);
        assert_eq!(read_id(&[0x1A, 0x45, 0xDF, 0xA3]), Some((ID_EBML, 4)));
        assert_eq!(read_id(&[0xA3]), Some((ID_SIMPLE_BLOCK, 1)));
    }

    #[test]
    fn vp9_profile_from_keyframe() {
        // frame_marker 10, profile_low 0, profile_high 0 -> profile 0.
        assert_eq!(
            vp9_codec_string(&[0b1000_0010, 0x49, 0x83, 0x42]).as_deref(),
            Some("vp09.00.10.08")
        );
        // profile_low 1 -> profile 1.
        assert_eq!(
            vp9_codec_string(&[0b1010_0010]).as_deref(),
            Some("vp09.01.10.08")
        );
        assert_eq!(vp9_codec_string(&[0x00]), None);
    }
}
