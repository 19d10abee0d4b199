//! MP4 and QuickTime (MOV) demuxing. Atom decoding is `mp4-atom`'s; this module is the glue:
//! it walks the top-level boxes with on-demand reads (skipping `mdat`, however large), decodes
//! only `moov`, and turns the sample tables (`stts`, `ctts`, `stsc`, `stsz`, `stco`, `stss`,
//! `elst`) into a flat list of [`Sample`]s with presentation times in microseconds.

use mp4_atom::{Codec, Decode, Encode, FourCC, Moov, StszSamples, Trak};

use crate::media::{
    cut_short_warning, drop_samples_past_end, micros_from_ticks, playable_micros, AudioCodec,
    AudioTrack, Container, MediaError, MediaInfo, Sample, VideoCodec, VideoTrack,
};
use crate::source::ByteSource;

/// A `moov` larger than this is not a real index (a 10-hour 60 fps file has ~40 MB).
const MAX_MOOV_BYTES: u64 = 256 * 1024 * 1024;

const TOP_LEVEL: [&[u8; 4]; 14] = [
    b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"pdin", b"meta", b"moof",
    b"mfra", b"styp", b"sidx", b"junk",
];

/// An opened MP4/MOV file: its description and every sample's place in the file.
#[derive(Debug, Clone)]
pub struct Mp4Demuxer {
    pub info: MediaInfo,
    pub video_samples: Vec<Sample>,
    pub audio_samples: Vec<Sample>,
}

struct BoxHeader {
    kind: [u8; 4],
    offset: u64,
    header_len: u64,
    /// Total size including the header; `None` when the box runs to the end of the file.
    size: Option<u64>,
}

async fn read_box_header<S: ByteSource + ?Sized>(
    src: &S,
    offset: u64,
) -> Result<Option<BoxHeader>, MediaError> {
    let head = src.read_at(offset, 16).await?;
    if head.is_empty() {
        return Ok(None);
    }
    if head.len() < 8 {
        return Err(MediaError::Truncated(format!(
            "it ends inside a box header at byte {offset}"
        )));
    }
    let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let kind = [head[4], head[5], head[6], head[7]];
    let (header_len, size) = match size32 {
        0 => (8, None),
        1 => {
            if head.len() < 16 {
                return Err(MediaError::Truncated(format!(
                    "it ends inside a box header at byte {offset}"
                )));
            }
            let mut large = [0u8; 8];
            large.copy_from_slice(&head[8..16]);
            (16, Some(u64::from_be_bytes(large)))
        }
        n => (8, Some(u64::from(n))),
    };
    if size.is_some_and(|s| s < header_len) {
        return Err(MediaError::Corrupt(format!(
            "a box at byte {offset} has an impossible size"
        )));
    }
    Ok(Some(BoxHeader {
        kind,
        offset,
        header_len,
        size,
    }))
}

/// Whether the first bytes look like an ISO-BMFF/QuickTime file.
pub fn sniff(head: &[u8]) -> bool {
    head.len() >= 8 && TOP_LEVEL.iter().any(|k| &head[4..8] == *k)
}

impl Mp4Demuxer {
    pub async fn open<S: ByteSource + ?Sized>(src: &S) -> Result<Self, MediaError> {
        let file_len = src.len_bytes();
        let mut offset = 0;
        let mut moov_bytes = None;
        let mut quicktime = false;
        let mut first = true;
        let mut fragmented = false;
        while let Some(header) = read_box_header(src, offset).await? {
            if first {
                if !TOP_LEVEL.iter().any(|k| header.kind == **k) {
                    return Err(MediaError::NotAVideo);
                }
                first = false;
            }
            let size = header.size.unwrap_or(file_len - header.offset);
            match &header.kind {
                b"ftyp" => {
                    let ftyp = src.read_at(offset + 8, 4).await?;
                    quicktime = ftyp == b"qt  ";
                }
                b"wide" => quicktime = true,
                b"moof" => fragmented = true,
                b"moov" => {
                    if size > MAX_MOOV_BYTES {
                        return Err(MediaError::Corrupt(format!(
                            "its index (moov) claims {size} bytes"
                        )));
                    }
                    if header.offset + size > file_len {
                        return Err(MediaError::Truncated(
                            "the file ends inside its index (moov)".into(),
                        ));
                    }
                    moov_bytes = Some(src.read_exact_at(header.offset, size as usize).await?);
                }
                _ => {}
            }
            let _ = header.header_len;
            offset = header.offset + size;
            if offset >= file_len {
                break;
            }
        }
        let Some(moov_bytes) = moov_bytes else {
            if first {
                return Err(MediaError::NotAVideo);
            }
            if fragmented {
                return Err(MediaError::Unsupported(
                    "Fragmented MP4 files are not supported yet; re-save the video as a regular MP4."
                        .into(),
                ));
            }
            return Err(MediaError::Truncated(
                "its index (the moov box, written last by most recorders) is missing".into(),
            ));
        };
        let moov = Moov::decode(&mut moov_bytes.as_slice())
            .map_err(|e| MediaError::Corrupt(format!("its index (moov) cannot be read ({e})")))?;
        Self::from_moov(&moov, file_len, quicktime)
    }

    fn from_moov(moov: &Moov, file_len: u64, quicktime: bool) -> Result<Self, MediaError> {
        let mut info = MediaInfo {
            container: if quicktime {
                Container::QuickTime
            } else {
                Container::Mp4
            },
            duration_micros: micros_from_ticks(
                i64::try_from(moov.mvhd.duration).unwrap_or(0),
                moov.mvhd.timescale,
            ),
            video: None,
            audio: None,
            warnings: vec![],
        };
        let mut video_samples = vec![];
        let mut audio_samples = vec![];
        let mut cut_short = false;
        for trak in &moov.trak {
            let handler = trak.mdia.hdlr.handler;
            if handler == FourCC::new(b"vide") && info.video.is_none() {
                let mut samples = sample_table(trak, moov.mvhd.timescale)?;
                cut_short |= drop_samples_past_end(&mut samples, file_len);
                info.video = Some(video_track(trak, &samples)?);
                video_samples = samples;
            } else if handler == FourCC::new(b"soun") && info.audio.is_none() {
                let mut samples = sample_table(trak, moov.mvhd.timescale)?;
                cut_short |= drop_samples_past_end(&mut samples, file_len);
                info.audio = Some(audio_track(trak)?);
                audio_samples = samples;
            }
        }
        if info.duration_micros <= 0 {
            info.duration_micros =
                playable_micros(&video_samples).max(playable_micros(&audio_samples));
        }
        if cut_short {
            let playable = match (&info.video, &info.audio) {
                (Some(_), _) => playable_micros(&video_samples),
                (None, _) => playable_micros(&audio_samples),
            };
            info.warnings
                .push(cut_short_warning(playable, info.duration_micros));
        }
        Ok(Self {
            info,
            video_samples,
            audio_samples,
        })
    }
}

/// Flattens a track's sample tables into samples in decode order.
fn sample_table(trak: &Trak, movie_timescale: u32) -> Result<Vec<Sample>, MediaError> {
    let stbl = &trak.mdia.minf.stbl;
    let timescale = trak.mdia.mdhd.timescale;
    let corrupt = |what: &str| MediaError::Corrupt(format!("track {}: {what}", trak.tkhd.track_id));

    let sizes: Vec<u32> = match &stbl.stsz.samples {
        StszSamples::Identical { count, size } => vec![*size; *count as usize],
        StszSamples::Different { sizes } => sizes.clone(),
    };
    let chunk_offsets: Vec<u64> = match (&stbl.stco, &stbl.co64) {
        (Some(stco), _) => stco.entries.iter().map(|&o| u64::from(o)).collect(),
        (None, Some(co64)) => co64.entries.clone(),
        (None, None) => return Err(corrupt("no chunk offsets")),
    };

    // Byte offset of every sample: walk chunks, each with the run length stsc gives it.
    let mut offsets = Vec::with_capacity(sizes.len());
    let stsc = &stbl.stsc.entries;
    let mut sample = 0usize;
    for (chunk_index, &chunk_offset) in chunk_offsets.iter().enumerate() {
        let chunk_number = chunk_index as u32 + 1;
        let Some(entry) = stsc.iter().rev().find(|e| e.first_chunk <= chunk_number) else {
            return Err(corrupt("sample-to-chunk table does not cover chunk 1"));
        };
        let mut pos = chunk_offset;
        for _ in 0..entry.samples_per_chunk {
            let Some(&size) = sizes.get(sample) else {
                break;
            };
            offsets.push(pos);
            pos += u64::from(size);
            sample += 1;
        }
    }
    if offsets.len() != sizes.len() {
        return Err(corrupt("chunk tables and sample sizes disagree"));
    }

    // Decode times from stts, composition offsets from ctts.
    let mut deltas = Vec::with_capacity(sizes.len());
    for e in &stbl.stts.entries {
        deltas.extend(std::iter::repeat_n(
            i64::from(e.sample_delta),
            e.sample_count as usize,
        ));
    }
    deltas.resize(sizes.len(), deltas.last().copied().unwrap_or(0));
    let mut cts = Vec::with_capacity(sizes.len());
    if let Some(ctts) = &stbl.ctts {
        for e in &ctts.entries {
            cts.extend(std::iter::repeat_n(
                e.sample_offset,
                e.sample_count as usize,
            ));
        }
    }
    cts.resize(sizes.len(), 0);

    // The edit list says which media time is shown at time zero (B-frame delay, encoder delay),
    // and empty edits delay the whole track.
    let mut shift_ticks = 0i64;
    let mut delay_micros = 0i64;
    if let Some(elst) = trak.edts.as_ref().and_then(|e| e.elst.as_ref()) {
        for entry in &elst.entries {
            match entry.media_time {
                None => {
                    delay_micros += micros_from_ticks(
                        i64::try_from(entry.segment_duration).unwrap_or(0),
                        movie_timescale,
                    )
                }
                Some(t) => {
                    shift_ticks = i64::try_from(t).unwrap_or(0);
                    break;
                }
            }
        }
    }

    let keyframes: Option<std::collections::HashSet<u32>> = stbl
        .stss
        .as_ref()
        .map(|s| s.entries.iter().copied().collect());
    let mut dts = 0i64;
    let samples = (0..sizes.len())
        .map(|i| {
            let pts = dts + cts[i] - shift_ticks;
            let s = Sample {
                pts_micros: micros_from_ticks(pts, timescale) + delay_micros,
                duration_micros: micros_from_ticks(deltas[i], timescale),
                offset: offsets[i],
                size: sizes[i],
                keyframe: keyframes
                    .as_ref()
                    .is_none_or(|k| k.contains(&(i as u32 + 1))),
            };
            dts += deltas[i];
            s
        })
        .collect();
    Ok(samples)
}

/// The payload of an atom (its bytes without the 8-byte header), as a decoder's description.
fn atom_payload<A: Encode>(atom: &A) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    atom.encode(&mut out).ok()?;
    Some(out.split_off(8))
}

fn video_track(trak: &Trak, samples: &[Sample]) -> Result<VideoTrack, MediaError> {
    let Some(codec) = trak.mdia.minf.stbl.stsd.codecs.first() else {
        return Err(MediaError::Corrupt(
            "the video track has no codec description".into(),
        ));
    };
    let (kind, codec_string, description) = match codec {
        Codec::Avc1(avc1) => (
            VideoCodec::H264,
            avc_codec_string(&avc1.avcc),
            atom_payload(&avc1.avcc),
        ),
        Codec::Avc3(avc3) => (
            VideoCodec::H264,
            avc_codec_string(&avc3.avcc),
            atom_payload(&avc3.avcc),
        ),
        Codec::Hvc1(h) => (
            VideoCodec::Hevc,
            hevc_codec_string("hvc1", &h.hvcc),
            atom_payload(&h.hvcc),
        ),
        Codec::Hev1(h) => (
            VideoCodec::Hevc,
            hevc_codec_string("hev1", &h.hvcc),
            atom_payload(&h.hvcc),
        ),
        Codec::Vp08(_) => (VideoCodec::Vp8, "vp8".to_string(), None),
        Codec::Vp09(v) => (
            VideoCodec::Vp9,
            format!(
                "vp09.{:02}.{:02}.{:02}",
                v.vpcc.profile, v.vpcc.level, v.vpcc.bit_depth
            ),
            None,
        ),
        Codec::Av01(a) => (
            VideoCodec::Av1,
            av1_codec_string(&a.av1c),
            atom_payload(&a.av1c),
        ),
        other => {
            let name = format!("{other:?}");
            let name = name.split('(').next().unwrap_or("unknown").to_string();
            (VideoCodec::Other(name.clone()), name.to_lowercase(), None)
        }
    };
    let visual = codec.visual();
    let (width, height) = match visual {
        Some(v) => (u32::from(v.width), u32::from(v.height)),
        None => (
            u32::from(trak.tkhd.width.integer()),
            u32::from(trak.tkhd.height.integer()),
        ),
    };
    let total_micros: i64 = samples.iter().map(|s| s.duration_micros).sum();
    let frame_rate = if total_micros > 0 {
        samples.len() as f64 * 1e6 / total_micros as f64
    } else {
        0.0
    };
    Ok(VideoTrack {
        track_id: u64::from(trak.tkhd.track_id),
        codec: kind,
        codec_string,
        width,
        height,
        frame_rate,
        description,
    })
}

fn avc_codec_string(avcc: &mp4_atom::Avcc) -> String {
    format!(
        "avc1.{:02x}{:02x}{:02x}",
        avcc.avc_profile_indication, avcc.profile_compatibility, avcc.avc_level_indication
    )
}

/// `hvc1.<space><profile>.<compat, bit-reversed hex>.<tier><level>.<constraints>` (ISO 14496-15 E.3).
fn hevc_codec_string(prefix: &str, h: &mp4_atom::Hvcc) -> String {
    let space = ["", "A", "B", "C"][usize::from(h.general_profile_space & 3)];
    let compat = u32::from_be_bytes(h.general_profile_compatibility_flags).reverse_bits();
    let tier = if h.general_tier_flag { 'H' } else { 'L' };
    let mut constraints: Vec<String> = h
        .general_constraint_indicator_flags
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    while constraints.last().is_some_and(|c| c == "00") {
        constraints.pop();
    }
    let mut s = format!(
        "{prefix}.{space}{}.{compat:X}.{tier}{}",
        h.general_profile_idc, h.general_level_idc
    );
    for c in constraints {
        s.push('.');
        s.push_str(&c);
    }
    s
}

fn av1_codec_string(c: &mp4_atom::Av1c) -> String {
    let depth = match (c.high_bitdepth, c.twelve_bit) {
        (true, true) => 12,
        (true, false) => 10,
        _ => 8,
    };
    format!(
        "av01.{}.{:02}{}.{depth:02}",
        c.seq_profile,
        c.seq_level_idx_0,
        if c.seq_tier_0 { 'H' } else { 'M' }
    )
}

fn audio_track(trak: &Trak) -> Result<AudioTrack, MediaError> {
    let Some(codec) = trak.mdia.minf.stbl.stsd.codecs.first() else {
        return Err(MediaError::Corrupt(
            "the audio track has no codec description".into(),
        ));
    };
    let track_id = u64::from(trak.tkhd.track_id);
    Ok(match codec {
        Codec::Mp4a(mp4a) => {
            let dc = &mp4a.esds.es_desc.dec_config;
            let (kind, codec_string, description) =
                match (dc.object_type_indication, &dc.dec_specific) {
                    (0x40, Some(ds)) => (
                        AudioCodec::Aac,
                        format!("mp4a.40.{}", ds.profile),
                        Some(ds.raw.clone()).filter(|r| !r.is_empty()),
                    ),
                    (0x40, None) => (AudioCodec::Aac, "mp4a.40.2".into(), None),
                    (0x69 | 0x6B, _) => (AudioCodec::Mp3, "mp3".into(), None),
                    (oti, _) => (
                        AudioCodec::Other(format!("MPEG-4 audio 0x{oti:02x}")),
                        format!("mp4a.{oti:02x}"),
                        None,
                    ),
                };
            // The AudioSpecificConfig is authoritative; the sample entry's fields are often
            // placeholders (ffmpeg writes 2 channels for mono, rates over 65535 do not fit).
            const AAC_RATES: [u32; 13] = [
                96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000,
                7350,
            ];
            let asc = dc.dec_specific.as_ref().filter(|_| kind == AudioCodec::Aac);
            let sample_rate_hz = asc
                .and_then(|ds| AAC_RATES.get(usize::from(ds.freq_index)).copied())
                .unwrap_or(u32::from(mp4a.audio.sample_rate.integer()));
            let channels = asc
                .map(|ds| u32::from(ds.chan_conf))
                .filter(|&c| c > 0)
                .unwrap_or(u32::from(mp4a.audio.channel_count));
            AudioTrack {
                track_id,
                codec: kind,
                codec_string,
                sample_rate_hz,
                channels,
                description,
            }
        }
        Codec::Opus(opus) => AudioTrack {
            track_id,
            codec: AudioCodec::Opus,
            codec_string: "opus".into(),
            sample_rate_hz: 48_000,
            channels: u32::from(opus.dops.output_channel_count),
            description: None,
        },
        other => {
            let name = format!("{other:?}");
            let name = name.split('(').next().unwrap_or("unknown").to_string();
            AudioTrack {
                track_id,
                codec: AudioCodec::Other(name.clone()),
                codec_string: name.to_lowercase(),
                sample_rate_hz: trak.mdia.mdhd.timescale,
                channels: 0,
                description: None,
            }
        }
    })
}
