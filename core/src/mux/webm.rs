//! WebM: a small EBML writer. The body is the clusters (each built in memory — at most a few
//! seconds — and returned when it closes, at the next video keyframe or after 5 s); the head is
//! the EBML header and the Segment (its size known at the end) with SeekHead, Info, Tracks and
//! the Cues, which sit before the clusters so the file is seekable without reading to its end.
//! Blocks are written in time order across tracks: a track's packets wait until the other
//! track has caught up (the sound is small).

use std::collections::VecDeque;

use super::{
    opus_head, opus_pre_skip, AudioFormat, AudioSpec, Finished, MuxError, Muxer, Packet,
    VideoFormat, VideoSpec,
};

const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const SEEK_HEAD: u32 = 0x114D_9B74;
const SEEK: u32 = 0x4DBB;
const SEEK_ID: u32 = 0x53AB;
const SEEK_POSITION: u32 = 0x53AC;
const INFO: u32 = 0x1549_A966;
const TRACKS: u32 = 0x1654_AE6B;
const CUES: u32 = 0x1C53_BB6B;
const CLUSTER: u32 = 0x1F43_B675;
const TIMECODE: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;

/// A new cluster at least this often (block times are 16-bit milliseconds from the cluster's).
const CLUSTER_MILLIS: i64 = 5_000;
const VIDEO_TRACK: u64 = 1;
const AUDIO_TRACK: u64 = 2;

fn id_bytes(id: u32) -> Vec<u8> {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    bytes[skip..].to_vec()
}

/// An EBML size in the fewest bytes (all-ones patterns, reserved for "unknown", avoided).
fn size_vint(size: u64) -> Vec<u8> {
    for len in 1..=8u32 {
        if size < (1u64 << (7 * len)) - 1 {
            let marked = size | (1u64 << (7 * len));
            return marked.to_be_bytes()[(8 - len as usize)..].to_vec();
        }
    }
    let mut out = vec![0x01];
    out.extend_from_slice(&size.to_be_bytes()[1..]);
    out
}

/// An EBML size always 8 bytes long.
fn size_vint8(size: u64) -> Vec<u8> {
    let mut out = vec![0x01];
    out.extend_from_slice(&size.to_be_bytes()[1..]);
    out
}

fn element(id: u32, body: &[u8]) -> Vec<u8> {
    let mut out = id_bytes(id);
    out.extend(size_vint(body.len() as u64));
    out.extend_from_slice(body);
    out
}

fn uint(id: u32, value: u64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
    element(id, &bytes[skip..])
}

/// An unsigned integer always 8 bytes long (positions whose value is not known yet).
fn uint8(id: u32, value: u64) -> Vec<u8> {
    element(id, &value.to_be_bytes())
}

fn float(id: u32, value: f64) -> Vec<u8> {
    element(id, &value.to_be_bytes())
}

fn string(id: u32, value: &str) -> Vec<u8> {
    element(id, value.as_bytes())
}

fn master(id: u32, children: &[Vec<u8>]) -> Vec<u8> {
    element(id, &children.concat())
}

#[derive(Debug)]
struct Queued {
    track: u64,
    pts_micros: i64,
    end_micros: i64,
    keyframe: bool,
    data: Vec<u8>,
}

pub struct WebmMuxer {
    video_spec: VideoSpec,
    audio_spec: Option<AudioSpec>,
    opus_head: Vec<u8>,
    video_queue: VecDeque<Queued>,
    audio_queue: VecDeque<Queued>,
    last_video: Option<i64>,
    last_audio: Option<i64>,
    /// The cluster being built: its time (ms) and blocks.
    cluster: Option<(i64, Vec<u8>)>,
    body_len: u64,
    /// (time ms, body offset) of clusters that start with a video keyframe.
    cues: Vec<(u64, u64)>,
    end_micros: i64,
}

impl WebmMuxer {
    pub fn new(video: VideoSpec, audio: Option<AudioSpec>) -> Result<Self, MuxError> {
        if matches!(video.format, VideoFormat::H264 { .. }) {
            return Err(MuxError::Unsupported("H.264 video", "this WebM writer"));
        }
        let head = match &audio {
            Some(AudioSpec {
                format: AudioFormat::Aac { .. },
                ..
            }) => return Err(MuxError::Unsupported("AAC sound", "WebM")),
            Some(AudioSpec {
                format: AudioFormat::Opus { head },
                channels,
                ..
            }) => head.clone().unwrap_or_else(|| opus_head(*channels)),
            None => Vec::new(),
        };
        Ok(Self {
            video_spec: video,
            audio_spec: audio,
            opus_head: head,
            video_queue: VecDeque::new(),
            audio_queue: VecDeque::new(),
            last_video: None,
            last_audio: None,
            cluster: None,
            body_len: 0,
            cues: Vec::new(),
            end_micros: 0,
        })
    }

    fn queue(&mut self, track: u64, packet: &Packet) -> Result<Vec<u8>, MuxError> {
        if packet.pts_micros < 0 {
            return Err(MuxError::NegativeTime(packet.pts_micros));
        }
        let (last, name) = if track == VIDEO_TRACK {
            (&mut self.last_video, "video")
        } else {
            (&mut self.last_audio, "audio")
        };
        if let Some(prev) = *last {
            if packet.pts_micros <= prev {
                return Err(MuxError::Backwards(name, packet.pts_micros, prev));
            }
        }
        *last = Some(packet.pts_micros);
        let queued = Queued {
            track,
            pts_micros: packet.pts_micros,
            end_micros: packet.pts_micros + packet.duration_micros.max(0),
            keyframe: packet.keyframe || track == AUDIO_TRACK,
            data: packet.data.to_vec(),
        };
        if track == VIDEO_TRACK {
            self.video_queue.push_back(queued);
        } else {
            self.audio_queue.push_back(queued);
        }
        self.drain(false)
    }

    /// Writes queued blocks in time order while both tracks have some (or all, at the end).
    fn drain(&mut self, all: bool) -> Result<Vec<u8>, MuxError> {
        let mut out = Vec::new();
        let has_audio = self.audio_spec.is_some();
        loop {
            let next = match (self.video_queue.front(), self.audio_queue.front()) {
                (Some(v), Some(a)) => {
                    if a.pts_micros < v.pts_micros {
                        self.audio_queue.pop_front()
                    } else {
                        self.video_queue.pop_front()
                    }
                }
                (Some(_), None) if all || !has_audio => self.video_queue.pop_front(),
                (None, Some(_)) if all => self.audio_queue.pop_front(),
                _ => None,
            };
            let Some(block) = next else {
                return Ok(out);
            };
            out.extend(self.block(block));
        }
    }

    /// Adds a block to the current cluster, closing it first when a new one must start.
    fn block(&mut self, b: Queued) -> Vec<u8> {
        let millis = (b.pts_micros + 500) / 1000;
        self.end_micros = self.end_micros.max(b.end_micros);
        let video_key = b.track == VIDEO_TRACK && b.keyframe;
        let mut closed = Vec::new();
        let new_cluster = match &self.cluster {
            None => true,
            Some((start, _)) => video_key || millis - start >= CLUSTER_MILLIS,
        };
        if new_cluster {
            closed = self.close_cluster();
            if video_key {
                self.cues.push((millis as u64, self.body_len));
            }
            self.cluster = Some((millis, uint(TIMECODE, millis as u64)));
        }
        if let Some((start, blocks)) = self.cluster.as_mut() {
            let mut body = size_vint(b.track);
            body.extend_from_slice(&((millis - *start) as i16).to_be_bytes());
            body.push(if b.keyframe { 0x80 } else { 0x00 });
            body.extend_from_slice(&b.data);
            blocks.extend(element(SIMPLE_BLOCK, &body));
        }
        closed
    }

    fn close_cluster(&mut self) -> Vec<u8> {
        let Some((_, blocks)) = self.cluster.take() else {
            return Vec::new();
        };
        let mut out = id_bytes(CLUSTER);
        out.extend(size_vint8(blocks.len() as u64));
        out.extend(blocks);
        self.body_len += out.len() as u64;
        out
    }

    fn tracks(&self) -> Vec<u8> {
        let colour = master(
            0x55B0,
            &[
                uint(0x55B1, 1), // MatrixCoefficients: BT.709
                uint(0x55B9, 1), // Range: broadcast (limited)
                uint(0x55BA, 1), // TransferCharacteristics: BT.709
                uint(0x55BB, 1), // Primaries: BT.709
            ],
        );
        let video = master(
            0xE0,
            &[
                uint(0xB0, u64::from(self.video_spec.width)),
                uint(0xBA, u64::from(self.video_spec.height)),
                colour,
            ],
        );
        let mut entries = vec![master(
            0xAE,
            &[
                uint(0xD7, VIDEO_TRACK),
                uint(0x73C5, VIDEO_TRACK),
                uint(0x83, 1),
                uint(0x9C, 0),
                string(0x86, "V_VP9"),
                video,
            ],
        )];
        if let Some(spec) = &self.audio_spec {
            let pre_skip_ns = u64::from(opus_pre_skip(&self.opus_head)) * 1_000_000_000 / 48_000;
            entries.push(master(
                0xAE,
                &[
                    uint(0xD7, AUDIO_TRACK),
                    uint(0x73C5, AUDIO_TRACK),
                    uint(0x83, 2),
                    uint(0x9C, 0),
                    string(0x86, "A_OPUS"),
                    element(0x63A2, &self.opus_head),
                    uint(0x56AA, pre_skip_ns),
                    uint(0x56BB, 80_000_000),
                    master(
                        0xE1,
                        &[float(0xB5, 48_000.0), uint(0x9F, u64::from(spec.channels))],
                    ),
                ],
            ));
        }
        master(TRACKS, &entries)
    }

    fn cues(&self, shift: u64) -> Vec<u8> {
        let points: Vec<Vec<u8>> = self
            .cues
            .iter()
            .map(|&(millis, offset)| {
                master(
                    0xBB,
                    &[
                        uint8(0xB3, millis),
                        master(
                            0xB7,
                            &[uint(0xF7, VIDEO_TRACK), uint8(0xF1, offset + shift)],
                        ),
                    ],
                )
            })
            .collect();
        master(CUES, &points)
    }
}

impl Muxer for WebmMuxer {
    fn video(&mut self, packet: &Packet) -> Result<Vec<u8>, MuxError> {
        self.queue(VIDEO_TRACK, packet)
    }

    fn audio(&mut self, packet: &Packet) -> Result<Vec<u8>, MuxError> {
        if self.audio_spec.is_none() {
            return Ok(Vec::new());
        }
        self.queue(AUDIO_TRACK, packet)
    }

    fn finish(mut self: Box<Self>) -> Result<Finished, MuxError> {
        if self.last_video.is_none() {
            return Err(MuxError::NoVideo);
        }
        let mut tail = self.drain(true)?;
        tail.extend(self.close_cluster());
        let ebml = master(
            EBML,
            &[
                uint(0x4286, 1),
                uint(0x42F7, 1),
                uint(0x42F2, 4),
                uint(0x42F3, 8),
                string(0x4282, "webm"),
                uint(0x4287, 4),
                uint(0x4285, 2),
            ],
        );
        let info = master(
            INFO,
            &[
                uint(0x2AD7B1, 1_000_000),
                string(0x4D80, "Reelsmith"),
                string(0x5741, "Reelsmith"),
                float(0x4489, self.end_micros as f64 / 1000.0),
            ],
        );
        let tracks = self.tracks();
        let seek = |id: u32, at: u64| {
            master(
                SEEK,
                &[element(SEEK_ID, &id_bytes(id)), uint8(SEEK_POSITION, at)],
            )
        };
        // The SeekHead's size does not depend on its positions (8-byte values).
        let seek_len = master(SEEK_HEAD, &[seek(INFO, 0), seek(TRACKS, 0), seek(CUES, 0)]).len();
        let cues_len = self.cues(0).len();
        let info_at = seek_len as u64;
        let tracks_at = info_at + info.len() as u64;
        let cues_at = tracks_at + tracks.len() as u64;
        let clusters_at = cues_at + cues_len as u64;
        let seek_head = master(
            SEEK_HEAD,
            &[
                seek(INFO, info_at),
                seek(TRACKS, tracks_at),
                seek(CUES, cues_at),
            ],
        );
        let cues = self.cues(clusters_at);
        let segment_len = clusters_at + self.body_len;
        let mut head = ebml;
        head.extend(id_bytes(SEGMENT));
        head.extend(size_vint8(segment_len));
        head.extend(seek_head);
        head.extend(info);
        head.extend(tracks);
        head.extend(cues);
        Ok(Finished { head, tail })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn muxer(audio: bool) -> WebmMuxer {
        WebmMuxer::new(
            VideoSpec {
                format: VideoFormat::Vp9,
                width: 1080,
                height: 1920,
            },
            audio.then_some(AudioSpec {
                format: AudioFormat::Opus { head: None },
                sample_rate: 48_000,
                channels: 2,
            }),
        )
        .expect("muxer")
    }

    fn p(pts: i64, key: bool) -> Packet<'static> {
        Packet {
            pts_micros: pts,
            duration_micros: 20_000,
            keyframe: key,
            data: b"x",
        }
    }

    #[test]
    fn sizes_use_the_fewest_bytes_and_avoid_the_unknown_pattern() {
        assert_eq!(size_vint(0), vec![0x80]);
        assert_eq!(size_vint(126), vec![0xFE]);
        assert_eq!(size_vint(127), vec![0x40, 0x7F]);
        assert_eq!(size_vint(300), vec![0x41, 0x2C]);
        assert_eq!(size_vint8(5), vec![0x01, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(id_bytes(SEGMENT), vec![0x18, 0x53, 0x80, 0x67]);
        assert_eq!(id_bytes(TIMECODE), vec![0xE7]);
    }

    #[test]
    fn clusters_start_at_keyframes_and_at_least_every_five_seconds() {
        let mut m = muxer(false);
        let mut body = Vec::new();
        body.extend(m.video(&p(0, true)).expect("ok"));
        for k in 1..200 {
            body.extend(m.video(&p(k * 40_000, false)).expect("ok"));
        }
        body.extend(m.video(&p(200 * 40_000, true)).expect("ok"));
        let f = Box::new(m).finish().expect("finish");
        body.extend(f.tail);
        let clusters = body
            .windows(4)
            .filter(|w| *w == [0x1F, 0x43, 0xB6, 0x75])
            .count();
        // 0–4.96 s, 5–7.96 s (the 5 s rule), 8 s (a keyframe).
        assert_eq!(clusters, 3);
    }

    #[test]
    fn blocks_interleave_in_time_order() {
        let mut m = muxer(true);
        let mut order = Vec::new();
        for bytes in [
            m.audio(&p(0, true)).expect("ok"),
            m.audio(&p(20_000, true)).expect("ok"),
            m.audio(&p(40_000, true)).expect("ok"),
            m.video(&p(0, true)).expect("ok"),
            m.video(&p(33_000, false)).expect("ok"),
        ] {
            order.push(bytes.len());
        }
        // Nothing is written before the video starts (the sound waits for it).
        assert_eq!(order[..3], [0, 0, 0]);
        assert!(m.cluster.is_some());
        let f = Box::new(m).finish().expect("finish");
        let blocks: Vec<u8> = f
            .tail
            .windows(2)
            .filter(|w| w[0] == 0xA3)
            .map(|_| 0)
            .collect();
        assert!(blocks.len() >= 5);
    }

    #[test]
    fn negative_and_backward_times_are_refused() {
        let mut m = muxer(true);
        assert_eq!(m.audio(&p(-10, true)), Err(MuxError::NegativeTime(-10)));
        m.video(&p(40_000, true)).expect("ok");
        assert!(matches!(
            m.video(&p(0, true)),
            Err(MuxError::Backwards("video", 0, 40_000))
        ));
    }
}
