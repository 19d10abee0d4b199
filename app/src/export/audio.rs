//! The exported clip's sound. AAC is copied packet by packet (this browser has no AAC
//! encoder), following `reelsmith_core::export::plan_audio_copy`. For WebM the kept stretches
//! are decoded with `AudioDecoder` (a fresh decoder per stretch, fed from two packets before
//! it so the decoder is primed), trimmed to the sample at the cuts and encoded as Opus with
//! `AudioEncoder`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use reelsmith_core::demux::read_samples;
use reelsmith_core::export::{plan_audio_copy, Timeline};
use reelsmith_core::media::{AudioTrack, Sample};
use reelsmith_core::mux::Packet;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_codecs::EncodedFrame;

use crate::blob_source::{js_error_text, BlobSource};
use crate::sound::{decoder_config, timestamp_base};

/// Packets read from the file per step.
const PACKETS_PER_READ: usize = 64;
/// Opus bit rate (stereo speech and music both sound clean at this rate).
const OPUS_BITRATE: u32 = 128_000;

/// An encoded audio packet held until the muxer takes it.
pub struct OwnedPacket {
    pub pts_micros: i64,
    pub duration_micros: i64,
    pub data: Vec<u8>,
}

impl OwnedPacket {
    pub fn packet(&self) -> Packet<'_> {
        Packet {
            pts_micros: self.pts_micros,
            duration_micros: self.duration_micros,
            keyframe: true,
            data: &self.data,
        }
    }
}

/// Copies the AAC packets that make the clip's sound, handing each to `put` in order.
pub async fn copy_aac(
    source: &BlobSource,
    packets: &[Sample],
    timeline: &Timeline,
    mut put: impl FnMut(Packet<'_>) -> Result<(), String>,
) -> Result<(), String> {
    let plan = plan_audio_copy(packets, timeline);
    for batch in plan.chunks(PACKETS_PER_READ) {
        let samples: Vec<Sample> = batch.iter().map(|p| packets[p.index]).collect();
        let frames = read_samples(source, &samples)
            .await
            .map_err(|e| e.to_string())?;
        for (copied, frame) in batch.iter().zip(frames) {
            put(Packet {
                pts_micros: copied.out_micros,
                duration_micros: copied.duration_micros,
                keyframe: true,
                data: &frame.data,
            })?;
        }
    }
    Ok(())
}

struct OpusEncoder {
    inner: web_sys::AudioEncoder,
    out: Rc<RefCell<VecDeque<OwnedPacket>>>,
    head: Rc<RefCell<Option<Vec<u8>>>>,
    error: Rc<RefCell<Option<String>>>,
    _on_output: Closure<dyn FnMut(web_sys::EncodedAudioChunk, JsValue)>,
    _on_error: Closure<dyn FnMut(JsValue)>,
}

impl OpusEncoder {
    fn new(sample_rate: u32, channels: u32) -> Result<Self, String> {
        let out = Rc::new(RefCell::new(VecDeque::new()));
        let head = Rc::new(RefCell::new(None));
        let error = Rc::new(RefCell::new(None));
        let (o, h) = (out.clone(), head.clone());
        let on_output = Closure::<dyn FnMut(web_sys::EncodedAudioChunk, JsValue)>::new(
            move |chunk: web_sys::EncodedAudioChunk, meta: JsValue| {
                let mut data = vec![0u8; chunk.byte_length() as usize];
                if chunk.copy_to_with_u8_slice(&mut data).is_err() {
                    return;
                }
                if let Some(description) = decoder_description(&meta) {
                    h.borrow_mut().get_or_insert(description);
                }
                o.borrow_mut().push_back(OwnedPacket {
                    pts_micros: chunk.timestamp() as i64,
                    duration_micros: chunk.duration().unwrap_or(20_000.0) as i64,
                    data,
                });
            },
        );
        let e = error.clone();
        let on_error = Closure::<dyn FnMut(JsValue)>::new(move |err: JsValue| {
            e.borrow_mut().get_or_insert(format!(
                "The sound could not be encoded: {}",
                js_error_text(&err)
            ));
        });
        let init = web_sys::AudioEncoderInit::new(
            on_error.as_ref().unchecked_ref(),
            on_output.as_ref().unchecked_ref(),
        );
        let inner = web_sys::AudioEncoder::new(&init).map_err(|e| js_error_text(&e))?;
        let config = web_sys::AudioEncoderConfig::new("opus", channels, sample_rate);
        config.set_bitrate(OPUS_BITRATE);
        inner.configure(&config).map_err(|e| {
            format!(
                "This browser cannot encode Opus sound: {}",
                js_error_text(&e)
            )
        })?;
        Ok(Self {
            inner,
            out,
            head,
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

impl Drop for OpusEncoder {
    fn drop(&mut self) {
        let _ = self.inner.close();
    }
}

/// `metadata.decoderConfig.description` of an encoder output, as bytes.
pub fn decoder_description(meta: &JsValue) -> Option<Vec<u8>> {
    let config = js_sys::Reflect::get(meta, &"decoderConfig".into()).ok()?;
    if config.is_falsy() {
        return None;
    }
    let description = js_sys::Reflect::get(&config, &"description".into()).ok()?;
    if description.is_falsy() {
        return None;
    }
    if let Some(buffer) = description.dyn_ref::<js_sys::ArrayBuffer>() {
        return Some(js_sys::Uint8Array::new(buffer).to_vec());
    }
    let view = description.dyn_ref::<js_sys::Object>()?;
    let buffer = js_sys::Reflect::get(view, &"buffer".into()).ok()?;
    let offset = js_sys::Reflect::get(view, &"byteOffset".into())
        .ok()?
        .as_f64()?;
    let length = js_sys::Reflect::get(view, &"byteLength".into())
        .ok()?
        .as_f64()?;
    let buffer = buffer.dyn_into::<js_sys::ArrayBuffer>().ok()?;
    Some(
        js_sys::Uint8Array::new_with_byte_offset_and_length(&buffer, offset as u32, length as u32)
            .to_vec(),
    )
}

/// The clip's sound as Opus packets (small: about 1 MB a minute), with the encoder's OpusHead
/// if it gave one.
pub async fn encode_opus(
    source: &BlobSource,
    track: &AudioTrack,
    packets: &[Sample],
    timeline: &Timeline,
) -> Result<(Vec<OwnedPacket>, Option<Vec<u8>>), String> {
    let channels = track.channels.clamp(1, 2);
    let encoder = OpusEncoder::new(track.sample_rate_hz, channels)?;
    let Some(config) = decoder_config(track).await else {
        return Err(format!(
            "This browser cannot decode the source's sound ({}), so it cannot be exported.",
            track.codec_string
        ));
    };
    let base = timestamp_base(packets);
    let mut channel = Vec::<u8>::new();
    for (i, &(a, b)) in timeline.kept().iter().enumerate() {
        let first = packets
            .partition_point(|p| p.pts_micros + p.duration_micros <= a)
            .saturating_sub(2);
        let end = (packets.partition_point(|p| p.pts_micros < b) + 1).min(packets.len());
        if first >= end {
            continue;
        }
        let (decoder, mut decoded) = config
            .clone()
            .build()
            .map_err(|e| format!("The audio decoder could not start: {e}"))?;
        for batch in packets[first..end].chunks(PACKETS_PER_READ) {
            let frames = read_samples(source, batch)
                .await
                .map_err(|e| e.to_string())?;
            for frame in frames {
                decoder
                    .decode(EncodedFrame {
                        payload: frame.data.into(),
                        timestamp: std::time::Duration::from_micros(
                            (frame.pts_micros - base) as u64,
                        ),
                        keyframe: true,
                    })
                    .map_err(|e| format!("The sound could not be decoded: {e}"))?;
            }
        }
        decoder
            .flush()
            .await
            .map_err(|e| format!("The sound could not be decoded: {e}"))?;
        drop(decoder);
        while let Some(data) = decoded
            .next()
            .await
            .map_err(|e| format!("The sound could not be decoded: {e}"))?
        {
            let start = data.timestamp().as_micros() as i64 + base;
            let frames = data.number_of_frames() as usize;
            let Some(piece) = timeline.audio_piece(i, start, frames, data.sample_rate()) else {
                continue;
            };
            // Planar f32: each kept channel's samples one after the other.
            let mut planar = Vec::<f32>::with_capacity(piece.count * channels as usize);
            for c in 0..channels.min(data.number_of_channels()) {
                channel.resize(piece.count * 4, 0);
                let options = web_sys::AudioDataCopyToOptions::new(c);
                options.set_format(web_sys::AudioSampleFormat::F32Planar);
                options.set_frame_offset(piece.first as u32);
                options.set_frame_count(piece.count as u32);
                data.copy_to_with_u8_slice(&mut channel, &options)
                    .map_err(|e| format!("The sound could not be read: {}", js_error_text(&e)))?;
                planar.extend(
                    channel
                        .chunks_exact(4)
                        .map(|s| f32::from_le_bytes([s[0], s[1], s[2], s[3]])),
                );
            }
            // A mono source feeding a stereo encoder cannot happen (channels ≤ source's).
            let array = js_sys::Float32Array::from(planar.as_slice());
            let init = web_sys::AudioDataInit::new(
                &array,
                web_sys::AudioSampleFormat::F32Planar,
                channels.min(data.number_of_channels()),
                piece.count as u32,
                data.sample_rate() as f32,
                0,
            );
            init.set_timestamp_f64(piece.out_micros as f64);
            let piece_data = web_sys::AudioData::new(&init).map_err(|e| js_error_text(&e))?;
            encoder
                .inner
                .encode(&piece_data)
                .map_err(|e| format!("The sound could not be encoded: {}", js_error_text(&e)))?;
            piece_data.close();
            encoder.check()?;
        }
    }
    JsFuture::from(encoder.inner.flush())
        .await
        .map_err(|e| format!("The sound could not be encoded: {}", js_error_text(&e)))?;
    encoder.check()?;
    let packets: Vec<OwnedPacket> = encoder.out.borrow_mut().drain(..).collect();
    let head = encoder.head.borrow().clone();
    Ok((packets, head))
}
