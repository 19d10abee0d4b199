//! The run of one export job: plan (core), sound, then the picture stretch by stretch —
//! decode from the keyframe before each kept stretch, copy each decoded frame's planes into
//! wasm memory once, crop and scale into the output frame (`pixels::crop_scale`), blend the
//! caption sprite, wrap the buffer as an I420 `VideoFrame` (BT.709, limited range) and encode
//! it. Encoded chunks go through the muxer straight to the on-disk body; decoded frames close
//! as soon as they are used, and at most a few frames wait in the decoder and the encoder.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use futures::future::{select, Either};
use futures::FutureExt;
use gloo_timers::future::TimeoutFuture;
use reelsmith_core::export::{
    output_dimensions, output_fps, video_bitrate, video_codec, OutputFormat, SoundPlan, Timeline,
};
use reelsmith_core::media::{secs_from_micros, AudioCodec};
use reelsmith_core::mux::{self, AudioFormat, AudioSpec, Muxer, Packet, VideoFormat, VideoSpec};
use reelsmith_core::pixels::{crop_scale, CropRect, Frame420, SourceLayout, SourcePlanes};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_codecs::VideoFrame;

use super::audio::{copy_aac, decoder_description, encode_opus, OwnedPacket};
use super::sink::{remove_old_exports, Body};
use super::sprites::{load_fonts, Sprites};
use super::{now_ms, ExportEvent, ExportJob};
use crate::blob_source::js_error_text;
use crate::player::Player;

/// Encoded frames handed to the decoder ahead of the one being used.
const DECODE_AHEAD: usize = 8;
/// Frames allowed to wait in the encoder's queue.
const ENCODE_AHEAD: u32 = 3;
/// A keyframe every this many seconds (seeking in players, TikTok's processing).
const KEYFRAME_SECS: f64 = 2.0;

/// An encoded video chunk, copied out of the encoder's callback.
struct Chunk {
    data: Vec<u8>,
    pts_micros: i64,
    duration_micros: i64,
    keyframe: bool,
}

struct Encoder {
    inner: web_sys::VideoEncoder,
    out: Rc<RefCell<VecDeque<Chunk>>>,
    description: Rc<RefCell<Option<Vec<u8>>>>,
    error: Rc<RefCell<Option<String>>>,
    _on_output: Closure<dyn FnMut(web_sys::EncodedVideoChunk, JsValue)>,
    _on_error: Closure<dyn FnMut(JsValue)>,
}

impl Encoder {
    async fn new(
        codec: &str,
        width: u32,
        height: u32,
        fps: f64,
        bitrate: u32,
    ) -> Result<Self, String> {
        let config = web_sys::VideoEncoderConfig::new(codec, height, width);
        config.set_bitrate(bitrate);
        config.set_framerate(fps);
        config.set_latency_mode(web_sys::LatencyMode::Quality);
        let support = JsFuture::from(web_sys::VideoEncoder::is_config_supported(&config))
            .await
            .map_err(|e| js_error_text(&e))?;
        let supported = js_sys::Reflect::get(&support, &"supported".into())
            .map(|s| s.is_truthy())
            .unwrap_or(false);
        if !supported {
            return Err(format!(
                "This browser cannot encode {codec} video at {width}×{height}. Try the other \
                 format or the 720p size."
            ));
        }
        let out = Rc::new(RefCell::new(VecDeque::new()));
        let description = Rc::new(RefCell::new(None));
        let error = Rc::new(RefCell::new(None));
        let (o, d) = (out.clone(), description.clone());
        let on_output = Closure::<dyn FnMut(web_sys::EncodedVideoChunk, JsValue)>::new(
            move |chunk: web_sys::EncodedVideoChunk, meta: JsValue| {
                let mut data = vec![0u8; chunk.byte_length() as usize];
                if chunk.copy_to_with_u8_slice(&mut data).is_err() {
                    return;
                }
                if let Some(desc) = decoder_description(&meta) {
                    d.borrow_mut().get_or_insert(desc);
                }
                o.borrow_mut().push_back(Chunk {
                    data,
                    pts_micros: chunk.timestamp() as i64,
                    duration_micros: chunk.duration().unwrap_or(0.0) as i64,
                    keyframe: chunk.type_() == web_sys::EncodedVideoChunkType::Key,
                });
            },
        );
        let e = error.clone();
        let on_error = Closure::<dyn FnMut(JsValue)>::new(move |err: JsValue| {
            e.borrow_mut().get_or_insert(format!(
                "The video could not be encoded: {}",
                js_error_text(&err)
            ));
        });
        let init = web_sys::VideoEncoderInit::new(
            on_error.as_ref().unchecked_ref(),
            on_output.as_ref().unchecked_ref(),
        );
        let inner = web_sys::VideoEncoder::new(&init).map_err(|e| js_error_text(&e))?;
        inner
            .configure(&config)
            .map_err(|e| format!("The video encoder could not start: {}", js_error_text(&e)))?;
        Ok(Self {
            inner,
            out,
            description,
            error,
            _on_output: on_output,
            _on_error: on_error,
        })
    }

    fn check(&self) -> Result<(), String> {
        match self.error.borrow().clone() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        let _ = self.inner.close();
    }
}

/// The muxer (made once the encoder has said what its stream looks like), the on-disk body,
/// and the sound waiting for it.
struct Output {
    format: OutputFormat,
    width: u32,
    height: u32,
    audio: Option<AudioSpec>,
    /// Opus packets made before the picture, handed over when the muxer exists.
    opus: Vec<OwnedPacket>,
    muxer: Option<Box<dyn Muxer>>,
    body: Body,
}

impl Output {
    fn muxer(&mut self, description: Option<Vec<u8>>) -> Result<&mut Box<dyn Muxer>, String> {
        if self.muxer.is_none() {
            let video = VideoSpec {
                format: match self.format {
                    OutputFormat::Mp4 => VideoFormat::H264 {
                        avcc: description.ok_or(
                            "The video encoder did not describe its stream (no avcC), so no MP4 \
                             can be written.",
                        )?,
                    },
                    OutputFormat::WebM => VideoFormat::Vp9,
                },
                width: self.width,
                height: self.height,
            };
            let mut muxer = match self.format {
                OutputFormat::Mp4 => mux::mp4(video, self.audio.take()),
                OutputFormat::WebM => mux::webm(video, self.audio.take()),
            }
            .map_err(|e| e.to_string())?;
            for packet in std::mem::take(&mut self.opus) {
                let bytes = muxer.audio(&packet.packet()).map_err(|e| e.to_string())?;
                self.body.append(&bytes)?;
            }
            self.muxer = Some(muxer);
        }
        self.muxer
            .as_mut()
            .ok_or_else(|| "The muxer is missing.".to_string())
    }

    fn video(&mut self, chunk: &Chunk, description: Option<Vec<u8>>) -> Result<(), String> {
        let bytes = self
            .muxer(description)?
            .video(&Packet {
                pts_micros: chunk.pts_micros,
                duration_micros: chunk.duration_micros,
                keyframe: chunk.keyframe,
                data: &chunk.data,
            })
            .map_err(|e| e.to_string())?;
        self.body.append(&bytes)
    }

    fn audio(&mut self, packet: Packet<'_>) -> Result<(), String> {
        let bytes = self
            .muxer(None)?
            .audio(&packet)
            .map_err(|e| e.to_string())?;
        self.body.append(&bytes)
    }
}

/// A decoded frame's planes, copied into wasm memory once.
struct Planes {
    layout: SourceLayout,
    width: u32,
    height: u32,
    offsets: [usize; 3],
    strides: [usize; 3],
    data: Vec<u8>,
}

impl Planes {
    fn view(&self) -> SourcePlanes<'_> {
        SourcePlanes {
            layout: self.layout,
            width: self.width,
            height: self.height,
            data: &self.data,
            offsets: self.offsets,
            strides: self.strides,
        }
    }
}

/// Copies `frame`'s planes into `data` (resized, its allocation kept) through `scratch`, a JS
/// buffer kept between frames (grown when a picture needs more).
async fn copy_planes(
    frame: &VideoFrame,
    scratch: &mut js_sys::Uint8Array,
    mut data: Vec<u8>,
) -> Result<Planes, String> {
    let layout = match frame.format() {
        Some(web_sys::VideoPixelFormat::I420) | Some(web_sys::VideoPixelFormat::I420a) => {
            SourceLayout::I420
        }
        Some(web_sys::VideoPixelFormat::Nv12) => SourceLayout::Nv12,
        other => {
            return Err(format!(
                "The decoder gave pictures in a layout export does not read ({other:?})."
            ))
        }
    };
    let rect = frame
        .visible_rect()
        .ok_or("The decoded picture has no size.")?;
    let (width, height) = (rect.width() as u32, rect.height() as u32);
    let size = frame.allocation_size().map_err(|e| js_error_text(&e))? as usize;
    if (scratch.length() as usize) < size {
        *scratch = js_sys::Uint8Array::new_with_length(size as u32);
    }
    let target = scratch.subarray(0, size as u32);
    let layouts = JsFuture::from(frame.copy_to_with_u8_array(&target))
        .await
        .map_err(|e| {
            format!(
                "The decoded picture could not be read: {}",
                js_error_text(&e)
            )
        })?;
    let layouts: js_sys::Array = layouts.unchecked_into();
    let mut offsets = [0usize; 3];
    let mut strides = [0usize; 3];
    for (i, plane) in layouts.iter().take(3).enumerate() {
        let get = |key: &str| {
            js_sys::Reflect::get(&plane, &key.into())
                .ok()
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0) as usize
        };
        offsets[i] = get("offset");
        strides[i] = get("stride");
    }
    Ok(Planes {
        layout,
        width,
        height,
        offsets,
        strides,
        data: {
            data.resize(size, 0);
            target.copy_to(&mut data);
            data
        },
    })
}

/// What the picture loop needs at hand.
struct Video<'a> {
    job: &'a ExportJob,
    timeline: &'a Timeline,
    encoder: Encoder,
    output: Output,
    frame: Frame420,
    sprites: Option<Sprites>,
    scratch: js_sys::Uint8Array,
    /// The planes buffer of the picture shown before, for the next one to reuse.
    spare: Vec<u8>,
    next: usize,
    keyframe_every: usize,
    started_ms: f64,
    reported_ms: f64,
    report: &'a dyn Fn(ExportEvent),
}

impl Video<'_> {
    /// Encodes output frame `k` from `planes`.
    async fn emit(&mut self, k: usize, planes: &Planes, src_micros: i64) -> Result<(), String> {
        let clip = &self.job.clip;
        let t = secs_from_micros(src_micros);
        let crop = clip.reframe.crop_at(
            f64::from(planes.width),
            f64::from(planes.height),
            t - clip.span.start_secs,
        );
        crop_scale(
            &planes.view(),
            CropRect {
                x: crop.x,
                y: crop.y,
                width: crop.width,
                height: crop.height,
            },
            &mut self.frame,
        )
        .map_err(|e| e.to_string())?;
        if let Some(sprites) = self.sprites.as_mut() {
            if let Some(sprite) = sprites.at(t)? {
                sprite.blend(&mut self.frame);
            }
        }
        let init = web_sys::VideoFrameBufferInit::new(
            self.frame.height,
            self.frame.width,
            web_sys::VideoPixelFormat::I420,
            0,
        );
        init.set_timestamp_f64(self.timeline.frame_micros(k) as f64);
        init.set_duration_f64(self.timeline.frame_duration_micros(k) as f64);
        let colour = web_sys::VideoColorSpaceInit::new();
        colour.set_primaries(Some(web_sys::VideoColorPrimaries::Bt709));
        colour.set_transfer(Some(web_sys::VideoTransferCharacteristics::Bt709));
        colour.set_matrix(Some(web_sys::VideoMatrixCoefficients::Bt709));
        colour.set_full_range(Some(false));
        init.set_color_space(&colour);
        let frame = web_sys::VideoFrame::new_with_u8_slice_and_video_frame_buffer_init(
            &mut self.frame.data,
            &init,
        )
        .map_err(|e| js_error_text(&e))?;
        self.encode(k, frame).await
    }

    /// Encodes output frame `k` straight from the decoded picture: no copy, crop, scale or
    /// captions. Only the benchmark's transcode ceiling takes this path (`direct_frames`).
    async fn emit_direct(&mut self, k: usize, decoded: &VideoFrame) -> Result<(), String> {
        let init = web_sys::VideoFrameInit::new();
        init.set_timestamp_f64(self.timeline.frame_micros(k) as f64);
        init.set_duration_f64(self.timeline.frame_duration_micros(k) as f64);
        let frame = web_sys::VideoFrame::new_with_video_frame_and_video_frame_init(decoded, &init)
            .map_err(|e| js_error_text(&e))?;
        self.encode(k, frame).await
    }

    /// Hands `frame` (closed here) to the encoder and waits while its queue is full.
    async fn encode(&mut self, k: usize, frame: web_sys::VideoFrame) -> Result<(), String> {
        let options = web_sys::VideoEncoderEncodeOptions::new();
        options.set_key_frame(k.is_multiple_of(self.keyframe_every));
        let encoded = self.encoder.inner.encode_with_options(&frame, &options);
        frame.close();
        encoded.map_err(|e| format!("The video could not be encoded: {}", js_error_text(&e)))?;
        self.drain()?;
        while self.encoder.inner.encode_queue_size() > ENCODE_AHEAD {
            TimeoutFuture::new(1).await;
            self.drain()?;
        }
        self.progress(k + 1);
        Ok(())
    }

    /// Moves finished chunks to the muxer.
    fn drain(&mut self) -> Result<(), String> {
        self.encoder.check()?;
        loop {
            let Some(chunk) = self.encoder.out.borrow_mut().pop_front() else {
                return Ok(());
            };
            let description = self.encoder.description.borrow().clone();
            self.output.video(&chunk, description)?;
        }
    }

    fn progress(&mut self, done: usize) {
        let now = now_ms();
        if now - self.reported_ms < 250.0 && done < self.timeline.frames() {
            return;
        }
        self.reported_ms = now;
        let secs = ((now - self.started_ms) / 1000.0).max(1e-3);
        (self.report)(ExportEvent::Progress {
            frames_done: done,
            frames_total: self.timeline.frames(),
            fps: done as f64 / secs,
        });
    }

    /// Output frames of stretch `i` that sample a source time before `before` (all, if
    /// None), shown with `shown` (its planes are copied the first time one is needed).
    async fn emit_until(
        &mut self,
        i: usize,
        before: Option<i64>,
        shown: &mut Shown,
    ) -> Result<(), String> {
        while self.next < self.timeline.frames() {
            let (Some((stretch, src)), Some((_, sample))) = (
                self.timeline.frame_source(self.next),
                self.timeline.frame_sample(self.next),
            ) else {
                break;
            };
            if stretch != i || before.is_some_and(|b| sample >= b) {
                break;
            }
            if self.job.direct_frames {
                self.emit_direct(self.next, &shown.frame).await?;
            } else {
                if shown.planes.is_none() {
                    let data = std::mem::take(&mut self.spare);
                    shown.planes = Some(copy_planes(&shown.frame, &mut self.scratch, data).await?);
                }
                if let Some(planes) = shown.planes.as_ref() {
                    self.emit(self.next, planes, src).await?;
                }
            }
            self.next += 1;
        }
        Ok(())
    }

    /// Decodes stretch `i` and encodes its output frames.
    async fn stretch(&mut self, player: &Player, i: usize) -> Result<(), String> {
        let (a, b) = self.timeline.kept()[i];
        let (decoder, mut decoded) = player.decoder()?;
        let mut gop = player.gop_at(a).await?;
        // Leading frames of the first GOP need the GOP before, which is not decoded.
        let first_key = gop.start_micros;
        let mut pending: VecDeque<_> = gop
            .frames
            .drain(..)
            .filter(|f| f.pts_micros >= first_key)
            .collect();
        let mut fed_all = false;
        let mut flushed = false;
        let mut in_flight = 0usize;
        let mut prev: Option<Shown> = None;
        loop {
            while in_flight < DECODE_AHEAD {
                if let Some(f) = pending.pop_front() {
                    decoder
                        .decode(player.encoded(&f))
                        .map_err(|e| format!("The video could not be decoded: {e}"))?;
                    in_flight += 1;
                } else if !fed_all {
                    // The next GOP is needed while it starts before the stretch ends, or its
                    // leading frames (an open GOP) show before the stretch ends.
                    let wanted = gop
                        .next_key_micros
                        .filter(|&key| key < b || gop.end_micros < b);
                    match wanted {
                        Some(key) => {
                            let next = player.gop_at(key).await?;
                            if next.start_micros <= gop.start_micros {
                                fed_all = true; // a damaged index leads back: stop here
                            } else {
                                gop = next;
                                pending.extend(gop.frames.drain(..));
                            }
                        }
                        None => fed_all = true,
                    }
                } else {
                    break;
                }
            }
            if fed_all && pending.is_empty() && !flushed {
                decoder
                    .flush()
                    .await
                    .map_err(|e| format!("The video could not be decoded: {e}"))?;
                flushed = true;
            }
            let next = if flushed {
                // Everything is out already: take what is queued, then stop.
                match decoded.next().now_or_never() {
                    Some(result) => result,
                    None => break,
                }
            } else {
                // A decoder may hold pictures to reorder them: after a short wait, feed more.
                match select(Box::pin(decoded.next()), TimeoutFuture::new(20)).await {
                    Either::Left((result, _)) => result,
                    Either::Right(_) => {
                        in_flight = in_flight.saturating_sub(1);
                        continue;
                    }
                }
            };
            let frame = match next {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => return Err(format!("The video could not be decoded: {e}")),
            };
            in_flight = in_flight.saturating_sub(1);
            let pts = player.pts_of(&frame);
            if pts >= b {
                break;
            }
            // Output frames before this picture show the previous one.
            if let Some(shown) = prev.as_mut() {
                self.emit_until(i, Some(pts), shown).await?;
            }
            let mut current = Shown {
                frame,
                planes: None,
            };
            if prev.is_none() {
                // Nothing earlier (the stretch starts before its first picture).
                self.emit_until(i, Some(pts), &mut current).await?;
            }
            if let Some(planes) = prev.replace(current).and_then(|old| old.planes) {
                self.spare = planes.data;
            }
        }
        drop(decoder);
        if let Some(mut shown) = prev.take() {
            self.emit_until(i, None, &mut shown).await?;
        }
        Ok(())
    }
}

/// A decoded picture and, once needed, its planes in wasm memory.
struct Shown {
    frame: VideoFrame,
    planes: Option<Planes>,
}

/// Runs one export job to the finished file.
pub async fn run(
    job: &ExportJob,
    file: web_sys::Blob,
    report: &dyn Fn(ExportEvent),
) -> Result<(web_sys::Blob, ExportEvent), String> {
    let started_ms = now_ms();
    remove_old_exports(&job.scratch_name).await;
    let player = Player::open(file).await?;
    let info = player.info().clone();
    let video = info
        .video
        .as_ref()
        .ok_or_else(|| reelsmith_core::MediaError::NoVideoTrack.to_string())?;
    let fps = output_fps(video.frame_rate);
    let timeline = Timeline::new(&job.clip.kept(), fps);
    if timeline.frames() == 0 {
        return Err("The clip is empty: nothing is left between its in and out points.".into());
    }
    let (width, height) = output_dimensions(job.clip.reframe.aspect, job.size);
    if job.direct_frames && (video.width, video.height) != (width, height) {
        return Err(format!(
            "Direct frames need a source of the output size ({width}×{height}), not {}×{}.",
            video.width, video.height
        ));
    }
    let codec = video_codec(job.format, width, height, fps);
    let bitrate = video_bitrate(job.format, width, height, fps);
    let encoder = Encoder::new(&codec, width, height, fps, bitrate).await?;
    report(ExportEvent::Started {
        frames_total: timeline.frames(),
        width,
        height,
        codec: codec.clone(),
    });
    let sprites = match job.clip.caption_style() {
        Some(style) if !job.words.is_empty() => {
            load_fonts().await?;
            Some(Sprites::new(&job.words, style, width, height)?)
        }
        _ => None,
    };
    // The sound: its description now; Opus is made before the picture (it is small).
    let (_, audio_packets) = player
        .demuxer()
        .all_samples(player.source())
        .await
        .map_err(|e| e.to_string())?;
    let track = info.audio.as_ref().filter(|_| !audio_packets.is_empty());
    let mut opus = Vec::new();
    let audio = match (job.sound, track) {
        (SoundPlan::None, _) | (_, None) => None,
        (SoundPlan::CopyAac, Some(track)) => {
            if track.codec != AudioCodec::Aac {
                return Err("Only AAC sound can be copied into an MP4.".into());
            }
            Some(AudioSpec {
                format: AudioFormat::Aac {
                    asc: track.description.clone().ok_or(
                        "The source's AAC sound has no decoder configuration, so it cannot be                          copied.",
                    )?,
                },
                sample_rate: track.sample_rate_hz,
                channels: track.channels as u16,
            })
        }
        (SoundPlan::EncodeOpus, Some(track)) => {
            let (packets, head) =
                encode_opus(player.source(), track, &audio_packets, &timeline).await?;
            opus = packets;
            Some(AudioSpec {
                format: AudioFormat::Opus { head },
                sample_rate: 48_000,
                channels: track.channels.clamp(1, 2) as u16,
            })
        }
    };
    let copy_sound = job.sound == SoundPlan::CopyAac && audio.is_some();
    let body = Body::create(&job.scratch_name).await?;
    let frame = Frame420::new_black(width, height).map_err(|e| e.to_string())?;
    let mut state = Video {
        job,
        timeline: &timeline,
        encoder,
        output: Output {
            format: job.format,
            width,
            height,
            audio,
            opus,
            muxer: None,
            body,
        },
        frame,
        sprites,
        scratch: js_sys::Uint8Array::new_with_length(0),
        spare: Vec::new(),
        next: 0,
        keyframe_every: (fps * KEYFRAME_SECS).round().max(1.0) as usize,
        started_ms,
        reported_ms: 0.0,
        report,
    };
    let result = encode_all(&mut state, &player, &timeline, copy_sound, &audio_packets).await;
    let Video { output, .. } = state;
    let Output { muxer, body, .. } = output;
    if let Err(e) = result {
        body.discard().await;
        return Err(e);
    }
    let Some(muxer) = muxer else {
        body.discard().await;
        return Err("The encoder produced no video.".into());
    };
    let finished = match muxer.finish() {
        Ok(f) => f,
        Err(e) => {
            body.discard().await;
            return Err(e.to_string());
        }
    };
    let file = body.finish().await?;
    let parts = js_sys::Array::new();
    parts.push(&js_sys::Uint8Array::from(finished.head.as_slice()));
    parts.push(&file);
    if !finished.tail.is_empty() {
        parts.push(&js_sys::Uint8Array::from(finished.tail.as_slice()));
    }
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(job.format.mime());
    let blob = web_sys::Blob::new_with_blob_sequence_and_options(&parts, &options)
        .map_err(|e| js_error_text(&e))?;
    let done = ExportEvent::Done {
        bytes: blob.size() as u64,
        frames: timeline.frames(),
        millis: now_ms() - started_ms,
    };
    Ok((blob, done))
}

async fn encode_all(
    state: &mut Video<'_>,
    player: &Player,
    timeline: &Timeline,
    copy_sound: bool,
    audio_packets: &[reelsmith_core::media::Sample],
) -> Result<(), String> {
    for i in 0..timeline.kept().len() {
        state.stretch(player, i).await?;
    }
    JsFuture::from(state.encoder.inner.flush())
        .await
        .map_err(|e| format!("The video could not be encoded: {}", js_error_text(&e)))?;
    state.drain()?;
    if state.next < timeline.frames() {
        return Err(format!(
            "The source ran out of pictures: {} of {} frames were made.",
            state.next,
            timeline.frames()
        ));
    }
    if copy_sound {
        let output = &mut state.output;
        copy_aac(player.source(), audio_packets, timeline, |p| {
            output.audio(p)
        })
        .await?;
    }
    Ok(())
}
