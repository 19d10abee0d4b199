//! Whisper's two ONNX graphs (made by `scripts/prepare-model.sh`, interface in
//! `tools/model/README.md`) run by tract: the encoder turns a 30 s log-mel window into every
//! decoder layer's cross-attention keys/values; the decoder takes new tokens plus its
//! self-attention cache and returns the next token's logits, the grown cache and the alignment
//! heads' cross-attention (for word timing). Pure Rust: the same code runs natively and in wasm.

use serde::Deserialize;
use tract_onnx::prelude::*;

use crate::mel::{N_FRAMES, N_MELS};

/// Why a model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the speech model could not be loaded ({0}); prepare it again with scripts/prepare-model.sh")]
    Load(String),
    #[error("the speech model failed while running: {0}")]
    Run(String),
    #[error("the speech model's config.json is unreadable: {0}")]
    Config(String),
}

fn run_err(e: impl std::fmt::Display) -> ModelError {
    ModelError::Run(e.to_string())
}

/// What `config.json` says about decoding.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelConfig {
    /// (decoder layer, head) pairs whose cross-attention follows the audio.
    pub alignment_heads: Vec<[usize; 2]>,
    /// Tokens never to produce.
    pub suppress_ids: Vec<u32>,
    /// Tokens never to produce first.
    pub suppress_ids_begin: Vec<u32>,
    #[serde(default)]
    pub lang_ids: Vec<u32>,
}

impl ModelConfig {
    pub fn from_json(json: &str) -> Result<Self, ModelError> {
        serde_json::from_str(json).map_err(|e| ModelError::Config(e.to_string()))
    }
}

/// The encoder's output for one window: what every decoder step attends to.
pub struct CrossAttention {
    /// Each decoder layer's keys [H, Dh, T] and values [H, T, Dh], in the decoder's input order.
    tensors: TVec<TValue>,
    /// (layers, heads, head dim) of the decoder.
    pub dims: (usize, usize, usize),
}

/// The decoder's self-attention cache: keys and values of every token so far. A clone shares
/// them: a step replaces the tensors, never writes into them, so a clone is a fork.
#[derive(Clone)]
pub struct KvCache {
    past_k: TValue,
    past_v: TValue,
    pub len: usize,
}

/// One decoder step's results.
pub struct Step {
    /// Logits over the vocabulary for the token after the last one given.
    pub logits: Vec<f32>,
    /// Cross-attention of the alignment heads for each new token: [heads][new tokens][frames].
    pub alignment: Vec<f32>,
    pub alignment_heads: usize,
}

pub struct WhisperModel {
    encoder: Arc<TypedRunnableModel>,
    decoder: Arc<TypedRunnableModel>,
    stats: std::cell::Cell<ModelStats>,
}

/// How much work the graphs did, for benchmarks. Seconds stay 0 on wasm32 (no clock there
/// without the browser); counts are kept everywhere.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ModelStats {
    pub encoder_calls: u32,
    pub encoder_secs: f64,
    pub decoder_calls: u32,
    pub decoder_tokens: u32,
    pub decoder_secs: f64,
}

/// Wall-clock time of a call, natively.
struct Stopwatch {
    #[cfg(not(target_arch = "wasm32"))]
    start: std::time::Instant,
}

impl Stopwatch {
    fn start() -> Self {
        Self {
            #[cfg(not(target_arch = "wasm32"))]
            start: std::time::Instant::now(),
        }
    }

    fn secs(&self) -> f64 {
        #[cfg(not(target_arch = "wasm32"))]
        return self.start.elapsed().as_secs_f64();
        #[cfg(target_arch = "wasm32")]
        return 0.0;
    }
}

/// One of the two graphs, parsed and optimised. Loading them one at a time lets a caller drop
/// each file's bytes before reading the next: wasm memory never shrinks, so the load's peak is
/// what a worker keeps.
pub struct Graph(Arc<TypedRunnableModel>);

impl Graph {
    /// Parses and optimises one ONNX graph, its int8 products kept int8 ([`crate::int8`]).
    pub fn load(bytes: &[u8]) -> Result<Self, ModelError> {
        crate::int8::model_for_bytes(bytes)
            .and_then(|(m, _)| m.into_optimized())
            .and_then(|m| {
                m.into_runnable_with_options(&tract_onnx::tract_core::runtime::RunOptions {
                    skip_order_opt_ram: true,
                    ..Default::default()
                })
            })
            .map(Graph)
            .map_err(|e| ModelError::Load(format!("{e:#}")))
    }
}

fn f32_values(t: &Tensor) -> Result<Vec<f32>, ModelError> {
    Ok(t.to_plain_array_view::<f32>()
        .map_err(run_err)?
        .iter()
        .copied()
        .collect())
}

impl WhisperModel {
    /// Loads and optimises both graphs from their ONNX bytes.
    pub fn load(encoder_onnx: &[u8], decoder_onnx: &[u8]) -> Result<Self, ModelError> {
        Ok(Self::from_graphs(
            Graph::load(encoder_onnx)?,
            Graph::load(decoder_onnx)?,
        ))
    }

    /// The model from graphs loaded one at a time.
    pub fn from_graphs(encoder: Graph, decoder: Graph) -> Self {
        Self {
            encoder: encoder.0,
            decoder: decoder.0,
            stats: Default::default(),
        }
    }

    /// Work done since loading.
    pub fn stats(&self) -> ModelStats {
        self.stats.get()
    }

    fn record(&self, update: impl FnOnce(&mut ModelStats)) {
        let mut stats = self.stats.get();
        update(&mut stats);
        self.stats.set(stats);
    }

    /// Runs the encoder on one window's log-mel, `N_MELS × N_FRAMES` values row by row.
    pub fn encode(&self, mel: &[f32]) -> Result<CrossAttention, ModelError> {
        let input = Tensor::from_shape(&[1, N_MELS, N_FRAMES], mel).map_err(run_err)?;
        let watch = Stopwatch::start();
        let out = self.encoder.run(tvec!(input.into())).map_err(run_err)?;
        self.record(|s| {
            s.encoder_calls += 1;
            s.encoder_secs += watch.secs();
        });
        if out.is_empty() || out.len() % 2 != 0 {
            return Err(ModelError::Run(format!(
                "the encoder gave {} outputs, not a key and a value per decoder layer",
                out.len()
            )));
        }
        let shape = out[0].shape();
        if shape.len() != 3 {
            return Err(ModelError::Run(format!("cross_k_0 has shape {shape:?}")));
        }
        let dims = (out.len() / 2, shape[0], shape[1]);
        Ok(CrossAttention { tensors: out, dims })
    }

    /// An empty cache for decoding against `cross`.
    pub fn empty_cache(&self, cross: &CrossAttention) -> Result<KvCache, ModelError> {
        let (layers, heads, head_dim) = cross.dims;
        let empty = Tensor::zero::<f32>(&[layers, heads, 0, head_dim]).map_err(run_err)?;
        Ok(KvCache {
            past_k: empty.clone().into(),
            past_v: empty.into(),
            len: 0,
        })
    }

    /// Feeds `tokens` after those already in `cache`, which grows by them.
    pub fn step(
        &self,
        cross: &CrossAttention,
        cache: &mut KvCache,
        tokens: &[u32],
    ) -> Result<Step, ModelError> {
        let ids: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
        let tokens_in = Tensor::from_shape(&[1, ids.len()], &ids).map_err(run_err)?;
        let mut inputs = tvec!(tokens_in.into(), cache.past_k.clone(), cache.past_v.clone());
        inputs.extend(cross.tensors.iter().cloned());
        let watch = Stopwatch::start();
        let mut out = self.decoder.run(inputs).map_err(run_err)?;
        self.record(|s| {
            s.decoder_calls += 1;
            s.decoder_tokens += tokens.len() as u32;
            s.decoder_secs += watch.secs();
        });
        if out.len() != 4 {
            return Err(ModelError::Run(format!(
                "the decoder gave {} outputs, not 4",
                out.len()
            )));
        }
        let alignment_t = out.remove(3);
        cache.past_v = out.remove(2);
        cache.past_k = out.remove(1);
        cache.len += tokens.len();
        let logits = f32_values(&out[0])?;
        let alignment_heads = alignment_t.shape().first().copied().unwrap_or(0);
        let alignment = f32_values(&alignment_t)?;
        Ok(Step {
            logits,
            alignment,
            alignment_heads,
        })
    }
}
