//! Autosave: the project (source reference, transcript, clips, styles) is written to the
//! origin-private file system (OPFS) on every change and offered back when the page is
//! opened again. Writes never overlap: a change made while one is being written is saved
//! right after it (only the newest state).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use reelsmith_core::edit::Project;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};

use crate::blob_source::js_error_text;

const FILE: &str = "project.json";

async fn root() -> Result<web_sys::FileSystemDirectoryHandle, String> {
    let storage = web_sys::window()
        .ok_or("no browser window")?
        .navigator()
        .storage();
    let root = JsFuture::from(storage.get_directory()).await.map_err(|e| {
        format!(
            "the browser's storage is unavailable ({})",
            js_error_text(&e)
        )
    })?;
    Ok(root.unchecked_into())
}

async fn file(create: bool) -> Result<Option<web_sys::FileSystemFileHandle>, String> {
    let options = web_sys::FileSystemGetFileOptions::new();
    options.set_create(create);
    match JsFuture::from(root().await?.get_file_handle_with_options(FILE, &options)).await {
        Ok(handle) => Ok(Some(handle.unchecked_into())),
        Err(_) if !create => Ok(None),
        Err(e) => Err(js_error_text(&e)),
    }
}

/// Writes the project (replacing the saved one).
pub async fn save(json: &str) -> Result<(), String> {
    let handle = file(true).await?.ok_or("no project file")?;
    let stream: web_sys::FileSystemWritableFileStream = JsFuture::from(handle.create_writable())
        .await
        .map_err(|e| js_error_text(&e))?
        .unchecked_into();
    let written = JsFuture::from(stream.write_with_str(json).map_err(|e| js_error_text(&e))?)
        .await
        .map_err(|e| {
            format!(
                "The project could not be saved ({}). The disk may be full.",
                js_error_text(&e)
            )
        });
    // Close even after a failed write, so the next save can open the file.
    let closed = JsFuture::from(stream.close()).await;
    written?;
    closed.map_err(|e| js_error_text(&e))?;
    Ok(())
}

/// The saved project, if there is one that can be read.
pub async fn load() -> Result<Option<Project>, String> {
    let Some(handle) = file(false).await? else {
        return Ok(None);
    };
    let file: web_sys::File = JsFuture::from(handle.get_file())
        .await
        .map_err(|e| js_error_text(&e))?
        .unchecked_into();
    let text = JsFuture::from(file.text())
        .await
        .map_err(|e| js_error_text(&e))?
        .as_string()
        .unwrap_or_default();
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| format!("The saved project could not be read: {e}"))
}

/// Deletes the saved project.
pub async fn clear() -> Result<(), String> {
    match JsFuture::from(root().await?.remove_entry(FILE)).await {
        Ok(_) => Ok(()),
        // Nothing saved: nothing to delete.
        Err(e) if js_error_text(&e).contains("could not be found") => Ok(()),
        Err(e) => Err(js_error_text(&e)),
    }
}

/// Saves the newest state, one write at a time.
#[derive(Clone, Default)]
pub struct Autosaver {
    pending: Rc<RefCell<Option<String>>>,
    busy: Rc<Cell<bool>>,
}

impl Autosaver {
    /// Saves `project` soon; `on_done` hears how each write went.
    pub fn save(&self, project: &Project, on_done: impl Fn(Result<(), String>) + 'static) {
        let Ok(json) = serde_json::to_string(project) else {
            return;
        };
        self.pending.replace(Some(json));
        if self.busy.replace(true) {
            return;
        }
        let me = self.clone();
        spawn_local(async move {
            loop {
                let next = me.pending.borrow_mut().take();
                let Some(json) = next else { break };
                on_done(save(&json).await);
            }
            me.busy.set(false);
        });
    }
}
