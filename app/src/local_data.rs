//! Data rights in the browser: the "Data in this browser" panel lists everything the editor's
//! origin keeps here — origin-private files (the projects folder, export files), Cache
//! Storage (the speech model), IndexedDB databases and `localStorage` — and one button deletes
//! all of it, whatever put it there.
//!
//! The deletion runs on a fresh page. After the user confirms, a flag goes into
//! `sessionStorage` (this tab only, so no link can trigger a deletion) and the page reloads:
//! that ends everything that could write again — the autosave, a transcription's workers
//! (which fill the model cache), an export worker holding its file open — and drops the project
//! from memory. The reloaded page deletes before the editor is mounted, enumerates again, and
//! the panel shows what went and anything that stayed. Naming and the result's wording are
//! `reelsmith_core::local_data`.

use std::cell::RefCell;

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use reelsmith_core::local_data::{describe, inventory_text, key_values, Area, Deletion, Item};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::blob_source::js_error_text;

/// The `sessionStorage` key that asks the next page load to delete everything.
const PENDING_KEY: &str = "reelsmith-delete-local-data";
/// A file an export worker of the page before the reload still holds open is released when
/// the browser has ended that worker: removal is tried again this often, this many times.
const RETRY_MS: u32 = 200;
const RETRIES: u32 = 25;

thread_local! {
    /// The deletion done at start-up, for the panel to show.
    static DONE: RefCell<Option<Deletion>> = const { RefCell::new(None) };
}

fn get(target: &JsValue, key: &str) -> Result<JsValue, String> {
    js_sys::Reflect::get(target, &key.into()).map_err(|e| js_error_text(&e))
}

/// Calls `target.name(args…)`.
fn call(target: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, String> {
    let function: js_sys::Function = get(target, name)?
        .dyn_into()
        .map_err(|_| format!("this browser has no {name}"))?;
    let args: js_sys::Array = args.iter().collect();
    function.apply(target, &args).map_err(|e| js_error_text(&e))
}

async fn call_async(target: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, String> {
    let promise: js_sys::Promise = call(target, name, args)?
        .dyn_into()
        .map_err(|_| format!("{name} did not answer"))?;
    JsFuture::from(promise).await.map_err(|e| js_error_text(&e))
}

fn window() -> Result<web_sys::Window, String> {
    web_sys::window().ok_or_else(|| "no browser window".to_string())
}

/// `localStorage` or `sessionStorage`, when the browser allows them.
fn web_storage(name: &str) -> Option<JsValue> {
    let storage = get(&window().ok()?.into(), name).ok()?;
    (!storage.is_null() && !storage.is_undefined()).then_some(storage)
}

/// Whether a deletion was asked for before the reload (and forgets the request).
fn take_pending() -> bool {
    let Some(session) = web_storage("sessionStorage") else {
        return false;
    };
    let pending = call(&session, "getItem", &[PENDING_KEY.into()])
        .ok()
        .is_some_and(|v| v.as_string().is_some());
    if pending {
        let _ = call(&session, "removeItem", &[PENDING_KEY.into()]);
    }
    pending
}

/// Runs `mount` once any deletion asked for before a reload is done (at once otherwise), so
/// nothing of the editor reads or writes storage while it is being emptied.
pub fn start(mount: impl FnOnce() + 'static) {
    if !take_pending() {
        mount();
        return;
    }
    // Leptos's executor starts with the mount: this runs on wasm-bindgen's own.
    wasm_bindgen_futures::spawn_local(async move {
        let deletion = delete_everything().await;
        DONE.with(|d| d.replace(Some(deletion)));
        mount();
    });
}

async fn opfs_root() -> Result<web_sys::FileSystemDirectoryHandle, String> {
    let storage = window()?.navigator().storage();
    JsFuture::from(storage.get_directory())
        .await
        .map(JsCast::unchecked_into)
        .map_err(|e| js_error_text(&e))
}

/// A folder's entries as (name, handle).
async fn entries(dir: &JsValue) -> Result<Vec<(String, JsValue)>, String> {
    let iterator = call(dir, "entries", &[])?;
    let mut out = Vec::new();
    loop {
        let step = call_async(&iterator, "next", &[]).await?;
        if get(&step, "done")?.is_truthy() {
            return Ok(out);
        }
        let pair: js_sys::Array = get(&step, "value")?.unchecked_into();
        out.push((pair.get(0).as_string().unwrap_or_default(), pair.get(1)));
    }
}

/// Bytes in a file or, summed, in a folder.
async fn size_of(handle: &JsValue) -> Result<u64, String> {
    if get(handle, "kind")?.as_string().as_deref() == Some("file") {
        let file: web_sys::File = call_async(handle, "getFile", &[]).await?.unchecked_into();
        return Ok(file.size() as u64);
    }
    let mut total = 0;
    for (_, child) in entries(handle).await? {
        total += Box::pin(size_of(&child)).await?;
    }
    Ok(total)
}

async fn cache_names() -> Result<Vec<String>, String> {
    let caches = window()?.caches().map_err(|e| js_error_text(&e))?;
    let keys = JsFuture::from(caches.keys())
        .await
        .map_err(|e| js_error_text(&e))?;
    Ok(js_sys::Array::from(&keys)
        .iter()
        .filter_map(|k| k.as_string())
        .collect())
}

fn indexed_db() -> Result<JsValue, String> {
    let factory = get(&window()?.into(), "indexedDB")?;
    if factory.is_null() || factory.is_undefined() {
        return Err("this browser has no IndexedDB".to_string());
    }
    Ok(factory)
}

async fn database_names() -> Result<Vec<String>, String> {
    let list = call_async(&indexed_db()?, "databases", &[]).await?;
    Ok(js_sys::Array::from(&list)
        .iter()
        .filter_map(|d| get(&d, "name").ok().and_then(|n| n.as_string()))
        .collect())
}

fn local_storage_keys() -> usize {
    web_storage("localStorage")
        .and_then(|s| get(&s, "length").ok())
        .and_then(|n| n.as_f64())
        .map_or(0, |n| n as usize)
}

/// Everything stored, area by area. An area the browser will not list is left out (it then
/// holds nothing the editor could have put there).
pub async fn inventory() -> Vec<Item> {
    let mut items = Vec::new();
    if let Ok(root) = opfs_root().await {
        for (name, handle) in entries(&root).await.unwrap_or_default() {
            let bytes = size_of(&handle).await.ok();
            items.push(Item {
                area: Area::Files,
                name,
                bytes,
            });
        }
    }
    for name in cache_names().await.unwrap_or_default() {
        items.push(Item {
            area: Area::Caches,
            name,
            bytes: None,
        });
    }
    for name in database_names().await.unwrap_or_default() {
        items.push(Item {
            area: Area::Databases,
            name,
            bytes: None,
        });
    }
    items.extend(key_values(local_storage_keys()));
    items
}

/// The browser's total for this origin (`navigator.storage.estimate()`).
async fn usage_bytes() -> Option<u64> {
    let storage: JsValue = window().ok()?.navigator().storage().into();
    let estimate = call_async(&storage, "estimate", &[]).await.ok()?;
    get(&estimate, "usage").ok()?.as_f64().map(|n| n as u64)
}

/// Removes one OPFS entry (a folder with everything in it), waiting for a file that an
/// ended worker still holds open to be released.
async fn remove_file_entry(root: &JsValue, name: &str) -> Result<(), String> {
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"recursive".into(), &true.into())
        .map_err(|e| js_error_text(&e))?;
    let mut tries = 0;
    loop {
        match call_async(root, "removeEntry", &[name.into(), options.clone().into()]).await {
            Ok(_) => return Ok(()),
            Err(e) if e.contains("NoModificationAllowed") && tries < RETRIES => {
                tries += 1;
                TimeoutFuture::new(RETRY_MS).await;
            }
            Err(e) if e.contains("NotFound") => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// Deletes one IndexedDB database; another tab holding it open blocks that.
async fn delete_database(name: &str) -> Result<(), String> {
    let request = call(&indexed_db()?, "deleteDatabase", &[name.into()])?;
    let done = js_sys::Promise::new(&mut |resolve, reject| {
        let blocked = reject.clone();
        let on_blocked = Closure::once_into_js(move || {
            let _ = blocked.call1(&JsValue::NULL, &"another Reelsmith tab has it open".into());
        });
        let on_error = Closure::once_into_js(move || {
            let _ = reject.call1(&JsValue::NULL, &"the browser refused".into());
        });
        let on_success = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let _ = js_sys::Reflect::set(&request, &"onsuccess".into(), &on_success);
        let _ = js_sys::Reflect::set(&request, &"onerror".into(), &on_error);
        let _ = js_sys::Reflect::set(&request, &"onblocked".into(), &on_blocked);
    });
    JsFuture::from(done)
        .await
        .map(|_| ())
        .map_err(|e| js_error_text(&e))
}

async fn delete_item(item: &Item) -> Result<(), String> {
    match item.area {
        Area::Files => remove_file_entry(&opfs_root().await?.into(), &item.name).await,
        Area::Caches => {
            let caches = window()?.caches().map_err(|e| js_error_text(&e))?;
            JsFuture::from(caches.delete(&item.name))
                .await
                .map(|_| ())
                .map_err(|e| js_error_text(&e))
        }
        Area::Databases => delete_database(&item.name).await,
        Area::KeyValues => {
            let storage = web_storage("localStorage").ok_or("localStorage is not available")?;
            call(&storage, "clear", &[]).map(|_| ())
        }
    }
}

/// Deletes everything listed by [`inventory`], then lists again what is left.
pub async fn delete_everything() -> Deletion {
    let mut deletion = Deletion::default();
    for item in inventory().await {
        match delete_item(&item).await {
            Ok(()) => deletion.deleted.push(item),
            Err(reason) => deletion.failed.push((item, reason)),
        }
    }
    if let Some(session) = web_storage("sessionStorage") {
        let _ = call(&session, "clear", &[]);
    }
    deletion.left = inventory().await;
    deletion
}

/// Asks for confirmation, then reloads the page to delete on the fresh one.
fn ask_and_reload() -> Result<(), String> {
    let window = window()?;
    let confirmed = window
        .confirm_with_message(
            "Delete everything Reelsmith keeps in this browser: all your projects, exported \
             clips and the speech model (it is downloaded again when next needed)?\n\nThe page \
             reloads first: the open video closes and a transcription or export in progress \
             stops. Use “Export project” first to keep a project as a file. Close other \
             Reelsmith tabs too, or they save their project again.",
        )
        .unwrap_or(false);
    if !confirmed {
        return Ok(());
    }
    let session = web_storage("sessionStorage").ok_or(
        "This browser does not let the page prepare the deletion (session storage is off).",
    )?;
    call(&session, "setItem", &[PENDING_KEY.into(), "1".into()])
        .map_err(|e| format!("The deletion could not be prepared: {e}"))?;
    window
        .location()
        .reload()
        .map_err(|e| format!("The page could not reload: {}", js_error_text(&e)))
}

#[component]
pub fn LocalDataPanel() -> impl IntoView {
    let done = DONE.with(|d| d.borrow_mut().take());
    let opened = done.is_some();
    let result = RwSignal::new(done.map(|d| (d.message(), d.is_complete())));
    let listed = RwSignal::new(None::<(Vec<Item>, Option<u64>)>);
    let error = RwSignal::new(None::<String>);
    let refresh = move || {
        spawn_local(async move {
            let items = inventory().await;
            listed.set(Some((items, usage_bytes().await)));
        });
    };
    if opened {
        refresh();
    }
    let on_toggle = move |ev: leptos::ev::Event| {
        let open = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
            .is_some_and(|el| el.has_attribute("open"));
        if open {
            refresh();
        }
    };
    let delete = move |_| {
        if let Err(message) = ask_and_reload() {
            error.set(Some(message));
        }
    };
    view! {
        <details class="settings local-data" data-testid="local-data" open=opened on:toggle=on_toggle>
            <summary>"Data in this browser"</summary>
            {move || result.get().map(|(message, complete)| view! {
                <p class=if complete { "status" } else { "error" } role="status" data-testid="local-data-result"
                    data-complete=complete.to_string()>{message}</p>
            })}
            <p data-testid="local-data-total">
                {move || listed.with(|l| l.as_ref().map(|(items, usage)| inventory_text(items, *usage)))}
            </p>
            <ul data-testid="local-data-items">
                {move || listed.with(|l| l.as_ref().map(|(items, _)| items.iter().map(|item| view! {
                    <li data-testid="local-data-item">{describe(item)}</li>
                }).collect::<Vec<_>>()))}
            </ul>
            <button data-testid="delete-local-data" on:click=delete>"Delete everything stored in this browser…"</button>
            {move || error.get().map(|message| view! {
                <p class="error" role="alert" data-testid="local-data-error">{message}</p>
            })}
        </details>
    }
}
