//! The body of the file being exported, appended to a file in the origin-private file system
//! through a synchronous access handle (workers only), so the encoded video never has to fit
//! in memory. At the end the on-disk file becomes part of the `Blob` offered for download.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::blob_source::js_error_text;

/// The folder in the origin-private file system that holds export files.
pub const EXPORT_DIR: &str = "exports";

pub struct Body {
    dir: web_sys::FileSystemDirectoryHandle,
    handle: web_sys::FileSystemFileHandle,
    access: Option<web_sys::FileSystemSyncAccessHandle>,
    name: String,
    written: u64,
}

/// The user-facing text for a failed write: a full disk says so.
fn write_error(e: &wasm_bindgen::JsValue) -> String {
    let text = js_error_text(e);
    if text.contains("Quota") || text.contains("quota") || text.contains("space") {
        "There is not enough free disk space for this export. Free some space (or export \
         the smaller 720p size) and try again."
            .to_string()
    } else {
        format!("The export could not be written to disk: {text}")
    }
}

async fn export_dir() -> Result<web_sys::FileSystemDirectoryHandle, String> {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into())
        .map_err(|e| js_error_text(&e))?;
    let storage: web_sys::StorageManager = js_sys::Reflect::get(&navigator, &"storage".into())
        .map_err(|e| js_error_text(&e))?
        .dyn_into()
        .map_err(|_| "This browser has no private file storage for the export.".to_string())?;
    let unavailable = |e: JsValue| {
        format!(
            "The browser's storage is not available: {}",
            js_error_text(&e)
        )
    };
    let root: web_sys::FileSystemDirectoryHandle = JsFuture::from(storage.get_directory())
        .await
        .map_err(unavailable)?
        .unchecked_into();
    let options = web_sys::FileSystemGetDirectoryOptions::new();
    options.set_create(true);
    Ok(
        JsFuture::from(root.get_directory_handle_with_options(EXPORT_DIR, &options))
            .await
            .map_err(unavailable)?
            .unchecked_into(),
    )
}

/// Removes earlier export files (they were offered for download already, or were left by an
/// export that was cancelled or crashed). Errors are ignored: a file still open elsewhere
/// stays until next time.
pub async fn remove_old_exports(keep: &str) {
    let Ok(dir) = export_dir().await else {
        return;
    };
    let Ok(keys) = js_sys::Reflect::get(&dir, &"keys".into())
        .and_then(|f| f.dyn_into::<js_sys::Function>())
        .and_then(|f| f.call0(&dir))
    else {
        return;
    };
    let mut names = Vec::new();
    loop {
        let Ok(next) = js_sys::Reflect::get(&keys, &"next".into())
            .and_then(|f| f.dyn_into::<js_sys::Function>())
            .and_then(|f| f.call0(&keys))
        else {
            break;
        };
        let Ok(step) = JsFuture::from(js_sys::Promise::from(next)).await else {
            break;
        };
        let done = js_sys::Reflect::get(&step, &"done".into())
            .map(|d| d.is_truthy())
            .unwrap_or(true);
        if done {
            break;
        }
        if let Some(name) = js_sys::Reflect::get(&step, &"value".into())
            .ok()
            .and_then(|v| v.as_string())
        {
            names.push(name);
        }
    }
    for name in names.into_iter().filter(|n| n != keep) {
        let _ = JsFuture::from(dir.remove_entry(&name)).await;
    }
}

impl Body {
    /// Creates (or empties) `name` in the export folder.
    pub async fn create(name: &str) -> Result<Self, String> {
        let dir = export_dir().await?;
        let options = web_sys::FileSystemGetFileOptions::new();
        options.set_create(true);
        let handle: web_sys::FileSystemFileHandle =
            JsFuture::from(dir.get_file_handle_with_options(name, &options))
                .await
                .map_err(|e| write_error(&e))?
                .unchecked_into();
        let access: web_sys::FileSystemSyncAccessHandle =
            JsFuture::from(handle.create_sync_access_handle())
                .await
                .map_err(|e| write_error(&e))?
                .unchecked_into();
        access.truncate_with_u32(0).map_err(|e| write_error(&e))?;
        Ok(Self {
            dir,
            handle,
            access: Some(access),
            name: name.to_string(),
            written: 0,
        })
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    /// Appends `bytes`; a short write (a full disk) is an error.
    pub fn append(&mut self, bytes: &[u8]) -> Result<(), String> {
        if bytes.is_empty() {
            return Ok(());
        }
        let access = self.access.as_ref().ok_or("The export file is closed.")?;
        let options = web_sys::FileSystemReadWriteOptions::new();
        options.set_at_f64(self.written as f64);
        let n = access
            .write_with_u8_array_and_options(bytes, &options)
            .map_err(|e| write_error(&e))?;
        if (n as u64) < bytes.len() as u64 {
            return Err(write_error(&"quota exceeded".into()));
        }
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Flushes and closes the file and returns it (a disk-backed `File`).
    pub async fn finish(mut self) -> Result<web_sys::File, String> {
        if let Some(access) = self.access.take() {
            access.flush().map_err(|e| write_error(&e))?;
            access.close();
        }
        JsFuture::from(self.handle.get_file())
            .await
            .map(|f| f.unchecked_into())
            .map_err(|e| {
                format!(
                    "The exported file could not be read back: {}",
                    js_error_text(&e)
                )
            })
    }

    /// Closes and deletes the file (after a failure).
    pub async fn discard(mut self) {
        if let Some(access) = self.access.take() {
            access.close();
        }
        let _ = JsFuture::from(self.dir.remove_entry(&self.name)).await;
    }
}
