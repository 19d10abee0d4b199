//! The projects kept in this browser: [`Library`] (the list in memory, which project is open,
//! autosave of the open one into its own file) and [`ProjectsPanel`] (the list with a picture
//! of each video, its length, clip count and last change; open, rename, duplicate, delete).
//!
//! Opening a video starts a new project; the one before stays in the list as it was last
//! saved. Reopening one asks for its video again (the browser keeps no copy) and checks it is
//! the same file before anything changes (`core::projects::check_source`, with a digest of the
//! file's ends). At start-up the list is read, made true to the files in the folder, and the
//! single `project.json` of earlier versions becomes a project of the list. The decisions are
//! `reelsmith_core::projects`; files are `project_store`.

use std::collections::BTreeMap;
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use reelsmith_core::edit::{Project, SourceRef};
use reelsmith_core::media::clock;
use reelsmith_core::projects::{
    changed_text, check_source, clean_name, date_text, default_name, fingerprint_ranges,
    fingerprint_text, id_of_project_file, migrated_id, new_id, project_file, thumbnail_file, Entry,
    Index, IndexError, Thumbnail, INDEX_FILE, THUMBNAIL_HEIGHT, THUMBNAIL_WIDTH,
};
use wasm_bindgen::{Clamped, JsCast};
use wasm_bindgen_futures::JsFuture;

use crate::blob_source::js_error_text;
use crate::editing::Edits;
use crate::editor::{use_editor_handle, EditorHandle};
use crate::project_store::{self, Contents, Done, Later, Op, Writer};

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The local time's offset east of UTC, in minutes.
fn utc_offset_minutes() -> i32 {
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}

/// The projects in this browser and which one is open. All handles are `Copy`.
#[derive(Clone, Copy)]
pub struct Library {
    pub index: RwSignal<Index>,
    /// The list has been read (and migrated); until then nothing is written.
    pub loaded: RwSignal<bool>,
    /// The open project's id (`None` before a video is opened).
    pub current: RwSignal<Option<String>>,
    pub thumbs: RwSignal<BTreeMap<String, Thumbnail>>,
    /// What went wrong with the list, for the user.
    pub message: RwSignal<Option<String>>,
    /// The index file is left as it is this visit (written by a newer version, or it could
    /// not be read): the list lives in memory only.
    index_kept: StoredValue<bool>,
    writer: StoredValue<Writer, LocalStorage>,
    waiting: StoredValue<Vec<Box<dyn FnOnce()>>, LocalStorage>,
}

impl Default for Library {
    fn default() -> Self {
        Self::new()
    }
}

impl Library {
    /// The library, reading the list from storage in the background.
    pub fn new() -> Self {
        let library = Self {
            index: RwSignal::new(Index::default()),
            loaded: RwSignal::new(false),
            current: RwSignal::new(None),
            thumbs: RwSignal::new(BTreeMap::new()),
            message: RwSignal::new(None),
            index_kept: StoredValue::new(false),
            writer: StoredValue::new_local(Writer::default()),
            waiting: StoredValue::new_local(Vec::new()),
        };
        spawn_local(library.load());
        library
    }

    /// Runs `then` once the list is read (at once if it is).
    pub fn when_loaded(&self, then: impl FnOnce() + 'static) {
        if self.loaded.get_untracked() {
            then();
        } else {
            self.waiting.update_value(|w| w.push(Box::new(then)));
        }
    }

    /// Adds to what the panel says went wrong.
    fn say(&self, what: String) {
        self.message.update(|m| {
            *m = Some(match m.take() {
                Some(before) => format!("{before} {what}"),
                None => what,
            })
        });
    }

    async fn load(self) {
        let (mut found, mut dirty) = match project_store::read_text(INDEX_FILE).await {
            Ok(Some(stored)) => match Index::from_json(&stored.text) {
                Ok(index) => (index, false),
                Err(e @ IndexError::Newer(_)) => {
                    // Rewriting it would destroy what that version keeps there.
                    self.index_kept.set_value(true);
                    self.say(format!(
                        "{e}: it is left as it is, and the list below is made from the project \
                         files for this visit only (names and order may differ)."
                    ));
                    (Index::default(), false)
                }
                Err(e) => {
                    self.say(format!("{e}; it was made again from the project files."));
                    (Index::default(), true)
                }
            },
            Ok(None) => (Index::default(), false),
            Err(e) => {
                // Rewriting it from what could be read would lose the projects' names.
                self.index_kept.set_value(true);
                self.say(format!(
                    "The list of saved projects could not be read ({e}); it is left as it is."
                ));
                (Index::default(), false)
            }
        };
        // The files decide what exists: an entry whose file is gone goes, a file the list
        // lacks (the list written before it, or damaged) is read back in. Without the names
        // of the files nothing is decided: the list stays as read and nothing is moved in.
        match project_store::list().await {
            Ok(names) => {
                let ids: Vec<String> = names
                    .iter()
                    .filter_map(|n| id_of_project_file(n))
                    .map(str::to_string)
                    .collect();
                let mut recovered = BTreeMap::new();
                for id in ids.iter().filter(|id| found.get(id).is_none()) {
                    if let Ok(Some(stored)) = project_store::read_text(&project_file(id)).await {
                        if let Ok(project) = serde_json::from_str::<Project>(&stored.text) {
                            let name = found.unique_name(&default_name(&project));
                            recovered.insert(
                                id.clone(),
                                Entry::new(id, &name, &project, stored.modified_ms),
                            );
                        }
                    }
                }
                dirty |= found.reconcile(&ids, |id| recovered.remove(id));
                if !self.index_kept.get_value() {
                    dirty |= self.migrate(&mut found).await;
                }
            }
            Err(e) => {
                dirty = false;
                self.say(format!(
                    "The project files could not be listed ({e}); the list is shown as last saved."
                ));
            }
        }
        self.index.update(|index| index.merge(found));
        self.loaded.set(true);
        if dirty {
            self.write_index();
        }
        self.writer.with_value(Writer::open);
        for then in self
            .waiting
            .try_update_value(std::mem::take)
            .unwrap_or_default()
        {
            then();
        }
        let ids: Vec<String> = self
            .index
            .with_untracked(|i| i.ids().map(str::to_string).collect());
        for id in ids {
            if let Ok(Some(bytes)) = project_store::read_bytes(&thumbnail_file(&id)).await {
                if let Some(thumb) = Thumbnail::from_bytes(&bytes) {
                    self.thumbs.update(|t| {
                        t.entry(id).or_insert(thumb);
                    });
                }
            }
        }
    }

    /// Moves the single project of earlier versions into the list (`found`: the list as read
    /// and made true to the files). Its file is removed only once the project is written in
    /// the folder and listed; its id comes from its contents, so a move cut short is not made
    /// twice.
    async fn migrate(&self, found: &mut Index) -> bool {
        let Ok(Some(stored)) = project_store::read_legacy().await else {
            return false;
        };
        let Ok(project) = serde_json::from_str::<Project>(&stored.text) else {
            // Unreadable: left where it is, named in "Data in this browser".
            return false;
        };
        let id = migrated_id(&stored.text);
        if found.get(&id).is_some() {
            // Moved on an earlier visit (and perhaps edited since): only the old file is left.
            let _ = project_store::remove_legacy().await;
            return false;
        }
        let name = found.unique_name(&default_name(&project));
        let written = project_store::write(&project_file(&id), &Contents::Text(stored.text)).await;
        if let Err(e) = written {
            self.message.set(Some(e));
            return false;
        }
        found.put(Entry::new(&id, &name, &project, stored.modified_ms));
        let listed = project_store::write(INDEX_FILE, &Contents::Text(found.to_json())).await;
        if listed.is_ok() {
            let _ = project_store::remove_legacy().await;
        }
        true
    }

    fn report(&self) -> Done {
        let message = self.message;
        Rc::new(move |result| {
            if let Err(e) = result {
                message.set(Some(e));
            }
        })
    }

    /// Writes the index as it is when its turn comes (a copy queued before the list was
    /// read, or before a later change, is never what lands).
    fn write_index(&self) {
        let (index, kept) = (self.index, self.index_kept);
        let latest: Later = Rc::new(move || {
            if kept.try_get_value().unwrap_or(true) {
                return None;
            }
            index.try_with_untracked(|i| Contents::Text(i.to_json()))
        });
        let done = self.report();
        self.writer
            .with_value(|w| w.put(INDEX_FILE.to_string(), Op::WriteLatest(latest), Some(done)));
    }

    /// A video was opened: the project it starts continues the listed project `continued`
    /// (its video matched the one being restored), else it is a new one. The project before
    /// it stays as last saved.
    pub fn start(&self, continued: Option<String>) {
        let id =
            continued.unwrap_or_else(|| self.index.with_untracked(|i| new_id(now_ms(), i.ids())));
        self.current.set(Some(id));
    }

    /// Saves the open project into its file and its entry; `on_done` hears how the project's
    /// write went.
    pub fn save(&self, project: &Project, on_done: impl Fn(Result<(), String>) + 'static) {
        let Some(id) = self.current.get_untracked() else {
            return;
        };
        let Ok(json) = serde_json::to_string(project) else {
            return;
        };
        let now = now_ms();
        self.index.update(|index| match index.get_mut(&id) {
            Some(entry) => entry.update(project, now),
            None => {
                let name = index.unique_name(&default_name(project));
                index.put(Entry::new(&id, &name, project, now));
            }
        });
        self.writer.with_value(|w| {
            w.put(
                project_file(&id),
                Op::Write(Contents::Text(json)),
                Some(Rc::new(on_done)),
            )
        });
        self.write_index();
    }

    /// A listed project as saved (or about to be saved).
    pub async fn project(&self, id: &str) -> Result<Project, String> {
        let name = project_file(id);
        let text = match self.writer.with_value(|w| w.waiting(&name)) {
            Some(Op::Write(Contents::Text(text))) => text,
            _ => {
                project_store::read_text(&name)
                    .await?
                    .ok_or("This project's file is missing from the browser's storage.")?
                    .text
            }
        };
        serde_json::from_str(&text).map_err(|e| format!("This project could not be read: {e}"))
    }

    pub fn rename(&self, id: &str, typed: &str) -> Result<(), String> {
        let name = clean_name(typed).map_err(|e| format!("Not renamed: {e}."))?;
        self.index.update(|i| {
            if let Some(entry) = i.get_mut(id) {
                entry.name = name;
            }
        });
        self.write_index();
        Ok(())
    }

    /// Copies a project (its file, picture and entry) under a new id and a "(copy)" name;
    /// `open` is the project as edited now when `id` is the open one.
    pub async fn duplicate(&self, id: &str, open: Option<Project>) -> Result<(), String> {
        let project = match open {
            Some(project) => project,
            None => self.project(id).await?,
        };
        let json = serde_json::to_string(&project).map_err(|e| e.to_string())?;
        let Some(original) = self.index.with_untracked(|i| i.get(id).cloned()) else {
            return Ok(()); // deleted meanwhile
        };
        let (copy_id, name) = self
            .index
            .with_untracked(|i| (new_id(now_ms(), i.ids()), i.copy_name(&original.name)));
        let mut entry = Entry::new(&copy_id, &name, &project, now_ms());
        entry.source = original.source;
        let done = self.report();
        self.writer.with_value(|w| {
            w.put(
                project_file(&copy_id),
                Op::Write(Contents::Text(json)),
                Some(done),
            )
        });
        if let Some(thumb) = self.thumbs.with_untracked(|t| t.get(id).cloned()) {
            self.writer.with_value(|w| {
                w.put(
                    thumbnail_file(&copy_id),
                    Op::Write(Contents::Bytes(thumb.to_bytes())),
                    None,
                )
            });
            self.thumbs.update(|t| {
                t.insert(copy_id.clone(), thumb);
            });
        }
        self.index.update(|i| i.put(entry));
        self.write_index();
        Ok(())
    }

    /// Deletes a project that is not open (its file, picture and entry).
    pub fn delete(&self, id: &str) {
        if self.current.get_untracked().as_deref() == Some(id) {
            return;
        }
        self.index.update(|i| {
            i.remove(id);
        });
        self.thumbs.update(|t| {
            t.remove(id);
        });
        let done = self.report();
        self.writer.with_value(|w| {
            w.put(project_file(id), Op::Remove, Some(done.clone()));
            w.put(thumbnail_file(id), Op::Remove, Some(done));
        });
        self.write_index();
    }

    /// Keeps a small picture of the open project's video: a frame of the timeline's strip of
    /// `cells` thumbnails (the middle one), scaled down.
    pub fn take_thumbnail(&self, strip: &web_sys::HtmlCanvasElement, cells: usize) {
        let Some(id) = self.current.get_untracked() else {
            return;
        };
        let Some(thumb) = small_picture(strip, cells) else {
            return;
        };
        self.writer.with_value(|w| {
            w.put(
                thumbnail_file(&id),
                Op::Write(Contents::Bytes(thumb.to_bytes())),
                None,
            )
        });
        self.thumbs.update(|t| {
            t.insert(id, thumb);
        });
    }
}

fn context_2d(canvas: &web_sys::HtmlCanvasElement) -> Option<web_sys::CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten()?.dyn_into().ok()
}

/// The middle cell of the strip, drawn at the thumbnail's size and read back as RGBA.
fn small_picture(strip: &web_sys::HtmlCanvasElement, cells: usize) -> Option<Thumbnail> {
    let document = web_sys::window()?.document()?;
    let canvas: web_sys::HtmlCanvasElement =
        document.create_element("canvas").ok()?.dyn_into().ok()?;
    let (w, h) = (u32::from(THUMBNAIL_WIDTH), u32::from(THUMBNAIL_HEIGHT));
    canvas.set_width(w);
    canvas.set_height(h);
    let ctx = context_2d(&canvas)?;
    let cell = f64::from(strip.width()) / cells.max(1) as f64;
    let at = (cells / 2) as f64 * cell;
    ctx.draw_image_with_html_canvas_element_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
        strip,
        at,
        0.0,
        cell,
        f64::from(strip.height()),
        0.0,
        0.0,
        f64::from(w),
        f64::from(h),
    )
    .ok()?;
    let data = ctx.get_image_data(0, 0, w as i32, h as i32).ok()?;
    Thumbnail::new(THUMBNAIL_WIDTH, THUMBNAIL_HEIGHT, data.data().0)
}

/// Draws a stored picture into a list item's canvas.
fn paint(canvas: &web_sys::HtmlCanvasElement, thumb: &Thumbnail) {
    let Some(ctx) = context_2d(canvas) else {
        return;
    };
    let Ok(data) = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
        Clamped(&thumb.rgba),
        u32::from(thumb.width),
        u32::from(thumb.height),
    ) else {
        return;
    };
    canvas.set_width(u32::from(thumb.width));
    canvas.set_height(u32::from(thumb.height));
    let _ = ctx.put_image_data(&data, 0, 0);
    let _ = canvas.set_attribute("data-drawn", "true");
}

/// A picked file as a project's source: name, size, date and a digest of its first and last
/// 64 KiB (without the digest when the file cannot be read).
pub async fn source_of(file: &web_sys::File) -> SourceRef {
    SourceRef {
        name: file.name(),
        bytes: file.size() as u64,
        last_modified_ms: file.last_modified(),
        fingerprint: fingerprint(file).await.ok(),
    }
}

/// SHA-256 of the file's first and last 64 KiB (`core::projects::fingerprint_ranges`).
pub async fn fingerprint(file: &web_sys::File) -> Result<String, String> {
    let mut bytes = Vec::new();
    for (start, end) in fingerprint_ranges(file.size() as u64) {
        let part = file
            .slice_with_f64_and_f64(start as f64, end as f64)
            .map_err(|e| js_error_text(&e))?;
        let buffer = JsFuture::from(part.array_buffer())
            .await
            .map_err(|e| js_error_text(&e))?;
        bytes.extend(js_sys::Uint8Array::new(&buffer).to_vec());
    }
    let subtle = web_sys::window()
        .ok_or("no browser window")?
        .crypto()
        .map_err(|e| js_error_text(&e))?
        .subtle();
    let promise = subtle
        .digest_with_str_and_u8_array("SHA-256", &bytes)
        .map_err(|e| js_error_text(&e))?;
    let digest = JsFuture::from(promise)
        .await
        .map_err(|e| js_error_text(&e))?;
    Ok(fingerprint_text(&js_sys::Uint8Array::new(&digest).to_vec()))
}

/// Checks a picked file against a listed project's video; when it is the same, the editor
/// opens it and continues that project. Otherwise nothing changes and the panel says why.
async fn reopen(edits: Edits, id: String, file: web_sys::File, open: EditorHandle) {
    let library = edits.library;
    let Some(entry) = library.index.with_untracked(|i| i.get(&id).cloned()) else {
        return;
    };
    let picked = source_of(&file).await;
    if let Some(saved) = &entry.source {
        if let Err(why) = check_source(saved, &picked) {
            library
                .message
                .set(Some(format!("Not opened: {why}. Nothing was changed.")));
            return;
        }
    }
    match library.project(&id).await {
        Ok(project) => {
            library.message.set(None);
            edits.restorable.set(Some((Some(id), project)));
            open.with_value(|editor| editor.open(file));
        }
        Err(e) => library.message.set(Some(e)),
    }
}

/// The list of projects, newest change first.
#[component]
pub fn ProjectsPanel() -> impl IntoView {
    let open = use_editor_handle();
    let edits = open.with_value(|e| e.edits);
    let library = edits.library;
    // Relative times ("5 minutes ago") move on by themselves.
    let tick = RwSignal::new(0u32);
    spawn_local(async move {
        loop {
            TimeoutFuture::new(30_000).await;
            if tick.try_update(|n| *n = n.wrapping_add(1)).is_none() {
                return; // the panel is gone
            }
        }
    });
    let ids = move || {
        library
            .index
            .with(|i| i.sorted().into_iter().map(|e| e.id).collect::<Vec<_>>())
    };
    view! {
        <section class="projects" data-testid="projects" aria-label="Projects in this browser">
            <h2>"Projects"</h2>
            {move || library.message.get().map(|m| view! {
                <p class="error" role="alert" data-testid="projects-message">{m}
                    " " <button data-testid="projects-message-close" on:click=move |_| library.message.set(None)>"OK"</button>
                </p>
            })}
            <Show when=move || library.loaded.get() && library.index.with(|i| i.projects.is_empty())>
                <p class="status" data-testid="projects-empty">
                    "Each video you open starts a project; they are kept here as you edit."
                </p>
            </Show>
            <ul class="project-list" data-testid="project-list">
                <For each=ids key=|id| id.clone() let:id>
                    <ProjectItem edits=edits id=id open=open tick=tick />
                </For>
            </ul>
        </section>
    }
}

#[component]
fn ProjectItem(edits: Edits, id: String, open: EditorHandle, tick: RwSignal<u32>) -> impl IntoView {
    let library = edits.library;
    let id = StoredValue::new(id);
    let entry = move || {
        library
            .index
            .with(|i| id.with_value(|id| i.get(id).cloned()))
    };
    let is_current = move || {
        library
            .current
            .with(|c| id.with_value(|id| c.as_deref() == Some(id.as_str())))
    };
    let renaming = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let typed = RwSignal::new(String::new());
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    Effect::new(move |_| {
        let Some(canvas) = canvas.get() else { return };
        library.thumbs.with(|t| {
            if let Some(thumb) = id.with_value(|id| t.get(id).cloned()) {
                paint(&canvas, &thumb);
            }
        });
    });
    let name = move || entry().map(|e| e.name).unwrap_or_default();
    let facts = move || {
        tick.track();
        entry().map(|e| {
            format!(
                "{} · {} · {}",
                clock(e.duration_secs),
                e.clips_text(),
                changed_text(e.changed_ms, now_ms(), utc_offset_minutes())
            )
        })
    };
    let changed_at = move || {
        entry().map(|e| {
            format!(
                "Last change: {}",
                date_text(e.changed_ms, utc_offset_minutes())
            )
        })
    };
    let on_pick = move |ev: leptos::ev::Event| {
        let input: Option<web_sys::HtmlInputElement> = ev.target().and_then(|t| t.dyn_into().ok());
        let file = input
            .as_ref()
            .and_then(|i| i.files())
            .and_then(|f| f.get(0));
        if let Some(input) = input {
            input.set_value("");
        }
        if let Some(file) = file {
            spawn_local(reopen(edits, id.get_value(), file, open));
        }
    };
    let start_rename = move |_| {
        typed.set(name());
        confirming.set(false);
        renaming.set(true);
    };
    let save_name = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match library.rename(&id.get_value(), &typed.get_untracked()) {
            Ok(()) => renaming.set(false),
            Err(e) => library.message.set(Some(e)),
        }
    };
    let duplicate = move |_| {
        let open = library
            .current
            .with_untracked(|c| id.with_value(|id| c.as_deref() == Some(id.as_str())))
            .then(|| edits.project.get_untracked());
        spawn_local(async move {
            if let Err(e) = library.duplicate(&id.get_value(), open).await {
                library.message.set(Some(format!("Not duplicated: {e}")));
            }
        });
    };
    view! {
        <li class="project-item" class:current=is_current data-testid="project"
            data-id=id.get_value() data-clips=move || entry().map(|e| e.clips.to_string())>
            <canvas node_ref=canvas class="project-thumb" data-testid="project-thumb"
                width=THUMBNAIL_WIDTH height=THUMBNAIL_HEIGHT aria-hidden="true"></canvas>
            <div class="project-meta">
                <span class="project-name" data-testid="project-name">{name}</span>
                <span class="project-facts" data-testid="project-facts" title=changed_at>{facts}</span>
            </div>
            <div class="project-actions">
                <Show when=is_current fallback=move || view! {
                    <label class="button" data-testid="project-open" aria-label=move || format!("Open {}…", name())
                        title="Pick this project's video again to continue it (the browser keeps no copy of it)">
                        "Open…"
                        <input type="file" class="visually-hidden" data-testid="project-open-input"
                            accept="video/mp4,video/quicktime,video/webm,.mp4,.mov,.m4v,.webm,.mkv"
                            on:change=on_pick />
                    </label>
                }>
                    <span class="status" data-testid="project-current">"Open now"</span>
                </Show>
                <button data-testid="project-rename" aria-label=move || format!("Rename {}", name()) on:click=start_rename>"Rename"</button>
                <button data-testid="project-duplicate" aria-label=move || format!("Duplicate {}", name()) on:click=duplicate>"Duplicate"</button>
                <button data-testid="project-delete" disabled=is_current aria-label=move || format!("Delete {}", name())
                    title=move || if is_current() { "The open project cannot be deleted; open another video first" } else { "Delete this project" }
                    on:click=move |_| { renaming.set(false); confirming.set(true); }>"Delete"</button>
            </div>
            <Show when=move || renaming.get()>
                <form class="project-rename" on:submit=save_name>
                    <input type="text" data-testid="project-name-input" aria-label="Project name"
                        prop:value=move || typed.get()
                        on:input=move |ev| typed.set(event_target_value(&ev)) />
                    <button type="submit" data-testid="project-rename-save">"Save"</button>
                    <button type="button" data-testid="project-rename-cancel" on:click=move |_| renaming.set(false)>"Cancel"</button>
                </form>
            </Show>
            <Show when=move || confirming.get()>
                <div class="project-confirm" role="alertdialog" aria-label="Delete this project?" data-testid="project-delete-question">
                    <span>{move || format!("Delete “{}” and all its edits? This cannot be undone.", name())}</span>
                    <button data-testid="project-delete-confirm" on:click=move |_| {
                        confirming.set(false);
                        library.delete(&id.get_value());
                    }>"Delete"</button>
                    <button data-testid="project-delete-cancel" on:click=move |_| confirming.set(false)>"Keep it"</button>
                </div>
            </Show>
        </li>
    }
}
