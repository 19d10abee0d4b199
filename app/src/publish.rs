//! The Publish dialog: the only place anything of the user's leaves the tab. Nothing is asked
//! of the relay until the user opens the dialog; then `GET /api/session` says whether
//! publishing is set up and who is connected, "Connect TikTok" opens the relay's OAuth flow in
//! a popup (a redirect when popups are blocked; the project autosaves either way), and
//! "Publish" sends exactly the exported file: `POST /api/publish` with its size and type, one
//! `PUT` of the file's bytes (XHR, for upload progress), then the status is polled until
//! TikTok is done. The wire types are `reelsmith_core::publish_api` (relay/API.md).

use futures::channel::oneshot;
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use reelsmith_core::publish_api::{
    clip_problem, privacy_label, status_text, ErrorEnvelope, Mode, PublishRequest, PublishStarted,
    SessionStatus, StatusReply,
};
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::blob_source::js_error_text;

/// The page the OAuth popup comes back to (`public/tiktok/connected.html`): it tells this tab
/// on [`CHANNEL`] how the connection went, then closes.
const CONNECTED_PAGE: &str = "/tiktok/connected.html";
/// The BroadcastChannel the popup and the editor share.
const CHANNEL: &str = "reelsmith-tiktok";
/// TikTok allows 30 status queries a minute per user.
const POLL_MS: u32 = 2_000;

/// An exported clip the dialog can send.
#[derive(Clone)]
pub struct Exported {
    pub blob: web_sys::Blob,
    pub name: String,
    pub duration_secs: f64,
}

/// A failed API call, as the user reads it.
#[derive(Debug, Clone, PartialEq)]
struct Failure {
    code: String,
    message: String,
}

impl Failure {
    fn network(e: &JsValue) -> Self {
        Failure {
            code: "network".into(),
            message: format!(
                "The server could not be reached ({}). Check the connection and try again.",
                js_error_text(e)
            ),
        }
    }
}

/// The error answer's user message (or a plain one when the body is not the API's).
fn failure_from(status: u16, text: &str) -> Failure {
    match serde_json::from_str::<ErrorEnvelope>(text) {
        Ok(e) => Failure {
            code: e.error.code,
            message: e.error.message,
        },
        Err(_) => Failure {
            code: "http".into(),
            message: format!("The server answered {status}. Try again in a moment."),
        },
    }
}

/// `fetch` of an `/api` path with an optional JSON body; the answer's JSON as `T`.
async fn api<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<T, Failure> {
    let window = web_sys::window().ok_or_else(|| Failure::network(&"no window".into()))?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        let headers = web_sys::Headers::new().map_err(|e| Failure::network(&e))?;
        headers
            .set("Content-Type", "application/json")
            .map_err(|e| Failure::network(&e))?;
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&body));
    }
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(|e| Failure::network(&e))?
        .unchecked_into();
    let text = JsFuture::from(response.text().map_err(|e| Failure::network(&e))?)
        .await
        .map_err(|e| Failure::network(&e))?
        .as_string()
        .unwrap_or_default();
    if !response.ok() {
        return Err(failure_from(response.status(), &text));
    }
    serde_json::from_str(&text).map_err(|e| Failure {
        code: "bad_answer".into(),
        message: format!("The server's answer could not be read: {e}"),
    })
}

/// `PUT`s `blob` to `path` with XHR (fetch has no upload progress), reporting bytes sent.
async fn upload(
    path: &str,
    blob: &web_sys::Blob,
    on_progress: impl Fn(f64, f64) + 'static,
) -> Result<(), Failure> {
    let xhr = web_sys::XmlHttpRequest::new().map_err(|e| Failure::network(&e))?;
    xhr.open("PUT", path).map_err(|e| Failure::network(&e))?;
    xhr.set_request_header("Content-Type", &blob.type_())
        .map_err(|e| Failure::network(&e))?;
    let (tx, rx) = oneshot::channel::<Result<(), Failure>>();
    let tx = std::rc::Rc::new(std::cell::RefCell::new(Some(tx)));
    let progress =
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            on_progress(e.loaded(), e.total())
        });
    let (done_tx, done_xhr) = (tx.clone(), xhr.clone());
    let on_load = Closure::<dyn FnMut()>::new(move || {
        let status = done_xhr.status().unwrap_or(0);
        let text = done_xhr.response_text().ok().flatten().unwrap_or_default();
        let result = if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(failure_from(status, &text))
        };
        if let Some(tx) = done_tx.borrow_mut().take() {
            let _ = tx.send(result);
        }
    });
    let on_error = Closure::<dyn FnMut()>::new(move || {
        if let Some(tx) = tx.borrow_mut().take() {
            let _ = tx.send(Err(Failure {
                code: "network".into(),
                message: "The upload was interrupted (the connection dropped). Press Publish \
                          again to resume it."
                    .into(),
            }));
        }
    });
    if let Ok(target) = xhr.upload() {
        target.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
    xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    xhr.send_with_opt_blob(Some(blob))
        .map_err(|e| Failure::network(&e))?;
    // The closures must live until the request ends.
    let result = rx.await.unwrap_or_else(|_| {
        Err(Failure {
            code: "network".into(),
            message: "The upload stopped.".into(),
        })
    });
    drop((progress, on_load, on_error));
    result
}

/// What the dialog knows of the connection.
#[derive(Debug, Clone, PartialEq)]
enum Connection {
    Checking,
    Unreachable(String),
    Status(SessionStatus),
}

/// Where a publish stands.
#[derive(Debug, Clone, PartialEq)]
enum Progress {
    Idle,
    Starting,
    Uploading { sent: f64, total: f64 },
    Processing(String),
    Done(String),
    Failed(String),
}

/// A publish started but not yet uploaded (or whose upload broke): pressing Publish again
/// repeats the same `PUT`, which the relay resumes, instead of starting a second post.
#[derive(Clone)]
struct Pending {
    started: PublishStarted,
    blob: web_sys::Blob,
}

/// `?tiktok=…` as the OAuth flow leaves it when it came back by redirect (not the popup).
fn take_return_param() -> Option<String> {
    let window = web_sys::window()?;
    let search = window.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    let outcome = params.get("tiktok")?;
    params.delete("tiktok");
    params.delete("reason");
    let rest = params.to_string().as_string().unwrap_or_default();
    let path = window.location().pathname().unwrap_or_else(|_| "/".into());
    let url = if rest.is_empty() {
        path
    } else {
        format!("{path}?{rest}")
    };
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
    Some(outcome)
}

fn outcome_text(outcome: &str) -> Option<String> {
    match outcome {
        "connected" => None,
        "denied" => Some("TikTok was not connected: the request was declined.".into()),
        _ => Some("TikTok could not be connected. Try again.".into()),
    }
}

#[component]
pub fn PublishPanel(
    exported: RwSignal<Option<Exported>, LocalStorage>,
    /// Set to what the user reads each time a publish finishes (the embedding partner hears).
    published: RwSignal<Option<String>>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let connection = RwSignal::new(Connection::Checking);
    let notice = RwSignal::new(None::<String>);
    let progress = RwSignal::new(Progress::Idle);
    let mode = RwSignal::new(Mode::Inbox);
    let title = RwSignal::new(String::new());
    let privacy = RwSignal::new(String::new());
    let allow_comment = RwSignal::new(true);
    let allow_duet = RwSignal::new(true);
    let allow_stitch = RwSignal::new(true);
    let pending: StoredValue<Option<Pending>, LocalStorage> = StoredValue::new_local(None);

    let refresh = move || {
        connection.set(Connection::Checking);
        spawn_local(async move {
            connection.set(
                match api::<SessionStatus>("GET", "/api/session", None).await {
                    Ok(status) => Connection::Status(status),
                    Err(f) => Connection::Unreachable(f.message),
                },
            );
        });
    };

    // Back from a redirect: open the dialog with the outcome.
    if let Some(outcome) = take_return_param() {
        notice.set(outcome_text(&outcome));
        open.set(true);
        refresh();
    }
    // Back from the popup: it says so on the channel.
    if let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) {
        let on_message =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                let outcome = ev.data().as_string().unwrap_or_default();
                notice.set(outcome_text(&outcome));
                open.set(true);
                refresh();
            });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        // The channel lives as long as the page.
        std::mem::forget(channel);
    }

    let connect = move |_| {
        notice.set(None);
        let Some(window) = web_sys::window() else {
            return;
        };
        let popup_url = format!(
            "/api/connect?return_to={}",
            js_sys::encode_uri_component(CONNECTED_PAGE)
        );
        let popup = window
            .open_with_url_and_target_and_features(
                &popup_url,
                "reelsmith-tiktok",
                "popup,width=520,height=720",
            )
            .ok()
            .flatten();
        if popup.is_none() {
            // Popups blocked: go there and come back (the project is autosaved).
            let here = format!(
                "{}{}",
                window.location().pathname().unwrap_or_else(|_| "/".into()),
                window.location().search().unwrap_or_default()
            );
            let _ = window.location().set_href(&format!(
                "/api/connect?return_to={}",
                js_sys::encode_uri_component(&here)
            ));
        }
    };

    let disconnect = move |_| {
        spawn_local(async move {
            let result =
                api::<serde_json::Value>("POST", "/api/disconnect", Some("{}".into())).await;
            notice.set(result.err().map(|f| f.message));
            pending.set_value(None);
            progress.set(Progress::Idle);
            refresh();
        });
    };

    let publish = move |_| {
        let Some(file) = exported.get_untracked() else {
            return;
        };
        let request = PublishRequest {
            mode: mode.get_untracked(),
            video_size_bytes: file.blob.size() as u64,
            content_type: file.blob.type_(),
            title: (mode.get_untracked() == Mode::Direct).then(|| title.get_untracked()),
            privacy_level: (mode.get_untracked() == Mode::Direct).then(|| privacy.get_untracked()),
            disable_comment: !allow_comment.get_untracked(),
            disable_duet: !allow_duet.get_untracked(),
            disable_stitch: !allow_stitch.get_untracked(),
            video_cover_timestamp_ms: None,
        };
        notice.set(None);
        progress.set(Progress::Starting);
        spawn_local(async move {
            let result = run_publish(request, file.blob, pending, progress).await;
            match result {
                Ok(text) => {
                    published.set(Some(text.clone()));
                    progress.set(Progress::Done(text));
                }
                Err(f) => {
                    if f.code == "not_connected" {
                        refresh();
                    }
                    progress.set(Progress::Failed(f.message));
                }
            }
        });
    };

    let busy = move || {
        progress.with(|p| {
            matches!(
                p,
                Progress::Starting | Progress::Uploading { .. } | Progress::Processing(_)
            )
        })
    };
    // A new export is a new file: whatever was pending was for the old one.
    Effect::new(move |_| {
        exported.track();
        pending.set_value(None);
        progress.set(Progress::Idle);
    });

    view! {
        <section class="publish" class:hidden=move || exported.with(|e| e.is_none()) && !open.get()>
            <button data-testid="publish-open" class:hidden=move || open.get()
                on:click=move |_| { open.set(true); refresh(); }>"Publish to TikTok…"</button>
            <div class:hidden=move || !open.get() data-testid="publish-dialog">
                <h2>"Publish to TikTok"</h2>
                <p class="hint">"Only the exported clip is sent, and only when you press Publish."</p>
                {move || notice.get().map(|n| view! { <p class="error" role="alert" data-testid="publish-notice">{n}</p> })}
                {move || match connection.get() {
                    Connection::Checking => view! { <p data-testid="publish-checking">"Checking the TikTok connection…"</p> }.into_any(),
                    Connection::Unreachable(message) => view! {
                        <p class="error" role="alert" data-testid="publish-unreachable">{message}</p>
                    }.into_any(),
                    Connection::Status(s) if !s.configured => view! {
                        <p data-testid="publish-not-configured">"Publishing is not set up on this server (it has no TikTok app credentials). Download the clip and post it yourself."</p>
                    }.into_any(),
                    Connection::Status(s) if !s.connected => view! {
                        <button data-testid="tiktok-connect" on:click=connect>"Connect TikTok"</button>
                    }.into_any(),
                    Connection::Status(s) => connected_view(s, exported, ConnectedControls {
                        mode, title, privacy, allow_comment, allow_duet, allow_stitch,
                    }, busy, publish, disconnect).into_any(),
                }}
                {move || match progress.get() {
                    Progress::Idle => view! { <p></p> }.into_any(),
                    Progress::Starting => view! { <p class="status" data-testid="publish-progress">"Starting…"</p> }.into_any(),
                    Progress::Uploading { sent, total } => view! {
                        <p class="status" data-testid="publish-progress">
                            <progress max=total.max(1.0).to_string() value=sent.to_string()></progress>
                            {format!(" Uploading: {:.1} of {:.1} MB", sent / 1e6, total / 1e6)}
                        </p>
                    }.into_any(),
                    Progress::Processing(text) => view! { <p class="status" data-testid="publish-progress">{text}</p> }.into_any(),
                    Progress::Done(text) => view! { <p class="status" data-testid="publish-done">{text}</p> }.into_any(),
                    Progress::Failed(text) => view! { <p class="error" role="alert" data-testid="publish-error">{text}</p> }.into_any(),
                }}
            </div>
        </section>
    }
}

/// The form's signals.
#[derive(Clone, Copy)]
struct ConnectedControls {
    mode: RwSignal<Mode>,
    title: RwSignal<String>,
    privacy: RwSignal<String>,
    allow_comment: RwSignal<bool>,
    allow_duet: RwSignal<bool>,
    allow_stitch: RwSignal<bool>,
}

fn connected_view(
    s: SessionStatus,
    exported: RwSignal<Option<Exported>, LocalStorage>,
    c: ConnectedControls,
    busy: impl Fn() -> bool + Copy + Send + Sync + 'static,
    publish: impl Fn(leptos::ev::MouseEvent) + Copy + 'static,
    disconnect: impl Fn(leptos::ev::MouseEvent) + Copy + 'static,
) -> impl IntoView {
    let who = s
        .creator
        .as_ref()
        .map(|c| format!("{} (@{})", c.nickname, c.username))
        .unwrap_or_else(|| "your TikTok account".into());
    let inbox_allowed = s.inbox_allowed.unwrap_or(true);
    let direct_allowed = s.direct_allowed.unwrap_or(false);
    if !inbox_allowed && direct_allowed {
        c.mode.set(Mode::Direct);
    }
    let options = s.privacy_level_options.clone().unwrap_or_default();
    let max_secs = s.max_video_post_duration_secs;
    let problem = move || {
        exported.with(|e| match e {
            Some(e) => clip_problem(e.duration_secs, e.blob.size() as u64, max_secs),
            None => clip_problem(0.0, 0, max_secs),
        })
    };
    let direct = move || c.mode.get() == Mode::Direct;
    let missing_privacy = move || direct() && c.privacy.with(|p| p.is_empty());
    let toggle = |label: &'static str,
                  id: &'static str,
                  signal: RwSignal<bool>,
                  creator_off: Option<bool>| {
        let off = creator_off.unwrap_or(false);
        if off {
            signal.set(false);
        }
        view! {
            <label>
                <input type="checkbox" data-testid=id prop:checked=move || signal.get() prop:disabled=off
                    on:change=move |ev| signal.set(event_target_checked(&ev)) />
                {label} {off.then_some(" (turned off in your TikTok settings)")}
            </label>
        }
    };
    view! {
        <p data-testid="tiktok-account">"Connected as " {who} " "
            <button data-testid="tiktok-disconnect" on:click=disconnect prop:disabled=busy>"Disconnect"</button>
        </p>
        <fieldset>
            <label class:hidden=!inbox_allowed>
                <input type="radio" name="publish-mode" data-testid="mode-inbox" prop:checked=move || !direct()
                    on:change=move |_| c.mode.set(Mode::Inbox) />
                " Send to my TikTok inbox as a draft (finish posting in the TikTok app)"
            </label>
            <label class:hidden=!direct_allowed>
                <input type="radio" name="publish-mode" data-testid="mode-direct" prop:checked=direct
                    on:change=move |_| c.mode.set(Mode::Direct) />
                " Post now"
            </label>
        </fieldset>
        <div class:hidden=move || !direct()>
            <label>"Title "
                <input type="text" data-testid="publish-title" maxlength="2200" prop:value=move || c.title.get()
                    on:input=move |ev| c.title.set(event_target_value(&ev)) />
            </label>
            <label>" Who can see it "
                <select data-testid="publish-privacy" on:change=move |ev| c.privacy.set(event_target_value(&ev))>
                    <option value="" selected=move || c.privacy.with(|p| p.is_empty())>"Choose…"</option>
                    {options.into_iter().map(|o| {
                        let label = privacy_label(&o).to_string();
                        view! { <option value=o.clone()>{label}</option> }
                    }).collect_view()}
                </select>
            </label>
            {toggle("Allow comments", "allow-comment", c.allow_comment, s.comment_disabled)}
            {toggle("Allow Duet", "allow-duet", c.allow_duet, s.duet_disabled)}
            {toggle("Allow Stitch", "allow-stitch", c.allow_stitch, s.stitch_disabled)}
            <p class="hint">"By posting, you agree to TikTok's Music Usage Confirmation."</p>
        </div>
        {move || problem().map(|p| view! { <p class="hint" data-testid="publish-problem">{p}</p> })}
        <button data-testid="publish-button" on:click=publish
            prop:disabled=move || busy() || problem().is_some() || missing_privacy()>"Publish"</button>
    }
}

/// Starts (or resumes) the publish, uploads the file and polls until TikTok is done.
async fn run_publish(
    request: PublishRequest,
    blob: web_sys::Blob,
    pending: StoredValue<Option<Pending>, LocalStorage>,
    progress: RwSignal<Progress>,
) -> Result<String, Failure> {
    // The same file again after a broken upload: resume that publish.
    let resumable = pending
        .get_value()
        .filter(|p| p.blob == blob && p.started.video_size_bytes == request.video_size_bytes);
    let started = match resumable {
        Some(p) => p.started,
        None => {
            let body = serde_json::to_string(&request).map_err(|e| Failure {
                code: "bad_request".into(),
                message: e.to_string(),
            })?;
            let started: PublishStarted = api("POST", "/api/publish", Some(body)).await?;
            pending.set_value(Some(Pending {
                started: started.clone(),
                blob: blob.clone(),
            }));
            started
        }
    };
    progress.set(Progress::Uploading {
        sent: 0.0,
        total: blob.size(),
    });
    upload(&started.upload_path, &blob, move |sent, total| {
        progress.set(Progress::Uploading { sent, total });
    })
    .await?;
    pending.set_value(None);
    let status_path = format!(
        "/api/publish/{}/status",
        js_sys::encode_uri_component(&started.publish_id)
    );
    loop {
        let reply: StatusReply = api("GET", &status_path, None).await?;
        let text = status_text(&reply);
        if reply.done {
            return if reply.status == "FAILED" {
                Err(Failure {
                    code: "failed".into(),
                    message: text,
                })
            } else {
                Ok(text)
            };
        }
        progress.set(Progress::Processing(text));
        TimeoutFuture::new(POLL_MS).await;
    }
}
