//! The suggested clips: the target length, and a card per suggestion (first frame, title,
//! times, length, score, reasons; Preview plays it, Use makes it the selected clip and moves
//! the playhead to it), keyed so a new transcript redraws only the cards that changed.

use leptos::prelude::*;
use reelsmith_core::clips::{suggest, LengthTarget, Loudness, Suggestion};
use reelsmith_core::edit::Span;
use reelsmith_core::media::clock;
use reelsmith_core::transcript::Word;

use crate::editor::use_editor_handle;
use crate::sound::LOUDNESS_STEP_SECS;

/// Suggested clips for the transcript.
#[component]
pub fn SuggestionsPanel() -> impl IntoView {
    let editor = use_editor_handle();
    let (edits, loudness) = editor.with_value(|e| (e.edits, e.transcription.loudness));
    // Only the words matter: a pan drag or a style change must not recompute suggestions.
    let words = Memo::new(move |_| {
        edits
            .project
            .with(|p| p.words().into_iter().cloned().collect::<Vec<Word>>())
    });
    let suggestions = Memo::new(move |_| {
        let target = edits.target_secs.get();
        let loud = Loudness {
            step_secs: LOUDNESS_STEP_SECS,
            values: loudness.get(),
        };
        words.with(|words| suggest(words, &loud, LengthTarget::around(target), 5))
    });
    // A chosen suggestion becomes the selected clip, and the playhead goes to its start so
    // the preview shows it with its frame and captions.
    let use_it = move |s: &Suggestion| {
        let span = Span::new(s.start_secs, s.end_secs);
        if edits.edit(|p| p.add_clip(&s.title, span, "karaoke").map(|_| ())) {
            editor.with_value(|e| e.seek((s.start_secs * 1e6).round() as i64));
            crate::preview::bring_into_view();
        }
    };
    view! {
        <section class="suggestions" class:hidden=move || edits.project.with(|p| p.transcript.is_empty())>
            <h2>"Suggested clips"</h2>
            <label>"Target length "
                <input type="number" min="15" max="90" step="5" data-testid="target-length"
                    prop:value=move || edits.target_secs.get().to_string()
                    on:change=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse::<f64>() {
                            edits.target_secs.set(v.clamp(15.0, 90.0));
                        }
                    }
                />" s"
            </label>
            <ol class="cards">
                <For
                    each=move || suggestions.get()
                    key=|s| ((s.start_secs * 1000.0) as i64, (s.end_secs * 1000.0) as i64, s.title.clone())
                    let(s)
                >
                    {
                        let chosen = s.clone();
                        let span = Span::new(s.start_secs, s.end_secs);
                        let title = s.title.clone();
                        // Its first frame, drawn once the card is on the page.
                        let picture = NodeRef::<leptos::html::Canvas>::new();
                        let start_micros = (s.start_secs * 1e6).round() as i64;
                        Effect::new(move |_| {
                            if let Some(canvas) = picture.get() {
                                editor.with_value(|e| e.draw_still(start_micros, canvas));
                            }
                        });
                        view! {
                            <li class="card" data-testid="suggestion" data-start=format!("{:.2}", s.start_secs) data-end=format!("{:.2}", s.end_secs)>
                                <canvas class="still" node_ref=picture data-testid="suggestion-still"
                                    width="160" height="90" role="img"
                                    aria-label=format!("First frame of “{title}”")></canvas>
                                <h3 class="title">{s.title.clone()}</h3>
                                <p class="meta">
                                    <span class="range">{format!("{} – {}", clock(s.start_secs), clock(s.end_secs))}</span>
                                    " · " <span class="length">{format!("{:.0} s", s.end_secs - s.start_secs)}</span>
                                    " · " <span class="score" title="How likely this stretch works as a short, out of 100">{format!("score {:.0}", s.score)}</span>
                                </p>
                                <p class="quote">"“" {s.opening.clone()} "”"</p>
                                <ul class="reasons">
                                    {s.reasons.iter().map(|r| view! { <li>{r.clone()}</li> }).collect::<Vec<_>>()}
                                </ul>
                                <div class="actions">
                                    <button data-testid="preview-suggestion" aria-label=format!("Preview “{title}”")
                                        on:click=move |_| editor.with_value(|e| e.play_spans(vec![span]))>"▶ Preview"</button>
                                    <button data-testid="use-suggestion" class="primary" aria-label=format!("Use “{}” as a clip", s.title)
                                        on:click=move |_| use_it(&chosen)>"Use this clip"</button>
                                </div>
                            </li>
                        }
                    }
                </For>
            </ol>
            <Show when=move || suggestions.with(Vec::is_empty)>
                <p>"No stretch of this transcript fits the target length; try another length."</p>
            </Show>
        </section>
    }
}
