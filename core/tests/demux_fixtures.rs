//! The demuxers against ffprobe's own reading of the fixtures that tests/fixtures/make.sh makes
//! (durations, codecs, sizes, sample counts, keyframe times), and their behaviour on broken files.

#![cfg(not(target_arch = "wasm32"))] // reads fixtures from disk
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use std::path::PathBuf;

use futures::executor::block_on;
use reelsmith_core::media::{AudioCodec, Container, VideoCodec};
use reelsmith_core::source::{CountingSource, FileSource};
use reelsmith_core::{Demuxer, MediaError};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/out")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run tests/fixtures/make.sh",
        path.display()
    );
    path
}

fn open(name: &str) -> Result<Demuxer, MediaError> {
    let src = FileSource::open(fixture(name)).unwrap();
    block_on(Demuxer::open(&src))
}

struct Probe {
    json: Value,
    keyframe_secs: Vec<f64>,
}

impl Probe {
    fn load(name: &str) -> Self {
        let json: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("{name}.probe.json"))).unwrap(),
        )
        .unwrap();
        let csv = std::fs::read_to_string(fixture(&format!("{name}.vpackets.csv"))).unwrap();
        let keyframe_secs = csv
            .lines()
            .filter(|l| l.contains(",K"))
            .map(|l| l.split(',').next().unwrap().parse().unwrap())
            .collect();
        Probe {
            json,
            keyframe_secs,
        }
    }

    fn stream(&self, kind: &str) -> &Value {
        self.json["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["codec_type"] == kind)
            .unwrap()
    }

    fn num(v: &Value) -> f64 {
        match v {
            Value::String(s) => s.parse().unwrap(),
            other => other.as_f64().unwrap(),
        }
    }

    fn rate(v: &Value) -> f64 {
        let s = v.as_str().unwrap();
        let (n, d) = s.split_once('/').unwrap();
        n.parse::<f64>().unwrap() / d.parse::<f64>().unwrap()
    }
}

/// Everything a user sees about a file, and every sample's timing, as ffprobe has it.
fn check_against_ffprobe(name: &str, container: Container, video: VideoCodec, audio: AudioCodec) {
    let probe = Probe::load(name);
    let demuxer = open(name).unwrap();
    let info = demuxer.info();
    assert_eq!(info.container, container, "{name}");
    assert!(info.warnings.is_empty(), "{name}: {:?}", info.warnings);

    let duration = Probe::num(&probe.json["format"]["duration"]);
    assert!(
        (info.duration_secs() - duration).abs() < 0.03,
        "{name}: duration {} vs ffprobe {duration}",
        info.duration_secs()
    );

    let v = info.video.as_ref().unwrap();
    let pv = probe.stream("video");
    assert_eq!(v.codec, video, "{name}");
    assert_eq!(u64::from(v.width), pv["width"].as_u64().unwrap(), "{name}");
    assert_eq!(
        u64::from(v.height),
        pv["height"].as_u64().unwrap(),
        "{name}"
    );
    let fps = Probe::rate(&pv["r_frame_rate"]);
    assert!(
        (v.frame_rate - fps).abs() < 0.05,
        "{name}: {} fps vs ffprobe {fps}",
        v.frame_rate
    );

    let a = info.audio.as_ref().unwrap();
    let pa = probe.stream("audio");
    assert_eq!(a.codec, audio, "{name}");
    assert_eq!(
        u64::from(a.sample_rate_hz),
        Probe::num(&pa["sample_rate"]) as u64,
        "{name}"
    );
    assert_eq!(
        u64::from(a.channels),
        pa["channels"].as_u64().unwrap(),
        "{name}"
    );

    let src = FileSource::open(fixture(name)).unwrap();
    let (video_samples, audio_samples) = block_on(demuxer.all_samples(&src)).unwrap();
    assert_eq!(
        video_samples.len() as u64,
        Probe::num(&pv["nb_read_packets"]) as u64,
        "{name}: video samples"
    );
    assert_eq!(
        audio_samples.len() as u64,
        Probe::num(&pa["nb_read_packets"]) as u64,
        "{name}: audio samples"
    );

    let keys: Vec<f64> = video_samples
        .iter()
        .filter(|s| s.keyframe)
        .map(|s| s.pts_micros as f64 / 1e6)
        .collect();
    assert_eq!(
        keys.len(),
        probe.keyframe_secs.len(),
        "{name}: keyframes {keys:?} vs {:?}",
        probe.keyframe_secs
    );
    for (ours, theirs) in keys.iter().zip(&probe.keyframe_secs) {
        assert!(
            (ours - theirs).abs() < 0.001,
            "{name}: keyframe at {ours} vs ffprobe {theirs}"
        );
    }

    // Every presentation time ffprobe lists, we list too.
    let csv = std::fs::read_to_string(fixture(&format!("{name}.vpackets.csv"))).unwrap();
    let mut theirs: Vec<i64> = csv
        .lines()
        .map(|l| (l.split(',').next().unwrap().parse::<f64>().unwrap() * 1e6).round() as i64)
        .collect();
    let mut ours: Vec<i64> = video_samples.iter().map(|s| s.pts_micros).collect();
    theirs.sort_unstable();
    ours.sort_unstable();
    for (o, t) in ours.iter().zip(&theirs) {
        assert!((o - t).abs() <= 1, "{name}: pts {o} vs ffprobe {t}");
    }
}

#[test]
fn mp4_16x9_faststart() {
    check_against_ffprobe(
        "h264_aac_16x9.mp4",
        Container::Mp4,
        VideoCodec::H264,
        AudioCodec::Aac,
    );
}

#[test]
fn mp4_9x16_index_at_end_with_b_frames() {
    check_against_ffprobe(
        "h264_aac_9x16.mp4",
        Container::Mp4,
        VideoCodec::H264,
        AudioCodec::Aac,
    );
}

#[test]
fn quicktime_mov() {
    check_against_ffprobe(
        "h264_aac.mov",
        Container::QuickTime,
        VideoCodec::H264,
        AudioCodec::Aac,
    );
}

#[test]
fn webm_vp9_opus() {
    check_against_ffprobe(
        "vp9_opus.webm",
        Container::WebM,
        VideoCodec::Vp9,
        AudioCodec::Opus,
    );
}

#[test]
fn speech_video() {
    check_against_ffprobe(
        "speech.mp4",
        Container::Mp4,
        VideoCodec::H264,
        AudioCodec::Aac,
    );
}

#[test]
fn decoder_configuration_is_exposed() {
    let d = open("h264_aac_16x9.mp4").unwrap();
    let v = d.info().video.as_ref().unwrap();
    assert!(v.codec_string.starts_with("avc1.64"), "{}", v.codec_string); // High profile
    let avcc = v.description.as_ref().unwrap();
    assert_eq!(avcc[0], 1, "avcC configurationVersion");
    assert_eq!(d.info().audio.as_ref().unwrap().codec_string, "mp4a.40.2");

    let w = open("vp9_opus.webm").unwrap();
    assert_eq!(
        w.info().video.as_ref().unwrap().codec_string,
        "vp09.00.10.08"
    );
}

#[test]
fn gop_holds_the_frame_for_any_time() {
    for name in [
        "h264_aac_16x9.mp4",
        "h264_aac_9x16.mp4",
        "vp9_opus.webm",
        "h264_aac.mov",
    ] {
        let src = FileSource::open(fixture(name)).unwrap();
        let d = block_on(Demuxer::open(&src)).unwrap();
        let (all, _) = block_on(d.all_samples(&src)).unwrap();
        for at in [0, 333_000, 1_000_000, 1_250_000, 1_990_000] {
            let gop = block_on(d.gop_at(&src, at)).unwrap();
            assert!(
                gop.frames[0].keyframe,
                "{name}@{at}: GOP starts on a keyframe"
            );
            assert!(
                gop.frames[1..].iter().all(|f| !f.keyframe),
                "{name}@{at}: one keyframe per GOP"
            );
            let shown = gop.frame_at(at).unwrap();
            let expected = all
                .iter()
                .filter(|s| s.pts_micros <= at)
                .map(|s| s.pts_micros)
                .max()
                .unwrap_or(all[0].pts_micros);
            assert_eq!(shown.pts_micros, expected, "{name}@{at}");
            let sample = all.iter().find(|s| s.pts_micros == expected).unwrap();
            assert_eq!(shown.data.len(), sample.size as usize, "{name}@{at}");
        }
    }
}

#[test]
fn long_gop_1080p() {
    check_against_ffprobe(
        "long_gop_1080p.mp4",
        Container::Mp4,
        VideoCodec::H264,
        AudioCodec::Aac,
    );
}

/// Playback and export go from GOP to GOP: starting at 0 and following `next_key_micros`
/// must hand out every frame of the file once, in order, and end with the last GOP.
#[test]
fn following_gops_visits_every_frame_once() {
    for name in [
        "h264_aac_16x9.mp4",
        "h264_aac_9x16.mp4",
        "h264_aac.mov",
        "vp9_opus.webm",
        "vp9_live.webm",
        "long_gop_1080p.mp4",
    ] {
        let src = FileSource::open(fixture(name)).unwrap();
        let d = block_on(Demuxer::open(&src)).unwrap();
        let (all, _) = block_on(d.all_samples(&src)).unwrap();
        let mut seen = vec![];
        let mut gops = 0;
        let mut at = 0;
        loop {
            let gop = block_on(d.gop_at(&src, at)).unwrap();
            gops += 1;
            assert_eq!(gop.start_micros, gop.frames[0].pts_micros, "{name}");
            seen.extend(gop.frames.iter().map(|f| f.pts_micros));
            let Some(next) = gop.next_key_micros else {
                break;
            };
            assert!(next > at, "{name}: the next GOP starts after this one");
            at = next;
        }
        let expected: Vec<i64> = all.iter().map(|s| s.pts_micros).collect();
        assert_eq!(seen, expected, "{name}: every frame once, in decode order");
        let keys = all.iter().filter(|s| s.keyframe).count();
        assert_eq!(gops, keys, "{name}: one GOP per keyframe");
    }
}

/// What made playback stall on the long-GOP file: the end of a GOP's last frame, rounded to
/// microseconds, falls short of the next keyframe, so looking the next GOP up by that time
/// found the same GOP again.
#[test]
fn a_gop_can_end_before_the_next_keyframe() {
    let src = FileSource::open(fixture("long_gop_1080p.mp4")).unwrap();
    let d = block_on(Demuxer::open(&src)).unwrap();
    let gop = block_on(d.gop_at(&src, 0)).unwrap();
    let next = gop.next_key_micros.unwrap();
    assert!(gop.end_micros < next, "{} vs {next}", gop.end_micros);
    let again = block_on(d.gop_at(&src, gop.end_micros)).unwrap();
    assert_eq!(again.start_micros, gop.start_micros);
    let following = block_on(d.gop_at(&src, next)).unwrap();
    assert_eq!(following.start_micros, next);
}

#[test]
fn opening_reads_the_index_not_the_media() {
    // Index at the end: opening must skip the media data, not read through it.
    let src = CountingSource::new(FileSource::open(fixture("h264_aac_9x16.mp4")).unwrap());
    block_on(Demuxer::open(&src)).unwrap();
    let len = std::fs::metadata(fixture("h264_aac_9x16.mp4"))
        .unwrap()
        .len();
    assert!(
        src.bytes_read() < len / 4,
        "read {} of {len} bytes",
        src.bytes_read()
    );
    assert!(src.reads() < 10, "{} reads", src.reads());

    // 2.5 GB, nearly all of it a trailing `free` box: opening costs what the small file costs.
    let big = CountingSource::new(FileSource::open(fixture("big_sparse.mp4")).unwrap());
    let d = block_on(Demuxer::open(&big)).unwrap();
    assert_eq!(d.info().video.as_ref().unwrap().height, 640);
    assert!(
        big.bytes_read() < len / 4,
        "read {} bytes of 2.5 GB",
        big.bytes_read()
    );
}

#[test]
fn hevc_is_recognised() {
    let d = open("hevc.mp4").unwrap();
    let v = d.info().video.as_ref().unwrap();
    assert_eq!(v.codec, VideoCodec::Hevc);
    assert!(v.codec_string.starts_with("hvc1.1."), "{}", v.codec_string);
}

#[test]
fn broken_files_say_what_is_wrong() {
    assert_eq!(open("not_a_video.mp4").unwrap_err(), MediaError::NotAVideo);
    assert_eq!(open("text.webm").unwrap_err(), MediaError::NotAVideo);
    assert_eq!(
        open("audio_only.mp4").unwrap_err(),
        MediaError::NoVideoTrack
    );
    assert!(matches!(
        open("truncated_no_index.mp4").unwrap_err(),
        MediaError::Truncated(_)
    ));
    let empty: Vec<u8> = vec![];
    assert_eq!(
        block_on(Demuxer::open(&empty)).unwrap_err(),
        MediaError::NotAVideo
    );
}

#[test]
fn truncated_files_open_with_a_warning_and_play_what_is_there() {
    for name in ["truncated.mp4", "truncated.webm"] {
        let src = FileSource::open(fixture(name)).unwrap();
        let d = block_on(Demuxer::open(&src)).unwrap();
        assert_eq!(
            d.info().warnings.len(),
            1,
            "{name}: {:?}",
            d.info().warnings
        );
        assert!(d.info().warnings[0].contains("cut short"), "{name}");
        let (video, _) = block_on(d.all_samples(&src)).unwrap();
        assert!(
            !video.is_empty() && video.len() < 50,
            "{name}: {} frames",
            video.len()
        );
        // The first frame decodes from what is present.
        let gop = block_on(d.gop_at(&src, 0)).unwrap();
        assert!(gop.frames[0].keyframe);
    }
}

#[test]
fn webm_as_browsers_record_it() {
    // No Cues, no Duration, clusters of unknown size: everything is found by walking clusters.
    let name = "vp9_live.webm";
    let src = FileSource::open(fixture(name)).unwrap();
    let d = block_on(Demuxer::open(&src)).unwrap();
    let reference = open("vp9_opus.webm").unwrap();
    let info = d.info();
    assert!(info.warnings.is_empty(), "{:?}", info.warnings);
    assert!(
        (info.duration_secs() - reference.info().duration_secs()).abs() < 0.05,
        "{}",
        info.duration_secs()
    );
    assert_eq!(info.video, reference.info().video);

    let probe = Probe::load(name);
    let (video, audio) = block_on(d.all_samples(&src)).unwrap();
    assert_eq!(
        video.len() as u64,
        Probe::num(&probe.stream("video")["nb_read_packets"]) as u64
    );
    assert_eq!(
        audio.len() as u64,
        Probe::num(&probe.stream("audio")["nb_read_packets"]) as u64
    );
    let keys: Vec<f64> = video
        .iter()
        .filter(|s| s.keyframe)
        .map(|s| s.pts_micros as f64 / 1e6)
        .collect();
    assert_eq!(keys, probe.keyframe_secs);

    let gop = block_on(d.gop_at(&src, 1_500_000)).unwrap();
    assert!(gop.frames[0].keyframe);
    let expected = video
        .iter()
        .map(|s| s.pts_micros)
        .filter(|&p| p <= 1_500_000)
        .max();
    assert_eq!(gop.frame_at(1_500_000).map(|f| f.pts_micros), expected);
}

/// Every packet an audio cursor hands out from `from_micros`, in order.
fn audio_from(name: &str, from_micros: i64) -> Vec<i64> {
    let src = FileSource::open(fixture(name)).unwrap();
    let demuxer = block_on(Demuxer::open(&src)).unwrap();
    let mut cursor = demuxer.audio_from(from_micros);
    let mut pts = vec![];
    loop {
        let batch = block_on(cursor.next_batch(&demuxer, &src)).unwrap();
        if batch.is_empty() {
            return pts;
        }
        assert!(batch.iter().all(|f| !f.data.is_empty()));
        pts.extend(batch.iter().map(|f| f.pts_micros));
    }
}

#[test]
fn audio_cursor_starts_one_packet_before_the_start_and_reads_on_to_the_end() {
    for name in [
        "h264_aac_16x9.mp4",
        "h264_aac.mov",
        "vp9_opus.webm",
        "speech.webm",
        "long_gop_1080p.mp4",
    ] {
        let src = FileSource::open(fixture(name)).unwrap();
        let demuxer = block_on(Demuxer::open(&src)).unwrap();
        let (_, audio) = block_on(demuxer.all_samples(&src)).unwrap();
        let duration = demuxer.info().duration_micros;
        for from in [
            0,
            1_234_567,
            duration / 2,
            duration - 50_000,
            duration + 1_000_000,
        ] {
            let playing = audio
                .iter()
                .position(|s| s.pts_micros + s.duration_micros > from)
                .unwrap_or(audio.len());
            // Nothing plays past the end of the track.
            let first = if playing == audio.len() {
                playing
            } else {
                playing.saturating_sub(1)
            };
            let expected: Vec<i64> = audio[first..].iter().map(|s| s.pts_micros).collect();
            assert_eq!(audio_from(name, from), expected, "{name} from {from} µs");
        }
    }
    assert!(audio_from("no_audio.mp4", 0).is_empty());
}

#[test]
fn audio_cursor_on_webm_reads_from_the_seek_point_not_the_whole_file() {
    let name = "speech.webm";
    let len = std::fs::metadata(fixture(name)).unwrap().len();
    let src = CountingSource::new(FileSource::open(fixture(name)).unwrap());
    let demuxer = block_on(Demuxer::open(&src)).unwrap();
    let opened = src.bytes_read();
    // The last 1.5 s of 6.6.
    let near_end = demuxer.info().duration_micros - 1_500_000;
    let mut cursor = demuxer.audio_from(near_end);
    let first = block_on(cursor.next_batch(&demuxer, &src)).unwrap();
    assert!(first[0].pts_micros <= near_end && first[0].pts_micros > near_end - 100_000);
    let read = src.bytes_read() - opened;
    let Demuxer::WebM(webm) = &demuxer else {
        panic!("not read as WebM")
    };
    let point = webm
        .seek_points
        .iter()
        .rfind(|p| p.time_micros < near_end)
        .unwrap();
    assert!(point.offset > len / 3, "a seek point well into the file");
    assert!(
        read <= len - point.offset,
        "read {read} bytes; from the seek point at {} to the end is {}",
        point.offset,
        len - point.offset
    );
}
