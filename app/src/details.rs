//! The details of the open video: container, length, size, frame rate and codecs.

use leptos::prelude::*;
use reelsmith_core::media::MediaInfo;

/// Shows what the open file holds, under its name.
#[component]
pub fn MediaDetails(info: RwSignal<Option<MediaInfo>>, name: RwSignal<String>) -> impl IntoView {
    move || {
        info.get().map(|info| {
            let video = info.video.clone();
            let audio = info.audio.clone();
            view! {
                <section class="details" data-testid="media-info">
                    <h2>{name.get()}</h2>
                    <dl>
                        <dt>"Container"</dt><dd data-testid="container">{info.container.label()}</dd>
                        <dt>"Duration"</dt><dd data-testid="duration">{format!("{:.3} s", info.duration_secs())}</dd>
                        <dt>"Resolution"</dt>
                        <dd data-testid="resolution">{video.as_ref().map(|v| format!("{}×{}", v.width, v.height))}</dd>
                        <dt>"Frame rate"</dt>
                        <dd data-testid="fps">{video.as_ref().map(|v| format!("{:.2} fps", v.frame_rate))}</dd>
                        <dt>"Video"</dt>
                        <dd data-testid="video-codec">{video.as_ref().map(|v| format!("{} ({})", v.codec.label(), v.codec_string))}</dd>
                        <dt>"Audio"</dt>
                        <dd data-testid="audio-codec">
                            {match audio {
                                Some(a) => format!("{} ({}), {} Hz, {} ch", a.codec.label(), a.codec_string, a.sample_rate_hz, a.channels),
                                None => "none".to_string(),
                            }}
                        </dd>
                    </dl>
                </section>
            }
        })
    }
}
