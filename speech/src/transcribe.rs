//! Turns audio into text with the [`model`](crate::model): log-mel of a 30 s window, encoder,
//! then the decoder one token at a time with its cache, applying `config.json`'s suppress lists.
//! This is greedy decoding of one window without timestamps; timestamps, long-form seeking and
//! word timing build on it.

use crate::mel::MelSpectrogram;
use crate::model::{ModelConfig, ModelError, WhisperModel};
use crate::tokenizer::{Tokenizer, TokenizerError};

/// Whisper's text context is 448 tokens; it samples at most half of it per window.
pub const MAX_NEW_TOKENS: usize = 224;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("the speech model's vocabulary is unusable: {0}")]
    Tokenizer(#[from] TokenizerError),
}

/// The text of one window, with the tokens it came from and each token's log-probability.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowText {
    pub text: String,
    pub tokens: Vec<u32>,
    pub logprobs: Vec<f32>,
}

pub struct Engine {
    model: WhisperModel,
    config: ModelConfig,
    tokenizer: Tokenizer,
    mel: MelSpectrogram,
}

impl Engine {
    /// Builds the engine from the files `scripts/prepare-model.sh` writes.
    pub fn load(
        encoder_onnx: &[u8],
        decoder_onnx: &[u8],
        config_json: &str,
        vocabulary: &str,
    ) -> Result<Self, EngineError> {
        Ok(Self {
            model: WhisperModel::load(encoder_onnx, decoder_onnx)?,
            config: ModelConfig::from_json(config_json)?,
            tokenizer: Tokenizer::from_vocabulary(vocabulary)?,
            mel: MelSpectrogram::default(),
        })
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Transcribes up to 30 s of 16 kHz mono audio (longer input is cut at 30 s).
    pub fn transcribe_window(&self, samples_16k: &[f32]) -> Result<WindowText, EngineError> {
        let mel = self.mel.model_input(samples_16k);
        let cross = self.model.encode(mel.values())?;
        let mut cache = self.model.empty_cache(&cross)?;
        let special = self.tokenizer.special();
        let end_of_text = special.end_of_text;
        let mut prompt = vec![special.start_of_transcript, special.no_timestamps];
        let mut tokens = vec![];
        let mut logprobs = vec![];
        while tokens.len() < MAX_NEW_TOKENS {
            let step = self.model.step(&cross, &mut cache, &prompt)?;
            let mut logits = step.logits;
            self.suppress(&mut logits, tokens.is_empty(), end_of_text);
            let Some((best, _)) = logits.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))
            else {
                break;
            };
            let best = best as u32;
            if best == end_of_text {
                break;
            }
            logprobs.push(log_softmax_at(&logits, best as usize));
            tokens.push(best);
            prompt = vec![best];
        }
        Ok(WindowText {
            text: self.tokenizer.decode(&tokens)?.trim().to_string(),
            tokens,
            logprobs,
        })
    }

    /// Masks what may not come next: the model's suppress lists, every special token but
    /// end-of-text (this loop asks for no timestamps), and at the start a blank or the end.
    fn suppress(&self, logits: &mut [f32], first: bool, end_of_text: u32) {
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
        for id in end_of_text + 1..logits.len() as u32 {
            ban(logits, id);
        }
    }
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
    fn log_softmax_matches_the_definition() {
        let logits = [1.0f32, 2.0, 3.0, f32::NEG_INFINITY];
        let total: f32 = logits.iter().map(|l| l.exp()).sum();
        for (i, l) in logits.iter().enumerate().take(3) {
            assert!((log_softmax_at(&logits, i) - (l.exp() / total).ln()).abs() < 1e-6);
        }
        assert_eq!(log_softmax_at(&logits, 3), f32::NEG_INFINITY);
    }
}
