//! Turns a picked file into pictures: demux with `reelsmith-core`, decode with WebCodecs'
//! `VideoDecoder` (through `web-codecs`, whose frames close themselves when dropped), and
//! draw on a canvas. Seeking decodes from the keyframe before the requested time; playback
//! streams GOP after GOP through one decoder, keeping only a few frames in flight, each shown
//! when the clock (the sound heard, `speaker.rs`) reaches it.

use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;

use futures::FutureExt;
use gloo_timers::future::TimeoutFuture;
use reelsmith_core::media::{Gop, MediaInfo, VideoCodec};
use reelsmith_core::playback::{pace, Pace};
use reelsmith_core::Demuxer;
use web_codecs::{
    Dimensions, EncodedFrame, VideoDecoded, VideoDecoder, VideoDecoderConfig, VideoFrame,
};

use crate::blob_source::BlobSource;
use crate::speaker::Clock;

/// Encoded frames waiting in the decoder's queue (not yet taken by the codec).
const DECODE_QUEUE: u32 = 3;
/// Decoded pictures waiting for their time (1080p: ~3 MB each).
const READY_FRAMES: usize = 4;
/// How often playback looks whether the decoder takes more input.
const TICK_MS: u32 = 8;
/// How long the first picture waits for the sound to be decoded before it starts without.
const SOUND_WAIT_MS: f64 = 300.0;

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
        let mut feed = gop.frames_for(at_micros);
        let mut target = gop
            .frame_at(at_micros)
            .map(|f| f.pts_micros)
            .ok_or("no frame at this time")?;
        // In an open GOP the picture at this time may be one the next keyframe leads in: it
        // needs this whole GOP and the next one up to it.
        let next = match gop.next_key_micros {
            Some(key) if gop.leads_into_next(at_micros) => Some(self.gop_at(key).await?),
            _ => None,
        };
        if let Some((shown, lead)) = next.as_ref().and_then(|n| n.leading_frame_at(at_micros)) {
            feed = gop
                .frames
                .iter()
                .filter(|f| !gop.is_leading(f))
                .chain(lead)
                .collect();
            target = shown.pts_micros;
        }
        let (decoder, mut decoded) = self.decoder()?;
        for f in feed {
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

    /// Plays from `from_micros` to the end, or to the last picture before `until_micros`, or
    /// until `generation` moves on from `my_generation` (the one the caller started under), calling `show` with each picture when `clock` reaches it.
    /// Returns the time reached and how it went.
    ///
    /// The decoder is fed whenever it has taken what it was given (`decodeQueueSize`) and few
    /// decoded pictures wait to be shown, so memory stays bounded and a decoder that holds
    /// pictures back (to reorder B-frames, or across an open GOP) is never starved. GOPs follow
    /// one another by their keyframes, never by the end time of their last frame. Every
    /// picture is shown: one more than a frame late holds the clock (and with it the sound)
    /// until the pictures catch up, so playback slows rather than skips or drifts.
    pub async fn play(
        &self,
        from_micros: i64,
        until_micros: Option<i64>,
        generation: Rc<Cell<u64>>,
        my_generation: u64,
        clock: &mut dyn Clock,
        mut show: impl FnMut(ShownFrame),
    ) -> Result<Played, String> {
        let still_playing = || generation.get() == my_generation;
        let decode_error = |e: web_codecs::Error| format!("The video could not be decoded: {e}");
        let (decoder, mut decoded) = self.decoder()?;
        let gop = self.gop_at(from_micros).await?;
        let mut next_key = gop.next_key_micros;
        let mut gop_start = gop.start_micros;
        let mut pending: VecDeque<_> = gop.decodable_alone().into();
        let mut ready: VecDeque<ShownFrame> = VecDeque::new();
        let mut flush = None;
        let mut flushed = false;
        let frame = frame_micros(self.info());
        // The clock starts with the first picture (decoding up to the start point is not
        // playback falling behind), once the sound has something to play or has waited enough.
        let mut started = false;
        let mut first_ready_ms = None::<f64>;
        let mut played = Played {
            reached_micros: from_micros,
            late_frames: 0,
            holds: 0,
            reached_until: false,
        };
        while still_playing() {
            // Feed the decoder.
            while flush.is_none()
                && decoder.queue_size() < DECODE_QUEUE
                && ready.len() < READY_FRAMES
            {
                if let Some(f) = pending.pop_front() {
                    decoder.decode(self.encoded(&f)).map_err(decode_error)?;
                } else if let Some(key) = next_key {
                    let gop = self.gop_at(key).await?;
                    // A damaged index could lead back: a GOP that does not move on ends it.
                    next_key = gop.next_key_micros.filter(|_| gop.start_micros > gop_start);
                    if gop.start_micros > gop_start {
                        gop_start = gop.start_micros;
                        pending.extend(gop.frames);
                    }
                } else {
                    flush = Some(Box::pin(decoder.flush().fuse()));
                }
            }
            // Take what the decoder has output.
            while let Some(result) = decoded.next().now_or_never() {
                let Some(frame) = result.map_err(decode_error)? else {
                    break;
                };
                self.accept(&mut ready, frame, from_micros);
            }
            let mut wait_ms = TICK_MS;
            if let Some(front) = ready.front() {
                if until_micros.is_some_and(|until| front.pts_micros >= until) {
                    played.reached_until = true;
                    break;
                }
                if !started {
                    let waited = now_ms() - *first_ready_ms.get_or_insert_with(now_ms);
                    if clock.ready() || waited >= SOUND_WAIT_MS {
                        // From the start point: the sound before the first picture plays too.
                        clock.start(from_micros.min(front.pts_micros));
                        started = true;
                    }
                }
                let now = clock.now_micros();
                match now.map(|now| pace(front.pts_micros, now, clock.held(), frame)) {
                    None => {}
                    Some(Pace::Wait { micros }) => {
                        wait_ms = ((micros / 1000) as u32).clamp(1, TICK_MS);
                    }
                    Some(Pace::Release) => {
                        clock.release();
                        continue;
                    }
                    Some(due) => {
                        if !still_playing() {
                            break; // stopped while decoding: show nothing more
                        }
                        let late = now.unwrap_or(0) - front.pts_micros;
                        if late > frame {
                            played.late_frames += 1;
                        }
                        if due == Pace::ShowAndHold {
                            played.holds += 1;
                            clock.hold(front.pts_micros);
                        }
                        if let Some(shown) = ready.pop_front() {
                            played.reached_micros = shown.pts_micros;
                            show(shown);
                        }
                        // Back to the page between two pictures, so each is seen.
                        TimeoutFuture::new(0).await;
                        continue;
                    }
                }
            } else if flushed {
                break; // flushed, and every picture shown: the end
            }
            // Wait for the next picture's time, a decoded picture, the end of the flush, or a
            // short tick (the decoder takes input without telling).
            let mut timer = TimeoutFuture::new(wait_ms).fuse();
            let mut frame_out = Box::pin(decoded.next().fuse());
            let woke = match flush.as_mut().filter(|_| !flushed) {
                Some(mut flushing) => futures::select! {
                    result = flushing => Woke::Flushed(result),
                    result = frame_out => Woke::Frame(result),
                    () = timer => Woke::Tick,
                },
                None => futures::select! {
                    result = frame_out => Woke::Frame(result),
                    () = timer => Woke::Tick,
                },
            };
            match woke {
                Woke::Flushed(result) => {
                    result.map_err(decode_error)?;
                    flushed = true;
                }
                Woke::Frame(result) => {
                    if let Some(frame) = result.map_err(decode_error)? {
                        self.accept(&mut ready, frame, from_micros);
                    }
                }
                Woke::Tick => {}
            }
        }
        if clock.held() {
            clock.release();
        }
        Ok(played)
    }

    /// Queues a decoded picture to be shown, unless it lies before the start point (between
    /// the keyframe and where playback starts).
    fn accept(&self, ready: &mut VecDeque<ShownFrame>, frame: VideoFrame, from_micros: i64) {
        let pts = self.pts_of(&frame);
        if pts >= from_micros {
            ready.push_back(ShownFrame {
                frame,
                pts_micros: pts,
            });
        }
    }
}

/// How a playback went.
pub struct Played {
    /// The last frame shown.
    pub reached_micros: i64,
    /// Frames shown more than a frame late (the decoder fell behind).
    pub late_frames: u32,
    /// Times the clock (and the sound) was held for the pictures to catch up.
    pub holds: u32,
    /// It stopped at `until_micros`, not at the end or by the user.
    pub reached_until: bool,
}

/// What ended a wait during playback.
enum Woke {
    Flushed(Result<(), web_codecs::Error>),
    Frame(Result<Option<VideoFrame>, web_codecs::Error>),
    Tick,
}

pub fn now_ms() -> f64 {
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

/// Frame length in microseconds for stepping and the seek bar.
pub fn frame_micros(info: &MediaInfo) -> i64 {
    info.video
        .as_ref()
        .map(|v| v.frame_rate)
        .filter(|r| *r > 0.0)
        .map_or(40_000, |r| (1e6 / r).round() as i64)
}
