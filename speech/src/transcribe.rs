//! Turns audio into text with the [`model`](crate::model): log-mel of a 30 s window, encoder,
//! then the decoder one token at a time with its cache, applying `config.json`'s suppress lists.
//!
//! Two ways to decode a window: plain text ([`Engine::transcribe_window`], `<|notimestamps|>`),
//! and timestamped ([`Engine::transcribe_window_timestamped`]), where Whisper's timestamp rules
//! (openai/whisper `whisper/decoding.py`, `ApplyTimestampRules`) shape the token stream into
//! `<|t0|> text <|t1|>` segments. [`Engine::transcribe`] runs timestamped windows over audio of
//! any length, seeking as openai/whisper `whisper/transcribe.py` does, retries windows that
//! repeat themselves at higher temperatures, and times each word by DTW over the alignment
//! heads' cross-attention ([`dtw`](crate::dtw), as `whisper/timing.py` `add_word_timestamps`).

use std::borrow::Cow;

use crate::beam::{log_softmax, log_sum_exp, BeamSearch};
use crate::dtw::{
    alignment_matrix, find_alignment, merge_punctuations, AlignmentError, AttentionScores,
    CrossAttention as AlignmentAttention, WordTiming, APPEND_PUNCTUATIONS, MEDIAN_FILTER_WIDTH,
    PREPEND_PUNCTUATIONS,
};
use crate::mel::{MelSpectrogram, HOP_LENGTH, N_FRAMES, SAMPLE_RATE_HZ};
use crate::model::{CrossAttention, KvCache, ModelConfig, ModelError, WhisperModel};
use crate::subtitles::{Segment, Word};
use crate::tokenizer::{SpecialTokens, Task, Tokenizer, TokenizerError, TIMESTAMP_STEP_SECS};
use crate::vad::{keep_speech_in, Vad};

/// Whisper's text context is 448 tokens; it samples at most half of it per window.
pub const MAX_NEW_TOKENS: usize = 224;
/// At most this many prompt tokens go before a window (whisper: half the text context, less
/// the `<|startofprev|>` token).
pub const MAX_PROMPT_TOKENS: usize = 223;
/// Token positions the decoder has (`n_text_ctx`, 448 for every Whisper size): the prompt,
/// the start sequence and the sampled tokens together never go past it.
pub const TEXT_CONTEXT: usize = 448;
/// The first timestamp may be at most this late (decoding.py `max_initial_timestamp`).
pub const MAX_INITIAL_TIMESTAMP_SECS: f64 = 1.0;
/// Temperatures tried in turn when a window's output looks wrong (transcribe.py's default).
pub const TEMPERATURES: [f32; 6] = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0];
/// Text that zlib shrinks more than this is repeating itself (transcribe.py's default).
pub const COMPRESSION_RATIO_THRESHOLD: f64 = 2.4;
/// A mean token log-probability below this means the decoding failed (transcribe.py).
pub const LOGPROB_THRESHOLD: f32 = -1.0;
/// Above this `<|nospeech|>` probability (with a low log-probability) a window is silence.
pub const NO_SPEECH_THRESHOLD: f32 = 0.6;
/// Mel frames per encoder frame, i.e. per timestamp step (transcribe.py `input_stride`).
const INPUT_STRIDE: usize = 2;
/// A window none of whose 100 ms stretches is louder than this RMS (about −60 dBFS) holds
/// nothing to hear.
const QUIET_RMS: f32 = 0.001;

/// Whether no 100 ms stretch of 16 kHz audio is louder than [`QUIET_RMS`] (digital silence,
/// a muted stretch): such a window is skipped, as the model would invent words for it.
pub fn is_quiet(samples_16k: &[f32]) -> bool {
    samples_16k
        .chunks(SAMPLE_RATE_HZ as usize / 10)
        .all(|stretch| {
            let power = stretch.iter().map(|s| s * s).sum::<f32>() / stretch.len() as f32;
            power.sqrt() < QUIET_RMS
        })
}

/// Seed of the sampling at temperatures above 0: transcripts are reproducible.
const SAMPLING_SEED: u64 = 0x5EED_0F1E_E55A_1100;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("the speech model's vocabulary is unusable: {0}")]
    Tokenizer(#[from] TokenizerError),
    #[error(transparent)]
    Alignment(#[from] AlignmentError),
    #[error("This model knows only English and cannot {0}. Use a multilingual model (base).")]
    EnglishOnly(String),
}

/// What to decode: the language spoken and whether to write it down or translate it into
/// English. English-only models (`*.en`) take neither: they transcribe English.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// A language code of the model's (`en`, `es`, `de`, …); `None` lets the model detect it
    /// from the first window with speech.
    pub language: Option<String>,
    pub task: Task,
    /// Words to know (names, brands, jargon): given to the decoder before every window as if
    /// said before it (`<|startofprev|>`), as whisper's `initial_prompt` with
    /// `carry_initial_prompt` (whisper's own default gives it to the first window only).
    pub prompt: Option<String>,
    /// Hypotheses kept by the beam search at temperature 0 (whisper's `--beam_size`, 5 in its
    /// command line); 0 or 1 decodes greedily. The hotter retries sample either way.
    pub beam_size: usize,
}

/// A transcript of audio of any length and the language it was decoded in.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcription {
    pub segments: Vec<Segment>,
    /// The language given or detected; `None` for an English-only model, or when no window
    /// held speech to detect it from.
    pub language: Option<String>,
}

/// The text of one window, with the tokens it came from and each token's log-probability.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowText {
    pub text: String,
    pub tokens: Vec<u32>,
    pub logprobs: Vec<f32>,
}

/// One `<|start|> text <|end|>` segment of a timestamped window, times within the window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowSegment {
    pub start_secs: f64,
    pub end_secs: f64,
    pub text: String,
    /// Its text tokens (no timestamps) and their log-probabilities.
    pub tokens: Vec<u32>,
    pub logprobs: Vec<f32>,
}

/// A timestamped decoding of one 30 s window.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedWindow {
    pub segments: Vec<WindowSegment>,
    /// Every sampled token (timestamps included, end-of-text not) and its log-probability.
    pub tokens: Vec<u32>,
    pub logprobs: Vec<f32>,
    /// How far the next window starts after this one's start, in mel frames (10 ms).
    pub seek_frames: usize,
    /// Probability of `<|nospeech|>` at the start of the window.
    pub no_speech_prob: f32,
    pub avg_logprob: f32,
    pub compression_ratio: f64,
    pub temperature: f32,
}

/// What one run of the decoding loop produced.
struct Decoded {
    tokens: Vec<u32>,
    logprobs: Vec<f32>,
    /// Including end-of-text's, as whisper's `sum_logprobs`.
    sum_logprob: f32,
    no_speech_prob: f32,
}

pub struct Engine {
    model: WhisperModel,
    config: ModelConfig,
    tokenizer: Tokenizer,
    mel: MelSpectrogram,
    /// Finds the speech; without it every window is decoded as it is.
    vad: Option<Vad>,
}

impl Engine {
    /// Work the model has done since loading (for benchmarks).
    pub fn stats(&self) -> crate::model::ModelStats {
        self.model.stats()
    }

    /// Builds the engine from the files `scripts/prepare-model.sh` writes.
    pub fn load(
        encoder_onnx: &[u8],
        decoder_onnx: &[u8],
        config_json: &str,
        vocabulary: &str,
    ) -> Result<Self, EngineError> {
        Self::from_model(
            WhisperModel::load(encoder_onnx, decoder_onnx)?,
            config_json,
            vocabulary,
        )
    }

    /// The engine around a model already loaded (its graphs one at a time, see
    /// [`crate::model::Graph`]).
    pub fn from_model(
        model: WhisperModel,
        config_json: &str,
        vocabulary: &str,
    ) -> Result<Self, EngineError> {
        Ok(Self {
            model,
            config: ModelConfig::from_json(config_json)?,
            tokenizer: Tokenizer::from_vocabulary(vocabulary)?,
            mel: MelSpectrogram::default(),
            vad: None,
        })
    }

    /// The engine decoding only the speech `vad` finds (see [`Engine::transcribe_with`]).
    pub fn with_vad(mut self, vad: Option<Vad>) -> Self {
        self.vad = vad;
        self
    }

    /// Whether the engine skips what is not speech.
    pub fn has_vad(&self) -> bool {
        self.vad.is_some()
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Whether the model knows languages other than English and can translate (whisper's
    /// rule: the multilingual vocabulary has 51,865 tokens, the English-only one 51,864).
    pub fn is_multilingual(&self) -> bool {
        self.tokenizer.is_multilingual()
    }

    /// Refuses options this model cannot follow, with the reason a user can act on.
    pub fn check_options(&self, options: &DecodeOptions) -> Result<(), EngineError> {
        if self.is_multilingual() {
            // The task and language tokens exist, or the sequence says which is missing.
            self.tokenizer
                .sot_sequence(options.language.as_deref(), Some(options.task))?;
            return Ok(());
        }
        if let Some(code) = options.language.as_deref().filter(|&c| c != "en") {
            return Err(EngineError::EnglishOnly(format!("transcribe {code:?}")));
        }
        if options.task == Task::Translate {
            return Err(EngineError::EnglishOnly("translate".into()));
        }
        Ok(())
    }

    /// `<|startofprev|>` and the first [`MAX_PROMPT_TOKENS`] tokens of the words to know, or
    /// nothing when there are none (or the model has no such token).
    pub fn prompt_tokens(&self, options: &DecodeOptions) -> Vec<u32> {
        let words = options.prompt.as_deref().map(str::trim).unwrap_or("");
        let Some(start_of_prev) = self.tokenizer.special().start_of_prev else {
            return vec![];
        };
        if words.is_empty() {
            return vec![];
        }
        let tokens = self.tokenizer.encode(&format!(" {words}"));
        // The first words typed are kept, as the list itself is cut at its end when too long.
        let kept = &tokens[..tokens.len().min(MAX_PROMPT_TOKENS)];
        std::iter::once(start_of_prev)
            .chain(kept.iter().copied())
            .collect()
    }

    /// The tokens that open every window's decoding: `<|startoftranscript|>`, then for a
    /// multilingual model the language and the task.
    fn sot_sequence(&self, language: Option<&str>, task: Task) -> Result<Vec<u32>, EngineError> {
        if !self.is_multilingual() {
            return Ok(vec![self.tokenizer.special().start_of_transcript]);
        }
        Ok(self.tokenizer.sot_sequence(language, Some(task))?)
    }

    /// The languages the model hears in up to 30 s of audio, likeliest first, with their
    /// probabilities (decoding.py `detect_language`: the decoder's first step after
    /// `<|startoftranscript|>`, over the language tokens alone). Empty for an English-only
    /// model.
    pub fn detect_language(&self, samples_16k: &[f32]) -> Result<Vec<(String, f32)>, EngineError> {
        if !self.is_multilingual() {
            return Ok(Vec::new());
        }
        let mel = self.mel.model_input(samples_16k);
        let cross = self.model.encode(mel.values())?;
        self.languages_heard(&cross)
    }

    fn languages_heard(&self, cross: &CrossAttention) -> Result<Vec<(String, f32)>, EngineError> {
        let mut cache = self.model.empty_cache(cross)?;
        let start = self.tokenizer.special().start_of_transcript;
        let logits = self.model.step(cross, &mut cache, &[start])?.logits;
        Ok(language_probabilities(&logits, self.tokenizer.languages()))
    }

    /// Transcribes up to 30 s of 16 kHz mono audio (longer input is cut at 30 s), without
    /// timestamps, in the language detected (multilingual models) or English.
    pub fn transcribe_window(&self, samples_16k: &[f32]) -> Result<WindowText, EngineError> {
        let mel = self.mel.model_input(samples_16k);
        let cross = self.model.encode(mel.values())?;
        let language = self.language_of(&cross, None)?;
        let sot = self.sot_sequence(language.as_deref(), Task::Transcribe)?;
        let decoded = self.decode(
            &cross,
            (&[], &sot),
            false,
            (0.0, 1),
            &mut Rng::new(SAMPLING_SEED),
        )?;
        Ok(WindowText {
            text: self.tokenizer.decode(&decoded.tokens)?.trim().to_string(),
            tokens: decoded.tokens,
            logprobs: decoded.logprobs,
        })
    }

    /// Transcribes up to 30 s of 16 kHz mono audio into timestamped segments, greedily
    /// (temperature 0, no fallback).
    pub fn transcribe_window_timestamped(
        &self,
        samples_16k: &[f32],
    ) -> Result<TimedWindow, EngineError> {
        let window_frames = (samples_16k.len() / HOP_LENGTH).min(N_FRAMES);
        let mel = self.mel.model_input(samples_16k);
        let cross = self.model.encode(mel.values())?;
        let language = self.language_of(&cross, None)?;
        let sot = self.sot_sequence(language.as_deref(), Task::Transcribe)?;
        let decoded = self.decode(
            &cross,
            (&[], &sot),
            true,
            (0.0, 1),
            &mut Rng::new(SAMPLING_SEED),
        )?;
        self.timed_window(decoded, 0.0, window_frames)
    }

    /// Transcribes 16 kHz mono audio of any length into segments with word times.
    ///
    /// As transcribe.py: 30 s windows starting at `seek`; each window is decoded greedily (or
    /// by beam search, `options.beam_size`) and, when its text compresses too well (a
    /// repetition loop) or its tokens are too unlikely, again at 0.2, 0.4 … 1.0 with seeded sampling (one sample per temperature, where whisper
    /// takes the best of five); windows that the model calls silent are skipped. The next
    /// window starts after the last complete segment, or after this window when it ended with
    /// a single timestamp or had no segment pair. Not done: conditioning on the previous
    /// window's text (`<|startofprev|>`).
    ///
    /// With a VAD ([`Engine::with_vad`]) only the speech it finds is heard: the rest is
    /// silenced in place (times unchanged) and windows left with nothing to hear are skipped.
    ///
    /// In English for an English-only model; otherwise in `options.language`, or the language
    /// detected in the first window (transcribe.py detects once, on the first 30 s; here the
    /// first window the model does not call silent), transcribed or translated into English.
    pub fn transcribe_with(
        &self,
        samples_16k: &[f32],
        options: &DecodeOptions,
    ) -> Result<Transcription, EngineError> {
        self.check_options(options)?;
        // Music, noise and silence around the speech are silenced (a window at a time, so a
        // long recording is not copied whole), so the model cannot take them for words.
        let regions = match &self.vad {
            Some(vad) => Some(vad.speech(samples_16k)?),
            None => None,
        };
        let content_frames = samples_16k.len() / HOP_LENGTH;
        let before = self.prompt_tokens(options);
        let mut rng = Rng::new(SAMPLING_SEED);
        let mut seek = 0;
        let mut out = Vec::new();
        let mut language = options.language.clone();
        while seek < content_frames {
            if let Some(regions) = &regions {
                // Each window starts where speech does: after a long silence the model would
                // otherwise place the first words at the window's start.
                match next_speech_frame(regions, seek) {
                    Some(frame) => seek = frame,
                    None => break,
                }
                if seek >= content_frames {
                    break;
                }
            }
            let window_frames = (content_frames - seek).min(N_FRAMES);
            let start = seek * HOP_LENGTH;
            let end = (start + window_frames * HOP_LENGTH).min(samples_16k.len());
            let offset_secs = (seek * HOP_LENGTH) as f64 / f64::from(SAMPLE_RATE_HZ);
            let heard = match &regions {
                Some(regions) => Cow::Owned(keep_speech_in(samples_16k, regions, start..end)),
                None => Cow::Borrowed(&samples_16k[start..end]),
            };
            if is_quiet(&heard) {
                // Nothing to hear: not decoded (Whisper writes "you" for digital silence).
                seek += window_frames;
                continue;
            }
            let mel = self.mel.model_input(&heard);
            let cross = self.model.encode(mel.values())?;
            let window_language = self.language_of(&cross, language.as_deref())?;
            let sot = self.sot_sequence(window_language.as_deref(), options.task)?;
            let window = self.decode_with_fallback(
                &cross,
                (&before, &sot),
                (window_frames, options.beam_size),
                &mut rng,
            )?;
            let silent = window.no_speech_prob > NO_SPEECH_THRESHOLD
                && window.avg_logprob < LOGPROB_THRESHOLD;
            if silent {
                seek += window_frames;
                continue;
            }
            // A window that decodes to no text (silence the model did not call silent) does
            // not settle the language: the next window with words does.
            if window.segments.iter().any(|s| !s.text.trim().is_empty()) {
                language.clone_from(&window_language);
            }
            let mut words = self.word_timings(
                &cross,
                &sot,
                window_language.as_deref(),
                &window.segments,
                window_frames,
            )?;
            snap_to_sound(&mut words, &heard);
            out.extend(place_segments(&window.segments, words, offset_secs));
            // A window whose segments give no time to seek by still moves on.
            seek += window.seek_frames.max(1);
        }
        Ok(Transcription {
            segments: out,
            language,
        })
    }

    /// [`Engine::transcribe_with`] with the default options: the language detected, transcribed.
    pub fn transcribe(&self, samples_16k: &[f32]) -> Result<Vec<Segment>, EngineError> {
        Ok(self
            .transcribe_with(samples_16k, &DecodeOptions::default())?
            .segments)
    }

    /// The language to decode a window in: the one given, else (multilingual models) the
    /// likeliest in this window; `None` for an English-only model.
    fn language_of(
        &self,
        cross: &CrossAttention,
        given: Option<&str>,
    ) -> Result<Option<String>, EngineError> {
        if !self.is_multilingual() {
            return Ok(None);
        }
        if let Some(code) = given {
            return Ok(Some(code.to_owned()));
        }
        Ok(self
            .languages_heard(cross)?
            .into_iter()
            .next()
            .map(|(code, _)| code))
    }

    /// transcribe.py `decode_with_fallback`: greedy (or the beam search) first, then hotter until the output
    /// neither repeats itself nor is improbable (unless it is silence). When no try passes,
    /// the best of them stands ([`best_attempt`]), not the last: at 1.0 the samples are
    /// often gibberish where greedy decoding was only a little unsure.
    fn decode_with_fallback(
        &self,
        cross: &CrossAttention,
        (before, sot): (&[u32], &[u32]),
        (window_frames, beam_size): (usize, usize),
        rng: &mut Rng,
    ) -> Result<TimedWindow, EngineError> {
        let mut attempts = Vec::with_capacity(TEMPERATURES.len());
        for &temperature in &TEMPERATURES {
            let decoded = self.decode(cross, (before, sot), true, (temperature, beam_size), rng)?;
            let window = self.timed_window(decoded, temperature, window_frames)?;
            let repetitive = window.compression_ratio > COMPRESSION_RATIO_THRESHOLD;
            let improbable = window.avg_logprob < LOGPROB_THRESHOLD;
            let silence = window.no_speech_prob > NO_SPEECH_THRESHOLD && improbable;
            if silence || !(repetitive || improbable) {
                return Ok(window);
            }
            attempts.push(window);
        }
        let scores: Vec<(f32, f64)> = attempts
            .iter()
            .map(|w| (w.avg_logprob, w.compression_ratio))
            .collect();
        best_attempt(&scores)
            .map(|i| attempts.swap_remove(i))
            .ok_or_else(|| ModelError::Run("no temperature to decode at".into()).into())
    }

    fn timed_window(
        &self,
        decoded: Decoded,
        temperature: f32,
        window_frames: usize,
    ) -> Result<TimedWindow, EngineError> {
        let special = *self.tokenizer.special();
        let split = split_segments(&decoded.tokens, &decoded.logprobs, &special, window_frames);
        let mut segments = Vec::with_capacity(split.segments.len());
        for s in split.segments {
            segments.push(WindowSegment {
                start_secs: s.start_secs,
                end_secs: s.end_secs,
                text: self.tokenizer.decode(&s.tokens)?,
                tokens: s.tokens,
                logprobs: s.logprobs,
            });
        }
        let text = self.tokenizer.decode(&decoded.tokens)?;
        Ok(TimedWindow {
            segments,
            avg_logprob: decoded.sum_logprob / (decoded.tokens.len() + 1) as f32,
            compression_ratio: compression_ratio(&text),
            tokens: decoded.tokens,
            logprobs: decoded.logprobs,
            seek_frames: split.seek_frames,
            no_speech_prob: decoded.no_speech_prob,
            temperature,
        })
    }

    /// The decoding loop after `sot` (the start-of-transcript sequence): greedy at
    /// temperature 0 (a beam search when `beam_size` > 1), otherwise sampling from
    /// `softmax(logits / temperature)`.
    fn decode(
        &self,
        cross: &CrossAttention,
        (before, sot): (&[u32], &[u32]),
        timestamps: bool,
        (temperature, beam_size): (f32, usize),
        rng: &mut Rng,
    ) -> Result<Decoded, EngineError> {
        let special = *self.tokenizer.special();
        let (cache, mut logits, no_speech_prob, fed) =
            self.start_decoding(cross, (before, sot), timestamps)?;
        let max_new = max_new_tokens(fed);
        if temperature <= 0.0 && beam_size > 1 {
            return self.beam_search(
                cross,
                (cache, logits, no_speech_prob),
                timestamps,
                beam_size,
                max_new,
            );
        }
        let mut cache = cache;
        let mut tokens = vec![];
        let mut logprobs = vec![];
        let mut sum_logprob = 0.0;
        while tokens.len() < max_new {
            self.suppress(&mut logits, tokens.is_empty(), timestamps);
            if timestamps {
                apply_timestamp_rules(&mut logits, &tokens, &special);
            }
            let Some(next) = choose(&logits, temperature, rng) else {
                break;
            };
            let logprob = log_softmax_at(&logits, next as usize);
            sum_logprob += logprob;
            if next == special.end_of_text {
                break;
            }
            logprobs.push(logprob);
            tokens.push(next);
            if tokens.len() < max_new {
                logits = self.model.step(cross, &mut cache, &[next])?.logits;
            }
        }
        Ok(Decoded {
            tokens,
            logprobs,
            sum_logprob,
            no_speech_prob,
        })
    }

    /// Feeds the prompt and the start sequence: the cache after them, the logits of the first
    /// token to choose, the probability of `<|nospeech|>` and how many tokens were fed.
    ///
    /// decoding.py reads `<|nospeech|>` from the logits at `<|startoftranscript|>`: the first
    /// call ends with that token (after the prompt, when there is one), the rest of the
    /// sequence follows in the second (the cache makes the two calls one).
    fn start_decoding(
        &self,
        cross: &CrossAttention,
        (before, sot): (&[u32], &[u32]),
        timestamps: bool,
    ) -> Result<(KvCache, Vec<f32>, f32, usize), EngineError> {
        let special = *self.tokenizer.special();
        let mut cache = self.model.empty_cache(cross)?;
        let (&start, rest) = sot
            .split_first()
            .ok_or_else(|| ModelError::Run("empty start-of-transcript sequence".into()))?;
        let prompt: Vec<u32> = before.iter().copied().chain([start]).collect();
        let mut rest = rest.to_vec();
        if !timestamps {
            rest.push(special.no_timestamps);
        }
        let mut logits = self.model.step(cross, &mut cache, &prompt)?.logits;
        let no_speech_prob = special
            .no_speech
            .map_or(0.0, |id| log_softmax_at(&logits, id as usize).exp());
        if !rest.is_empty() {
            logits = self.model.step(cross, &mut cache, &rest)?.logits;
        }
        Ok((cache, logits, no_speech_prob, prompt.len() + rest.len()))
    }

    /// Beam search at temperature 0 ([`crate::beam`]): each live hypothesis runs the decoder
    /// on its own cache (forked by reference: a step makes a new cache, never changes one).
    fn beam_search(
        &self,
        cross: &CrossAttention,
        (cache, logits, no_speech_prob): (KvCache, Vec<f32>, f32),
        timestamps: bool,
        beam_size: usize,
        max_new: usize,
    ) -> Result<Decoded, EngineError> {
        let special = *self.tokenizer.special();
        let mut search = BeamSearch::new(beam_size, special.end_of_text);
        let mut caches = vec![cache];
        let mut next_logits = vec![logits];
        for _ in 0..max_new {
            let rows: Vec<Vec<f32>> = search
                .live()
                .iter()
                .zip(std::mem::take(&mut next_logits))
                .map(|(hypothesis, mut logits)| {
                    self.suppress(&mut logits, hypothesis.tokens.is_empty(), timestamps);
                    if timestamps {
                        apply_timestamp_rules(&mut logits, &hypothesis.tokens, &special);
                    }
                    log_softmax(&logits)
                })
                .collect();
            let parents = search.advance(&rows);
            if search.is_done()
                || search
                    .live()
                    .first()
                    .is_some_and(|h| h.tokens.len() >= max_new)
            {
                break;
            }
            let mut grown = Vec::with_capacity(parents.len());
            for (hypothesis, &parent) in search.live().iter().zip(&parents) {
                let mut cache = caches[parent].clone();
                let &last = hypothesis.tokens.last().ok_or_else(|| {
                    ModelError::Run("a live beam hypothesis without tokens".into())
                })?;
                next_logits.push(self.model.step(cross, &mut cache, &[last])?.logits);
                grown.push(cache);
            }
            caches = grown;
        }
        let best = search.best();
        Ok(Decoded {
            tokens: best.tokens,
            logprobs: best.logprobs,
            sum_logprob: best.sum_logprob,
            no_speech_prob,
        })
    }

    /// Masks what may not come next: the model's suppress lists, every special token but
    /// end-of-text (and the timestamps when asked for), and at the start a blank or the end.
    fn suppress(&self, logits: &mut [f32], first: bool, timestamps: bool) {
        let ban = |logits: &mut [f32], id: u32| {
            if let Some(l) = logits.get_mut(id as usize) {
                *l = f32::NEG_INFINITY;
            }
        };
        for &id in &self.config.suppress_ids {
            ban(logits, id);
        }
        if first {
            for &id in &self.config.suppress_ids_begin {
                ban(logits, id);
            }
        }
        let special = self.tokenizer.special();
        let specials_end = if timestamps {
            special.timestamp_begin
        } else {
            logits.len() as u32
        };
        for id in special.end_of_text + 1..specials_end {
            ban(logits, id);
        }
    }

    /// Word times for a window's segments (timing.py `find_alignment`): one decoder call over
    /// `<|startoftranscript|> <|notimestamps|> text… <|endoftext|>` gives the alignment heads'
    /// attention, DTW follows it through the window's audio frames. Token probabilities come
    /// from the decoding (the aligning call returns logits for its last token only).
    fn word_timings(
        &self,
        cross: &CrossAttention,
        sot: &[u32],
        language: Option<&str>,
        segments: &[WindowSegment],
        window_frames: usize,
    ) -> Result<Vec<WordTiming>, EngineError> {
        let special = self.tokenizer.special();
        let mut text_tokens = Vec::new();
        let mut probs = Vec::new();
        for segment in segments {
            for (&token, &logprob) in segment.tokens.iter().zip(&segment.logprobs) {
                if token < special.end_of_text {
                    text_tokens.push(token);
                    probs.push(logprob.exp());
                }
            }
        }
        if text_tokens.is_empty() {
            return Ok(Vec::new());
        }
        let mut input = sot.to_vec();
        input.push(special.no_timestamps);
        input.extend_from_slice(&text_tokens);
        input.push(special.end_of_text);
        let mut cache = self.model.empty_cache(cross)?;
        let step = self.model.step(cross, &mut cache, &input)?;
        let n_frames = step.alignment.len() / (step.alignment_heads * input.len()).max(1);
        let attention =
            AlignmentAttention::new(step.alignment_heads, input.len(), n_frames, step.alignment)?;
        let matrix = alignment_matrix(
            &attention,
            AttentionScores::Probabilities,
            window_frames / INPUT_STRIDE,
            MEDIAN_FILTER_WIDTH,
        )?;
        // From `<|notimestamps|>` (predicting the first text token) to the last text token
        // (predicting end-of-text): timing.py `matrix[len(sot_sequence):-1]`.
        let matrix = matrix.select_rows(sot.len()..input.len() - 1)?;
        let mut word_input = text_tokens;
        word_input.push(special.end_of_text);
        let words = self.tokenizer.split_to_words(&word_input, language)?;
        let mut timings = find_alignment(&matrix, &words, &probs)?;
        merge_punctuations(&mut timings, PREPEND_PUNCTUATIONS, APPEND_PUNCTUATIONS);
        Ok(timings)
    }
}

/// Whisper's `ApplyTimestampRules` (decoding.py), given the tokens sampled so far in this
/// window (after the start-of-transcript sequence):
/// - timestamps come in pairs, except that a lone one may precede end-of-text;
/// - the first token is a timestamp no later than [`MAX_INITIAL_TIMESTAMP_SECS`];
/// - timestamps never decrease, and a segment has a non-zero length;
/// - when the timestamps together are likelier than any text token, a timestamp comes next.
pub fn apply_timestamp_rules(logits: &mut [f32], sampled: &[u32], special: &SpecialTokens) {
    let n = logits.len();
    let begin = (special.timestamp_begin as usize).min(n);
    let end_of_text = (special.end_of_text as usize).min(n);
    let ban = |logits: &mut [f32], range: std::ops::Range<usize>| {
        let range = range.start.min(n)..range.end.min(n);
        for l in &mut logits[range] {
            *l = f32::NEG_INFINITY;
        }
    };
    if let Some(l) = logits.get_mut(special.no_timestamps as usize) {
        *l = f32::NEG_INFINITY;
    }
    let is_timestamp = |t: u32| t >= special.timestamp_begin;
    let last_was_timestamp = sampled.last().is_some_and(|&t| is_timestamp(t));
    let penultimate_was_timestamp = sampled.len() < 2 || is_timestamp(sampled[sampled.len() - 2]);
    if last_was_timestamp {
        if penultimate_was_timestamp {
            // A pair just closed (or the window just opened): text or end-of-text next.
            ban(logits, begin..n);
        } else {
            // A segment's text just ended: its closing timestamp, or the end.
            ban(logits, 0..end_of_text);
        }
    }
    if let Some(&last) = sampled.iter().rev().find(|&&t| is_timestamp(t)) {
        // The next segment may open at the time the previous closed; otherwise time moves on.
        let floor = if last_was_timestamp && !penultimate_was_timestamp {
            last
        } else {
            last + 1
        };
        ban(logits, begin..floor as usize);
    }
    if sampled.is_empty() {
        ban(logits, 0..begin);
        let last_allowed =
            begin + (MAX_INITIAL_TIMESTAMP_SECS / TIMESTAMP_STEP_SECS).round() as usize;
        ban(logits, last_allowed + 1..n);
    }
    // Same normaliser on both sides, so raw logits compare as log-probabilities do.
    let timestamp_logsumexp = log_sum_exp(&logits[begin..]);
    let max_text = logits[..begin]
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    if timestamp_logsumexp > max_text {
        ban(logits, 0..begin);
    }
}

/// Segments cut out of a window's tokens, with the seek they imply.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitTokens {
    pub segments: Vec<TokenSegment>,
    /// How far to move the window, in mel frames.
    pub seek_frames: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TokenSegment {
    pub start_secs: f64,
    pub end_secs: f64,
    pub tokens: Vec<u32>,
    pub logprobs: Vec<f32>,
}

/// transcribe.py's segmentation of one window's tokens (end-of-text excluded): cut after each
/// pair of consecutive timestamps; a single timestamp at the end closes the last segment and
/// the whole window is consumed, otherwise the unfinished tail is dropped and the next window
/// starts at the last complete segment's end. Without any pair, the window is one segment up
/// to its last timestamp (or its full length).
pub fn split_segments(
    tokens: &[u32],
    logprobs: &[f32],
    special: &SpecialTokens,
    window_frames: usize,
) -> SplitTokens {
    let begin = special.timestamp_begin;
    let is_timestamp = |t: u32| t >= begin;
    let secs = |t: u32| f64::from(t - begin) * TIMESTAMP_STEP_SECS;
    let text_of = |range: std::ops::Range<usize>| {
        let (mut t, mut p) = (Vec::new(), Vec::new());
        for i in range {
            if !is_timestamp(tokens[i]) {
                t.push(tokens[i]);
                p.push(logprobs.get(i).copied().unwrap_or(0.0));
            }
        }
        (t, p)
    };
    let n = tokens.len();
    let single_timestamp_ending =
        n >= 2 && !is_timestamp(tokens[n - 2]) && is_timestamp(tokens[n - 1]);
    let mut cuts: Vec<usize> = (1..n)
        .filter(|&i| is_timestamp(tokens[i]) && is_timestamp(tokens[i - 1]))
        .collect();
    if cuts.is_empty() {
        let last_timestamp = tokens.iter().rev().find(|&&t| is_timestamp(t));
        let end_secs = match last_timestamp {
            Some(&t) if t != begin => secs(t),
            _ => window_frames as f64 * HOP_LENGTH as f64 / f64::from(SAMPLE_RATE_HZ),
        };
        let (text, probs) = text_of(0..n);
        let segments = if text.is_empty() {
            Vec::new()
        } else {
            vec![TokenSegment {
                start_secs: 0.0,
                end_secs,
                tokens: text,
                logprobs: probs,
            }]
        };
        return SplitTokens {
            segments,
            seek_frames: window_frames,
        };
    }
    if single_timestamp_ending {
        cuts.push(n);
    }
    let mut segments = Vec::new();
    let mut last = 0;
    for &cut in &cuts {
        let sliced = &tokens[last..cut];
        let (Some(&first), Some(&final_token)) = (sliced.first(), sliced.last()) else {
            continue;
        };
        let (text, probs) = text_of(last..cut);
        if is_timestamp(first) && is_timestamp(final_token) && !text.is_empty() {
            segments.push(TokenSegment {
                start_secs: secs(first),
                end_secs: secs(final_token),
                tokens: text,
                logprobs: probs,
            });
        }
        last = cut;
    }
    let seek_frames = if single_timestamp_ending {
        window_frames
    } else {
        (tokens[last - 1].saturating_sub(begin)) as usize * INPUT_STRIDE
    };
    SplitTokens {
        segments,
        seek_frames,
    }
}

/// The window's segments moved to `offset_secs`, with their words (timing.py
/// `add_word_timestamps`: words go to the segment holding their first token; a first word
/// that starts well before its segment's start timestamp starts at it instead, no earlier than
/// one median word length before its end; a segment then spans its words).
fn place_segments(
    segments: &[WindowSegment],
    timings: Vec<WordTiming>,
    offset_secs: f64,
) -> Vec<Segment> {
    let mut durations: Vec<f64> = timings
        .iter()
        .filter(|w| !w.text.is_empty())
        .map(|w| w.end_secs - w.start_secs)
        .filter(|&d| d > 0.0)
        .collect();
    durations.sort_by(f64::total_cmp);
    let median_duration = durations
        .get(durations.len() / 2)
        .copied()
        .unwrap_or(0.0)
        .min(0.7);
    let mut out = Vec::with_capacity(segments.len());
    let mut token_start = 0;
    let mut timings = timings
        .into_iter()
        .filter(|w| !w.text.is_empty())
        .peekable();
    for segment in segments {
        let token_end = token_start + segment.tokens.len();
        let mut words: Vec<Word> = Vec::new();
        while let Some(timing) = timings.next_if(|w| w.tokens.start < token_end) {
            words.push(Word {
                start_secs: timing.start_secs,
                end_secs: timing.end_secs,
                text: timing.text,
                probability: timing.probability,
            });
        }
        token_start = token_end;
        let (mut start_secs, mut end_secs) = (segment.start_secs, segment.end_secs);
        if let Some(first) = words.first_mut() {
            if start_secs < first.end_secs && start_secs - 0.5 > first.start_secs {
                first.start_secs = (first.end_secs - median_duration).min(start_secs).max(0.0);
            }
        }
        if let (Some(first), Some(last)) = (words.first(), words.last()) {
            start_secs = first.start_secs;
            end_secs = last.end_secs;
        }
        for w in &mut words {
            w.start_secs += offset_secs;
            w.end_secs += offset_secs;
        }
        let text = segment.text.trim().to_string();
        if text.is_empty() {
            continue;
        }
        out.push(Segment {
            start_secs: start_secs + offset_secs,
            end_secs: end_secs + offset_secs,
            text,
            words,
        });
    }
    out
}

/// Frames (10 ms) whose RMS is below this fraction of the window's loud level (95th
/// percentile) count as silence for [`snap_to_sound`].
const SILENCE_FRACTION: f32 = 0.05;

/// Moves word edges that DTW left in silence onto the sound: a start forward to the first
/// audible 10 ms frame of the word, an end back after its last. DTW over attention cannot tell
/// where in a pause one word ends and the next begins (it puts boundaries anywhere in the gap,
/// and always starts the first word at the window's start); the audio's energy can. Words with
/// no audible frame, and audio with no quiet frame (noise), are left as they are. Not in
/// whisper, whose `add_word_timestamps` patches the first word with duration heuristics instead.
pub fn snap_to_sound(words: &mut [WordTiming], samples_16k: &[f32]) {
    let rms: Vec<f32> = samples_16k
        .chunks(HOP_LENGTH)
        .map(|c| (c.iter().map(|x| x * x).sum::<f32>() / c.len() as f32).sqrt())
        .collect();
    let mut sorted = rms.clone();
    sorted.sort_by(f32::total_cmp);
    let Some(&loud) = sorted.get(sorted.len() * 95 / 100) else {
        return;
    };
    let threshold = loud * SILENCE_FRACTION;
    let audible: Vec<bool> = rms.iter().map(|&r| r > threshold && r > 0.0).collect();
    if audible.iter().all(|&a| a) {
        return;
    }
    let frame_secs = HOP_LENGTH as f64 / f64::from(SAMPLE_RATE_HZ);
    for word in words.iter_mut().filter(|w| !w.text.is_empty()) {
        let first = (word.start_secs / frame_secs).round() as usize;
        let last = ((word.end_secs / frame_secs).round() as usize).min(audible.len());
        if first >= last {
            continue;
        }
        let Some(on) = audible[first..last].iter().position(|&a| a) else {
            continue;
        };
        let off = audible[first..last].iter().rposition(|&a| a).unwrap_or(on);
        word.start_secs = (first + on) as f64 * frame_secs;
        word.end_secs = (first + off + 1) as f64 * frame_secs;
    }
}

/// How many tokens may be sampled after `fed` given ones: [`MAX_NEW_TOKENS`], or fewer where a
/// long prompt would take the decoder past its [`TEXT_CONTEXT`] positions (whisper stops once
/// the sequence is longer than the context). Sampled token k is fed back at position
/// `fed + k`, and the last one is never fed.
pub fn max_new_tokens(fed: usize) -> usize {
    MAX_NEW_TOKENS.min((TEXT_CONTEXT + 1).saturating_sub(fed))
}

/// The mel frame at or after `seek` where speech goes on or next begins (`regions` in
/// samples, in order), or `None` when no speech is left.
pub fn next_speech_frame(regions: &[std::ops::Range<usize>], seek: usize) -> Option<usize> {
    let at = seek * HOP_LENGTH;
    regions
        .iter()
        .find(|r| r.end > at)
        .map(|r| seek.max(r.start / HOP_LENGTH))
}

/// transcribe.py's `compression_ratio`: UTF-8 length over zlib-compressed length (level 6,
/// Python's default). Looping text compresses far better than speech.
pub fn compression_ratio(text: &str) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(text.as_bytes(), 6);
    text.len() as f64 / compressed.len().max(1) as f64
}

/// The next token: the best at temperature 0, else a draw from `softmax(logits / temperature)`.
fn choose(logits: &[f32], temperature: f32, rng: &mut Rng) -> Option<u32> {
    let best = logits
        .iter()
        .enumerate()
        .filter(|(_, l)| l.is_finite())
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)?;
    if temperature <= 0.0 {
        return Some(best as u32);
    }
    let max = logits[best];
    let weights: Vec<f64> = logits
        .iter()
        .map(|&l| f64::from((l - max) / temperature).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    let mut target = rng.next_f64() * total;
    for (i, w) in weights.iter().enumerate() {
        if *w > 0.0 {
            if target < *w {
                return Some(i as u32);
            }
            target -= w;
        }
    }
    Some(best as u32)
}

/// SplitMix64: a tiny, seedable generator, enough for token sampling and the same everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Which of a window's failed decodings to keep, given each one's (average log-probability,
/// compression ratio): the likeliest of those that do not repeat themselves, or of all when
/// every one does (faster-whisper's rule). `None` for no attempts.
pub fn best_attempt(attempts: &[(f32, f64)]) -> Option<usize> {
    let likeliest = |repeat_ok: bool| {
        attempts
            .iter()
            .enumerate()
            .filter(|(_, &(_, ratio))| repeat_ok || ratio <= COMPRESSION_RATIO_THRESHOLD)
            .max_by(|(_, a), (_, b)| a.0.total_cmp(&b.0))
            .map(|(i, _)| i)
    };
    likeliest(false).or_else(|| likeliest(true))
}

/// The language tokens' probabilities among themselves, likeliest first (decoding.py
/// `detect_language`: every other token masked before the softmax).
pub fn language_probabilities(logits: &[f32], languages: &[(String, u32)]) -> Vec<(String, f32)> {
    let scores: Vec<f32> = languages
        .iter()
        .map(|&(_, id)| {
            logits
                .get(id as usize)
                .copied()
                .unwrap_or(f32::NEG_INFINITY)
        })
        .collect();
    let total = log_sum_exp(&scores);
    let mut out: Vec<(String, f32)> = languages
        .iter()
        .zip(&scores)
        .map(|((code, _), &score)| (code.clone(), (score - total).exp()))
        .filter(|(_, p)| p.is_finite())
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

/// log(softmax(logits)[index]), computed stably.
fn log_softmax_at(logits: &[f32], index: usize) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = logits.iter().map(|l| (l - max).exp()).sum();
    logits
        .get(index)
        .map_or(f32::NEG_INFINITY, |l| l - max - sum.ln())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_prompt_leaves_the_decoder_positions_for_what_it_samples() {
        // No prompt: the whole budget.
        assert_eq!(max_new_tokens(3), MAX_NEW_TOKENS);
        // The longest prompt with a multilingual start sequence: 1 + 223 + 3 fed.
        let fed = 1 + MAX_PROMPT_TOKENS + 3;
        let n = max_new_tokens(fed);
        // Tokens 0..n-1 are fed back at fed + k; the last position used is fed + n - 2.
        assert!(fed + n - 2 < TEXT_CONTEXT, "{fed} + {n}");
        assert_eq!(fed + n - 2, TEXT_CONTEXT - 1);
        assert_eq!(max_new_tokens(TEXT_CONTEXT + 5), 0);
    }

    #[test]
    fn windows_start_where_speech_goes_on_or_begins() {
        let regions = [1_600..3_200, 16_000..32_000];
        // Before the first stretch: its start (frame 10); inside it: where we are.
        assert_eq!(next_speech_frame(&regions, 0), Some(10));
        assert_eq!(next_speech_frame(&regions, 15), Some(15));
        // Between the two: the second's start; after both: nothing.
        assert_eq!(next_speech_frame(&regions, 20), Some(100));
        assert_eq!(next_speech_frame(&regions, 200), None);
        assert_eq!(next_speech_frame(&[], 0), None);
    }

    #[test]
    fn only_stretches_with_nothing_to_hear_are_quiet() {
        assert!(is_quiet(&[0.0; 16_000 * 30]));
        assert!(is_quiet(&[0.0005; 16_000]));
        assert!(is_quiet(&[]));
        // One 100 ms stretch at −40 dBFS among 30 s of silence is something to hear.
        let mut one_word = vec![0.0f32; 16_000 * 30];
        for (i, s) in one_word[160_000..161_600].iter_mut().enumerate() {
            *s = 0.014 * (i as f32 * 0.2).sin();
        }
        assert!(!is_quiet(&one_word));
    }

    /// tiny.en's layout: 50256 end-of-text, 50257 start, 50362 no-timestamps, 50363 `<|0.00|>`.
    fn special() -> SpecialTokens {
        SpecialTokens {
            end_of_text: 50256,
            start_of_transcript: 50257,
            translate: None,
            transcribe: None,
            start_of_lm: None,
            start_of_prev: None,
            no_speech: None,
            no_timestamps: 50362,
            timestamp_begin: 50363,
        }
    }

    const TS: u32 = 50363;
    const VOCAB: usize = 50363 + 1501;

    fn allowed(logits: &[f32]) -> Vec<usize> {
        (0..logits.len())
            .filter(|&i| logits[i].is_finite())
            .collect()
    }

    #[test]
    fn the_likeliest_attempt_that_does_not_repeat_stands() {
        assert_eq!(best_attempt(&[]), None);
        // Greedy was a little unsure; the hotter tries were worse: greedy stands.
        assert_eq!(
            best_attempt(&[(-1.07, 1.2), (-1.05, 3.0), (-2.8, 1.3)]),
            Some(0)
        );
        // A likelier try that repeats itself loses to one that does not.
        assert_eq!(
            best_attempt(&[(-1.5, 1.2), (-1.1, 2.5), (-1.3, 1.8)]),
            Some(2)
        );
        // All repeat: the likeliest.
        assert_eq!(best_attempt(&[(-1.5, 2.6), (-1.2, 3.5)]), Some(1));
    }

    #[test]
    fn language_probabilities_are_a_softmax_over_the_language_tokens_alone() {
        let languages = [
            ("en".to_string(), 3u32),
            ("es".to_string(), 4),
            ("de".to_string(), 5),
        ];
        // Token 0 is far likelier than any language: it must not count.
        let logits = [9.0, 0.0, 0.0, 1.0, 2.0, f32::NEG_INFINITY];
        let p = language_probabilities(&logits, &languages);
        assert_eq!(
            p.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
            ["es", "en", "de"]
        );
        let e = std::f32::consts::E;
        assert!((p[0].1 - e / (1.0 + e)).abs() < 1e-6, "{p:?}");
        assert!((p[1].1 - 1.0 / (1.0 + e)).abs() < 1e-6, "{p:?}");
        assert_eq!(p[2].1, 0.0);
        assert!(language_probabilities(&[], &languages).is_empty());
    }

    #[test]
    fn log_softmax_matches_the_definition() {
        let logits = [1.0f32, 2.0, 3.0, f32::NEG_INFINITY];
        let total: f32 = logits.iter().map(|l| l.exp()).sum();
        for (i, l) in logits.iter().enumerate().take(3) {
            assert!((log_softmax_at(&logits, i) - (l.exp() / total).ln()).abs() < 1e-6);
        }
        assert_eq!(log_softmax_at(&logits, 3), f32::NEG_INFINITY);
    }

    #[test]
    fn first_token_is_an_early_timestamp() {
        let mut logits = vec![0.0f32; VOCAB];
        logits[100] = 50.0; // a very likely text token must still wait
        apply_timestamp_rules(&mut logits, &[], &special());
        let allowed = allowed(&logits);
        assert_eq!(allowed.first(), Some(&(TS as usize)));
        assert_eq!(allowed.last(), Some(&(TS as usize + 50)));
        assert_eq!(allowed.len(), 51);
    }

    #[test]
    fn timestamps_pair_up_and_never_go_back() {
        let s = special();
        // After `<|0.50|> text`: text, end-of-text or a timestamp after 0.50 s.
        // Text at logit 10 outweighs all timestamps at 0 (e^10 > 1501), so nothing is forced.
        let mut logits = vec![0.0f32; VOCAB];
        logits[..TS as usize].fill(10.0);
        apply_timestamp_rules(&mut logits, &[TS + 25, 200], &s);
        assert!(logits[200].is_finite() && logits[50256].is_finite());
        assert!(logits[TS as usize + 25].is_infinite());
        assert!(logits[TS as usize + 26].is_finite());
        assert!(logits[50362].is_infinite());
        // After `<|0.50|> text <|1.00|>`: only timestamps from 1.00 s, or the end.
        let mut logits = vec![0.0f32; VOCAB];
        logits[50256] = 10.0;
        apply_timestamp_rules(&mut logits, &[TS + 25, 200, TS + 50], &s);
        // (Specials other than these are `Engine::suppress`'s job.)
        let open: Vec<usize> = allowed(&logits)
            .into_iter()
            .filter(|&i| i < 50257 || i >= TS as usize)
            .collect();
        assert_eq!(open[0], 50256);
        assert_eq!(open[1], TS as usize + 50);
        assert_eq!(open.len(), 1 + VOCAB - (TS as usize + 50));
        // After a closed pair: text or the end, no timestamp.
        let mut logits = vec![0.0f32; VOCAB];
        apply_timestamp_rules(&mut logits, &[TS, 200, TS + 50, TS + 50], &s);
        assert!(allowed(&logits).iter().all(|&i| i < TS as usize));
    }

    #[test]
    fn likely_timestamps_beat_the_best_text_token() {
        // 1000 timestamps at logit 0 outweigh one text token at logit 5 (e^5 ≈ 148).
        let mut logits = vec![0.0f32; VOCAB];
        logits[200] = 5.0;
        apply_timestamp_rules(&mut logits, &[TS, 200], &special());
        assert!(logits[200].is_infinite());
        // At logit 10 (e^10 ≈ 22026 > 1500) the text token stays.
        let mut logits = vec![0.0f32; VOCAB];
        logits[200] = 10.0;
        apply_timestamp_rules(&mut logits, &[TS, 200], &special());
        assert!(logits[200].is_finite());
    }

    #[test]
    fn segments_are_cut_at_timestamp_pairs() {
        let s = special();
        let tokens = [TS, 10, 11, TS + 100, TS + 100, 12, TS + 200];
        let logprobs = [-0.1, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7];
        let split = split_segments(&tokens, &logprobs, &s, N_FRAMES);
        assert_eq!(split.seek_frames, N_FRAMES, "single timestamp ending");
        assert_eq!(split.segments.len(), 2);
        assert_eq!(split.segments[0].tokens, vec![10, 11]);
        assert_eq!(split.segments[0].logprobs, vec![-0.2, -0.3]);
        assert!((split.segments[0].end_secs - 2.0).abs() < 1e-9);
        assert!((split.segments[1].start_secs - 2.0).abs() < 1e-9);
        assert!((split.segments[1].end_secs - 4.0).abs() < 1e-9);

        // An unfinished last segment is dropped and the window resumes where it began.
        let tokens = [TS, 10, TS + 100, TS + 150, 12, 13];
        let split = split_segments(&tokens, &[0.0; 6], &s, N_FRAMES);
        assert_eq!(split.segments.len(), 1);
        assert_eq!(split.seek_frames, 200, "2.00 s = 200 mel frames");
    }

    #[test]
    fn a_window_without_pairs_is_one_segment() {
        let s = special();
        let split = split_segments(&[TS, 10, 11, TS + 150], &[0.0; 4], &s, 2000);
        assert_eq!(split.segments.len(), 1);
        assert!((split.segments[0].end_secs - 3.0).abs() < 1e-9);
        assert_eq!(split.seek_frames, 2000);
        let split = split_segments(&[TS, 10], &[0.0; 2], &s, 2000);
        assert!((split.segments[0].end_secs - 20.0).abs() < 1e-9);
        assert!(split_segments(&[], &[], &s, 2000).segments.is_empty());
    }

    #[test]
    fn word_edges_move_onto_the_sound() {
        // Silence, then a tone from 0.50 s to 0.80 s, then silence to 1.2 s.
        let samples: Vec<f32> = (0..19_200)
            .map(|i| {
                if (8_000..12_800).contains(&i) {
                    (i as f32 * 0.3).sin()
                } else {
                    0.0
                }
            })
            .collect();
        let word = |text: &str, start_secs, end_secs| WordTiming {
            text: text.into(),
            tokens: 0..1,
            start_secs,
            end_secs,
            probability: 1.0,
        };
        let mut words = vec![word(" tone", 0.0, 1.1), word(" none", 1.1, 1.2)];
        snap_to_sound(&mut words, &samples);
        assert!((words[0].start_secs - 0.5).abs() < 1e-9, "{words:?}");
        assert!((words[0].end_secs - 0.8).abs() < 1e-9, "{words:?}");
        assert_eq!((words[1].start_secs, words[1].end_secs), (1.1, 1.2));
    }

    #[test]
    fn repetition_compresses_well() {
        let speech = "The quick brown fox jumps over the lazy dog.";
        assert!(compression_ratio(speech) < COMPRESSION_RATIO_THRESHOLD);
        let looping = " I'm going to go.".repeat(20);
        assert!(compression_ratio(&looping) > COMPRESSION_RATIO_THRESHOLD);
        assert_eq!(compression_ratio(""), 0.0);
    }

    #[test]
    fn sampling_follows_the_softmax() {
        let mut rng = Rng::new(1);
        let logits = [0.0f32, (3.0f32).ln(), f32::NEG_INFINITY];
        let mut counts = [0usize; 3];
        for _ in 0..20_000 {
            counts[choose(&logits, 1.0, &mut rng).unwrap() as usize] += 1;
        }
        assert_eq!(counts[2], 0);
        let share = counts[1] as f64 / 20_000.0;
        assert!((share - 0.75).abs() < 0.02, "{share}");
        assert_eq!(choose(&logits, 0.0, &mut rng), Some(1));
    }
}
