//! Turns a picked file into pictures: demux with `reelsmith-core`, decode with WebCodecs'
//! `VideoDecoder` (through `web-codecs`, whose frames close themselves when dropped), and
//! draw on a canvas. Seeking decodes from the keyframe before the requested time; playback
//! streams GOP after GOP through one decoder, keeping only a few frames in flight.

use std::cell::Cell;
use std::rc::Rc;

use futures::future::{select, Either};
use futures::FutureExt;
use gloo_timers::future::TimeoutFuture;
use reelsmith_core::media::{Gop, MediaInfo, VideoCodec};
use reelsmith_core::Demuxer;
use wasm_bindgen::JsCast;
use web_codecs::{
    Dimensions, EncodedFrame, VideoDecoded, VideoDecoder, VideoDecoderConfig, VideoFrame,
};

use crate::blob_source::{js_error_text, BlobSource};

/// Encoded frames handed to the decoder ahead of the one being shown.
const FRAMES_IN_FLIGHT: usize = 8;

pub struct Player {
    source: BlobSource,
    demuxer: Demuxer,
    config: VideoDecoderConfig,
    /// Subtracted from every timestamp given to the decoder (WebCodecs' wrapper takes unsigned
    /// times; edit lists can make pre-roll frames negative).
    base_micros: i64,
}

/// A decoded frame and the media time it belongs to.
pub struct ShownFrame {
    pub frame: VideoFrame,
    pub pts_micros: i64,
}

impl Player {
    /// Opens a file and checks that this browser can decode its video.
    pub async fn open(blob: web_sys::Blob) -> Result<Self, String> {
        let source = BlobSource::new(blob);
        let demuxer = Demuxer::open(&source).await.map_err(|e| e.to_string())?;
        let info = demuxer.info();
        let Some(video) = info.video.as_ref() else {
            return Err(reelsmith_core::MediaError::NoVideoTrack.to_string());
        };
        let mut config = VideoDecoderConfig::new(video.codec_string.clone());
        let dims = Dimensions::new(video.width.max(1), video.height.max(1));
        config.resolution = Some(dims);
        config.display = Some(dims);
        config.description = video.description.clone().map(Into::into);
        let supported = config.is_supported().await.unwrap_or(false);
        if !supported {
            return Err(unsupported_message(&video.codec, &video.codec_string));
        }
        // The index already knows it: no frame needs reading here.
        let base_micros = demuxer.first_video_pts_micros().min(0);
        Ok(Self {
            source,
            demuxer,
            config,
            base_micros,
        })
    }

    pub fn info(&self) -> &MediaInfo {
        self.demuxer.info()
    }

    pub fn demuxer(&self) -> &Demuxer {
        &self.demuxer
    }

    pub fn source(&self) -> &BlobSource {
        &self.source
    }

    pub(crate) fn decoder(&self) -> Result<(VideoDecoder, VideoDecoded), String> {
        self.config
            .clone()
            .build()
            .map_err(|e| format!("The video decoder could not start: {e}"))
    }

    pub(crate) fn encoded(&self, f: &reelsmith_core::media::EncodedFrame) -> EncodedFrame {
        EncodedFrame {
            payload: f.data.clone().into(),
            timestamp: std::time::Duration::from_micros((f.pts_micros - self.base_micros) as u64),
            keyframe: f.keyframe,
        }
    }

    pub(crate) fn pts_of(&self, frame: &VideoFrame) -> i64 {
        frame.timestamp().as_micros() as i64 + self.base_micros
    }

    pub(crate) async fn gop_at(&self, at_micros: i64) -> Result<Gop, String> {
        self.demuxer
            .gop_at(&self.source, at_micros)
            .await
            .map_err(|e| e.to_string())
    }

    /// Decodes the frame shown at `at_micros` (from the keyframe before it).
    pub async fn frame_at(&self, at_micros: i64) -> Result<ShownFrame, String> {
        let gop = self.gop_at(at_micros).await?;
        let target = gop
            .frame_at(at_micros)
            .map(|f| f.pts_micros)
            .ok_or("no frame at this time")?;
        let (decoder, mut decoded) = self.decoder()?;
        for f in gop.frames_for(at_micros) {
            decoder
                .decode(self.encoded(f))
                .map_err(|e| format!("The video could not be decoded: {e}"))?;
        }
        decoder
            .flush()
            .await
            .map_err(|e| format!("The video could not be decoded: {e}"))?;
        let mut shown = None;
        // After flush every output is already queued: drain without waiting.
        while let Some(Ok(Some(frame))) = decoded.next().now_or_never() {
            let pts = self.pts_of(&frame);
            if pts == target {
                shown = Some(ShownFrame {
                    frame,
                    pts_micros: pts,
                });
            }
        }
        shown.ok_or_else(|| "The decoder returned no picture for this time.".to_string())
    }

    /// Plays from `from_micros` until the end or until `generation` changes, calling `show`
    /// with each frame at its time. Returns the time reached.
    pub async fn play(
        &self,
        from_micros: i64,
        generation: Rc<Cell<u64>>,
        mut show: impl FnMut(ShownFrame),
    ) -> Result<i64, String> {
        let my_generation = generation.get();
        let still_playing = || generation.get() == my_generation;
        let (decoder, mut decoded) = self.decoder()?;
        let mut gop = self.gop_at(from_micros).await?;
        let mut pending: std::collections::VecDeque<_> = gop.frames.drain(..).collect();
        let mut at_end = false;
        let mut flushed = false;
        let mut in_flight = 0usize;
        let clock_start_ms = now_ms();
        let mut reached = from_micros;
        while still_playing() {
            // Keep the decoder fed; fetch the next GOP when this one is used up.
            while in_flight < FRAMES_IN_FLIGHT {
                if let Some(f) = pending.pop_front() {
                    decoder
                        .decode(self.encoded(&f))
                        .map_err(|e| format!("The video could not be decoded: {e}"))?;
                    in_flight += 1;
                } else if !at_end {
                    let next = self.gop_at(gop.end_micros).await?;
                    if next.start_micros <= gop.start_micros {
                        at_end = true;
                    } else {
                        gop = next;
                        pending.extend(gop.frames.drain(..));
                    }
                } else {
                    break;
                }
            }
            if at_end && pending.is_empty() && !flushed {
                decoder
                    .flush()
                    .await
                    .map_err(|e| format!("The video could not be decoded: {e}"))?;
                flushed = true;
            }
            // A frame, or after a short wait feed more (the decoder may hold frames to reorder).
            let frame = match select(Box::pin(decoded.next()), TimeoutFuture::new(40)).await {
                Either::Left((Ok(Some(frame)), _)) => frame,
                Either::Left((Ok(None), _)) => break,
                Either::Left((Err(e), _)) => {
                    return Err(format!("The video could not be decoded: {e}"))
                }
                Either::Right(_) => {
                    if flushed {
                        break; // flushed and nothing more: the end
                    }
                    continue;
                }
            };
            in_flight = in_flight.saturating_sub(1);
            let pts = self.pts_of(&frame);
            if pts < from_micros {
                continue; // between the keyframe and the start point
            }
            let due_ms = clock_start_ms + (pts - from_micros) as f64 / 1000.0;
            let wait_ms = due_ms - now_ms();
            if wait_ms > 1.0 {
                TimeoutFuture::new(wait_ms as u32).await;
            }
            if !still_playing() {
                break;
            }
            reached = pts;
            show(ShownFrame {
                frame,
                pts_micros: pts,
            });
        }
        Ok(reached)
    }
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

fn unsupported_message(codec: &VideoCodec, codec_string: &str) -> String {
    match codec {
        VideoCodec::Hevc => "This video is HEVC (H.265), which this browser cannot decode. \
             Re-export it as H.264 (MP4) or VP9 (WebM) and open it again."
            .to_string(),
        other => format!(
            "This browser cannot decode {} video ({codec_string}). Re-export it as H.264 (MP4) \
             or VP9 (WebM) and open it again.",
            other.label()
        ),
    }
}

/// Draws a frame over the whole canvas, sizing the canvas to the frame.
pub fn draw(canvas: &web_sys::HtmlCanvasElement, frame: &VideoFrame) -> Result<(), String> {
    let (w, h) = (frame.display_width(), frame.display_height());
    if canvas.width() != w || canvas.height() != h {
        canvas.set_width(w);
        canvas.set_height(h);
    }
    let ctx = canvas
        .get_context("2d")
        .map_err(|e| js_error_text(&e))?
        .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
        .ok_or("no 2D canvas")?;
    ctx.draw_image_with_video_frame_and_dw_and_dh(frame, 0.0, 0.0, f64::from(w), f64::from(h))
        .map_err(|e| js_error_text(&e))
}

/// Frame length in microseconds for stepping and the seek bar.
pub fn frame_micros(info: &MediaInfo) -> i64 {
    info.video
        .as_ref()
        .map(|v| v.frame_rate)
        .filter(|r| *r > 0.0)
        .map_or(40_000, |r| (1e6 / r).round() as i64)
}
