//! Sound during playback, and the clock playback keeps time by. The sound track's packets from
//! the start point (`Demuxer::audio_from`) are decoded by WebCodecs' `AudioDecoder` about a
//! second ahead and scheduled on one Web Audio `AudioContext` (`core::playback::Anchor::slot`
//! says which part of each buffer plays when). The audio heard is the master clock: pictures
//! are shown when the sound reaches them; a picture too late holds the sound (the context is
//! suspended) until the pictures catch up, so the two never drift apart. A video without a
//! sound track, or one this browser cannot decode, keeps time by the page's clock instead.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use futures::FutureExt;
use gloo_timers::future::TimeoutFuture;
use reelsmith_core::playback::{Anchor, SOUND_AHEAD_MICROS};
use reelsmith_core::resample::plane_from_le;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_codecs::{AudioData, AudioDecoderConfig, EncodedFrame};
use web_sys::{AudioContext, AudioContextState, GainNode};

use crate::player::{now_ms, Player};

/// How far ahead of what is being rendered a buffer is scheduled (Web Audio drops a start time
/// already past).
const SCHEDULE_MARGIN_SECS: f64 = 0.01;
/// Between deciding to start and the first sound: time to schedule it.
const START_LEAD_SECS: f64 = 0.05;
/// How often the sound is topped up.
const FEED_MS: u32 = 20;

#[wasm_bindgen]
extern "C" {
    /// `AudioContext.getOutputTimestamp()`'s result: a context time and the page time at
    /// which that sample leaves the speakers.
    type OutputTimestamp;
    #[wasm_bindgen(method, getter, js_name = contextTime)]
    fn context_time(this: &OutputTimestamp) -> f64;
    #[wasm_bindgen(method, getter, js_name = performanceTime)]
    fn performance_time(this: &OutputTimestamp) -> f64;
    /// An `AudioContext` seen through what web-sys does not bind.
    #[wasm_bindgen(extends = AudioContext)]
    type OutputContext;
    #[wasm_bindgen(method, js_name = getOutputTimestamp)]
    fn get_output_timestamp(this: &OutputContext) -> OutputTimestamp;
}

/// The editor's sound output: one audio context for the page (browsers allow only so many) and
/// a master gain for muting.
#[derive(Clone, Default)]
pub struct Speaker {
    out: Rc<RefCell<Option<(AudioContext, GainNode)>>>,
    muted: Rc<Cell<bool>>,
    /// Each playback's gain, until it is hushed: all the sound scheduled ahead goes through one.
    live: Rc<RefCell<Vec<GainNode>>>,
}

impl Speaker {
    /// The audio context, made on first use; to be called while handling the user's click or
    /// key press, when browsers let sound start. None when this browser gives no sound.
    pub fn wake(&self) -> Option<(AudioContext, GainNode)> {
        let mut out = self.out.borrow_mut();
        if out.is_none() {
            let ctx = AudioContext::new().ok()?;
            let master = ctx.create_gain().ok()?;
            master.connect_with_audio_node(&ctx.destination()).ok()?;
            master
                .gain()
                .set_value(if self.muted.get() { 0.0 } else { 1.0 });
            *out = Some((ctx, master));
        }
        let (ctx, master) = out.as_ref()?;
        if ctx.state() != AudioContextState::Running {
            let _ = ctx.resume();
        }
        Some((ctx.clone(), master.clone()))
    }

    /// Silences at once every sound scheduled so far (playback stopped, or starts anew).
    pub fn hush(&self) {
        for gain in self.live.borrow_mut().drain(..) {
            let _ = gain.disconnect();
        }
    }

    pub fn set_muted(&self, muted: bool) {
        self.muted.set(muted);
        if let Some((_, master)) = self.out.borrow().as_ref() {
            master.gain().set_value(if muted { 0.0 } else { 1.0 });
        }
    }
}

/// Playback's clock, in media time.
pub trait Clock {
    /// Whether the clock can start (the sound has something to play, or never will).
    fn ready(&self) -> bool;
    /// Starts the clock so that `pts_micros` is due now, or in a moment.
    fn start(&mut self, pts_micros: i64);
    /// The media time now; None before `start`.
    fn now_micros(&self) -> Option<i64>;
    /// Stops the clock where it is (a picture came too late).
    fn hold(&mut self, at_micros: i64);
    /// Runs the clock again from where it stopped.
    fn release(&mut self);
    fn held(&self) -> bool;
}

/// The page's clock, for a video without sound.
#[derive(Default)]
pub struct WallClock {
    /// Page time (ms) at which `from` was due.
    start_ms: Option<f64>,
    from_micros: i64,
    held_at: Option<i64>,
}

impl Clock for WallClock {
    fn ready(&self) -> bool {
        true
    }

    fn start(&mut self, pts_micros: i64) {
        self.start_ms = Some(now_ms());
        self.from_micros = pts_micros;
    }

    fn now_micros(&self) -> Option<i64> {
        self.held_at.or_else(|| {
            self.start_ms
                .map(|start| self.from_micros + ((now_ms() - start) * 1000.0).round() as i64)
        })
    }

    fn hold(&mut self, at_micros: i64) {
        self.held_at = Some(at_micros);
    }

    fn release(&mut self) {
        if let Some(at) = self.held_at.take() {
            self.start(at);
        }
    }

    fn held(&self) -> bool {
        self.held_at.is_some()
    }
}

/// One playback's sound, from `from` up to `until`: the clock, and the task that decodes and
/// schedules. Dropping it stops the task; the sound already scheduled plays on unless
/// playback was stopped (`generation` moved on), which silences it at once.
pub struct SoundClock {
    ctx: AudioContext,
    gain: GainNode,
    shared: Rc<Shared>,
    generation: Rc<Cell<u64>>,
    my_generation: u64,
}

struct Shared {
    anchor: Cell<Option<Anchor>>,
    until_micros: Option<i64>,
    /// Something decoded, or nothing ever will be.
    ready: Cell<bool>,
    /// The playback is over (the pictures ended): stop feeding.
    finished: Cell<bool>,
    held: Cell<bool>,
    /// Buffers scheduled so far (tests and the benchmark read it).
    scheduled: Cell<u32>,
}

impl SoundClock {
    /// Starts decoding `player`'s sound track from `from_micros`; None when the video has no
    /// sound this browser can decode (the caller keeps time by the page's clock).
    pub async fn start(
        speaker: &Speaker,
        player: Rc<Player>,
        from_micros: i64,
        until_micros: Option<i64>,
        generation: Rc<Cell<u64>>,
        my_generation: u64,
    ) -> Option<Self> {
        let (ctx, master) = speaker.out.borrow().clone()?;
        let track = player.info().audio.clone()?;
        let config = crate::sound::decoder_config(&track).await?;
        let gain = ctx.create_gain().ok()?;
        gain.connect_with_audio_node(&master).ok()?;
        speaker.live.borrow_mut().push(gain.clone());
        if generation.get() != my_generation {
            speaker.hush(); // stopped while this was being set up
            return None;
        }
        if ctx.state() != AudioContextState::Running {
            let _ = ctx.resume();
        }
        let shared = Rc::new(Shared {
            anchor: Cell::new(None),
            until_micros,
            ready: Cell::new(false),
            finished: Cell::new(false),
            held: Cell::new(false),
            scheduled: Cell::new(0),
        });
        let feed = Feed {
            ctx: ctx.clone(),
            gain: gain.clone(),
            shared: Rc::clone(&shared),
            player,
            from_micros,
            generation: Rc::clone(&generation),
            my_generation,
        };
        spawn_local(async move {
            let outcome = feed.run(config).await;
            feed.shared.ready.set(true);
            if let Err(message) = outcome {
                web_sys::console::warn_1(&format!("Sound stopped: {message}").into());
            }
        });
        Some(Self {
            ctx,
            gain,
            shared,
            generation,
            my_generation,
        })
    }

    /// The context time whose sample is leaving the speakers now.
    fn heard_secs(&self) -> f64 {
        let stamp = self
            .ctx
            .unchecked_ref::<OutputContext>()
            .get_output_timestamp();
        let (context, page) = (stamp.context_time(), stamp.performance_time());
        let rendered = self.ctx.current_time();
        if page <= 0.0 || context <= 0.0 {
            return rendered; // nothing has been output yet
        }
        if self.ctx.state() != AudioContextState::Running {
            return context; // suspended: the output stands still
        }
        (context + (now_ms() - page) / 1000.0).min(rendered)
    }

    /// Buffers scheduled so far.
    pub fn scheduled(&self) -> u32 {
        self.shared.scheduled.get()
    }
}

impl Drop for SoundClock {
    fn drop(&mut self) {
        self.shared.finished.set(true);
        if self.generation.get() != self.my_generation {
            // Stopped by the user: silence what is scheduled.
            let _ = self.gain.disconnect();
        }
        if self.shared.held.get() {
            let _ = self.ctx.resume();
        }
    }
}

impl Clock for SoundClock {
    fn ready(&self) -> bool {
        self.shared.ready.get()
    }

    fn start(&mut self, pts_micros: i64) {
        self.shared.anchor.set(Some(Anchor {
            ctx_secs: self.ctx.current_time() + START_LEAD_SECS,
            from_micros: pts_micros,
            until_micros: self.shared.until_micros,
        }));
    }

    fn now_micros(&self) -> Option<i64> {
        self.shared
            .anchor
            .get()
            .map(|a| a.media_micros(self.heard_secs()))
    }

    fn hold(&mut self, _at_micros: i64) {
        // The sound stops where it is: the pictures catch up with it.
        self.shared.held.set(true);
        let _ = self.ctx.suspend();
    }

    fn release(&mut self) {
        self.shared.held.set(false);
        let _ = self.ctx.resume();
    }

    fn held(&self) -> bool {
        self.shared.held.get()
    }
}

/// The task behind a [`SoundClock`].
struct Feed {
    ctx: AudioContext,
    gain: GainNode,
    shared: Rc<Shared>,
    player: Rc<Player>,
    from_micros: i64,
    generation: Rc<Cell<u64>>,
    my_generation: u64,
}

impl Feed {
    fn stopped(&self) -> bool {
        self.generation.get() != self.my_generation
    }

    async fn run(&self, config: AudioDecoderConfig) -> Result<(), String> {
        let until = self.shared.until_micros;
        let decode_error = |e: web_codecs::Error| format!("the sound could not be decoded: {e}");
        let demuxer = self.player.demuxer();
        let source = self.player.source();
        let mut cursor = demuxer.audio_from(self.from_micros);
        let mut batch: VecDeque<_> = cursor
            .next_batch(demuxer, source)
            .await
            .map_err(|e| e.to_string())?
            .into();
        // WebCodecs' wrapper takes unsigned times: shift priming packets' negative ones.
        let base = batch.front().map_or(0, |f| f.pts_micros.min(0));
        let (decoder, mut decoded) = config.build().map_err(decode_error)?;
        let mut waiting: VecDeque<AudioData> = VecDeque::new();
        let mut submitted_until = self.from_micros;
        let mut ended = batch.is_empty();
        let mut flushed = false;
        if ended {
            self.shared.ready.set(true);
        }
        loop {
            if self.stopped() || self.shared.finished.get() {
                return Ok(());
            }
            let heard = self.shared.anchor.get().map_or(self.from_micros, |a| {
                a.media_micros(self.ctx.current_time())
            });
            // Decode about a second ahead of what is heard.
            while !ended && submitted_until - heard < SOUND_AHEAD_MICROS {
                if batch.is_empty() {
                    batch = cursor
                        .next_batch(demuxer, source)
                        .await
                        .map_err(|e| e.to_string())?
                        .into();
                    if batch.is_empty() {
                        ended = true;
                        break;
                    }
                }
                let Some(packet) = batch.pop_front() else {
                    break;
                };
                if until.is_some_and(|u| packet.pts_micros >= u) {
                    ended = true;
                    break;
                }
                submitted_until = packet.pts_micros + packet.duration_micros;
                decoder
                    .decode(EncodedFrame {
                        payload: packet.data.into(),
                        timestamp: std::time::Duration::from_micros(
                            (packet.pts_micros - base) as u64,
                        ),
                        keyframe: true, // every AAC and Opus packet decodes on its own
                    })
                    .map_err(decode_error)?;
            }
            if ended && !flushed {
                flushed = true;
                decoder.flush().await.map_err(decode_error)?;
            }
            while let Some(Ok(Some(data))) = decoded.next().now_or_never() {
                waiting.push_back(data);
                self.shared.ready.set(true);
            }
            if let Some(anchor) = self.shared.anchor.get() {
                let earliest = self.ctx.current_time() + SCHEDULE_MARGIN_SECS;
                while let Some(data) = waiting.pop_front() {
                    let start = data.timestamp().as_micros() as i64 + base;
                    let length = data.duration().as_micros() as i64;
                    if let Some(slot) = anchor.slot(start, length, earliest) {
                        self.schedule(&data, slot)?;
                    }
                }
            }
            if flushed && waiting.is_empty() && self.shared.anchor.get().is_some() {
                return Ok(()); // all of it is scheduled
            }
            TimeoutFuture::new(FEED_MS).await;
        }
    }

    /// Copies one decoded buffer into an `AudioBuffer` and starts it at its slot.
    fn schedule(
        &self,
        data: &AudioData,
        slot: reelsmith_core::playback::Slot,
    ) -> Result<(), String> {
        let js = |e: JsValue| crate::blob_source::js_error_text(&e);
        let frames = data.number_of_frames();
        let channels = data.number_of_channels().max(1);
        let buffer = self
            .ctx
            .create_buffer(channels, frames, data.sample_rate() as f32)
            .map_err(js)?;
        let mut bytes = vec![0u8; frames as usize * 4];
        let mut samples = Vec::with_capacity(frames as usize);
        for c in 0..channels {
            let options = web_sys::AudioDataCopyToOptions::new(c);
            options.set_format(web_sys::AudioSampleFormat::F32Planar);
            data.copy_to_with_u8_slice(&mut bytes, &options)
                .map_err(js)?;
            plane_from_le(&bytes, &mut samples);
            buffer.copy_to_channel(&samples, c as i32).map_err(js)?;
        }
        let source = self.ctx.create_buffer_source().map_err(js)?;
        source.set_buffer(Some(&buffer));
        source.connect_with_audio_node(&self.gain).map_err(js)?;
        source
            .start_with_when_and_grain_offset_and_grain_duration(
                slot.when_secs,
                slot.offset_secs,
                slot.duration_secs,
            )
            .map_err(js)?;
        self.shared.scheduled.set(self.shared.scheduled.get() + 1);
        Ok(())
    }
}
