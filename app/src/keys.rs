//! The keyboard: the editor's shortcuts (one listener on the window for the page's life) and
//! the "?" overlay that lists them.

use leptos::prelude::*;
use reelsmith_core::media::secs_from_micros;
use wasm_bindgen::JsCast;

use crate::editor::Editor;

/// Listens for the editor's shortcuts until the page goes; `shortcuts_open` shows the list.
pub fn listen(editor: Editor, shortcuts_open: RwSignal<bool>) {
    let handle = window_event_listener(leptos::ev::keydown, move |ev| {
        let target = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok());
        let on_field = target.as_ref().is_some_and(|el| {
            matches!(
                el.tag_name().as_str(),
                "BUTTON" | "INPUT" | "SELECT" | "TEXTAREA"
            )
        });
        // Typing: the field's own undo and keys, not the editor's.
        let on_text = target.as_ref().is_some_and(|el| {
            el.tag_name() == "TEXTAREA"
                || el
                    .dyn_ref::<web_sys::HtmlInputElement>()
                    .is_some_and(|i| matches!(i.type_().as_str(), "text" | "number" | "search"))
        });
        // Letters mean something in a text field or a list (type-ahead), not on a button.
        let takes_letters = on_text || target.as_ref().is_some_and(|el| el.tag_name() == "SELECT");
        // The transcript's words move with the arrows themselves.
        let on_word = target
            .as_ref()
            .is_some_and(|el| el.class_list().contains("word"));
        let modified = ev.ctrl_key() || ev.meta_key() || ev.alt_key();
        match ev.key().as_str() {
            "Escape" => shortcuts_open.set(false),
            " " if !on_field => {
                ev.prevent_default();
                editor.toggle_play();
            }
            "ArrowLeft" if !on_field && !on_word => editor.step(-1),
            "ArrowRight" if !on_field && !on_word => editor.step(1),
            "z" | "Z" if (ev.ctrl_key() || ev.meta_key()) && !on_text => {
                ev.prevent_default();
                if ev.shift_key() {
                    editor.edits.redo();
                } else {
                    editor.edits.undo();
                }
            }
            "?" if !on_text => shortcuts_open.update(|o| *o = !*o),
            // The list is a dialog: nothing behind it acts while it is open.
            _ if shortcuts_open.get_untracked() => {}
            _ if modified => {}
            "Delete" | "Backspace" if !on_field => editor.edits.cut_selection(),
            _ if takes_letters => {}
            "j" => editor.seek(editor.time_micros.get_untracked() - 2_000_000),
            "k" => editor.stop(),
            "m" => editor.toggle_mute(),
            "l" if !editor.playing.get_untracked() => editor.toggle_play(),
            "i" => editor
                .edits
                .mark(true, secs_from_micros(editor.time_micros.get_untracked())),
            "o" => editor
                .edits
                .mark(false, secs_from_micros(editor.time_micros.get_untracked())),
            _ => {}
        }
    });
    // The editor is the page: the listener is never removed.
    std::mem::forget(handle);
}

/// The keyboard shortcuts, shown by "?" (or the key ?).
#[component]
pub fn Shortcuts(open: RwSignal<bool>) -> impl IntoView {
    const KEYS: &[(&str, &str)] = &[
        ("Space", "Play / pause"),
        ("← / →", "Previous / next frame"),
        ("J / K / L", "Back 2 s / stop / play"),
        ("M", "Sound on / off"),
        (
            "I / O",
            "Set the selected clip's in / out point at the playhead",
        ),
        ("Delete", "Cut the selected words from the clip"),
        ("Shift + click, Shift + ← / →", "Select a run of words"),
        (
            "← / → on a clip end",
            "Move the clip's start or end to the previous / next word (Shift: 0.1 s)",
        ),
        ("Ctrl + wheel", "Zoom the timeline around the pointer"),
        ("Ctrl + Z / Ctrl + Shift + Z", "Undo / redo"),
        ("?", "Show or hide this list"),
        ("Esc", "Close this list"),
    ];
    let close = NodeRef::<leptos::html::Button>::new();
    // Focus moves into the list when it opens and back to its button when it closes.
    Effect::new(move |was_open: Option<bool>| {
        let is_open = open.get();
        if is_open {
            request_animation_frame(move || {
                if let Some(button) = close.get_untracked() {
                    let _ = button.focus();
                }
            });
        } else if was_open == Some(true) {
            if let Some(button) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| {
                    d.query_selector("[data-testid=shortcuts-button]")
                        .ok()
                        .flatten()
                })
                .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let _ = button.focus();
            }
        }
        is_open
    });
    view! {
        <Show when=move || open.get()>
            <div class="overlay" role="dialog" aria-modal="true" aria-labelledby="shortcuts-title" data-testid="shortcuts">
                <div class="dialog">
                    <h2 id="shortcuts-title">"Keyboard shortcuts"</h2>
                    <dl>
                        {KEYS.iter().map(|(key, what)| view! { <dt><kbd>{*key}</kbd></dt><dd>{*what}</dd> }).collect::<Vec<_>>()}
                    </dl>
                    <button data-testid="shortcuts-close" node_ref=close on:click=move |_| open.set(false)>"Close"</button>
                </div>
            </div>
        </Show>
    }
}
