//! The clips panel: the clips (keyed rows: pick, move, delete), trim, split, word cuts, the
//! clean-up's proposal, caption template and style, and the output shape with the note when
//! captions fall in the platforms' margins. Every control shows the project as it is after
//! undo and redo.

use leptos::prelude::*;
use reelsmith_core::captions::{template, templates, Rgba, StyleOverrides, FONTS};
use reelsmith_core::edit::{Aspect, Span};
use reelsmith_core::guides::caption_warning;
use reelsmith_core::media::{clock, secs_from_micros};
use wasm_bindgen::JsCast;

use crate::editing::{fmt_secs, Edits};
use crate::editor::use_editor_handle;

/// One row of the clips list: what it shows, and so what its key is made of.
#[derive(Clone, PartialEq, Eq, Hash)]
struct ClipRow {
    index: usize,
    id: u32,
    name: String,
    times: String,
}

/// The clips: list, trim handles over the waveform, split/delete/reorder, clean-up,
/// template and aspect.
#[component]
pub fn ClipsPanel() -> impl IntoView {
    let (edits, time_micros) = use_editor_handle().with_value(|e| (e.edits, e.time_micros));
    let duration = move || edits.project.with(|p| p.duration_secs);
    let selected = move || edits.selected_clip();
    let now = move || secs_from_micros(time_micros.get_untracked());
    let trim_to = move |is_in: bool, ev: leptos::ev::Event| {
        if let Ok(v) = event_target_value(&ev).parse::<f64>() {
            edits.mark(is_in, v);
        }
    };
    view! {
        <section class="clips" class:hidden=move || edits.project.with(|p| p.clips.is_empty())>
            <h2>"Clips"</h2>
            <ul>
                // Keyed by what each row shows: an edit re-draws only the rows it changed.
                <For
                    each=move || edits.project.with(|p| {
                        p.clips.iter().enumerate().map(|(i, c)| ClipRow {
                            index: i,
                            id: c.id,
                            name: c.name.clone(),
                            times: format!("{} – {} ({} after cuts)", clock(c.span.start_secs), clock(c.span.end_secs), fmt_secs(c.output_secs())),
                        }).collect::<Vec<_>>()
                    })
                    key=|row| row.clone()
                    let(row)
                >
                    {
                        let (id, i) = (row.id, row.index);
                        view! {
                            <li data-testid="clip" class:selected=move || edits.project.with(|p| p.selected == Some(id))>
                                <button class="pick" on:click=move |_| {
                                    edits.project.update(|p| p.selected = Some(id));
                                    crate::preview::bring_into_view();
                                }>
                                    {row.name.clone()}
                                </button>
                                " " {row.times.clone()}
                                // Named after their clip: a screen reader lists each apart.
                                <button title="Move up" aria-label=format!("Move {} up", row.name) on:click=move |_| { edits.edit(|p| p.move_clip(id, i.saturating_sub(1))); }>"↑"</button>
                                <button title="Move down" aria-label=format!("Move {} down", row.name) on:click=move |_| { edits.edit(|p| p.move_clip(id, i + 1)); }>"↓"</button>
                                <button data-testid="delete-clip" aria-label=format!("Delete {}", row.name) on:click=move |_| { edits.edit(|p| p.delete_clip(id)); }>"Delete"</button>
                            </li>
                        }
                    }
                </For>
            </ul>
            <Show when=move || selected().is_some()>
                <div class="trim">
                    <label>"In "
                        <input type="range" data-testid="clip-in" min="0" max=move || duration().to_string() step="0.01"
                            prop:value=move || selected().map(|c| c.span.start_secs.to_string())
                            on:change=move |ev| trim_to(true, ev) />
                    </label>
                    <label>"Out "
                        <input type="range" data-testid="clip-out" min="0" max=move || duration().to_string() step="0.01"
                            prop:value=move || selected().map(|c| c.span.end_secs.to_string())
                            on:change=move |ev| trim_to(false, ev) />
                    </label>
                    <span data-testid="clip-span"
                        data-start=move || selected().map(|c| c.span.start_secs.to_string())
                        data-end=move || selected().map(|c| c.span.end_secs.to_string())>
                        {move || selected().map(|c| format!("{:.2}–{:.2}", c.span.start_secs, c.span.end_secs))}
                    </span>
                    <button data-testid="split-clip" title="Split at the playhead" on:click=move |_| {
                        if let Some(c) = selected() { edits.edit(|p| p.split(c.id, now()).map(|_| ())); }
                    }>"Split at playhead"</button>
                    <button data-testid="cut-words" title="Delete" on:click=move |_| edits.cut_selection()>"Cut selected words"</button>
                    <button data-testid="clean-up" on:click=move |_| edits.preview_cleanup()>"Remove silences and fillers…"</button>
                    <label>"Fillers "
                        <input type="text" data-testid="filler-list" size="28"
                            prop:value=move || edits.fillers.get()
                            on:change=move |ev| edits.fillers.set(event_target_value(&ev)) />
                    </label>
                    <button data-testid="restore-cuts" on:click=move |_| {
                        if let Some(c) = selected() { edits.edit(|p| p.restore_cuts(c.id)); }
                    }>"Put cuts back"</button>
                </div>
                <Show when=move || edits.cleanup.with(Option::is_some)>
                    <p data-testid="clean-up-preview">
                        {move || edits.cleanup.with(|c| c.as_ref().map(|spans| format!(
                            "{} pause{} and filler{} ({}) will be cut.",
                            spans.len(), if spans.len() == 1 { "" } else { "s" }, "s",
                            fmt_secs(spans.iter().map(Span::duration).sum())
                        )))}
                        <button data-testid="apply-clean-up" on:click=move |_| edits.apply_cleanup()>"Apply"</button>
                        <button on:click=move |_| edits.cleanup.set(None)>"Cancel"</button>
                    </p>
                </Show>
                <div class="style">
                    <label>"Captions "
                        <select data-testid="template"
                            prop:value=move || selected().map(|c| c.template)
                            on:change=move |ev| {
                            let id = event_target_value(&ev);
                            if let Some(c) = selected() { edits.edit(|p| p.set_template(c.id, &id)); }
                        }>
                            {templates().into_iter().map(|t| {
                                let id = t.id.clone();
                                view! { <option value=t.id.clone() selected=move || selected().is_some_and(|c| c.template == id)>{t.name.clone()}</option> }
                            }).collect::<Vec<_>>()}
                            <option value="none" selected=move || selected().is_some_and(|c| c.template == "none")>"No captions"</option>
                        </select>
                    </label>
                    <label>" Shape "
                        <select data-testid="aspect"
                            prop:value=move || selected().map(|c| c.reframe.aspect.label().to_string())
                            on:change=move |ev| {
                            let aspect = match event_target_value(&ev).as_str() {
                                "1:1" => Aspect::Square1x1,
                                "16:9" => Aspect::Landscape16x9,
                                _ => Aspect::Portrait9x16,
                            };
                            if let Some(c) = selected() { edits.edit(|p| p.set_aspect(c.id, aspect)); }
                        }>
                            {[Aspect::Portrait9x16, Aspect::Square1x1, Aspect::Landscape16x9].into_iter().map(|a| view! {
                                <option value=a.label() selected=move || selected().is_some_and(|c| c.reframe.aspect == a)>{a.label()}</option>
                            }).collect::<Vec<_>>()}
                        </select>
                    </label>
                    " Drag the picture to move it in the frame; each drag sets a pan keyframe at the playhead."
                </div>
                <StyleControls edits=edits />
            </Show>
            <Show when=move || edits.message.with(Option::is_some)>
                <p class="error" data-testid="edit-message">{move || edits.message.get()}</p>
            </Show>
        </section>
    }
}

/// The look of the selected clip's captions on top of its template.
#[component]
fn StyleControls(edits: Edits) -> impl IntoView {
    let current = move || {
        edits.selected_clip().map(|c| {
            let base = template(&c.template);
            (c.id, c.style.clone(), c.style.apply(&base))
        })
    };
    let change = move |f: Box<dyn Fn(&mut StyleOverrides)>| {
        if let Some((id, mut style, _)) = current() {
            f(&mut style);
            edits.edit(|p| p.set_style(id, style));
        }
    };
    let note = Memo::new(move |_| {
        edits
            .selected_clip()
            .and_then(|c| Some((c.caption_style()?, c.reframe.aspect)))
            .and_then(|(style, aspect)| caption_warning(&style, aspect))
    });
    let number = move |ev: &leptos::ev::Event| event_target_value(ev).parse::<f64>().ok();
    let checked = move |ev: &leptos::ev::Event| {
        ev.target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            .is_some_and(|i| i.checked())
    };
    view! {
        <div class="style" data-testid="style-controls">
            <label>"Font "
                <select data-testid="style-font"
                    prop:value=move || current().map(|(_, _, s)| s.font.family.to_string())
                    on:change=move |ev| {
                    let family = event_target_value(&ev);
                    change(Box::new(move |s| s.font_family = Some(family.clone())));
                }>
                    {FONTS.into_iter().map(|f| view! {
                        <option value=f selected=move || current().is_some_and(|(_, _, s)| s.font.family == f)>{f}</option>
                    }).collect::<Vec<_>>()}
                </select>
            </label>
            <label>" Size "
                <input type="range" data-testid="style-size" min="0.5" max="2" step="0.05"
                    prop:value=move || current().map(|(_, o, _)| o.size_scale.unwrap_or(1.0).to_string())
                    on:change=move |ev| { let v = number(&ev); change(Box::new(move |s| s.size_scale = v)); } />
            </label>
            <label>" Position "
                <input type="range" data-testid="style-position" min="0.1" max="0.9" step="0.01"
                    prop:value=move || current().map(|(_, _, s)| s.position_y.to_string())
                    on:change=move |ev| { let v = number(&ev); change(Box::new(move |s| s.position_y = v)); } />
            </label>
            <label>" Text "
                <input type="color" data-testid="style-text"
                    prop:value=move || current().map(|(_, _, s)| s.text.hex())
                    on:change=move |ev| { let c = Rgba::from_hex(&event_target_value(&ev)); change(Box::new(move |s| s.text = c)); } />
            </label>
            <label>" Highlight "
                <input type="color" data-testid="style-highlight"
                    prop:value=move || current().map(|(_, _, s)| s.highlight.unwrap_or(Rgba(255, 214, 0, 255)).hex())
                    on:change=move |ev| { let c = Rgba::from_hex(&event_target_value(&ev)); change(Box::new(move |s| s.highlight = c)); } />
            </label>
            <label>" Outline "
                <input type="range" data-testid="style-outline" min="0" max="16" step="1"
                    prop:value=move || current().map(|(_, _, s)| s.outline_px.to_string())
                    on:change=move |ev| { let v = number(&ev); change(Box::new(move |s| s.outline_px = v)); } />
            </label>
            <label>" UPPERCASE "
                <input type="checkbox" data-testid="style-uppercase"
                    prop:checked=move || current().is_some_and(|(_, _, s)| s.uppercase)
                    on:change=move |ev| { let v = checked(&ev); change(Box::new(move |s| s.uppercase = Some(v))); } />
            </label>
            <label>" Emoji "
                <input type="checkbox" data-testid="style-emoji"
                    prop:checked=move || current().is_some_and(|(_, _, s)| s.emoji)
                    on:change=move |ev| { let v = checked(&ev); change(Box::new(move |s| s.emoji = Some(v))); } />
            </label>
            // One live region kept on the page, its text changed, so screen readers announce it.
            <p role="status" class:warning=move || note.with(Option::is_some)>
                <Show when=move || note.with(Option::is_some)>
                    <span data-testid="caption-warning">{move || note.get()}</span>
                </Show>
            </p>
        </div>
    }
}
