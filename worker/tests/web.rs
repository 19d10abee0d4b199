//! The worker's parts in a real Chromium (wasm-bindgen-test-runner + chromedriver): the
//! protocol through serde-wasm-bindgen as the worker boundary carries it, the random-weights
//! speech model loaded and run inside wasm, hash checks, and model files read back from Cache
//! Storage.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use std::collections::BTreeMap;

use reelsmith_core::language::Task;
use reelsmith_core::protocol::{
    pcm_to_bytes, ModelFile, ModelManifest, Request, RequestBody, Response, ResponseBody,
    TranscribeRequest, WorkerError, MODEL_FILES, PROTOCOL_VERSION,
};
use reelsmith_core::transcript::WindowSpan;
use reelsmith_speech::audio::read_wav_16k_mono;
use reelsmith_worker::{load_engine, read_model_from_cache, transcribe};
use sha2::{Digest, Sha256};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

// Copied from the model cache by scripts/test.sh before the tests are built.
const RANDOM_MODEL: [(&str, &[u8]); 4] = [
    (
        "encoder.onnx",
        include_bytes!("../../tests/fixtures/out/models/whisper-random/encoder.onnx"),
    ),
    (
        "decoder.onnx",
        include_bytes!("../../tests/fixtures/out/models/whisper-random/decoder.onnx"),
    ),
    (
        "config.json",
        include_bytes!("../../tests/fixtures/out/models/whisper-random/config.json"),
    ),
    (
        "vocabulary.txt",
        include_bytes!("../../tests/fixtures/out/models/whisper-random/vocabulary.txt"),
    ),
];
const SPEECH_WAV: &[u8] = include_bytes!("../../tests/fixtures/out/speech.wav");
const VAD: &[u8] = include_bytes!("../../tests/fixtures/out/models/vad.onnx");
const MUSIC_SPEECH_WAV: &[u8] = include_bytes!("../../tests/fixtures/out/music_speech.wav");

/// The random-weights model with the VAD listed and given.
fn random_model_with_vad() -> (ModelManifest, BTreeMap<String, Vec<u8>>) {
    let (mut manifest, mut files) = random_model("unused");
    manifest.files.push(ModelFile {
        name: "vad.onnx".into(),
        url: "/test-models/random/vad.onnx".into(),
        bytes: VAD.len() as u64,
        sha256: format!("{:x}", Sha256::digest(VAD)),
    });
    files.insert("vad.onnx".into(), VAD.to_vec());
    (manifest, files)
}

fn random_model(cache: &str) -> (ModelManifest, BTreeMap<String, Vec<u8>>) {
    let files = RANDOM_MODEL
        .iter()
        .map(|(name, bytes)| ModelFile {
            name: name.to_string(),
            url: format!("/test-models/random/{name}"),
            bytes: bytes.len() as u64,
            sha256: format!("{:x}", Sha256::digest(bytes)),
        })
        .collect();
    let manifest = ModelManifest {
        name: "whisper-random".into(),
        cache: cache.into(),
        files,
    };
    let bytes = RANDOM_MODEL
        .iter()
        .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
        .collect();
    (manifest, bytes)
}

fn window(index: u32, start_secs: f64, samples: &[f32]) -> TranscribeRequest {
    TranscribeRequest {
        span: WindowSpan {
            index,
            start_secs,
            end_secs: start_secs + samples.len() as f64 / 16_000.0,
        },
        pcm_f32le: pcm_to_bytes(samples),
        language: None,
        task: Task::Transcribe,
        prompt: None,
        beam_size: 1,
        crash: false,
    }
}

#[wasm_bindgen_test]
fn requests_and_errors_round_trip_as_js_values() {
    let samples: Vec<f32> = (0..1_000).map(|i| (i as f32 / 1_000.0) - 0.5).collect();
    let request = Request {
        id: 42,
        version: PROTOCOL_VERSION,
        body: RequestBody::Transcribe(window(3, 60.0, &samples)),
    };
    let value = serde_wasm_bindgen::to_value(&request).unwrap();
    // The audio crosses as bytes, not as an array of a thousand numbers.
    let body = js_sys::Reflect::get(&value, &"body".into()).unwrap();
    let inner = js_sys::Reflect::get(&body, &"Transcribe".into()).unwrap();
    let pcm = js_sys::Reflect::get(&inner, &"pcm_f32le".into()).unwrap();
    assert!(pcm.is_instance_of::<js_sys::Uint8Array>());
    assert_eq!(pcm.unchecked_ref::<js_sys::Uint8Array>().length(), 4_000);
    let back: Request = serde_wasm_bindgen::from_value(value).unwrap();
    assert_eq!(back, request);

    let (manifest, _) = random_model("unused");
    let load = Request {
        id: 43,
        version: PROTOCOL_VERSION,
        body: RequestBody::LoadModel(manifest),
    };
    let back: Request =
        serde_wasm_bindgen::from_value(serde_wasm_bindgen::to_value(&load).unwrap()).unwrap();
    assert_eq!(back, load);

    for body in [
        Err(WorkerError::ModelDamaged {
            file: "decoder.onnx".into(),
        }),
        Ok(ResponseBody::ModelLoaded {
            name: "whisper-random".into(),
            multilingual: false,
            millis: 12.5,
            memory_bytes: 1 << 20,
        }),
    ] {
        let response = Response { id: 9, body };
        let value = serde_wasm_bindgen::to_value(&response).unwrap();
        let back: Response = serde_wasm_bindgen::from_value(value).unwrap();
        assert_eq!(back, response);
    }
}

#[wasm_bindgen_test]
fn the_random_weights_model_transcribes_inside_wasm() {
    let (manifest, files) = random_model("unused");
    let engine = load_engine(&manifest, &files).unwrap();
    let samples = read_wav_16k_mono(SPEECH_WAV).unwrap();
    let request = window(2, 40.0, &samples);
    let window_text = transcribe(&engine, &request).unwrap();
    // An English-only model decodes no language token.
    assert_eq!(window_text.language, None);
    // Random weights say nothing sensible, but every time must lie in the window's span of
    // the video's time line.
    for segment in &window_text.segments {
        assert!(segment.start_secs >= 40.0, "{segment:?}");
        assert!(
            segment.end_secs <= request.span.end_secs + 0.02,
            "{segment:?}"
        );
        for word in &segment.words {
            assert!(word.start_secs >= 40.0 && word.end_secs <= request.span.end_secs + 0.02);
        }
    }
    let stats = engine.stats();
    assert!(stats.encoder_calls >= 1, "{stats:?}");
    assert!(stats.decoder_calls >= 1, "{stats:?}");

    // A request for a beam search reaches the engine: the same window takes more decoder
    // runs (one per live hypothesis and token), and its times still lie in the span.
    let beam = TranscribeRequest {
        beam_size: 5,
        ..request.clone()
    };
    let beamed = transcribe(&engine, &beam).unwrap();
    let after = engine.stats();
    assert_eq!(after.encoder_calls, 2 * stats.encoder_calls, "{after:?}");
    assert!(
        after.decoder_calls - stats.decoder_calls > stats.decoder_calls,
        "{stats:?} then {after:?}"
    );
    for segment in &beamed.segments {
        assert!(segment.start_secs >= 40.0 && segment.end_secs <= request.span.end_secs + 0.02);
    }
}

#[wasm_bindgen_test]
fn the_vad_runs_in_wasm_and_music_alone_is_not_decoded() {
    let (manifest, files) = random_model_with_vad();
    let engine = load_engine(&manifest, &files).unwrap();
    assert!(engine.has_vad());
    let samples = read_wav_16k_mono(MUSIC_SPEECH_WAV).unwrap();
    // The same speech as natively: one stretch, around the sentence spoken from 25 s.
    let vad = reelsmith_speech::vad::Vad::load(VAD).unwrap();
    let regions = vad.speech(&samples).unwrap();
    assert_eq!(regions.len(), 1, "{regions:?}");
    let secs = |at: usize| at as f64 / 16_000.0;
    assert!(
        (24.0..26.0).contains(&secs(regions[0].start))
            && (32.0..34.0).contains(&secs(regions[0].end)),
        "{regions:?}"
    );
    // The first 20 s are music: nothing reaches the model, whatever its weights would say.
    let before = engine.stats();
    let window_text = transcribe(&engine, &window(0, 0.0, &samples[..20 * 16_000])).unwrap();
    assert!(window_text.segments.is_empty(), "{window_text:?}");
    assert_eq!(engine.stats().encoder_calls, before.encoder_calls);
    // The sentence is decoded.
    transcribe(
        &engine,
        &window(1, 20.0, &samples[20 * 16_000..50 * 16_000]),
    )
    .unwrap();
    assert!(engine.stats().encoder_calls > before.encoder_calls);
}

#[wasm_bindgen_test]
fn a_listed_vad_must_be_given_and_whole() {
    let (manifest, mut files) = random_model_with_vad();
    files.get_mut("vad.onnx").unwrap()[10] ^= 0xff;
    assert_eq!(
        load_engine(&manifest, &files).err().unwrap(),
        WorkerError::ModelDamaged {
            file: "vad.onnx".into()
        }
    );
    files.remove("vad.onnx");
    assert_eq!(
        load_engine(&manifest, &files).err().unwrap(),
        WorkerError::ModelMissing {
            file: "vad.onnx".into()
        }
    );
    // A model that does not list it loads without it.
    let (manifest, files) = random_model("unused");
    assert!(!load_engine(&manifest, &files).unwrap().has_vad());
}

#[wasm_bindgen_test]
fn an_english_only_model_refuses_other_languages_and_translation_as_data() {
    let (manifest, files) = random_model("unused");
    let engine = load_engine(&manifest, &files).unwrap();
    let samples = read_wav_16k_mono(SPEECH_WAV).unwrap();
    let mut request = window(0, 0.0, &samples[..16_000]);
    request.task = Task::Translate;
    let refused = transcribe(&engine, &request).unwrap_err();
    assert!(
        matches!(&refused, WorkerError::Transcription(m) if m.contains("only English") && m.contains("translate")),
        "{refused:?}"
    );
    request.task = Task::Transcribe;
    request.language = Some("es".into());
    let refused = transcribe(&engine, &request).unwrap_err();
    assert!(
        matches!(&refused, WorkerError::Transcription(m) if m.contains("only English")),
        "{refused:?}"
    );
}

#[wasm_bindgen_test]
fn damaged_or_missing_files_are_refused_by_name() {
    let (manifest, mut files) = random_model("unused");
    files.get_mut("decoder.onnx").unwrap()[100] ^= 0xff;
    let err = load_engine(&manifest, &files).err().unwrap();
    assert_eq!(
        err,
        WorkerError::ModelDamaged {
            file: "decoder.onnx".into()
        }
    );
    files.remove("vocabulary.txt");
    files.insert("decoder.onnx".into(), RANDOM_MODEL[1].1.to_vec());
    let err = load_engine(&manifest, &files).err().unwrap();
    assert_eq!(
        err,
        WorkerError::ModelMissing {
            file: "vocabulary.txt".into()
        }
    );
}

async fn cache_storage() -> web_sys::CacheStorage {
    web_sys::window().unwrap().caches().unwrap()
}

#[wasm_bindgen_test]
async fn model_files_are_read_back_from_cache_storage() {
    let cache_name = "reelsmith-test-worker-cache";
    let (manifest, files) = random_model(cache_name);
    let caches = cache_storage().await;
    let cache: web_sys::Cache = JsFuture::from(caches.open(cache_name))
        .await
        .unwrap()
        .unchecked_into();
    // Nothing stored yet: the first file is named as missing.
    let err = read_model_from_cache(&manifest).await.err().unwrap();
    assert_eq!(
        err,
        WorkerError::ModelMissing {
            file: MODEL_FILES[0].into()
        }
    );
    for file in &manifest.files {
        let mut bytes = files[&file.name].clone();
        let response =
            web_sys::Response::new_with_opt_u8_array(Some(bytes.as_mut_slice())).unwrap();
        JsFuture::from(cache.put_with_str(&file.url, &response))
            .await
            .unwrap();
    }
    let read = read_model_from_cache(&manifest).await.unwrap();
    assert_eq!(read, files);
    assert!(load_engine(&manifest, &read).is_ok());
    JsFuture::from(caches.delete(cache_name)).await.unwrap();
}
