//! The app's side of the Web Worker: starts it (trunk builds `worker/` with a loader shim) and
//! talks to it with the protocol enums from `reelsmith-core`, as JS objects via
//! serde-wasm-bindgen. `start_status_worker` is the footer's check that a worker starts and
//! answers.

use leptos::prelude::*;
use leptos::task::spawn_local;
use reelsmith_core::protocol::{Request, RequestBody, Response, ResponseBody, PROTOCOL_VERSION};
use wasm_bindgen::prelude::*;

use crate::blob_source::js_error_text;

/// Where trunk puts the worker's loader shim.
pub const WORKER_URL: &str = "./reelsmith-worker_loader.js";

pub struct WorkerClient {
    worker: web_sys::Worker,
    // Held so the handlers live as long as the worker.
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

impl WorkerClient {
    /// Starts the worker; `on_response` gets every reply, `on_error` a crash or load failure.
    pub fn start(
        mut on_response: impl FnMut(Response) + 'static,
        mut on_error: impl FnMut(String) + 'static,
    ) -> Result<Self, String> {
        let worker = web_sys::Worker::new(WORKER_URL).map_err(|e| js_error_text(&e))?;
        let on_message =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                match serde_wasm_bindgen::from_value::<Response>(ev.data()) {
                    Ok(response) => on_response(response),
                    Err(e) => {
                        web_sys::console::error_1(&format!("unreadable worker message: {e}").into())
                    }
                }
            });
        let on_error_cb =
            Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |ev: web_sys::ErrorEvent| {
                on_error(format!("The background worker failed: {}", ev.message()));
            });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error_cb.as_ref().unchecked_ref()));
        Ok(Self {
            worker,
            _on_message: on_message,
            _on_error: on_error_cb,
        })
    }

    pub fn worker(&self) -> &web_sys::Worker {
        &self.worker
    }

    pub fn send(&self, id: u64, body: RequestBody) -> Result<(), String> {
        let request = Request {
            id,
            version: PROTOCOL_VERSION,
            body,
        };
        let value = serde_wasm_bindgen::to_value(&request).map_err(|e| e.to_string())?;
        self.worker
            .post_message(&value)
            .map_err(|e| js_error_text(&e))
    }
}

impl Drop for WorkerClient {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

const HELLO_ATTEMPTS: u64 = 100;
const HELLO_INTERVAL_MS: u32 = 100;

/// Starts a worker, says in `status` whether it answered hello, and then lets it go (the
/// worker ends when the asking task drops it).
/// The status worker only answers hello (it shows the worker builds and runs); it is
/// terminated once it has, so its wasm does not stay in memory beside the page.
pub fn start_status_worker(status: RwSignal<String>) {
    let client = WorkerClient::start(
        move |response| match response.body {
            Ok(ResponseBody::Ready {
                worker_version,
                cross_origin_isolated,
            }) => status.set(format!(
                "ready (v{worker_version}{})",
                if cross_origin_isolated {
                    ", isolated"
                } else {
                    ""
                }
            )),
            Ok(_) => {} // this worker only answers hello
            Err(message) => status.set(format!("error: {message}")),
        },
        move |message| status.set(format!("failed: {message}")),
    );
    let client = match client {
        Ok(client) => client,
        Err(message) => {
            status.set(format!("failed: {message}"));
            return;
        }
    };
    // A message sent before the worker's wasm has started is lost: ask until it answers.
    spawn_local(async move {
        for attempt in 1..=HELLO_ATTEMPTS {
            if status.with_untracked(|s| !s.starts_with("starting")) {
                return;
            }
            if let Err(message) = client.send(attempt, RequestBody::Hello) {
                status.set(format!("failed: {message}"));
                return;
            }
            gloo_timers::future::TimeoutFuture::new(HELLO_INTERVAL_MS).await;
        }
        status.set("failed: the worker did not start".to_string());
    });
}
