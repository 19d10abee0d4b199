//! The worker's browser side: the message loop, Cache Storage reads, timing and memory.

use std::cell::RefCell;
use std::collections::BTreeMap;

use reelsmith_core::protocol::{
    check_version, ready, ModelManifest, Request, RequestBody, Response, ResponseBody, WorkerError,
};
use reelsmith_speech::transcribe::Engine;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

thread_local! {
    static ENGINE: RefCell<Option<(String, Engine)>> = const { RefCell::new(None) };
}

/// Bytes of this instance's WebAssembly memory (it only grows).
pub fn wasm_memory_bytes() -> u64 {
    wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length()
        .into()
}

fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
        .map_or(0.0, |p| p.now())
}

fn js_text(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}

fn storage_error(e: JsValue) -> WorkerError {
    WorkerError::ModelInvalid(format!("the browser's storage failed: {}", js_text(&e)))
}

/// The model's cache in Cache Storage (works in windows and workers alike).
async fn open_cache(manifest: &ModelManifest) -> Result<web_sys::Cache, WorkerError> {
    let caches: web_sys::CacheStorage = js_sys::Reflect::get(&js_sys::global(), &"caches".into())
        .map_err(storage_error)?
        .dyn_into()
        .map_err(|_| {
            WorkerError::ModelInvalid("this browser has no Cache Storage here".to_string())
        })?;
    Ok(JsFuture::from(caches.open(&manifest.cache))
        .await
        .map_err(storage_error)?
        .unchecked_into())
}

/// One of the model's files from its cache.
async fn read_file(
    cache: &web_sys::Cache,
    manifest: &ModelManifest,
    name: &str,
) -> Result<Vec<u8>, WorkerError> {
    let missing = || WorkerError::ModelMissing {
        file: name.to_string(),
    };
    let file = manifest.file(name).ok_or_else(missing)?;
    let found = JsFuture::from(cache.match_with_str(&file.url))
        .await
        .map_err(storage_error)?;
    let response: web_sys::Response = found.dyn_into().map_err(|_| missing())?;
    let buffer = JsFuture::from(response.array_buffer().map_err(storage_error)?)
        .await
        .map_err(storage_error)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Reads every file of the model from Cache Storage.
pub async fn read_model_from_cache(
    manifest: &ModelManifest,
) -> Result<BTreeMap<String, Vec<u8>>, WorkerError> {
    let cache = open_cache(manifest).await?;
    let mut files = BTreeMap::new();
    for file in &manifest.files {
        files.insert(
            file.name.clone(),
            read_file(&cache, manifest, &file.name).await?,
        );
    }
    Ok(files)
}

/// Builds the engine from Cache Storage a file at a time, each file's bytes dropped once
/// its graph is parsed ([`crate::ModelLoader`]).
pub async fn load_model_from_cache(manifest: &ModelManifest) -> Result<Engine, WorkerError> {
    let cache = open_cache(manifest).await?;
    let mut loader = crate::ModelLoader::new(manifest);
    for name in crate::ModelLoader::files(manifest) {
        let bytes = read_file(&cache, manifest, name).await?;
        loader.add(name, &bytes)?;
    }
    loader.finish()
}

async fn load(manifest: ModelManifest) -> Result<ResponseBody, WorkerError> {
    let started = now_ms();
    let loaded = ENGINE.with_borrow(|e| {
        e.as_ref()
            .filter(|(name, _)| *name == manifest.name)
            .map(|(_, engine)| engine.is_multilingual())
    });
    if let Some(multilingual) = loaded {
        return Ok(ResponseBody::ModelLoaded {
            name: manifest.name,
            multilingual,
            millis: 0.0,
            memory_bytes: wasm_memory_bytes(),
        });
    }
    let engine = load_model_from_cache(&manifest).await?;
    let multilingual = engine.is_multilingual();
    ENGINE.set(Some((manifest.name.clone(), engine)));
    Ok(ResponseBody::ModelLoaded {
        name: manifest.name,
        multilingual,
        millis: now_ms() - started,
        memory_bytes: wasm_memory_bytes(),
    })
}

fn transcribe(
    request: &reelsmith_core::protocol::TranscribeRequest,
) -> Result<ResponseBody, WorkerError> {
    if request.crash {
        // Fault injection (the page's `?fault=worker-crash`): a real trap, as a bug would give.
        panic!("worker crash requested for window {}", request.span.index);
    }
    let started = now_ms();
    ENGINE.with_borrow(|engine| {
        let (_, engine) = engine.as_ref().ok_or(WorkerError::NoModel)?;
        let window = crate::transcribe(engine, request)?;
        Ok(crate::transcribed(
            request,
            window,
            now_ms() - started,
            wasm_memory_bytes(),
        ))
    })
}

fn reply(scope: &DedicatedWorkerGlobalScope, response: &Response) {
    match serde_wasm_bindgen::to_value(response) {
        Ok(value) => {
            if let Err(e) = scope.post_message(&value) {
                web_sys::console::error_1(&e);
            }
        }
        Err(e) => web_sys::console::error_1(&e.to_string().into()),
    }
}

/// Installs the message handler.
pub fn start() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    // web-sys has no binding for the worker scope's crossOriginIsolated.
    let isolated = js_sys::Reflect::get(&scope, &JsValue::from_str("crossOriginIsolated"))
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let reply_scope = scope.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let request = match serde_wasm_bindgen::from_value::<Request>(ev.data()) {
            Ok(request) => request,
            Err(e) => {
                let body = Err(WorkerError::BadRequest(e.to_string()));
                reply(&reply_scope, &Response { id: 0, body });
                return;
            }
        };
        let id = request.id;
        if let Err(e) = check_version(&request) {
            reply(&reply_scope, &Response { id, body: Err(e) });
            return;
        }
        match request.body {
            RequestBody::Hello => reply(
                &reply_scope,
                &Response {
                    id,
                    body: Ok(ready(isolated)),
                },
            ),
            RequestBody::LoadModel(manifest) => {
                let scope = reply_scope.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let body = load(manifest).await;
                    reply(&scope, &Response { id, body });
                });
            }
            RequestBody::Transcribe(window) => {
                let body = transcribe(&window);
                reply(&reply_scope, &Response { id, body });
            }
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The worker lives as long as the page: its handler must too.
    on_message.forget();
}
