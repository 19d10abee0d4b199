//! Browser glue in a real Chromium (wasm-bindgen-test-runner + chromedriver): Blob reads,
//! WebCodecs decoding of the first frame of the H.264 and VP9 fixtures, and sound tracks (AAC,
//! Opus) decoded by WebCodecs' AudioDecoder into 16 kHz windows; OPFS reads that a save
//! races.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use futures::StreamExt;
use reelsmith_app::blob_source::BlobSource;
use reelsmith_app::player::Player;
use reelsmith_app::preview::draw_whole;
use reelsmith_app::sound::{stream_windows, SoundError};
use reelsmith_core::chunk::AudioWindow;
use reelsmith_core::source::ByteSource;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

// Made by tests/fixtures/make.sh before the tests are built.
const H264: &[u8] = include_bytes!("../../tests/fixtures/out/h264_aac_16x9.mp4");
const VP9: &[u8] = include_bytes!("../../tests/fixtures/out/vp9_opus.webm");
const HEVC: &[u8] = include_bytes!("../../tests/fixtures/out/hevc.mp4");
const NO_AUDIO: &[u8] = include_bytes!("../../tests/fixtures/out/no_audio.mp4");

fn blob(bytes: &[u8]) -> web_sys::Blob {
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    web_sys::Blob::new_with_u8_array_sequence(&parts).unwrap()
}

fn canvas() -> web_sys::HtmlCanvasElement {
    let document = web_sys::window().unwrap().document().unwrap();
    document.create_element("canvas").unwrap().unchecked_into()
}

/// Reads the 8-bit frame index the fixture script draws in the top band.
fn barcode(canvas: &web_sys::HtmlCanvasElement) -> u32 {
    let ctx: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    let (w, h) = (canvas.width() as i32, canvas.height() as i32);
    (0..8)
        .map(|bit| {
            let x = (2 * bit + 1) * w / 16;
            let px = ctx.get_image_data(x, h / 16, 1, 1).unwrap().data();
            u32::from(px[0] > 128) << bit
        })
        .sum()
}

/// Mean brightness below the band: the gradient is never dark.
fn body_brightness(canvas: &web_sys::HtmlCanvasElement) -> f64 {
    let ctx: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    let (w, h) = (canvas.width() as i32, canvas.height() as i32);
    let data = ctx.get_image_data(0, h / 4, w, h / 2).unwrap().data();
    data.chunks(4)
        .map(|p| f64::from(p[0]) + f64::from(p[1]) + f64::from(p[2]))
        .sum::<f64>()
        / (data.len() / 4) as f64
        / 3.0
}

async fn first_frame_is_drawn(bytes: &[u8], codec_prefix: &str) {
    let player = Player::open(blob(bytes)).await.unwrap();
    let video = player.info().video.clone().unwrap();
    assert!(
        video.codec_string.starts_with(codec_prefix),
        "{}",
        video.codec_string
    );
    let shown = player.frame_at(0).await.unwrap();
    assert_eq!(
        (shown.frame.display_width(), shown.frame.display_height()),
        (640, 360)
    );
    let c = canvas();
    draw_whole(&c, &shown.frame).unwrap();
    assert_eq!(barcode(&c), 0, "frame 0 is shown");
    assert!(body_brightness(&c) > 60.0, "the picture is not blank");

    // A later frame decodes from its keyframe and is the right one.
    let fps = video.frame_rate;
    let shown = player.frame_at(1_250_000).await.unwrap();
    draw_whole(&c, &shown.frame).unwrap();
    let first_pts = player.frame_at(0).await.unwrap().pts_micros;
    let expected = ((shown.pts_micros - first_pts) as f64 * fps / 1e6).round() as u32;
    assert_eq!(barcode(&c), expected);
    assert!(shown.pts_micros <= 1_250_000 && shown.pts_micros + (1e6 / fps) as i64 > 1_250_000);
}

#[wasm_bindgen_test]
async fn h264_first_frame_decodes() {
    first_frame_is_drawn(H264, "avc1.").await;
}

#[wasm_bindgen_test]
async fn vp9_first_frame_decodes() {
    first_frame_is_drawn(VP9, "vp09.").await;
}

#[wasm_bindgen_test]
async fn hevc_is_refused_with_a_clear_message() {
    let err = Player::open(blob(HEVC)).await.err().unwrap();
    assert!(err.contains("HEVC"), "{err}");
}

#[wasm_bindgen_test]
async fn blob_reads_are_ranges() {
    let source = BlobSource::new(blob(H264));
    assert_eq!(source.len_bytes(), H264.len() as u64);
    assert_eq!(source.read_at(4, 4).await.unwrap(), b"ftyp");
    let tail = source.read_at(H264.len() as u64 - 3, 10).await.unwrap();
    assert_eq!(tail, &H264[H264.len() - 3..]);
    assert!(source
        .read_at(H264.len() as u64 + 5, 10)
        .await
        .unwrap()
        .is_empty());
}

/// Decodes a fixture's sound track through the app's pipeline and collects its windows.
async fn windows_of(bytes: &[u8]) -> (Result<Vec<f32>, SoundError>, Vec<AudioWindow>) {
    let player = Player::open(blob(bytes)).await.unwrap();
    let (tx, mut rx) = futures::channel::mpsc::channel(0);
    let collect = async move {
        let mut windows = vec![];
        while let Some(window) = rx.next().await {
            windows.push(window);
        }
        windows
    };
    futures::future::join(stream_windows(&player, tx, || false), collect).await
}

#[wasm_bindgen_test]
async fn aac_and_opus_sound_tracks_become_16k_mono_windows() {
    // Both fixtures carry a 2 s, 440 Hz tone at 48 kHz.
    for (name, bytes) in [("AAC in MP4", H264), ("Opus in WebM", VP9)] {
        let (result, windows) = windows_of(bytes).await;
        let loudness = result.unwrap();
        assert_eq!(windows.len(), 1, "{name}");
        // RMS per 100 ms: 20 steps, a steady tone's (0.1 amplitude → ~0.07) in the middle.
        assert!(
            (19..=21).contains(&loudness.len()),
            "{name}: {}",
            loudness.len()
        );
        assert!(
            loudness[5..15].iter().all(|l| *l > 0.05),
            "{name}: {loudness:?}"
        );
        let samples = &windows[0].samples;
        let secs = samples.len() as f64 / 16_000.0;
        assert!((secs - 2.0).abs() < 0.03, "{name}: {secs} s");
        // The tone survives decoding, downmix and resampling: amplitude and pitch.
        let middle = &samples[8_000..24_000];
        let rms = (middle.iter().map(|s| s * s).sum::<f32>() / middle.len() as f32).sqrt();
        assert!(rms > 0.05, "{name}: rms {rms}");
        let crossings = middle
            .windows(2)
            .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
            .count();
        assert!(
            (435..=445).contains(&crossings),
            "{name}: {crossings} cycles in 1 s"
        );
    }
}

#[wasm_bindgen_test]
async fn a_video_without_sound_says_so() {
    let (result, windows) = windows_of(NO_AUDIO).await;
    assert_eq!(result, Err(SoundError::NoSound));
    assert!(windows.is_empty());
    assert!(SoundError::NoSound.to_string().contains("no sound track"));
}

#[wasm_bindgen_test]
fn progress_never_reads_minus_zero() {
    use reelsmith_app::transcriber::Phase;
    use reelsmith_app::transcript_panel::phase_text;
    let text = phase_text(&Phase::Running, -0.0, 26.0, 0.0);
    assert!(text.starts_with("Transcribing: 0.0 s of 26.0 s"), "{text}");
    // A window ending past the end is counted as the end.
    let text = phase_text(&Phase::Running, 27.5, 26.0, 5.0);
    assert!(text.starts_with("Transcribing: 26.0 s of 26.0 s"), "{text}");
}

/// An OPFS file handle under a test folder, created with `text` in it.
async fn stored_file(name: &str, text: &str) -> web_sys::FileSystemFileHandle {
    use wasm_bindgen_futures::JsFuture;
    let storage = web_sys::window().unwrap().navigator().storage();
    let root: web_sys::FileSystemDirectoryHandle = JsFuture::from(storage.get_directory())
        .await
        .unwrap()
        .unchecked_into();
    let options = web_sys::FileSystemGetFileOptions::new();
    options.set_create(true);
    let handle: web_sys::FileSystemFileHandle =
        JsFuture::from(root.get_file_handle_with_options(name, &options))
            .await
            .unwrap()
            .unchecked_into();
    write_text(&handle, text).await;
    handle
}

async fn write_text(handle: &web_sys::FileSystemFileHandle, text: &str) {
    use wasm_bindgen_futures::JsFuture;
    let stream: web_sys::FileSystemWritableFileStream = JsFuture::from(handle.create_writable())
        .await
        .unwrap()
        .unchecked_into();
    JsFuture::from(stream.write_with_str(text).unwrap())
        .await
        .unwrap();
    JsFuture::from(stream.close()).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_stored_file_saved_over_while_being_read_is_read_again() {
    use reelsmith_app::project_store::read_snapshot;
    use std::cell::Cell;
    use std::rc::Rc;
    use wasm_bindgen_futures::{future_to_promise, JsFuture};
    let handle = stored_file("snapshot-test.json", "the first save").await;
    let reads = Rc::new(Cell::new(0));
    let (text, _) = read_snapshot(&handle, |file| {
        reads.set(reads.get() + 1);
        if reads.get() > 1 {
            return file.text();
        }
        // A save lands between taking the snapshot and reading it.
        let (file, handle) = (file.clone(), handle.clone());
        future_to_promise(async move {
            write_text(&handle, "the second save").await;
            JsFuture::from(file.text()).await
        })
    })
    .await
    .unwrap();
    assert_eq!(text.as_string().unwrap(), "the second save");
    assert_eq!(
        reads.get(),
        2,
        "the stale snapshot's read failed and was made again"
    );
}

#[wasm_bindgen_test]
fn the_beam_and_the_default_model_follow_the_pace_this_device_kept() {
    use reelsmith_app::settings::{default_model, keep_device_speed};
    use reelsmith_app::transcriber::Settings;
    use reelsmith_core::language::SpeechChoice;
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    storage.remove_item("reelsmith.device-speed").unwrap();
    let page = Settings::from_page();
    let tiny = SpeechChoice::new("whisper-tiny.en");
    let base = SpeechChoice::new("whisper-base");
    // Nothing measured: tiny.en, greedy.
    assert_eq!(default_model(), "whisper-tiny.en");
    assert_eq!(page.with_choice(&tiny).beam_size, 1);
    // tiny.en measured at 9×: the beam search for it, base by default (greedy until measured).
    assert!(keep_device_speed("whisper-tiny.en", 9.0));
    assert!(!keep_device_speed("whisper-tiny.en", 1.0), "measured once");
    assert_eq!(page.with_choice(&tiny).beam_size, 5);
    assert_eq!(default_model(), "whisper-base");
    assert_eq!(page.with_choice(&base).beam_size, 1);
    storage.remove_item("reelsmith.device-speed").unwrap();
}
