//! The page's side of export: the panel under the clip list (format with the reason for it,
//! size, Export, progress with frames, speed and time left, Cancel, the download and the
//! clip's SRT/VTT), and the client that runs the export worker. Cancel terminates the worker
//! at once; its scratch file is removed by the next export.

use leptos::prelude::*;
use reelsmith_core::edit::Clip;
use reelsmith_core::export::{
    choose_format, file_stem, output_fps, subtitles, FormatChoice, OutputFormat, OutputSize,
    Timeline,
};
use reelsmith_core::media::secs_from_micros;
use reelsmith_core::subtitles::{to_srt, to_vtt};
use reelsmith_core::transcript::Word;
use wasm_bindgen::prelude::*;

use super::{job_message, ExportEvent, ExportJob, EXPORT_WORKER_URL};
use crate::blob_source::js_error_text;
use crate::editing::is_cut;
use crate::editor::use_editor_handle;
use crate::publish::Exported;

/// Where an export stands, as the panel shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportState {
    Idle,
    Running {
        frames_done: usize,
        frames_total: usize,
        fps: f64,
    },
    Done {
        url: String,
        name: String,
        bytes: u64,
        frames: usize,
        secs: f64,
        srt: String,
        vtt: String,
    },
    Failed(String),
    Cancelled,
}

/// The running worker and its handlers.
struct Running {
    worker: web_sys::Worker,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// The words a clip's captions show: inside its span, cut words left out.
pub fn clip_words(words: &[&Word], clip: &Clip) -> Vec<Word> {
    words
        .iter()
        .filter(|w| w.start_secs >= clip.span.start_secs && w.end_secs <= clip.span.end_secs)
        .filter(|w| !is_cut(Some(clip), w))
        .map(|w| (*w).clone())
        .collect()
}

fn object_url(parts: &[&str], mime: &str) -> Option<String> {
    let array = js_sys::Array::new();
    for p in parts {
        array.push(&JsValue::from_str(p));
    }
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&array, &options).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

fn revoke(state: &ExportState) {
    if let ExportState::Done { url, srt, vtt, .. } = state {
        for u in [url, srt, vtt] {
            let _ = web_sys::Url::revoke_object_url(u);
        }
    }
}

/// `?export=direct`: the benchmark's transcode ceiling (see `ExportJob::direct_frames`).
fn direct_frames_requested() -> bool {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|s| web_sys::UrlSearchParams::new_with_str(&s).ok())
        .and_then(|p| p.get("export"))
        .is_some_and(|v| v == "direct")
}

fn progress_text(frames_done: usize, frames_total: usize, fps: f64) -> String {
    let left = if fps > 0.0 && frames_done > 0 {
        format!(
            " · about {:.0} s left",
            (frames_total.saturating_sub(frames_done)) as f64 / fps
        )
    } else {
        String::new()
    };
    format!("Exporting: {frames_done} of {frames_total} frames · {fps:.1} fps{left}")
}

#[component]
pub fn ExportPanel(
    /// The finished file, for the Publish dialog.
    exported: RwSignal<Option<Exported>, LocalStorage>,
    /// Set to the message each time an export fails (the embedding partner hears).
    failed: RwSignal<Option<String>>,
) -> impl IntoView {
    let editor = use_editor_handle();
    let (edits, info) = editor.with_value(|e| (e.edits, e.info));
    let state = RwSignal::new(ExportState::Idle);
    let wanted = RwSignal::new(None::<OutputFormat>);
    let size = RwSignal::new(OutputSize::Full);
    let running: StoredValue<Option<Running>, LocalStorage> = StoredValue::new_local(None);
    let started = StoredValue::new(0u64);
    let choice = Memo::new(move |_| {
        let sound = info.with(|i| {
            i.as_ref()
                .and_then(|i| i.audio.as_ref().map(|a| a.codec.clone()))
        });
        choose_format(wanted.get(), sound.as_ref(), false)
    });
    let stop = move |next: ExportState| {
        running.update_value(|r| *r = None);
        if let ExportState::Failed(message) = &next {
            failed.set(Some(message.clone()));
        }
        state.update(|s| {
            revoke(s);
            *s = next;
        });
    };
    let start = move |_| {
        let Some(clip) = edits.selected_clip_untracked() else {
            return;
        };
        let blob = editor.with_value(|e| {
            e.player
                .borrow()
                .as_ref()
                .map(|p| p.source().blob().clone())
        });
        let Some(blob) = blob else {
            state.set(ExportState::Failed("Open the video first.".into()));
            return;
        };
        let FormatChoice { format, sound, .. } = choice.get_untracked();
        let words = edits
            .project
            .with_untracked(|p| clip_words(&p.words(), &clip));
        let fps = info.with_untracked(|i| {
            output_fps(
                i.as_ref()
                    .and_then(|i| i.video.as_ref())
                    .map_or(30.0, |v| v.frame_rate),
            )
        });
        let timeline = Timeline::new(&clip.kept(), fps);
        let total_micros = timeline.total_micros();
        exported.set(None);
        let all_words = edits
            .project
            .with_untracked(|p| p.words().into_iter().cloned().collect::<Vec<Word>>());
        let refs: Vec<&Word> = all_words.iter().collect();
        let cues = subtitles(&refs, &timeline);
        let (srt, vtt) = (to_srt(&cues), to_vtt(&cues));
        let name = format!("{}.{}", file_stem(&clip.name), format.extension());
        let id = started.get_value() + 1;
        started.set_value(id);
        let job = ExportJob {
            clip,
            words,
            format,
            sound,
            size: size.get_untracked(),
            scratch_name: format!("export-{}-{id}.part", js_sys::Date::now() as u64),
            direct_frames: direct_frames_requested(),
        };
        let message = match job_message(&job, &blob) {
            Ok(m) => m,
            Err(e) => {
                stop(ExportState::Failed(e));
                return;
            }
        };
        let worker = match web_sys::Worker::new(EXPORT_WORKER_URL) {
            Ok(w) => w,
            Err(e) => {
                stop(ExportState::Failed(format!(
                    "The export worker could not start: {}",
                    js_error_text(&e)
                )));
                return;
            }
        };
        let to_worker = worker.clone();
        let on_message =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                let data = ev.data();
                let Some(event) = js_sys::Reflect::get(&data, &"event".into())
                    .ok()
                    .and_then(|v| serde_wasm_bindgen::from_value::<ExportEvent>(v).ok())
                else {
                    return;
                };
                if started.get_value() != id {
                    return; // a cancelled export's last words
                }
                match event {
                    ExportEvent::Ready => {
                        if let Err(e) = to_worker.post_message(&message) {
                            stop(ExportState::Failed(js_error_text(&e)));
                        }
                    }
                    ExportEvent::Started { frames_total, .. } => state.set(ExportState::Running {
                        frames_done: 0,
                        frames_total,
                        fps: 0.0,
                    }),
                    ExportEvent::Progress {
                        frames_done,
                        frames_total,
                        fps,
                    } => state.set(ExportState::Running {
                        frames_done,
                        frames_total,
                        fps,
                    }),
                    ExportEvent::Done {
                        bytes,
                        frames,
                        millis,
                    } => {
                        let blob = js_sys::Reflect::get(&data, &"blob".into())
                            .ok()
                            .and_then(|b| b.dyn_into::<web_sys::Blob>().ok());
                        let url = blob
                            .as_ref()
                            .and_then(|b| web_sys::Url::create_object_url_with_blob(b).ok());
                        if let Some(blob) = blob {
                            exported.set(Some(Exported {
                                blob,
                                name: name.clone(),
                                duration_secs: secs_from_micros(total_micros),
                            }));
                        }
                        let subtitles = (
                            object_url(&[&srt], "application/x-subrip"),
                            object_url(&[&vtt], "text/vtt"),
                        );
                        let next = match (url, subtitles) {
                            (Some(url), (Some(srt), Some(vtt))) => ExportState::Done {
                                url,
                                name: name.clone(),
                                bytes,
                                frames,
                                secs: millis / 1000.0,
                                srt,
                                vtt,
                            },
                            _ => ExportState::Failed(
                                "The finished file could not be offered for download.".into(),
                            ),
                        };
                        stop(next);
                    }
                    ExportEvent::Failed { message } => stop(ExportState::Failed(message)),
                }
            });
        let on_error =
            Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |ev: web_sys::ErrorEvent| {
                if started.get_value() == id {
                    stop(ExportState::Failed(format!(
                        "The export stopped unexpectedly: {}",
                        ev.message()
                    )));
                }
            });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        state.update(|s| {
            revoke(s);
            *s = ExportState::Running {
                frames_done: 0,
                frames_total: timeline.frames(),
                fps: 0.0,
            };
        });
        running.set_value(Some(Running {
            worker,
            _on_message: on_message,
            _on_error: on_error,
        }));
    };
    let cancel = move |_| {
        started.set_value(started.get_value() + 1);
        stop(ExportState::Cancelled);
    };
    let is_running = move || state.with(|s| matches!(s, ExportState::Running { .. }));
    let on_format = move |ev: leptos::ev::Event| {
        wanted.set(match event_target_value(&ev).as_str() {
            "mp4" => Some(OutputFormat::Mp4),
            "webm" => Some(OutputFormat::WebM),
            _ => None,
        });
    };
    let on_size = move |ev: leptos::ev::Event| {
        size.set(if event_target_value(&ev) == "720" {
            OutputSize::Small
        } else {
            OutputSize::Full
        });
    };
    view! {
        <section class="export" class:hidden=move || edits.project.with(|p| p.selected.is_none())>
            <h2>"Export"</h2>
            <label>"Format "
                <select data-testid="export-format" on:change=on_format prop:disabled=is_running>
                    <option value="auto">"Best for this video"</option>
                    <option value="mp4">"MP4 (H.264 + AAC)"</option>
                    <option value="webm">"WebM (VP9 + Opus)"</option>
                </select>
            </label>
            <label>" Size "
                <select data-testid="export-size" on:change=on_size prop:disabled=is_running>
                    <option value="1080">"1080p"</option>
                    <option value="720">"720p"</option>
                </select>
            </label>
            <p class="hint" data-testid="export-reason" data-format=move || choice.with(|c| c.format.extension())>
                "The clip will be " {move || choice.with(|c| c.reason.clone())}
            </p>
            <button data-testid="export" on:click=start prop:disabled=is_running>"Export clip"</button>
            {move || match state.get() {
                ExportState::Idle => view! { <p></p> }.into_any(),
                ExportState::Running { frames_done, frames_total, fps } => view! {
                    <p class="status" data-testid="export-progress" data-done=frames_done.to_string() data-total=frames_total.to_string()>
                        <progress max=frames_total.max(1).to_string() value=frames_done.to_string()></progress>
                        " " {progress_text(frames_done, frames_total, fps)} " "
                        <button data-testid="export-cancel" on:click=cancel>"Cancel"</button>
                    </p>
                }.into_any(),
                ExportState::Done { url, name, bytes, frames, secs, srt, vtt } => {
                    let stem = name.rsplit_once('.').map_or(name.clone(), |(s, _)| s.to_string());
                    view! {
                        <p class="status" data-testid="export-done" data-frames=frames.to_string() data-bytes=bytes.to_string() data-millis=format!("{:.0}", secs * 1000.0)>
                            {format!("Done: {frames} frames in {secs:.1} s ({:.1} MB). ", bytes as f64 / 1e6)}
                            <a data-testid="export-download" href=url download=name.clone()>{format!("Download {name}")}</a>
                            " · Subtitles: "
                            <a data-testid="export-srt" href=srt download=format!("{stem}.srt")>"SRT"</a>
                            " "
                            <a data-testid="export-vtt" href=vtt download=format!("{stem}.vtt")>"VTT"</a>
                        </p>
                    }.into_any()
                }
                ExportState::Failed(message) => view! {
                    <p class="error" role="alert" data-testid="export-error">{message}</p>
                }.into_any(),
                ExportState::Cancelled => view! {
                    <p class="status" data-testid="export-cancelled">"Export cancelled."</p>
                }.into_any(),
            }}
        </section>
    }
}
