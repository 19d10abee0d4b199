//! [`ByteSource`] over a browser `Blob`/`File`: each read is a `Blob.slice` of just the bytes
//! asked for, so opening a 2 GB file costs the same as opening a small one.

use js_sys::Uint8Array;
use reelsmith_core::source::{ByteSource, SourceError};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

pub struct BlobSource {
    blob: web_sys::Blob,
}

impl BlobSource {
    pub fn new(blob: web_sys::Blob) -> Self {
        Self { blob }
    }

    pub fn blob(&self) -> &web_sys::Blob {
        &self.blob
    }
}

pub fn js_error_text(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| {
            js_sys::Reflect::get(e, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

impl ByteSource for BlobSource {
    fn len_bytes(&self) -> u64 {
        self.blob.size() as u64
    }

    async fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, SourceError> {
        let end = offset.saturating_add(len as u64).min(self.len_bytes());
        if offset >= end {
            return Ok(vec![]);
        }
        let slice = self
            .blob
            .slice_with_f64_and_f64(offset as f64, end as f64)
            .map_err(|e| SourceError(js_error_text(&e)))?;
        // A file changed or removed on disk since it was picked rejects here (NotReadableError).
        let buffer = JsFuture::from(slice.array_buffer())
            .await
            .map_err(|e| SourceError(js_error_text(&e)))?;
        Ok(Uint8Array::new(&buffer).to_vec())
    }
}
