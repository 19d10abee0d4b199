//! Reelsmith's Web Worker. It answers the protocol in `reelsmith_core::protocol`; the work
//! itself lives in core so it is tested natively. Later issues give it transcription and export.

#[cfg(target_arch = "wasm32")]
mod web {
    use reelsmith_core::protocol::{handle, Request, Response};
    use wasm_bindgen::prelude::*;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    pub fn start() {
        console_error_panic_hook::set_once();
        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        // web-sys has no binding for the worker scope's crossOriginIsolated.
        let isolated = js_sys::Reflect::get(&scope, &JsValue::from_str("crossOriginIsolated"))
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let reply_scope = scope.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let response = match serde_wasm_bindgen::from_value::<Request>(ev.data()) {
                Ok(request) => handle(&request, isolated),
                Err(e) => Response {
                    id: 0,
                    body: Err(format!("unreadable request: {e}")),
                },
            };
            match serde_wasm_bindgen::to_value(&response) {
                Ok(value) => {
                    if let Err(e) = reply_scope.post_message(&value) {
                        web_sys::console::error_1(&e);
                    }
                }
                Err(e) => web_sys::console::error_1(&e.to_string().into()),
            }
        });
        scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // The worker lives as long as the page: its handler must too.
        on_message.forget();
    }
}

fn main() {
    #[cfg(target_arch = "wasm32")]
    web::start();
}
