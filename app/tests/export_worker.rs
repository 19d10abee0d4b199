//! Export's browser glue where it runs — a dedicated worker in a real Chromium
//! (wasm-bindgen-test-runner + chromedriver): the on-disk body in the origin-private file
//! system (append, read back, discard, old files removed), and a whole export of a fixture
//! clip read back with the project's own demuxer (size, frame count, sound copied, fast start).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use std::cell::RefCell;

use reelsmith_app::blob_source::BlobSource;
use reelsmith_app::export::pipeline;
use reelsmith_app::export::sink::{remove_old_exports, Body, EXPORT_DIR};
use reelsmith_app::export::{ExportEvent, ExportJob};
use reelsmith_core::demux::Demuxer;
use reelsmith_core::edit::{Project, SourceRef, Span};
use reelsmith_core::export::{OutputFormat, OutputSize, SoundPlan};
use reelsmith_core::media::{AudioCodec, VideoCodec};
use reelsmith_core::source::ByteSource;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

// Made by tests/fixtures/make.sh before the tests are built: 16:9 H.264 + AAC, 30 fps.
const H264: &[u8] = include_bytes!("../../tests/fixtures/out/h264_aac_16x9.mp4");

fn blob(bytes: &[u8]) -> web_sys::Blob {
    let array = js_sys::Uint8Array::from(bytes);
    web_sys::Blob::new_with_u8_array_sequence(&js_sys::Array::of1(&array)).unwrap()
}

async fn blob_bytes(blob: &web_sys::Blob) -> Vec<u8> {
    let buffer = JsFuture::from(blob.array_buffer()).await.unwrap();
    js_sys::Uint8Array::new(&buffer).to_vec()
}

async fn export_names() -> Vec<String> {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).unwrap();
    let storage: web_sys::StorageManager = js_sys::Reflect::get(&navigator, &"storage".into())
        .unwrap()
        .unchecked_into();
    let root: web_sys::FileSystemDirectoryHandle = JsFuture::from(storage.get_directory())
        .await
        .unwrap()
        .unchecked_into();
    let Ok(dir) = JsFuture::from(root.get_directory_handle(EXPORT_DIR)).await else {
        return Vec::new();
    };
    let dir: web_sys::FileSystemDirectoryHandle = dir.unchecked_into();
    let keys = js_sys::Reflect::get(&dir, &"keys".into())
        .unwrap()
        .unchecked_into::<js_sys::Function>()
        .call0(&dir)
        .unwrap();
    let next: js_sys::Function = js_sys::Reflect::get(&keys, &"next".into())
        .unwrap()
        .unchecked_into();
    let mut names = Vec::new();
    loop {
        let step = JsFuture::from(js_sys::Promise::from(next.call0(&keys).unwrap()))
            .await
            .unwrap();
        if js_sys::Reflect::get(&step, &"done".into())
            .unwrap()
            .is_truthy()
        {
            break;
        }
        names.push(
            js_sys::Reflect::get(&step, &"value".into())
                .unwrap()
                .as_string()
                .unwrap(),
        );
    }
    names.sort();
    names
}

#[wasm_bindgen_test]
async fn the_body_is_appended_on_disk_and_read_back_whole() {
    let mut body = Body::create("test-body.part").await.unwrap();
    body.append(b"hello ").unwrap();
    body.append(&[]).unwrap();
    body.append(b"world").unwrap();
    assert_eq!(body.written(), 11);
    let file = body.finish().await.unwrap();
    assert_eq!(blob_bytes(&file).await, b"hello world");
    assert!(export_names().await.contains(&"test-body.part".to_string()));
    // A new export removes the files earlier ones left, but not its own.
    let keep = Body::create("test-keep.part").await.unwrap();
    remove_old_exports("test-keep.part").await;
    assert_eq!(export_names().await, vec!["test-keep.part".to_string()]);
    keep.discard().await;
    assert!(export_names().await.is_empty());
}

#[wasm_bindgen_test]
async fn a_clip_exports_to_a_file_the_demuxer_reads_back() {
    let mut project = Project::new(
        SourceRef {
            name: "h264_aac_16x9.mp4".into(),
            bytes: H264.len() as u64,
            last_modified_ms: 0.0,
            fingerprint: None,
        },
        2.0,
    );
    let id = project
        .add_clip("Test clip", Span::new(0.4, 1.6), "none")
        .unwrap();
    let job = ExportJob {
        clip: project.clip(id).unwrap().clone(),
        words: Vec::new(),
        format: OutputFormat::Mp4,
        sound: SoundPlan::CopyAac,
        size: OutputSize::Small,
        scratch_name: "test-export.part".into(),
        direct_frames: false,
    };
    let events = RefCell::new(Vec::new());
    let (out, done) = pipeline::run(&job, blob(H264), &|e| events.borrow_mut().push(e))
        .await
        .unwrap();
    let ExportEvent::Done { frames, bytes, .. } = done else {
        panic!("not done: {done:?}");
    };
    // 1.2 s at the source's 30 fps.
    assert_eq!(frames, 36);
    assert_eq!(bytes, out.size() as u64);
    let events = events.into_inner();
    assert!(matches!(
        events.first(),
        Some(ExportEvent::Started {
            frames_total: 36,
            width: 720,
            height: 1280,
            ..
        })
    ));
    assert!(events.iter().any(|e| matches!(
        e,
        ExportEvent::Progress {
            frames_done: 36,
            frames_total: 36,
            ..
        }
    )));

    let source = BlobSource::new(out);
    let head = source.read_at(0, 64).await.unwrap();
    assert_eq!(&head[4..8], b"ftyp");
    let demuxer = Demuxer::open(&source).await.unwrap();
    let info = demuxer.info();
    let video = info.video.as_ref().unwrap();
    assert_eq!(video.codec, VideoCodec::H264);
    assert_eq!((video.width, video.height), (720, 1280));
    assert_eq!(info.audio.as_ref().unwrap().codec, AudioCodec::Aac);
    let (video_samples, audio_samples) = demuxer.all_samples(&source).await.unwrap();
    assert_eq!(video_samples.len(), 36);
    assert!(video_samples[0].keyframe);
    // AAC packets of ~21 ms cover the 1.2 s (plus the priming one the edit list hides).
    assert!(
        (56..=59).contains(&audio_samples.len()),
        "{}",
        audio_samples.len()
    );
}
