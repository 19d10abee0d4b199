//! Transcription in the tab: a pool of Web Workers, each with its own speech model instance,
//! fed the sound track's windows as they are decoded (`sound`), merged in order into the
//! transcript the panel shows. One [`Job`] per opened video; cancelling terminates its
//! workers at once. A worker that crashes is restarted and its window retried once.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use futures::channel::mpsc;
use futures::future::{join, join_all, select, Either};
use futures::lock::Mutex;
use futures::StreamExt;
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use reelsmith_core::chunk::AudioWindow;
use reelsmith_core::device_speed::{hands_over_to_tiny, real_time, DeviceSpeeds};
use reelsmith_core::language::{caption_font_warning, describe, SpeechChoice, Task};
use reelsmith_core::protocol::{
    pcm_to_bytes, ModelManifest, RequestBody, Response, ResponseBody, TranscribeRequest,
    WorkerError,
};
use reelsmith_core::transcript::{default_workers, Transcript, WindowSpan};

use crate::model_store;
use crate::player::Player;
use crate::sound::{stream_windows, SoundError};
use crate::worker_client::WorkerClient;

/// How a transcription runs: the page's query parameters (for tests and benchmarks:
/// `?model=whisper-random`, `?workers=2`, `?fault=worker-crash`) and the user's
/// [`SpeechChoice`] (model, language, task; see [`Settings::with_choice`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub model: String,
    /// Whether the page named the model (`?model=`): it then wins over the user's choice.
    pub model_from_page: bool,
    pub workers: usize,
    /// Crash the worker on the first window (tests the restart path).
    pub crash_first_window: bool,
    /// The language spoken; `None` detects it on the first window with speech.
    pub language: Option<String>,
    pub task: Task,
    /// Words to know, told to the model before each window.
    pub prompt: Option<String>,
    /// Hypotheses the beam search keeps (1: greedy).
    pub beam_size: u8,
}

impl Settings {
    pub fn from_page() -> Self {
        let params = web_sys::window()
            .and_then(|w| w.location().search().ok())
            .and_then(|s| web_sys::UrlSearchParams::new_with_str(&s).ok());
        let get = |name: &str| params.as_ref().and_then(|p| p.get(name));
        let cores = web_sys::window()
            .map(|w| w.navigator().hardware_concurrency() as usize)
            .unwrap_or(2);
        let page_model = get("model");
        Self {
            model_from_page: page_model.is_some(),
            model: page_model.unwrap_or_else(crate::settings::default_model),
            workers: get("workers")
                .and_then(|w| w.parse().ok())
                .unwrap_or_else(|| default_workers(cores)),
            crash_first_window: get("fault").as_deref() == Some("worker-crash"),
            language: None,
            task: Task::Transcribe,
            prompt: None,
            beam_size: 1,
        }
    }

    /// These settings with the user's choice of model (unless the page named one), language,
    /// task and words to know.
    pub fn with_choice(&self, choice: &SpeechChoice) -> Self {
        let model = if self.model_from_page {
            self.model.clone()
        } else {
            choice.model.clone()
        };
        let (language, task) = SpeechChoice {
            model: model.clone(),
            ..choice.clone()
        }
        .decoding();
        Self {
            beam_size: crate::settings::device_speeds().beam_size(&model),
            model,
            language,
            task,
            prompt: choice.prompt(),
            ..self.clone()
        }
    }
}

/// What one model did on this device in this session: speed and memory per worker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// Seconds of audio per second of transcription, all workers together.
    pub real_time: f64,
    pub workers: usize,
    pub memory_bytes: Option<u64>,
}

/// Where a transcription stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Idle,
    NoSound,
    Downloading { done: u64, total: u64 },
    Loading,
    Running,
    Done,
    Cancelled,
    Failed(String),
}

/// The signals the transcript and settings panels show.
#[derive(Clone, Copy)]
pub struct TranscriptState {
    pub phase: RwSignal<Phase>,
    pub transcript: RwSignal<Transcript>,
    /// Seconds of audio to transcribe.
    pub total_secs: RwSignal<f64>,
    /// Seconds since the windows started (for speed and time left).
    pub elapsed_secs: RwSignal<f64>,
    pub workers: RwSignal<usize>,
    /// Largest WebAssembly memory a worker reported.
    pub worker_memory: RwSignal<Option<u64>>,
    /// Things the user should know that did not stop the transcript (a worker restarted).
    pub notices: RwSignal<Vec<String>>,
    pub model: RwSignal<Option<ModelManifest>>,
    pub stored_bytes: RwSignal<Option<u64>>,
    /// Each model's speed on this device, measured once (kept in `localStorage`).
    pub device_speeds: RwSignal<DeviceSpeeds>,
    /// The sound's loudness, RMS per 100 ms (for suggestions and the waveform).
    pub loudness: RwSignal<Vec<f32>>,
    /// The model, language and task the next transcription uses (Settings).
    pub choice: RwSignal<SpeechChoice>,
    /// What the transcript is in ("Spanish (detected)"); `None` for an English-only model.
    pub language_note: RwSignal<Option<String>>,
    /// Whether the running transcription replaces the project's transcript when done (the
    /// user asked to transcribe again); otherwise only an empty one is filled.
    pub replaces_transcript: RwSignal<bool>,
    /// Each model's speed and memory, as measured by this session's transcriptions.
    pub measured: RwSignal<BTreeMap<String, Measured>>,
}

impl TranscriptState {
    pub fn new() -> Self {
        Self {
            phase: RwSignal::new(Phase::Idle),
            transcript: RwSignal::new(Transcript::new()),
            total_secs: RwSignal::new(0.0),
            elapsed_secs: RwSignal::new(0.0),
            workers: RwSignal::new(0),
            worker_memory: RwSignal::new(None),
            notices: RwSignal::new(Vec::new()),
            model: RwSignal::new(None),
            stored_bytes: RwSignal::new(None),
            device_speeds: RwSignal::new(crate::settings::device_speeds()),
            loudness: RwSignal::new(Vec::new()),
            choice: RwSignal::new(SpeechChoice::new(&crate::settings::default_model())),
            language_note: RwSignal::new(None),
            replaces_transcript: RwSignal::new(false),
            measured: RwSignal::new(BTreeMap::new()),
        }
    }

    fn note(&self, message: String) {
        self.notices.update(|n| n.push(message));
    }
}

impl Default for TranscriptState {
    fn default() -> Self {
        Self::new()
    }
}

enum WorkerEvent {
    Reply(Response),
    Crashed(String),
    Cancelled,
}

enum Failure {
    Crashed(String),
    Worker(WorkerError),
    Cancelled,
}

/// Where finding the video's language stands: the first window with the language left open
/// detects it, and every later window is decoded in it, so one video is in one language.
#[derive(Debug, Clone, PartialEq)]
enum Detection {
    NotStarted,
    Running,
    /// The language the first window was decoded in (`None`: the model names none).
    Known(Option<String>),
}

/// One transcription of one video.
pub struct Job {
    settings: Settings,
    state: TranscriptState,
    cancelled: Cell<bool>,
    crash_pending: Cell<bool>,
    /// Running workers and their event channels, so `cancel` can stop them mid-window.
    live: RefCell<Vec<(u64, web_sys::Worker, mpsc::UnboundedSender<WorkerEvent>)>>,
    next_worker: Cell<u64>,
    started_ms: Cell<f64>,
    detection: RefCell<Detection>,
    /// Whether a window's speed was taken (the first with words, decoded greedily).
    speed_taken: Cell<bool>,
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

impl Job {
    pub fn new(settings: Settings, state: TranscriptState) -> Rc<Self> {
        let crash = settings.crash_first_window;
        Rc::new(Self {
            settings,
            state,
            cancelled: Cell::new(false),
            crash_pending: Cell::new(crash),
            live: RefCell::new(Vec::new()),
            next_worker: Cell::new(0),
            started_ms: Cell::new(0.0),
            detection: RefCell::new(Detection::NotStarted),
            speed_taken: Cell::new(false),
        })
    }

    /// Stops everything now: workers are terminated mid-window.
    pub fn cancel(&self) {
        if self.cancelled.replace(true) {
            return;
        }
        for (_, worker, events) in self.live.borrow_mut().drain(..) {
            worker.terminate();
            let _ = events.unbounded_send(WorkerEvent::Cancelled);
        }
        if !matches!(
            self.state.phase.get_untracked(),
            Phase::Done | Phase::Failed(_)
        ) {
            self.state.phase.set(Phase::Cancelled);
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.get()
    }

    fn update_elapsed(&self) {
        self.state
            .elapsed_secs
            .set((now_ms() - self.started_ms.get()) / 1000.0);
    }

    /// Transcribes `player`'s sound track; returns when done, failed or cancelled.
    pub async fn run(self: Rc<Self>, player: Rc<Player>) {
        let state = self.state;
        state.transcript.set(Transcript::new());
        state.notices.set(Vec::new());
        state.language_note.set(None);
        state.worker_memory.set(None);
        state.elapsed_secs.set(0.0);
        state.total_secs.set(player.info().duration_secs());
        if player.info().audio.is_none() {
            state.phase.set(Phase::NoSound);
            return;
        }
        if let Some(code) = self.settings.language.clone() {
            self.language_found(Some(code));
        }
        state.phase.set(Phase::Downloading { done: 0, total: 0 });
        let manifest = match self.model().await {
            Ok(manifest) => manifest,
            Err(message) => {
                if !self.is_cancelled() {
                    state.phase.set(Phase::Failed(message));
                }
                return;
            }
        };
        if self.is_cancelled() {
            return;
        }
        state.phase.set(Phase::Loading);
        state.workers.set(self.settings.workers);
        self.started_ms.set(now_ms());
        // Capacity 0: the decoder waits until a worker takes the window it has ready.
        let (windows_tx, windows_rx) = mpsc::channel::<AudioWindow>(0);
        let queue = Rc::new(Mutex::new(windows_rx));
        let tasks: Vec<_> = (0..self.settings.workers)
            .map(|_| Rc::clone(&self).work(Rc::clone(&queue), manifest.clone()))
            .collect();
        drop(queue); // the tasks hold it; when they all end the decoder stops
        let job = Rc::clone(&self);
        let producer =
            async move { stream_windows(&player, windows_tx, || job.is_cancelled()).await };
        let (produced, worked) = join(producer, join_all(tasks)).await;
        self.stop_workers();
        self.update_elapsed();
        if self.is_cancelled() {
            return;
        }
        let worker_errors: Vec<String> = worked.into_iter().filter_map(Result::err).collect();
        let phase = match produced {
            Ok(loudness) if worker_errors.len() < self.settings.workers => {
                state.loudness.set(loudness);
                self.record_speed();
                Phase::Done
            }
            Err(SoundError::NoSound) => Phase::NoSound,
            Err(SoundError::Failed(message)) => Phase::Failed(message),
            // Every worker failed to start: the decoder had no one to hand windows to.
            Err(SoundError::Cancelled) | Ok(_) if worker_errors.len() == self.settings.workers => {
                Phase::Failed(worker_errors.into_iter().next().unwrap_or_default())
            }
            Err(SoundError::Cancelled) => Phase::Cancelled,
            Ok(_) => Phase::Done,
        };
        state.phase.set(phase);
    }

    /// The manifest, with the files downloaded and checked if they are not stored yet.
    async fn model(&self) -> Result<ModelManifest, String> {
        let manifest = model_store::fetch_manifest(&self.settings.model).await?;
        self.state.model.set(Some(manifest.clone()));
        let phase = self.state.phase;
        model_store::ensure_stored(&manifest, |done, total| {
            phase.set(Phase::Downloading { done, total });
        })
        .await?;
        self.state.stored_bytes.set(Some(manifest.total_bytes()));
        Ok(manifest)
    }

    fn stop_workers(&self) {
        for (_, worker, _) in self.live.borrow_mut().drain(..) {
            worker.terminate();
        }
    }

    /// One worker's life: start, load the model, take windows until there are none.
    async fn work(
        self: Rc<Self>,
        queue: Rc<Mutex<mpsc::Receiver<AudioWindow>>>,
        manifest: ModelManifest,
    ) -> Result<(), String> {
        let mut worker = match self.start_worker(&manifest).await {
            Ok(worker) => worker,
            Err(failure) => return Err(self.describe(failure)),
        };
        loop {
            let next = queue.lock().await.next().await;
            let Some(window) = next else {
                return Ok(());
            };
            let span = window.span();
            let Some((language, detects)) = self.window_language().await else {
                return Ok(()); // cancelled while another window found the language
            };
            let mut request = TranscribeRequest {
                span,
                pcm_f32le: pcm_to_bytes(&window.samples),
                language,
                task: self.settings.task,
                prompt: self.settings.prompt.clone(),
                beam_size: self.settings.beam_size,
                crash: self.crash_pending.replace(false),
            };
            drop(window);
            // A window that was to find the language and failed leaves it to the next one.
            let unfound = || {
                if detects {
                    self.detection.replace(Detection::NotStarted);
                }
            };
            let mut retried = false;
            loop {
                match worker
                    .request(RequestBody::Transcribe(request.clone()))
                    .await
                {
                    Ok(ResponseBody::Transcribed {
                        span,
                        segments,
                        language,
                        millis,
                        memory_bytes,
                    }) => {
                        match language {
                            Some(_) if detects => self.language_found(language),
                            // The window held no speech to tell the language by: the next
                            // window finds it.
                            None if detects => unfound(),
                            _ => {}
                        }
                        if !retried && !segments.is_empty() {
                            self.take_speed(span, millis / 1000.0);
                        }
                        self.state.transcript.update(|t| t.insert(span, segments));
                        self.record_memory(memory_bytes);
                        self.update_elapsed();
                        break;
                    }
                    Ok(other) => {
                        let message = format!("the worker answered out of turn ({other:?})");
                        self.state.transcript.update(|t| t.fail(span, message));
                        unfound();
                        break;
                    }
                    Err(Failure::Cancelled) => return Ok(()),
                    Err(Failure::Worker(e)) => {
                        self.state
                            .transcript
                            .update(|t| t.fail(span, e.to_string()));
                        unfound();
                        break;
                    }
                    Err(Failure::Crashed(message)) => {
                        self.forget(worker.key);
                        self.state.note(format!(
                            "A background worker stopped ({message}); it was restarted{}.",
                            if retried { "" } else { " and its part retried" }
                        ));
                        worker = match self.start_worker(&manifest).await {
                            Ok(worker) => worker,
                            Err(failure) => {
                                let message = self.describe(failure);
                                self.state
                                    .transcript
                                    .update(|t| t.fail(span, message.clone()));
                                unfound();
                                return Err(message);
                            }
                        };
                        if retried {
                            let message = format!(
                                "This part could not be transcribed: the worker stopped twice ({message})."
                            );
                            self.state.transcript.update(|t| t.fail(span, message));
                            unfound();
                            break;
                        }
                        retried = true;
                        request.crash = false; // the injected fault happens once
                    }
                }
            }
        }
    }

    /// The language to decode the next window in, and whether this window finds it: the one
    /// chosen; else the one an earlier window found; else this window detects it, or — while
    /// another window is detecting — it waits for that. `None` when cancelled meanwhile.
    async fn window_language(&self) -> Option<(Option<String>, bool)> {
        if let Some(language) = &self.settings.language {
            return Some((Some(language.clone()), false));
        }
        loop {
            let detection = self.detection.borrow().clone();
            match detection {
                Detection::Known(language) => return Some((language, false)),
                Detection::NotStarted => {
                    self.detection.replace(Detection::Running);
                    return Some((None, true));
                }
                Detection::Running => {}
            }
            if self.is_cancelled() {
                return None;
            }
            TimeoutFuture::new(50).await;
        }
    }

    /// The first window's language is the video's: said in the transcript panel, with a
    /// warning when the caption fonts cannot draw it.
    fn language_found(&self, language: Option<String>) {
        let note = describe(
            language.as_deref(),
            self.settings.language.as_deref(),
            self.settings.task,
        );
        self.state.language_note.set(note);
        if let Some(warning) = language
            .as_deref()
            .and_then(|code| caption_font_warning(code, self.settings.task))
        {
            self.state.note(warning);
        }
        self.detection.replace(Detection::Known(language));
    }

    /// The first long enough window with words that this device decodes greedily with this
    /// model sets the model's speed here
    /// ([`DeviceSpeeds`](reelsmith_core::device_speed::DeviceSpeeds)), once: it picks the
    /// default model (from the next visit) and the beam (from the next transcription). When
    /// base, used because it is the default, proves slower than the pace a default must
    /// keep, tiny.en takes over from the next transcription, and the user is told.
    fn take_speed(&self, span: WindowSpan, took_secs: f64) {
        if self.settings.beam_size > 1 || self.speed_taken.get() {
            return;
        }
        let model = &self.settings.model;
        let audio_secs = span.end_secs - span.start_secs;
        let Some(speed) = real_time(audio_secs, took_secs, self.settings.workers) else {
            return; // too short to tell: a later window will
        };
        self.speed_taken.set(true);
        if !crate::settings::keep_device_speed(model, speed) {
            return;
        }
        self.state
            .device_speeds
            .set(crate::settings::device_speeds());
        let defaulted = !self.settings.model_from_page && !crate::settings::model_chosen();
        let language = match &*self.detection.borrow() {
            Detection::Known(language) => language.clone(),
            _ => self.settings.language.clone(),
        };
        if defaulted && hands_over_to_tiny(model, speed, language.as_deref()) {
            self.state
                .choice
                .update(|c| c.model = reelsmith_core::device_speed::TINY_EN.to_string());
            let workers = self.settings.workers;
            let noun = if workers == 1 { "worker" } else { "workers" };
            self.state.note(format!(
                "With {workers} {noun}, the base model transcribes at about {speed:.1}× real \
                 time on this device: from the next transcription tiny.en (fast, English only) \
                 is used. Choose base in Settings to keep it."
            ));
        }
    }

    /// Keeps this model's speed and memory on this device for the Settings panel.
    fn record_speed(&self) {
        let elapsed = self.state.elapsed_secs.get_untracked();
        let done = self.state.transcript.with_untracked(|t| t.done_secs());
        if elapsed <= 0.0 || done <= 0.0 {
            return;
        }
        let measured = Measured {
            real_time: done / elapsed,
            workers: self.settings.workers,
            memory_bytes: self.state.worker_memory.get_untracked(),
        };
        self.state.measured.update(|m| {
            m.insert(self.settings.model.clone(), measured);
        });
    }

    fn describe(&self, failure: Failure) -> String {
        match failure {
            Failure::Crashed(message) => {
                format!("A background worker stopped while loading the speech model: {message}")
            }
            Failure::Worker(e) => format!("The speech model could not start: {e}"),
            Failure::Cancelled => "cancelled".to_string(),
        }
    }

    fn record_memory(&self, bytes: u64) {
        self.state
            .worker_memory
            .update(|m| *m = Some(m.map_or(bytes, |old| old.max(bytes))));
    }

    fn forget(&self, key: u64) {
        self.live.borrow_mut().retain(|(k, worker, _)| {
            if *k == key {
                worker.terminate();
            }
            *k != key
        });
    }

    async fn start_worker(&self, manifest: &ModelManifest) -> Result<PoolWorker, Failure> {
        if self.is_cancelled() {
            return Err(Failure::Cancelled);
        }
        let (events_tx, events) = mpsc::unbounded();
        let (on_reply, on_crash) = (events_tx.clone(), events_tx.clone());
        let client = WorkerClient::start(
            move |response| {
                let _ = on_reply.unbounded_send(WorkerEvent::Reply(response));
            },
            move |message| {
                let _ = on_crash.unbounded_send(WorkerEvent::Crashed(message));
            },
        )
        .map_err(Failure::Crashed)?;
        let key = self.next_worker.get();
        self.next_worker.set(key + 1);
        self.live
            .borrow_mut()
            .push((key, client.worker().clone(), events_tx));
        let mut worker = PoolWorker {
            key,
            client,
            events,
            next_id: 0,
        };
        worker.hello().await?;
        match worker
            .request(RequestBody::LoadModel(manifest.clone()))
            .await?
        {
            ResponseBody::ModelLoaded {
                memory_bytes,
                multilingual,
                ..
            } => {
                self.record_memory(memory_bytes);
                if !multilingual {
                    // An English-only model names no language: no window waits for one.
                    self.detection.replace(Detection::Known(None));
                }
                if self.state.phase.get_untracked() == Phase::Loading {
                    self.state.phase.set(Phase::Running);
                }
                Ok(worker)
            }
            other => Err(Failure::Crashed(format!(
                "unexpected answer to loading: {other:?}"
            ))),
        }
    }
}

/// Hello attempts (a message sent before the worker's wasm has started is lost).
const HELLO_ATTEMPTS: u32 = 150;
const HELLO_INTERVAL_MS: u32 = 100;

struct PoolWorker {
    key: u64,
    client: WorkerClient,
    events: mpsc::UnboundedReceiver<WorkerEvent>,
    next_id: u64,
}

impl PoolWorker {
    async fn hello(&mut self) -> Result<(), Failure> {
        for _ in 0..HELLO_ATTEMPTS {
            self.next_id += 1;
            self.client
                .send(self.next_id, RequestBody::Hello)
                .map_err(Failure::Crashed)?;
            let wait = TimeoutFuture::new(HELLO_INTERVAL_MS);
            match select(self.events.next(), wait).await {
                Either::Left((Some(WorkerEvent::Reply(r)), _)) => {
                    return r.body.map(|_| ()).map_err(Failure::Worker);
                }
                Either::Left((Some(WorkerEvent::Crashed(m)), _)) => {
                    return Err(Failure::Crashed(m))
                }
                Either::Left((Some(WorkerEvent::Cancelled) | None, _)) => {
                    return Err(Failure::Cancelled)
                }
                Either::Right(_) => {}
            }
        }
        Err(Failure::Crashed("the worker did not start".to_string()))
    }

    async fn request(&mut self, body: RequestBody) -> Result<ResponseBody, Failure> {
        self.next_id += 1;
        let id = self.next_id;
        self.client.send(id, body).map_err(Failure::Crashed)?;
        loop {
            match self.events.next().await {
                Some(WorkerEvent::Reply(r)) if r.id == id => {
                    return r.body.map_err(Failure::Worker)
                }
                Some(WorkerEvent::Reply(_)) => {} // a late answer to a repeated hello
                Some(WorkerEvent::Crashed(m)) => return Err(Failure::Crashed(m)),
                Some(WorkerEvent::Cancelled) | None => return Err(Failure::Cancelled),
            }
        }
    }
}
