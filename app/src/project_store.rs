//! The projects' files in the origin-private file system (OPFS): the `projects/` folder
//! (`reelsmith_core::projects` names its files) read, written and emptied file by file, the
//! single `project.json` of earlier versions (read once, to move it into the list), and
//! [`Writer`], the queue every change goes through: one write at a time, only the newest
//! contents of each file, and a removal that no older write can undo.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use reelsmith_core::projects::DIR;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};

use crate::blob_source::js_error_text;

/// The one autosaved project of earlier versions.
const LEGACY_FILE: &str = reelsmith_core::local_data::PROJECT_FILE;

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

/// A DOMException's name (`NotFoundError`, `QuotaExceededError`…) and message.
fn error_words(e: &JsValue) -> String {
    let name = js_sys::Reflect::get(e, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default();
    format!("{name} {}", js_error_text(e))
}

fn is_not_found(e: &JsValue) -> bool {
    let words = error_words(e);
    words.contains("NotFound") || words.contains("could not be found")
}

/// The projects folder; `None` when it does not exist and `create` is false (nothing is
/// written merely by looking).
async fn folder(create: bool) -> Result<Option<web_sys::FileSystemDirectoryHandle>, String> {
    let options = web_sys::FileSystemGetDirectoryOptions::new();
    options.set_create(create);
    match JsFuture::from(
        root()
            .await?
            .get_directory_handle_with_options(DIR, &options),
    )
    .await
    {
        Ok(dir) => Ok(Some(dir.unchecked_into())),
        Err(e) if !create && (is_not_found(&e) || error_words(&e).contains("TypeMismatch")) => {
            Ok(None)
        }
        Err(e) => Err(js_error_text(&e)),
    }
}

async fn file_in(
    dir: &web_sys::FileSystemDirectoryHandle,
    name: &str,
    create: bool,
) -> Result<Option<web_sys::FileSystemFileHandle>, String> {
    let options = web_sys::FileSystemGetFileOptions::new();
    options.set_create(create);
    match JsFuture::from(dir.get_file_handle_with_options(name, &options)).await {
        Ok(handle) => Ok(Some(handle.unchecked_into())),
        Err(e) if !create && is_not_found(&e) => Ok(None),
        Err(e) => Err(js_error_text(&e)),
    }
}

/// How many times a read starts over when the file was replaced under it.
const READ_ATTEMPTS: u32 = 5;

/// Reads a stored file with `read` (its text or its bytes), with the file's last-modified
/// time. A `File` from OPFS is a snapshot: when a save (this tab's or another's) replaces
/// the file between taking the snapshot and reading it, the read fails with NotReadableError;
/// a fresh snapshot then holds the new contents, so the read starts over, after a short wait
/// (saves can land in a burst: autosave after each edit).
pub async fn read_snapshot(
    handle: &web_sys::FileSystemFileHandle,
    read: impl Fn(&web_sys::File) -> js_sys::Promise,
) -> Result<(JsValue, f64), String> {
    let mut attempt = 1;
    loop {
        let file: web_sys::File = JsFuture::from(handle.get_file())
            .await
            .map_err(|e| js_error_text(&e))?
            .unchecked_into();
        match JsFuture::from(read(&file)).await {
            Ok(value) => return Ok((value, file.last_modified())),
            Err(e) if attempt < READ_ATTEMPTS && error_words(&e).contains("NotReadable") => {
                gloo_timers::future::TimeoutFuture::new(20 * attempt).await;
                attempt += 1;
            }
            Err(e) => return Err(js_error_text(&e)),
        }
    }
}

/// A stored file's text and when it was last written (ms since 1970).
pub struct Stored {
    pub text: String,
    pub modified_ms: f64,
}

async fn text_of(handle: &web_sys::FileSystemFileHandle) -> Result<Stored, String> {
    let (text, modified_ms) = read_snapshot(handle, |file| file.text()).await?;
    Ok(Stored {
        text: text.as_string().unwrap_or_default(),
        modified_ms,
    })
}

/// A file of the projects folder as text (`None` when there is no such file).
pub async fn read_text(name: &str) -> Result<Option<Stored>, String> {
    let Some(dir) = folder(false).await? else {
        return Ok(None);
    };
    let Some(handle) = file_in(&dir, name, false).await? else {
        return Ok(None);
    };
    text_of(&handle).await.map(Some)
}

/// A file of the projects folder as bytes (`None` when there is no such file).
pub async fn read_bytes(name: &str) -> Result<Option<Vec<u8>>, String> {
    let Some(dir) = folder(false).await? else {
        return Ok(None);
    };
    let Some(handle) = file_in(&dir, name, false).await? else {
        return Ok(None);
    };
    let (buffer, _) = read_snapshot(&handle, |file| file.array_buffer()).await?;
    Ok(Some(js_sys::Uint8Array::new(&buffer).to_vec()))
}

/// The names of the files in the projects folder (none when it does not exist).
pub async fn list() -> Result<Vec<String>, String> {
    let Some(dir) = folder(false).await? else {
        return Ok(Vec::new());
    };
    let keys = js_sys::Reflect::get(&dir, &"keys".into()).map_err(|e| js_error_text(&e))?;
    let keys: js_sys::Function = keys
        .dyn_into()
        .map_err(|_| "this browser cannot list stored files".to_string())?;
    let iterator = keys.call0(&dir).map_err(|e| js_error_text(&e))?;
    let next: js_sys::Function = js_sys::Reflect::get(&iterator, &"next".into())
        .map_err(|e| js_error_text(&e))?
        .dyn_into()
        .map_err(|_| "this browser cannot list stored files".to_string())?;
    let mut names = Vec::new();
    loop {
        let promise: js_sys::Promise = next
            .call0(&iterator)
            .map_err(|e| js_error_text(&e))?
            .dyn_into()
            .map_err(|_| "this browser cannot list stored files".to_string())?;
        let step = JsFuture::from(promise)
            .await
            .map_err(|e| js_error_text(&e))?;
        let done = js_sys::Reflect::get(&step, &"done".into()).map_err(|e| js_error_text(&e))?;
        if done.is_truthy() {
            return Ok(names);
        }
        if let Some(name) = js_sys::Reflect::get(&step, &"value".into())
            .ok()
            .and_then(|v| v.as_string())
        {
            names.push(name);
        }
    }
}

/// What a write failed with, in words a user can act on (the file's name means nothing to
/// them).
fn write_error(e: &JsValue) -> String {
    if error_words(e).to_lowercase().contains("quota") {
        "The browser's storage is full, so your latest edits could not be saved. Nothing is lost \
         while this tab stays open: delete projects you no longer need (or exported clips under \
         “Data in this browser”), or free space on the disk, and the next edit saves everything."
            .to_string()
    } else {
        format!(
            "Your latest edits could not be saved in this browser ({}). The disk may be full. \
             Nothing is lost while this tab stays open; the next edit tries again.",
            js_error_text(e)
        )
    }
}

/// What goes into a file.
#[derive(Clone)]
pub enum Contents {
    Text(String),
    Bytes(Vec<u8>),
}

/// Writes a file of the projects folder (replacing it; the folder is made when needed).
pub async fn write(name: &str, contents: &Contents) -> Result<(), String> {
    let dir = folder(true)
        .await?
        .ok_or("the projects folder could not be made")?;
    let handle = file_in(&dir, name, true)
        .await?
        .ok_or("the project file could not be made")?;
    let stream: web_sys::FileSystemWritableFileStream = JsFuture::from(handle.create_writable())
        .await
        .map_err(|e| write_error(&e))?
        .unchecked_into();
    let promise = match contents {
        Contents::Text(text) => stream.write_with_str(text),
        Contents::Bytes(bytes) => stream.write_with_u8_array(bytes),
    };
    let written = match promise {
        Ok(promise) => JsFuture::from(promise)
            .await
            .map(|_| ())
            .map_err(|e| write_error(&e)),
        Err(e) => Err(write_error(&e)),
    };
    // Close even after a failed write, so the next save can open the file; a failed close
    // keeps the old contents (the write is only committed on close).
    let closed = JsFuture::from(stream.close()).await;
    written?;
    closed.map_err(|e| write_error(&e))?;
    Ok(())
}

/// Removes a file of the projects folder (a missing one is already gone).
pub async fn remove(name: &str) -> Result<(), String> {
    let Some(dir) = folder(false).await? else {
        return Ok(());
    };
    match JsFuture::from(dir.remove_entry(name)).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(format!(
            "“{name}” could not be deleted ({})",
            js_error_text(&e)
        )),
    }
}

/// The project saved by an earlier version in `project.json`, if there is one.
pub async fn read_legacy() -> Result<Option<Stored>, String> {
    let Some(handle) = file_in(&root().await?, LEGACY_FILE, false).await? else {
        return Ok(None);
    };
    text_of(&handle).await.map(Some)
}

/// Removes `project.json` once its project is in the list.
pub async fn remove_legacy() -> Result<(), String> {
    match JsFuture::from(root().await?.remove_entry(LEGACY_FILE)).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(js_error_text(&e)),
    }
}

/// Contents made when their write starts (`None`: nothing to write after all).
pub type Later = Rc<dyn Fn() -> Option<Contents>>;

/// A change waiting to be made to one file.
#[derive(Clone)]
pub enum Op {
    Write(Contents),
    /// A write of what the contents are when it starts, not when it was asked for: for a file
    /// that sums up others (the index), so a copy queued early never replaces a later one.
    WriteLatest(Later),
    Remove,
}

/// Hears how a queued change went.
pub type Done = Rc<dyn Fn(Result<(), String>)>;

/// A file's name, its waiting change and who hears how it went.
type Queued = (String, Op, Option<Done>);

/// Changes files one at a time, in the order they were first asked for. A file asked to change
/// again before its turn gets only the newest change (with the newest listener); a removal
/// replaces a waiting write. Nothing runs until [`Writer::open`] (the list is loaded first, so
/// a write never races the reading or the migration).
#[derive(Clone, Default)]
pub struct Writer {
    queue: Rc<RefCell<Vec<Queued>>>,
    /// The change being made now: until it is done the file may still hold the older
    /// contents, so [`Writer::waiting`] answers with it.
    running: Rc<RefCell<Option<(String, Op)>>>,
    busy: Rc<Cell<bool>>,
    open: Rc<Cell<bool>>,
}

impl Writer {
    /// Queues a change to the file `name` of the projects folder.
    pub fn put(&self, name: String, op: Op, done: Option<Done>) {
        {
            let mut queue = self.queue.borrow_mut();
            match queue.iter_mut().find(|(n, _, _)| *n == name) {
                Some(waiting) => *waiting = (name, op, done),
                None => queue.push((name, op, done)),
            }
        }
        self.drain();
    }

    /// The newest change of `name` waiting or being made (what the file will hold).
    pub fn waiting(&self, name: &str) -> Option<Op> {
        let queued = self
            .queue
            .borrow()
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, op, _)| op.clone());
        queued.or_else(|| {
            self.running
                .borrow()
                .as_ref()
                .filter(|(n, _)| n == name)
                .map(|(_, op)| op.clone())
        })
    }

    /// Starts writing (and keeps writing whatever is queued from now on).
    pub fn open(&self) {
        self.open.set(true);
        self.drain();
    }

    fn drain(&self) {
        if !self.open.get() || self.busy.replace(true) {
            return;
        }
        let me = self.clone();
        spawn_local(async move {
            loop {
                let next = {
                    let mut queue = me.queue.borrow_mut();
                    (!queue.is_empty()).then(|| queue.remove(0))
                };
                let Some((name, op, done)) = next else { break };
                me.running.replace(Some((name.clone(), op.clone())));
                let result = match &op {
                    Op::Write(contents) => write(&name, contents).await,
                    Op::WriteLatest(contents) => match contents() {
                        Some(contents) => write(&name, &contents).await,
                        None => Ok(()),
                    },
                    Op::Remove => remove(&name).await,
                };
                me.running.replace(None);
                if let Some(done) = done {
                    done(result);
                }
            }
            me.busy.set(false);
        });
    }
}
