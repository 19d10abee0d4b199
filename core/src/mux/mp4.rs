//! MP4 with the index first ("fast start"): `ftyp`, `moov`, then `mdat` holding the samples
//! exactly as they were appended. Boxes are built with `mp4-atom`; this file only keeps the
//! sample index and lays it out. Sound that starts before the picture (a priming packet) is
//! hidden by an edit list, so players start both tracks together.

use mp4_atom::{
    esds, Atom, Audio, Avc1, Avcc, Co64, Colr, Dinf, Dref, Edts, Elst, ElstEntry, Encode, Esds,
    Ftyp, Hdlr, Mdhd, Mdia, Minf, Moov, Mp4a, Mvhd, Pasp, Smhd, Stbl, Stco, Stsc, StscEntry, Stsd,
    Stss, Stsz, StszSamples, Stts, SttsEntry, Tkhd, Trak, Url, Visual, Vmhd,
};

use super::{AudioFormat, AudioSpec, Finished, MuxError, Muxer, Packet, VideoFormat, VideoSpec};

const MOVIE_TIMESCALE: u32 = 1_000;
const VIDEO_TIMESCALE: u32 = 90_000;

/// One track's index.
#[derive(Debug, Default)]
struct Track {
    timescale: u32,
    /// Presentation time of each sample, in the track's ticks (video) — or its duration
    /// (audio, whose packets are contiguous).
    sizes: Vec<u32>,
    durations: Vec<u32>,
    keyframes: Vec<u32>,
    /// (body offset, sample count) of each run of consecutive samples.
    chunks: Vec<(u64, u32)>,
    first_pts: Option<i64>,
    last_pts: Option<i64>,
    last_duration: i64,
    /// Video: ticks of the previous sample's pts (its duration is known when the next comes).
    pending_ticks: Option<i64>,
}

impl Track {
    fn ticks(&self, micros: i64) -> i64 {
        let scaled = i128::from(micros) * i128::from(self.timescale);
        let m = 1_000_000i128;
        (if scaled >= 0 {
            (scaled + m / 2) / m
        } else {
            (scaled - m / 2) / m
        }) as i64
    }

    fn media_ticks(&self) -> u64 {
        self.durations.iter().map(|&d| u64::from(d)).sum()
    }
}

pub struct Mp4Muxer {
    video_spec: VideoSpec,
    audio_spec: Option<AudioSpec>,
    video: Track,
    audio: Track,
    body_len: u64,
    /// Which track the previous sample belonged to (a change starts a chunk).
    last_track: Option<bool>,
}

impl Mp4Muxer {
    pub fn new(video: VideoSpec, audio: Option<AudioSpec>) -> Result<Self, MuxError> {
        if video.format == VideoFormat::Vp9 {
            return Err(MuxError::Unsupported("VP9 video", "this MP4 writer"));
        }
        if let Some(AudioSpec {
            format: AudioFormat::Opus { .. },
            ..
        }) = audio
        {
            return Err(MuxError::Unsupported("Opus sound", "this MP4 writer"));
        }
        let audio_rate = audio.as_ref().map_or(48_000, |a| a.sample_rate.max(1));
        Ok(Self {
            video_spec: video,
            audio_spec: audio,
            video: Track {
                timescale: VIDEO_TIMESCALE,
                ..Track::default()
            },
            audio: Track {
                timescale: audio_rate,
                ..Track::default()
            },
            body_len: 0,
            last_track: None,
        })
    }

    fn record(&mut self, is_video: bool, packet: &Packet) -> Result<Vec<u8>, MuxError> {
        let name = if is_video { "video" } else { "audio" };
        let offset = self.body_len;
        let continues = self.last_track == Some(is_video);
        let track = if is_video {
            &mut self.video
        } else {
            &mut self.audio
        };
        if let Some(last) = track.last_pts {
            if packet.pts_micros <= last {
                return Err(MuxError::Backwards(name, packet.pts_micros, last));
            }
        }
        track.first_pts.get_or_insert(packet.pts_micros);
        track.last_pts = Some(packet.pts_micros);
        track.last_duration = packet.duration_micros.max(1);
        let index = track.sizes.len() as u32;
        track.sizes.push(packet.data.len() as u32);
        if is_video {
            // Durations from the difference of presentation times (exact in ticks).
            let ticks = track.ticks(packet.pts_micros);
            if let Some(prev) = track.pending_ticks.replace(ticks) {
                track.durations.push((ticks - prev).max(1) as u32);
            }
            if packet.keyframe {
                track.keyframes.push(index + 1);
            }
        } else {
            track
                .durations
                .push(track.ticks(packet.duration_micros).max(1) as u32);
        }
        match track.chunks.last_mut() {
            Some(chunk) if continues => chunk.1 += 1,
            _ => track.chunks.push((offset, 1)),
        }
        self.last_track = Some(is_video);
        self.body_len += packet.data.len() as u64;
        Ok(packet.data.to_vec())
    }

    fn moov(&self, shift: u64, wide: bool) -> Result<Moov, MuxError> {
        let video_media = self.video.media_ticks();
        let video_skip = self
            .video
            .first_pts
            .map_or(0, |p| self.video.ticks(p))
            .max(0);
        let video_secs = video_media as f64 / f64::from(VIDEO_TIMESCALE);
        let audio_skip = self
            .audio
            .first_pts
            .map_or(0, |p| (-self.audio.ticks(p)).max(0)) as u64;
        let audio_media = self.audio.media_ticks();
        let audio_secs =
            audio_media.saturating_sub(audio_skip) as f64 / f64::from(self.audio.timescale);
        let has_audio = self.audio_spec.is_some() && !self.audio.sizes.is_empty();
        let movie = |secs: f64| (secs * f64::from(MOVIE_TIMESCALE)).round() as u64;
        let duration = movie(if has_audio {
            video_secs.max(audio_secs)
        } else {
            video_secs
        });
        let mut trak = vec![self.video_trak(shift, wide, movie(video_secs), video_skip as u64)?];
        if let (true, Some(spec)) = (has_audio, self.audio_spec.as_ref()) {
            trak.push(self.audio_trak(spec, shift, wide, movie(audio_secs), audio_skip)?);
        }
        Ok(Moov {
            mvhd: Mvhd {
                timescale: MOVIE_TIMESCALE,
                duration,
                rate: 1.into(),
                volume: 1.into(),
                next_track_id: trak.len() as u32 + 1,
                ..Default::default()
            },
            trak,
            ..Default::default()
        })
    }

    fn video_trak(
        &self,
        shift: u64,
        wide: bool,
        duration: u64,
        skip: u64,
    ) -> Result<Trak, MuxError> {
        let VideoFormat::H264 { avcc } = &self.video_spec.format else {
            return Err(MuxError::Unsupported("VP9 video", "this MP4 writer"));
        };
        let avcc = Avcc::decode_body(&mut avcc.as_slice())
            .map_err(|e| MuxError::BadDescription(e.to_string()))?;
        let (w, h) = (self.video_spec.width, self.video_spec.height);
        let codec = Avc1 {
            visual: Visual {
                data_reference_index: 1,
                width: w as u16,
                height: h as u16,
                compressor: "Reelsmith".into(),
                ..Default::default()
            },
            avcc,
            // BT.709 primaries, transfer and matrix; limited ("video") range.
            colr: Some(Colr::Nclx {
                colour_primaries: 1,
                transfer_characteristics: 1,
                matrix_coefficients: 1,
                full_range_flag: false,
            }),
            pasp: Some(Pasp {
                h_spacing: 1,
                v_spacing: 1,
            }),
            ..Default::default()
        };
        let mut durations = self.video.durations.clone();
        if !self.video.sizes.is_empty() {
            durations.push(self.video.ticks(self.video.last_duration).max(1) as u32);
        }
        let stbl = Stbl {
            stsd: Stsd {
                codecs: vec![codec.into()],
            },
            stts: stts(&durations),
            stss: Some(Stss {
                entries: self.video.keyframes.clone(),
            }),
            stsc: stsc(&self.video.chunks),
            stsz: Stsz {
                samples: StszSamples::Different {
                    sizes: self.video.sizes.clone(),
                },
            },
            ..Default::default()
        };
        let stbl = with_offsets(stbl, &self.video.chunks, shift, wide);
        let media: u64 = durations.iter().map(|&d| u64::from(d)).sum();
        Ok(Trak {
            tkhd: Tkhd {
                track_id: 1,
                duration,
                enabled: true,
                in_movie: true,
                width: (w as u16).into(),
                height: (h as u16).into(),
                ..Default::default()
            },
            edts: (skip > 0).then(|| edit(duration, skip)),
            mdia: Mdia {
                mdhd: Mdhd {
                    timescale: VIDEO_TIMESCALE,
                    duration: media,
                    language: "und".into(),
                    ..Default::default()
                },
                hdlr: Hdlr {
                    handler: b"vide".into(),
                    name: "VideoHandler".into(),
                },
                minf: Minf {
                    vmhd: Some(Vmhd::default()),
                    dinf: dinf(),
                    stbl,
                    ..Default::default()
                },
            },
            ..Default::default()
        })
    }

    fn audio_trak(
        &self,
        spec: &AudioSpec,
        shift: u64,
        wide: bool,
        duration: u64,
        skip: u64,
    ) -> Result<Trak, MuxError> {
        let AudioFormat::Aac { asc } = &spec.format else {
            return Err(MuxError::Unsupported("Opus sound", "this MP4 writer"));
        };
        let codec = Mp4a {
            audio: Audio {
                data_reference_index: 1,
                channel_count: spec.channels,
                sample_size: 16,
                sample_rate: (spec.sample_rate.min(65_535) as u16).into(),
            },
            esds: Esds {
                es_desc: esds::EsDescriptor {
                    es_id: 2,
                    dec_config: esds::DecoderConfig {
                        object_type_indication: 0x40,
                        stream_type: 5,
                        dec_specific: Some(esds::DecoderSpecific {
                            raw: asc.clone(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            },
            btrt: None,
            taic: None,
        };
        let stbl = Stbl {
            stsd: Stsd {
                codecs: vec![codec.into()],
            },
            stts: stts(&self.audio.durations),
            stsc: stsc(&self.audio.chunks),
            stsz: Stsz {
                samples: StszSamples::Different {
                    sizes: self.audio.sizes.clone(),
                },
            },
            ..Default::default()
        };
        let stbl = with_offsets(stbl, &self.audio.chunks, shift, wide);
        Ok(Trak {
            tkhd: Tkhd {
                track_id: 2,
                duration,
                alternate_group: 1,
                enabled: true,
                in_movie: true,
                volume: 1.into(),
                ..Default::default()
            },
            edts: Some(edit(duration, skip)),
            mdia: Mdia {
                mdhd: Mdhd {
                    timescale: self.audio.timescale,
                    duration: self.audio.media_ticks(),
                    language: "und".into(),
                    ..Default::default()
                },
                hdlr: Hdlr {
                    handler: b"soun".into(),
                    name: "SoundHandler".into(),
                },
                minf: Minf {
                    smhd: Some(Smhd::default()),
                    dinf: dinf(),
                    stbl,
                    ..Default::default()
                },
            },
            ..Default::default()
        })
    }
}

fn edit(duration: u64, skip: u64) -> Edts {
    Edts {
        elst: Some(Elst {
            entries: vec![ElstEntry {
                segment_duration: duration,
                media_time: Some(skip),
                media_rate: 1.into(),
            }],
        }),
    }
}

fn dinf() -> Dinf {
    Dinf {
        dref: Dref {
            entries: vec![Url {
                location: String::new(),
            }
            .into()],
        },
    }
}

/// Durations run-length encoded.
fn stts(durations: &[u32]) -> Stts {
    let mut entries: Vec<SttsEntry> = Vec::new();
    for &d in durations {
        match entries.last_mut() {
            Some(e) if e.sample_delta == d => e.sample_count += 1,
            _ => entries.push(SttsEntry {
                sample_count: 1,
                sample_delta: d,
            }),
        }
    }
    Stts { entries }
}

/// Samples per chunk, run-length encoded.
fn stsc(chunks: &[(u64, u32)]) -> Stsc {
    let mut entries: Vec<StscEntry> = Vec::new();
    for (i, &(_, count)) in chunks.iter().enumerate() {
        if entries.last().is_some_and(|e| e.samples_per_chunk == count) {
            continue;
        }
        entries.push(StscEntry {
            first_chunk: i as u32 + 1,
            samples_per_chunk: count,
            sample_description_index: 1,
        });
    }
    Stsc { entries }
}

fn with_offsets(mut stbl: Stbl, chunks: &[(u64, u32)], shift: u64, wide: bool) -> Stbl {
    let offsets = chunks.iter().map(|&(o, _)| o + shift);
    if wide {
        stbl.co64 = Some(Co64 {
            entries: offsets.collect(),
        });
    } else {
        stbl.stco = Some(Stco {
            entries: offsets.map(|o| o as u32).collect(),
        });
    }
    stbl
}

fn encode(atom: &impl Encode) -> Result<Vec<u8>, MuxError> {
    let mut out = Vec::new();
    atom.encode(&mut out)
        .map_err(|e| MuxError::Index(e.to_string()))?;
    Ok(out)
}

impl Muxer for Mp4Muxer {
    fn video(&mut self, packet: &Packet) -> Result<Vec<u8>, MuxError> {
        self.record(true, packet)
    }

    fn audio(&mut self, packet: &Packet) -> Result<Vec<u8>, MuxError> {
        if self.audio_spec.is_none() {
            return Ok(Vec::new());
        }
        self.record(false, packet)
    }

    fn finish(self: Box<Self>) -> Result<Finished, MuxError> {
        if self.video.sizes.is_empty() {
            return Err(MuxError::NoVideo);
        }
        let ftyp = encode(&Ftyp {
            major_brand: b"isom".into(),
            minor_version: 512,
            compatible_brands: vec![
                b"isom".into(),
                b"iso2".into(),
                b"avc1".into(),
                b"mp41".into(),
            ],
        })?;
        let large_mdat = self.body_len + 8 > u64::from(u32::MAX);
        let mdat_header = if large_mdat {
            let mut h = 1u32.to_be_bytes().to_vec();
            h.extend_from_slice(b"mdat");
            h.extend_from_slice(&(self.body_len + 16).to_be_bytes());
            h
        } else {
            let mut h = ((self.body_len + 8) as u32).to_be_bytes().to_vec();
            h.extend_from_slice(b"mdat");
            h
        };
        // Lay out once with zero offsets to learn the index's size, then for real (the size
        // does not depend on the offsets' values).
        let probe = encode(&self.moov(0, false)?)?;
        let wide = (ftyp.len() + probe.len() + mdat_header.len()) as u64 + self.body_len
            > u64::from(u32::MAX);
        let probe = if wide {
            encode(&self.moov(0, true)?)?
        } else {
            probe
        };
        let shift = (ftyp.len() + probe.len() + mdat_header.len()) as u64;
        let moov = encode(&self.moov(shift, wide)?)?;
        if moov.len() != probe.len() {
            return Err(MuxError::Index(
                "the index changed size while laid out".into(),
            ));
        }
        let mut head = ftyp;
        head.extend_from_slice(&moov);
        head.extend_from_slice(&mdat_header);
        Ok(Finished {
            head,
            tail: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> VideoSpec {
        VideoSpec {
            // A minimal avcC: version 1, High profile, level 4.0, 4-byte lengths, one SPS/PPS.
            format: VideoFormat::H264 {
                avcc: vec![
                    1, 0x64, 0, 0x28, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x28, 1, 0, 2, 0x68, 0xee,
                ],
            },
            width: 1080,
            height: 1920,
        }
    }

    fn packet(pts: i64, data: &[u8]) -> Packet<'_> {
        Packet {
            pts_micros: pts,
            duration_micros: 40_000,
            keyframe: pts == 0,
            data,
        }
    }

    #[test]
    fn the_index_comes_first_and_offsets_point_past_it() {
        let mut m = Mp4Muxer::new(spec(), None).expect("muxer");
        let mut body = Vec::new();
        body.extend(m.video(&packet(0, b"aaaa")).expect("ok"));
        body.extend(m.video(&packet(40_000, b"bb")).expect("ok"));
        let f = Box::new(m).finish().expect("finished");
        assert_eq!(&f.head[4..8], b"ftyp");
        let moov_at = u32::from_be_bytes(f.head[0..4].try_into().expect("4")) as usize;
        assert_eq!(&f.head[moov_at + 4..moov_at + 8], b"moov");
        let mdat = &f.head[f.head.len() - 8..];
        assert_eq!(&mdat[4..], b"mdat");
        assert_eq!(u32::from_be_bytes(mdat[..4].try_into().expect("4")), 8 + 6);
        // The single chunk offset is the head's length.
        let stco = f.head.windows(4).position(|w| w == b"stco").expect("stco");
        let offset = u32::from_be_bytes(f.head[stco + 12..stco + 16].try_into().expect("4"));
        assert_eq!(offset as usize, f.head.len());
    }

    #[test]
    fn times_going_backwards_are_refused() {
        let mut m = Mp4Muxer::new(spec(), None).expect("muxer");
        m.video(&packet(40_000, b"a")).expect("ok");
        assert!(matches!(
            m.video(&packet(0, b"b")),
            Err(MuxError::Backwards("video", 0, 40_000))
        ));
    }

    #[test]
    fn vp9_and_opus_are_not_for_this_writer() {
        let vp9 = VideoSpec {
            format: VideoFormat::Vp9,
            ..spec()
        };
        assert!(Mp4Muxer::new(vp9, None).is_err());
        let opus = AudioSpec {
            format: AudioFormat::Opus { head: None },
            sample_rate: 48_000,
            channels: 2,
        };
        assert!(Mp4Muxer::new(spec(), Some(opus)).is_err());
    }
}
