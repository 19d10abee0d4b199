//! The editor's side of the widget (protocol and origin rules: `reelsmith_core::embed`). It
//! finds out whether the editor runs standalone or embedded in a partner's page, and for
//! which partner; carries out the partner's commands through the paths the editor's own
//! controls use (open = the file picker's, target length = the suggestions' field, template =
//! the selected clip's); tells the partner when the video is open, the transcript is complete,
//! a clip is exported (with its file), a publish is done, and what failed; and shows the mode
//! in the footer. A message is taken only when it comes from the partner's origin *and* from
//! the parent window; every message goes to that origin only.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use reelsmith_core::captions::templates;
use reelsmith_core::embed::{
    parse_command, partner_origin, Command, ErrorCode, Event, Incoming, OpenSource, EMBED_PATH,
    PARENT_PARAM,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::blob_source::js_error_text;
use crate::editor::Editor;
use crate::publish::Exported;
use crate::transcriber::Phase;

/// How the editor runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Standalone,
    Embedded {
        partner: String,
    },
    /// At the embed address but not properly embedded: the editor talks to no one.
    Refused(String),
}

/// The editor's window's parent, if it has one (`window.parent` is the window itself at the
/// top).
fn parent_window(window: &web_sys::Window) -> Option<web_sys::Window> {
    let parent = window.parent().ok().flatten()?;
    (!js_sys::Object::is(&parent, window)).then_some(parent)
}

/// `location.ancestorOrigins[0]`, the browser's own word on the parent's origin (Chromium and
/// Safari; web-sys has no binding).
fn ancestor_origin(location: &web_sys::Location) -> Option<String> {
    let list = js_sys::Reflect::get(location, &"ancestorOrigins".into()).ok()?;
    if list.is_undefined() {
        return None;
    }
    js_sys::Reflect::get(&list, &0.into()).ok()?.as_string()
}

/// The mode, from the page's address and its place among windows.
pub fn mode() -> Mode {
    let Some(window) = web_sys::window() else {
        return Mode::Standalone;
    };
    let location = window.location();
    if location.pathname().ok().as_deref() != Some(EMBED_PATH) {
        return Mode::Standalone;
    }
    let parent = location
        .search()
        .ok()
        .and_then(|s| web_sys::UrlSearchParams::new_with_str(&s).ok())
        .and_then(|p| p.get(PARENT_PARAM));
    let framed = parent_window(&window).is_some();
    match partner_origin(
        parent.as_deref(),
        framed,
        ancestor_origin(&location).as_deref(),
    ) {
        Ok(partner) => Mode::Embedded { partner },
        Err(refusal) => Mode::Refused(refusal.to_string()),
    }
}

/// The partner: its origin and its window (the editor's parent).
#[derive(Clone)]
struct Partner {
    origin: String,
    window: web_sys::Window,
}

impl Partner {
    fn post(&self, event: &Event) {
        self.post_with(event, None);
    }

    /// Posts `event`, with `blob` beside it as the message's `blob` (structured clone: the
    /// partner gets the same file, no copy of its bytes is made here).
    fn post_with(&self, event: &Event, blob: Option<&web_sys::Blob>) {
        let Ok(message) = js_sys::JSON::parse(&event.to_json()) else {
            return;
        };
        if let Some(blob) = blob {
            let _ = js_sys::Reflect::set(&message, &"blob".into(), blob);
        }
        // The partner's exact origin: were the parent navigated elsewhere, the browser drops it.
        if let Err(e) = self.window.post_message(&message, &self.origin) {
            warn(&format!(
                "Reelsmith: a message to the page could not be sent: {}",
                js_error_text(&e)
            ));
        }
    }

    /// Whether `ev` comes from the partner: its origin and its window, both.
    fn sent(&self, ev: &web_sys::MessageEvent) -> bool {
        ev.origin() == self.origin
            && ev
                .source()
                .is_some_and(|source| js_sys::Object::is(&source, &self.window))
    }
}

fn warn(text: &str) {
    web_sys::console::warn_1(&text.into());
}

/// The editor's side of the protocol, when embedded: listens to the partner and reports to it.
/// Call once from the editor's component.
pub(crate) fn connect(
    editor: &Editor,
    exported: RwSignal<Option<Exported>, LocalStorage>,
    published: RwSignal<Option<String>>,
    export_failed: RwSignal<Option<String>>,
) {
    let Mode::Embedded { partner } = mode() else {
        return;
    };
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(parent) = parent_window(&window) else {
        return;
    };
    let partner = Partner {
        origin: partner,
        window: parent,
    };
    let link = Rc::new(Link {
        partner,
        editor: editor.clone(),
        pending_open: Cell::new(None),
        pending_template: RefCell::new(None),
    });
    listen(&link);
    report(&link, exported, published, export_failed);
}

/// What the handlers share.
struct Link {
    partner: Partner,
    editor: Editor,
    /// The id of the `open` waiting for the video to open (or fail).
    pending_open: Cell<Option<u64>>,
    /// A template asked for while no clip was selected: it goes to the next clip selected.
    pending_template: RefCell<Option<String>>,
}

fn template_ids() -> Vec<String> {
    templates().into_iter().map(|t| t.id).collect()
}

fn listen(link: &Rc<Link>) {
    let link = Rc::clone(link);
    let ids = template_ids();
    let handle = window_event_listener(leptos::ev::message, move |ev| {
        if !link.partner.sent(&ev) {
            // Said on the console so a partner's developer sees why nothing happens; the
            // message itself is not looked at.
            warn(&format!(
                "Reelsmith: ignored a message from {}: the editor listens only to {} in its parent window.",
                ev.origin(),
                link.partner.origin
            ));
            return;
        }
        let data = ev.data();
        // JSON to validate the shape; a File or Blob inside becomes `{}` and is read from
        // `data` itself.
        let json = js_sys::JSON::stringify(&data)
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        match parse_command(&json, &refs) {
            Ok(incoming) => run(&link, incoming, &data),
            Err(rejected) => link.partner.post(&rejected.into()),
        }
    });
    // The editor is the page: it listens for as long as it lives.
    std::mem::forget(handle);
}

fn run(link: &Rc<Link>, Incoming { id, command }: Incoming, data: &JsValue) {
    let done = |link: &Link| {
        if let Some(id) = id {
            link.partner.post(&Event::Done { id });
        }
    };
    match command {
        Command::Open(OpenSource::File { name }) => {
            let given = js_sys::Reflect::get(data, &"file".into()).unwrap_or(JsValue::UNDEFINED);
            let file = match given.dyn_into::<web_sys::File>() {
                Ok(file) => Some(file),
                Err(other) => other
                    .dyn_into::<web_sys::Blob>()
                    .ok()
                    .and_then(|blob| file_from(&blob, name.as_deref().unwrap_or("video"))),
            };
            let Some(file) = file else {
                link.partner.post(&Event::error(
                    id,
                    ErrorCode::BadValue,
                    "`open`: `file` must be a File or a Blob.",
                ));
                return;
            };
            link.pending_open.set(id);
            link.editor.open(file);
        }
        Command::Open(OpenSource::Url(url)) => {
            link.pending_open.set(id);
            let link = Rc::clone(link);
            spawn_local(async move {
                match fetch_video(&url, &link.partner.origin).await {
                    Ok(blob) => {
                        let name = url
                            .split(['?', '#'])
                            .next()
                            .and_then(|path| path.rsplit('/').next())
                            .filter(|n| !n.is_empty())
                            .unwrap_or("video");
                        match file_from(&blob, name) {
                            Some(file) => link.editor.open(file),
                            None => link
                                .editor
                                .error
                                .set(Some(format!("The video at {url} could not be read."))),
                        }
                    }
                    // Shown in the editor and sent with the open's id (see `report`).
                    Err(message) => link.editor.error.set(Some(message)),
                }
            });
        }
        Command::SetTheme(theme) => {
            let root = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.document_element());
            if let Some(root) = root {
                let _ = root.set_attribute("data-theme", theme.as_str());
            }
            done(link);
        }
        Command::SetTargetLength(secs) => {
            link.editor.edits.target_secs.set(secs);
            done(link);
        }
        Command::SetTemplate(template) => {
            let edits = link.editor.edits;
            match edits.selected_clip_untracked() {
                Some(clip) => {
                    edits.edit(|p| p.set_template(clip.id, &template));
                }
                None => {
                    link.pending_template.replace(Some(template));
                }
            }
            done(link);
        }
    }
}

/// A `File` of `blob`'s bytes (the editor's open path takes files: it shows the name).
fn file_from(blob: &web_sys::Blob, name: &str) -> Option<web_sys::File> {
    let options = web_sys::FilePropertyBag::new();
    options.set_type(&blob.type_());
    web_sys::File::new_with_blob_sequence_and_options(&js_sys::Array::of1(blob), name, &options)
        .ok()
}

/// Fetches a video the partner named by URL. The editor's policy lets it fetch from its own
/// origin and the partner's only, and the server must allow the editor's origin with CORS.
async fn fetch_video(url: &str, partner: &str) -> Result<web_sys::Blob, String> {
    let window = web_sys::window().ok_or("no window")?;
    let refused = |detail: String| {
        format!(
            "The video at {url} could not be fetched ({detail}). The editor fetches only from \
             {partner}, and only what that server allows with CORS; otherwise fetch the video \
             in your page and open it as a Blob."
        )
    };
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| refused(js_error_text(&e)))?
        .unchecked_into();
    if !response.ok() {
        return Err(format!(
            "The video at {url} could not be fetched: the server answered {} {}.",
            response.status(),
            response.status_text()
        ));
    }
    let body = response.blob().map_err(|e| refused(js_error_text(&e)))?;
    Ok(JsFuture::from(body)
        .await
        .map_err(|e| refused(js_error_text(&e)))?
        .unchecked_into())
}

/// Effects that tell the partner what happened in the editor.
fn report(
    link: &Rc<Link>,
    exported: RwSignal<Option<Exported>, LocalStorage>,
    published: RwSignal<Option<String>>,
    export_failed: RwSignal<Option<String>>,
) {
    let editor = link.editor.clone();
    // First, once the editor is on the page: ready.
    {
        let link = Rc::clone(link);
        Effect::new(move |_| {
            link.partner.post(&Event::Ready {
                cross_origin_isolated: cross_origin_isolated(),
                templates: template_ids(),
            });
        });
    }
    // An open is done once its video shows.
    {
        let link = Rc::clone(link);
        let opened = editor.opened;
        Effect::new(move |_| {
            if opened.get() > 0 {
                if let Some(id) = link.pending_open.take() {
                    link.partner.post(&Event::Done { id });
                }
            }
        });
    }
    // Every error the editor shows; one during an open answers that open.
    {
        let link = Rc::clone(link);
        let error = editor.error;
        Effect::new(move |_| {
            if let Some(message) = error.get() {
                let id = link.pending_open.take();
                let code = if id.is_some() {
                    ErrorCode::OpenFailed
                } else {
                    ErrorCode::Editor
                };
                link.partner.post(&Event::error(id, code, message));
            }
        });
    }
    // The transcript is complete (or failed).
    {
        let link = Rc::clone(link);
        let state = editor.transcription;
        let editor = editor.clone();
        Effect::new(move |previous: Option<Phase>| {
            let phase = state.phase.get();
            if previous.as_ref() != Some(&phase) {
                match &phase {
                    Phase::Done => {
                        let (word_count, text) = state
                            .transcript
                            .with_untracked(|t| (t.words().len(), t.text()));
                        link.partner.post(&Event::TranscriptReady {
                            duration_secs: editor.duration_micros() as f64 / 1e6,
                            word_count,
                            text,
                        });
                    }
                    Phase::Failed(message) => link.partner.post(&Event::error(
                        None,
                        ErrorCode::TranscriptionFailed,
                        message.clone(),
                    )),
                    _ => {}
                }
            }
            phase
        });
    }
    // A template asked for before any clip was selected goes to the first one selected.
    {
        let link = Rc::clone(link);
        let edits = editor.edits;
        Effect::new(move |_| {
            let Some(id) = edits.project.with(|p| p.selected) else {
                return;
            };
            let Some(template) = link.pending_template.take() else {
                return;
            };
            edits.edit(|p| p.set_template(id, &template));
        });
    }
    // A finished export, with its file.
    {
        let link = Rc::clone(link);
        Effect::new(move |_| {
            if let Some(file) = exported.get() {
                link.partner.post_with(
                    &Event::ClipExported {
                        name: file.name.clone(),
                        mime: file.blob.type_(),
                        bytes: file.blob.size() as u64,
                        duration_secs: file.duration_secs,
                    },
                    Some(&file.blob),
                );
            }
        });
    }
    // A publish finished; an export failed.
    {
        let link = Rc::clone(link);
        Effect::new(move |_| {
            if let Some(message) = published.get() {
                link.partner.post(&Event::PublishDone { message });
            }
        });
    }
    {
        let link = Rc::clone(link);
        Effect::new(move |_| {
            if let Some(message) = export_failed.get() {
                link.partner
                    .post(&Event::error(None, ErrorCode::ExportFailed, message));
            }
        });
    }
}

/// `crossOriginIsolated` (web-sys has no binding).
pub fn cross_origin_isolated() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &"crossOriginIsolated".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// The footer's word on how the editor runs.
#[component]
pub fn ModeStatus() -> impl IntoView {
    let (kind, text) = match mode() {
        Mode::Standalone => ("standalone", "Standalone".to_string()),
        Mode::Embedded { partner } => ("embedded", format!("Embedded in {partner}")),
        Mode::Refused(reason) => ("refused", format!("Not embedded: {reason}")),
    };
    view! { <span data-testid="mode" data-mode=kind>{text}</span> " · " }
}
