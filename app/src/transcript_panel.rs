//! The transcript: the editor's main editing surface. Words stream in as transcription runs;
//! the spoken word is highlighted during playback. It is edited as a document: click or
//! arrow keys to move, Shift to select a run, Delete to cut it from the selected clip, Enter
//! (or a double-click) to retype it in place, keeping its timing. Pauses and fillers found by
//! the clean-up are highlighted before they are removed, and cut words are struck through.

use leptos::prelude::*;
use reelsmith_core::media::secs_from_micros;
use reelsmith_core::transcript::{eta_secs, word_index_at};
use wasm_bindgen::JsCast;

use crate::editing::within;
use crate::editor::{use_editor, Editor};
use crate::settings::megabytes;
use crate::sound;
use crate::transcriber::Phase;

/// What the transcript panel says about where transcription stands.
pub fn phase_text(phase: &Phase, done: f64, total: f64, elapsed: f64) -> String {
    // `+ 0.0` turns a -0.0 (the first window's start rounded) into 0.0: never "-0.0 s".
    let done = done.clamp(0.0, total.max(0.0)) + 0.0;
    match phase {
        Phase::Idle => String::new(),
        Phase::NoSound => sound::NO_SOUND.to_string(),
        Phase::Downloading { done, total } if *total > 0 => format!(
            "Downloading the speech model (once): {} of {} ({:.0}%)",
            megabytes(*done),
            megabytes(*total),
            *done as f64 * 100.0 / *total as f64
        ),
        Phase::Downloading { .. } => "Checking the speech model…".to_string(),
        Phase::Loading => "Starting the speech model…".to_string(),
        Phase::Running => {
            let left = eta_secs(done, total, elapsed)
                .map(|s| format!(" · about {:.0} s left", s.ceil()))
                .unwrap_or_default();
            format!("Transcribing: {done:.1} s of {total:.1} s{left}")
        }
        // A transcript restored with its project took no time here: no speed to tell.
        Phase::Done if elapsed <= 0.0 => {
            format!("Transcript of {total:.1} s (saved with the project)")
        }
        Phase::Done => format!(
            "Transcribed {done:.1} s of audio in {elapsed:.1} s ({:.1}× real time)",
            done / elapsed
        ),
        Phase::Cancelled => "Transcription cancelled.".to_string(),
        Phase::Failed(message) => format!("Transcription failed: {message}"),
    }
}

#[component]
pub(crate) fn TranscriptPanel() -> impl IntoView {
    let editor = use_editor();
    let state = editor.transcription;
    let time = editor.time_micros;
    let edits = editor.edits;
    // Reactive closures must be Send: the editor's handles stay behind a local store.
    let seeker = StoredValue::new_local(editor.clone());
    let done = move || state.transcript.with(|t| t.done_secs());
    let running = move || {
        matches!(
            state.phase.get(),
            Phase::Downloading { .. } | Phase::Loading | Phase::Running
        )
    };
    let progress_value = move || match state.phase.get() {
        Phase::Downloading { done, total } if total > 0 => done as f64 / total as f64,
        _ => {
            let total = state.total_secs.get();
            if total > 0.0 {
                (done() / total).clamp(0.0, 1.0)
            } else {
                0.0
            }
        }
    };
    // Only what the word list shows: a pan drag or a style change must not rebuild it.
    let words = Memo::new(move |_| {
        let from_project = edits
            .project
            .with(|p| p.words().into_iter().cloned().collect::<Vec<_>>());
        // The project's words once the transcript is in (fixes apply), the streaming ones before.
        if from_project.is_empty() {
            state.transcript.with(|t| t.words().to_vec())
        } else {
            from_project
        }
    });
    let count = Memo::new(move |_| words.with(Vec::len));
    let current = Memo::new(move |_| {
        let secs = secs_from_micros(time.get());
        words.with(|w| word_index_at(w, secs))
    });
    let clip = Memo::new(move |_| edits.selected_clip().map(|c| (c.span, c.cuts)));
    let proposed = Memo::new(move |_| edits.cleanup.get().unwrap_or_default());
    let selected = move |i: usize| {
        edits
            .selection
            .get()
            .is_some_and(|(a, b)| (a.min(b)..=a.max(b)).contains(&i))
    };
    // The word that takes the keyboard (one tab stop for the whole transcript).
    let focus = RwSignal::new(0usize);
    let list = NodeRef::<leptos::html::P>::new();
    let focus_now = move |i: usize| {
        let Some(list) = list.get_untracked() else {
            return;
        };
        if let Ok(Some(el)) = list.query_selector(&format!("[data-index=\"{i}\"]")) {
            if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                let _ = el.focus();
            }
        }
    };
    let focus_word = move |i: usize| {
        focus.set(i);
        focus_now(i);
    };
    let seek_word = move |i: usize| {
        if let Some(start) = words.with_untracked(|w| w.get(i).map(|w| w.start_secs)) {
            seeker.with_value(|e| e.seek((start * 1e6).round() as i64));
        }
    };
    // Moves to word `i`, extending the selection when `extend` from its anchor (or, with
    // nothing selected, from the word that has the focus).
    let go_to = move |i: usize, extend: bool| {
        let anchor = edits
            .selection
            .get_untracked()
            .map_or(focus.get_untracked(), |(a, _)| a);
        if extend {
            edits.selection.set(Some((anchor, i)));
        } else {
            edits.selection.set(Some((i, i)));
        }
        focus_word(i);
        seek_word(i);
    };
    // The run being retyped, and its text as typed so far.
    let correcting = RwSignal::new(None::<(usize, usize)>);
    let draft = RwSignal::new(String::new());
    let correction_input = NodeRef::<leptos::html::Input>::new();
    let start_correction = move || {
        let Some((a, b)) = edits.selection.get_untracked() else {
            return;
        };
        let (a, b) = (a.min(b), a.max(b));
        let text = words.with_untracked(|w| {
            w.get(a..=b)
                .map(|run| {
                    run.iter()
                        .map(|w| w.text.trim())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default()
        });
        // The field is always on the page (hidden while idle), so it takes the focus at once
        // and no keystroke typed right after Enter is lost.
        if let Some(input) = correction_input.get_untracked() {
            input.set_value(&text);
            let _ = input.focus();
            input.select();
        }
        draft.set(text);
        correcting.set(Some((a, b)));
    };
    let finish_correction = move |apply: bool| {
        let Some((a, b)) = correcting.get_untracked() else {
            return;
        };
        correcting.set(None);
        if apply {
            let text = draft.get_untracked();
            if edits.edit(|p| p.fix_words(a, b, &text)) {
                let count = text.split_whitespace().count().max(1);
                edits.selection.set(Some((a, a + count - 1)));
            }
        }
        // The corrected words are new elements once the list has been drawn again.
        focus.set(a);
        request_animation_frame(move || focus_now(a));
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let count = words.with_untracked(Vec::len);
        if count == 0 {
            return;
        }
        let at = focus.get_untracked().min(count - 1);
        match ev.key().as_str() {
            "ArrowRight" | "ArrowDown" => {
                ev.prevent_default();
                go_to((at + 1).min(count - 1), ev.shift_key());
            }
            "ArrowLeft" | "ArrowUp" => {
                ev.prevent_default();
                go_to(at.saturating_sub(1), ev.shift_key());
            }
            "Home" => {
                ev.prevent_default();
                go_to(0, ev.shift_key());
            }
            "End" => {
                ev.prevent_default();
                go_to(count - 1, ev.shift_key());
            }
            "Enter" | "F2" => {
                ev.prevent_default();
                if edits.selection.get_untracked().is_none() {
                    edits.selection.set(Some((at, at)));
                }
                start_correction();
            }
            "Escape" => edits.selection.set(None),
            _ => {}
        }
    };
    let on_correction_key = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Enter" => {
            ev.prevent_default();
            finish_correction(true);
        }
        "Escape" => {
            ev.prevent_default();
            finish_correction(false);
        }
        _ => {}
    };
    let failures = move || {
        state.transcript.with(|t| {
            t.failures()
                .map(|(span, message)| {
                    format!("{:.1}–{:.1} s: {message}", span.start_secs, span.end_secs)
                })
                .collect::<Vec<_>>()
        })
    };
    let indexed = move || words.get().into_iter().enumerate().collect::<Vec<_>>();
    view! {
        <section class="transcript-panel" class:hidden=move || state.phase.get() == Phase::Idle>
            <h2>"Transcript"</h2>
            <p
                class="status"
                class:error=move || matches!(state.phase.get(), Phase::Failed(_))
                data-testid="transcript-status"
                role="status"
                aria-live="polite"
                data-phase=move || format!("{:?}", state.phase.get()).split([' ', '(', '{']).next().unwrap_or_default().to_string()
            >
                {move || phase_text(&state.phase.get(), done(), state.total_secs.get(), state.elapsed_secs.get())}
            </p>
            <Show when=move || state.language_note.with(Option::is_some)>
                <p class="language" data-testid="transcript-language">
                    {move || state.language_note.get().map(|note| format!("Language: {note}"))}
                </p>
            </Show>
            <Show when=running>
                <progress data-testid="transcript-progress" aria-label="Transcription progress" max="1" value=move || progress_value().to_string()></progress>
                <button data-testid="transcript-cancel" aria-label="Cancel transcription" on:click=move |_| seeker.with_value(Editor::cancel_transcription)>"Cancel"</button>
            </Show>
            <Show when=move || matches!(state.phase.get(), Phase::Cancelled | Phase::Failed(_))>
                <button data-testid="transcript-retry" on:click=move |_| seeker.with_value(Editor::transcribe)>"Transcribe again"</button>
            </Show>
            <ul class="notices" data-testid="transcript-notices">
                {move || state.notices.get().into_iter().map(|n| view! { <li>{n}</li> }).collect::<Vec<_>>()}
                {move || failures().into_iter().map(|n| view! { <li class="error">{n}</li> }).collect::<Vec<_>>()}
            </ul>
            <div class="correction" class:idle=move || correcting.with(Option::is_none)
                data-testid="correction" aria-hidden=move || correcting.with(Option::is_none).to_string()>
                <label>"Correct the selected words (their timing stays) "
                    <input type="text" node_ref=correction_input data-testid="correction-input"
                        tabindex=move || if correcting.with(Option::is_some) { "0" } else { "-1" }
                        prop:value=move || draft.get()
                        on:input=move |ev| draft.set(event_target_value(&ev))
                        on:keydown=on_correction_key
                        on:blur=move |_| {
                            // Leaving the field without Enter keeps the text typed.
                            if correcting.with_untracked(Option::is_some) {
                                finish_correction(true);
                            }
                        } />
                </label>
                <button data-testid="correction-apply" tabindex=move || if correcting.with(Option::is_some) { "0" } else { "-1" }
                    on:mousedown=|ev| ev.prevent_default()
                    on:click=move |_| finish_correction(true)>"Apply"</button>
                <button aria-label="Cancel the correction" tabindex=move || if correcting.with(Option::is_some) { "0" } else { "-1" }
                    on:mousedown=|ev| ev.prevent_default()
                    on:click=move |_| finish_correction(false)>"Cancel"</button>
            </div>
            <p class="words" data-testid="transcript" node_ref=list role="listbox" aria-multiselectable="true"
                aria-label="Transcript: arrow keys move, Shift selects, Delete cuts, Enter corrects"
                on:keydown=on_key>
                <For
                    each=indexed
                    key=|(i, w)| (*i, w.text.clone(), w.start_secs.to_bits(), w.end_secs.to_bits())
                    let((i, w))
                >
                    {
                        let text = w.text.trim().to_string();
                        let word = w.clone();
                        let cut_word = w.clone();
                        let clip_word = w.clone();
                        let start = w.start_secs;
                        let previous_end = if i == 0 {
                            0.0
                        } else {
                            words.with_untracked(|all| all.get(i - 1).map_or(0.0, |p| p.end_secs))
                        };
                        // A proposed cut of the pause before this word.
                        let pause_before = move || proposed.with(|spans| spans.iter().any(|s| {
                            s.start_secs >= previous_end - 1e-6 && s.end_secs <= start + 1e-6
                        }));
                        view! {
                            <span
                                class="word"
                                role="option"
                                tabindex=move || if focus.get().min(count.get().saturating_sub(1)) == i { "0" } else { "-1" }
                                aria-selected=move || selected(i).to_string()
                                class:current=move || current.get() == Some(i)
                                class:selected=move || selected(i)
                                class:cut=move || clip.with(|c| c.as_ref().is_some_and(|(_, cuts)| within(cuts, &cut_word)))
                                class:to-remove=move || proposed.with(|spans| within(spans, &word))
                                class:pause-before=pause_before
                                class:in-clip=move || clip.with(|c| c.as_ref().is_some_and(|(span, _)| clip_word.start_secs >= span.start_secs && clip_word.end_secs <= span.end_secs))
                                data-testid="word"
                                data-index=i.to_string()
                                data-start=format!("{:.2}", w.start_secs)
                                data-end=format!("{:.2}", w.end_secs)
                                title=format!("{:.2} s — click to seek, shift-click to select, double-click or Enter to correct", w.start_secs)
                                on:click=move |ev| go_to(i, ev.shift_key())
                                on:dblclick=move |_| {
                                    edits.selection.set(Some((i, i)));
                                    start_correction();
                                }
                            >
                                {text}
                            </span>
                            " "
                        }
                    }
                </For>
            </p>
        </section>
    }
}
