//! The speech model's files in the browser: listed by the server's manifest, downloaded once
//! from the app's own origin with progress, checked against their SHA-256 (WebCrypto), and
//! kept in Cache Storage so later visits load them without the network. Workers read them
//! from the same cache (see `reelsmith-worker`).

use reelsmith_core::protocol::{ModelFile, ModelManifest};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::blob_source::js_error_text;

/// Header kept with each cached file: the hash it was checked against.
const HASH_HEADER: &str = "x-reelsmith-sha256";

fn window() -> Result<web_sys::Window, String> {
    web_sys::window().ok_or_else(|| "no browser window".to_string())
}

async fn fetch(url: &str) -> Result<web_sys::Response, String> {
    let response = JsFuture::from(window()?.fetch_with_str(url))
        .await
        .map_err(|e| {
            format!(
                "the network request for {url} failed ({})",
                js_error_text(&e)
            )
        })?;
    Ok(response.unchecked_into())
}

/// The server's list of the model's files (never cached: it says when the model changed).
pub async fn fetch_manifest(name: &str) -> Result<ModelManifest, String> {
    let url = format!("/models/{name}/manifest.json");
    let response = fetch(&url).await?;
    if response.status() == 404 {
        return Err(format!(
            "The speech model “{name}” is not available on this server, so videos cannot be transcribed here."
        ));
    }
    if !response.ok() {
        return Err(format!(
            "The speech model's list could not be loaded (HTTP {}).",
            response.status()
        ));
    }
    let json = JsFuture::from(response.json().map_err(|e| js_error_text(&e))?)
        .await
        .map_err(|e| {
            format!(
                "The speech model's list is unreadable: {}",
                js_error_text(&e)
            )
        })?;
    serde_wasm_bindgen::from_value(json)
        .map_err(|e| format!("The speech model's list is unreadable: {e}"))
}

async fn open_cache(manifest: &ModelManifest) -> Result<web_sys::Cache, String> {
    let caches = window()?
        .caches()
        .map_err(|_| "This browser does not let the page store files (Cache Storage), so the speech model cannot be kept.".to_string())?;
    let cache = JsFuture::from(caches.open(&manifest.cache))
        .await
        .map_err(|e| {
            format!(
                "The browser's storage could not be opened: {}",
                js_error_text(&e)
            )
        })?;
    Ok(cache.unchecked_into())
}

/// Whether `file` is stored and was checked against the manifest's hash.
async fn is_stored(cache: &web_sys::Cache, file: &ModelFile) -> Result<bool, String> {
    let found = JsFuture::from(cache.match_with_str(&file.url))
        .await
        .map_err(|e| js_error_text(&e))?;
    let Ok(response) = found.dyn_into::<web_sys::Response>() else {
        return Ok(false);
    };
    let hash = response.headers().get(HASH_HEADER).ok().flatten();
    Ok(hash.as_deref() == Some(file.sha256.as_str()))
}

/// Bytes of the model already stored (and current).
pub async fn stored_bytes(manifest: &ModelManifest) -> Result<u64, String> {
    // Opening a cache creates it: look only into one that exists, so that showing the
    // settings stores nothing (an emptied browser stays empty until a video is transcribed).
    let caches = window()?.caches().map_err(|e| js_error_text(&e))?;
    let exists = JsFuture::from(caches.has(&manifest.cache))
        .await
        .map_err(|e| js_error_text(&e))?;
    if !exists.is_truthy() {
        return Ok(0);
    }
    let cache = open_cache(manifest).await?;
    let mut bytes = 0;
    for file in &manifest.files {
        if is_stored(&cache, file).await? {
            bytes += file.bytes;
        }
    }
    Ok(bytes)
}

/// Lower-case hex SHA-256 by WebCrypto.
async fn sha256_hex(bytes: &mut [u8]) -> Result<String, String> {
    let subtle = window()?.crypto().map_err(|e| js_error_text(&e))?.subtle();
    let promise = subtle
        .digest_with_str_and_u8_array("SHA-256", bytes)
        .map_err(|e| js_error_text(&e))?;
    let digest = JsFuture::from(promise)
        .await
        .map_err(|e| js_error_text(&e))?;
    Ok(js_sys::Uint8Array::new(&digest)
        .to_vec()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Downloads one file, reporting bytes as they arrive.
async fn download(file: &ModelFile, mut on_bytes: impl FnMut(u64)) -> Result<Vec<u8>, String> {
    let lost = |e: JsValue| {
        format!(
            "The download of the speech model was interrupted ({}). Check the connection and try again.",
            js_error_text(&e)
        )
    };
    let response = fetch(&file.url).await?;
    if !response.ok() {
        return Err(format!(
            "The speech model file {} could not be downloaded (HTTP {}).",
            file.name,
            response.status()
        ));
    }
    let body = response
        .body()
        .ok_or_else(|| format!("The server sent {} without a body.", file.name))?;
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::with_capacity(usize::try_from(file.bytes).unwrap_or(0));
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(lost)?;
        let done = js_sys::Reflect::get(&chunk, &"done".into())
            .map_err(lost)?
            .as_bool()
            .unwrap_or(true);
        if done {
            break;
        }
        let value: js_sys::Uint8Array = js_sys::Reflect::get(&chunk, &"value".into())
            .map_err(lost)?
            .unchecked_into();
        let start = bytes.len();
        bytes.resize(start + value.length() as usize, 0);
        value.copy_to(&mut bytes[start..]);
        on_bytes(value.length().into());
    }
    Ok(bytes)
}

/// Makes sure every file of the model is stored and checked. `on_progress(done, total)` is
/// called as bytes arrive (files already stored count as done at once). A file whose hash
/// does not match is not stored.
pub async fn ensure_stored(
    manifest: &ModelManifest,
    on_progress: impl Fn(u64, u64),
) -> Result<(), String> {
    let cache = open_cache(manifest).await?;
    let total = manifest.total_bytes();
    let mut done = 0;
    on_progress(done, total);
    for file in &manifest.files {
        if is_stored(&cache, file).await? {
            done += file.bytes;
            on_progress(done, total);
            continue;
        }
        let before = done;
        let mut bytes = download(file, |n| {
            done += n;
            on_progress(done.min(before + file.bytes), total);
        })
        .await?;
        done = before + file.bytes;
        let actual = sha256_hex(&mut bytes).await?;
        if actual != file.sha256 {
            return Err(format!(
                "The downloaded speech model file {} is damaged (its checksum does not match), so it was not kept. Try again.",
                file.name
            ));
        }
        let init = web_sys::ResponseInit::new();
        let headers = web_sys::Headers::new().map_err(|e| js_error_text(&e))?;
        headers
            .set(HASH_HEADER, &file.sha256)
            .map_err(|e| js_error_text(&e))?;
        init.set_headers(&headers);
        let response =
            web_sys::Response::new_with_opt_u8_array_and_init(Some(bytes.as_mut_slice()), &init)
                .map_err(|e| js_error_text(&e))?;
        drop(bytes);
        JsFuture::from(cache.put_with_str(&file.url, &response))
            .await
            .map_err(|e| {
                format!(
                    "The speech model could not be stored ({}). The disk may be full: free some space and try again.",
                    js_error_text(&e)
                )
            })?;
        on_progress(done, total);
    }
    Ok(())
}

/// Deletes the stored model.
pub async fn remove(manifest: &ModelManifest) -> Result<(), String> {
    let caches = window()?.caches().map_err(|e| js_error_text(&e))?;
    JsFuture::from(caches.delete(&manifest.cache))
        .await
        .map_err(|e| format!("The model could not be removed: {}", js_error_text(&e)))?;
    Ok(())
}
