//! The speech engine timed where it runs: each graph op by op (one encoder window, then
//! decoder steps fed their own greedy tokens) and a whole file through [`Engine`], with the
//! same code natively and in wasm. `scripts/bench-engine.sh` runs both side by side; in wasm
//! it runs under node, whose V8 is the engine Chromium runs the workers with.

use std::collections::BTreeMap;
use std::fmt::Write;

use reelsmith_speech::transcribe::{DecodeOptions, Engine};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::plan::SimpleState;

/// Milliseconds from an arbitrary start.
#[cfg(target_arch = "wasm32")]
fn now_ms() -> f64 {
    #[wasm_bindgen::prelude::wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = performance, js_name = now)]
        fn performance_now() -> f64;
    }
    performance_now()
}

#[cfg(not(target_arch = "wasm32"))]
fn now_ms() -> f64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f64()
        * 1e3
}

/// The model's files by name.
pub type Files<'a> = &'a dyn Fn(&str) -> Result<Vec<u8>, String>;

type Plan = Arc<TypedSimplePlan>;

/// Parsed and optimised as the engine does it ([`reelsmith_speech::model::Graph`]).
fn load(bytes: &[u8]) -> Result<Plan, String> {
    let (model, _) =
        reelsmith_speech::int8::model_for_bytes(bytes).map_err(|e| format!("{e:#}"))?;
    model
        .into_optimized()
        .and_then(|m| {
            m.into_runnable_with_options(&tract_onnx::tract_core::runtime::RunOptions {
                skip_order_opt_ram: true,
                ..Default::default()
            })
        })
        .map_err(|e| format!("{e:#}"))
}

/// Milliseconds and calls per op (or per node, `by_node`).
type Times = BTreeMap<String, (f64, usize)>;

fn run_timed(
    state: &mut SimpleState<TypedFact, Box<dyn TypedOp>>,
    inputs: TVec<TValue>,
    by_node: bool,
    times: &mut Times,
) -> Result<TVec<TValue>, String> {
    state
        .run_plan_with_eval(inputs, |ctx, op_state, node, values| {
            let start = now_ms();
            let out = tract_onnx::tract_core::plan::eval(ctx, op_state, node, values);
            let key = if by_node {
                format!("{} {}", node.op().name(), node.name)
            } else {
                node.op().name().to_string()
            };
            let entry = times.entry(key).or_default();
            entry.0 += now_ms() - start;
            entry.1 += 1;
            out
        })
        .map_err(|e| format!("{e:#}"))
}

fn report(out: &mut String, title: &str, times: &Times, runs: usize) {
    let mut rows: Vec<_> = times.iter().collect();
    rows.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    let total: f64 = rows.iter().map(|r| r.1 .0).sum();
    let runs_f = runs.max(1) as f64;
    let _ = writeln!(out, "{title}: {:.2} ms per run", total / runs_f);
    for (name, (ms, calls)) in rows.iter().take(16) {
        let _ = writeln!(
            out,
            "  {:>9.2} ms {:>5.1} %  ×{:<4} {name}",
            ms / runs_f,
            100.0 * ms / total.max(f64::MIN_POSITIVE),
            calls / runs.max(1)
        );
    }
}

/// Each graph op by op: the encoder on the first 30 s of `wav` (twice), then `steps` decoder
/// steps from the start of transcript, each fed the previous step's most likely token.
pub fn ops(files: Files, wav: &[u8], steps: usize, by_node: bool) -> Result<String, String> {
    let mut out = String::new();
    let start = now_ms();
    let encoder = load(&files("encoder.onnx")?)?;
    let decoder = load(&files("decoder.onnx")?)?;
    let _ = writeln!(out, "load both graphs: {:.0} ms", now_ms() - start);
    let samples = reelsmith_speech::read_wav_16k_mono(wav).map_err(|e| e.to_string())?;
    let window = &samples[..samples.len().min(reelsmith_speech::mel::N_SAMPLES)];
    let mel = reelsmith_speech::mel::model_input(window);
    let input = Tensor::from_shape(&[1, mel.n_mels(), mel.n_frames()], mel.values())
        .map_err(|e| e.to_string())?;
    let mut state = SimpleState::new(&encoder).map_err(|e| e.to_string())?;
    let mut times = Times::new();
    let mut cross = tvec![];
    let runs = 2;
    for _ in 0..runs {
        cross = run_timed(&mut state, tvec!(input.clone().into()), by_node, &mut times)?;
    }
    report(&mut out, "encoder, one window", &times, runs);
    // cross_k_i [heads, head_dim, frames]; the self-attention cache [layers, heads, 0, head_dim].
    let shape = cross.first().ok_or("no encoder output")?.shape().to_vec();
    let empty = Tensor::zero::<f32>(&[cross.len() / 2, shape[0], 0, shape[1]])
        .map_err(|e| e.to_string())?;
    let (mut past_k, mut past_v): (TValue, TValue) = (empty.clone().into(), empty.into());
    let mut state = SimpleState::new(&decoder).map_err(|e| e.to_string())?;
    let mut times = Times::new();
    // <|startoftranscript|> <|notimestamps|> in tiny.en's vocabulary; any ids give a timing.
    let mut tokens: Vec<i64> = vec![50257, 50362];
    let start = now_ms();
    for step in 0..steps + 1 {
        if step == 1 {
            // The first call feeds several tokens: time single-token steps only.
            times.clear();
        }
        let ids = Tensor::from_shape(&[1, tokens.len()], &tokens).map_err(|e| e.to_string())?;
        let mut inputs = tvec!(ids.into(), past_k.clone(), past_v.clone());
        inputs.extend(cross.iter().cloned());
        let mut outputs = run_timed(&mut state, inputs, by_node, &mut times)?;
        if outputs.len() != 4 {
            return Err(format!("the decoder gave {} outputs", outputs.len()));
        }
        past_v = outputs.remove(2);
        past_k = outputs.remove(1);
        let logits = outputs[0]
            .to_plain_array_view::<f32>()
            .map_err(|e| e.to_string())?;
        let best = logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i % logits.shape().last().copied().unwrap_or(1));
        tokens = vec![best as i64];
    }
    let _ = writeln!(
        out,
        "decoder: {steps} steps after the first, {:.2} ms per step with the loop",
        (now_ms() - start) / (steps + 1) as f64
    );
    report(&mut out, "decoder, one step", &times, steps);
    Ok(out)
}

/// The encoder's input for the first 30 s of `wav` ([1, 80, 3000] row by row): what both
/// engines are given in the side-by-side page.
pub fn mel_input(wav: &[u8]) -> Result<Vec<f32>, String> {
    let samples = reelsmith_speech::read_wav_16k_mono(wav).map_err(|e| e.to_string())?;
    let window = &samples[..samples.len().min(reelsmith_speech::mel::N_SAMPLES)];
    Ok(reelsmith_speech::mel::model_input(window).into_values())
}

/// A whole file through the engine as a worker runs it (VAD when the model has one, English).
pub fn whole(files: Files, wav: &[u8]) -> Result<String, String> {
    let text = |name: &str| -> Result<String, String> {
        String::from_utf8(files(name)?).map_err(|e| e.to_string())
    };
    let start = now_ms();
    let engine = Engine::load(
        &files("encoder.onnx")?,
        &files("decoder.onnx")?,
        &text("config.json")?,
        &text("vocabulary.txt")?,
    )
    .map_err(|e| e.to_string())?;
    let vad = match files("vad.onnx") {
        Ok(bytes) => Some(reelsmith_speech::vad::Vad::load(&bytes).map_err(|e| e.to_string())?),
        Err(_) => None,
    };
    let engine = engine.with_vad(vad);
    let load_ms = now_ms() - start;
    let samples = reelsmith_speech::read_wav_16k_mono(wav).map_err(|e| e.to_string())?;
    let options = DecodeOptions {
        language: engine.is_multilingual().then(|| "en".to_string()),
        ..Default::default()
    };
    let start = now_ms();
    let result = engine
        .transcribe_with(&samples, &options)
        .map_err(|e| e.to_string())?;
    let secs = (now_ms() - start) / 1e3;
    let audio = samples.len() as f64 / f64::from(reelsmith_speech::mel::SAMPLE_RATE_HZ);
    let words: usize = result
        .segments
        .iter()
        .map(|s| s.text.split_whitespace().count())
        .sum();
    let stats = engine.stats();
    Ok(format!(
        "load {load_ms:.0} ms; {audio:.1} s of audio in {secs:.2} s = {:.1}× real time; {words} words; \
         {} encoder calls, {} decoder calls over {} tokens\n",
        audio / secs,
        stats.encoder_calls,
        stats.decoder_calls,
        stats.decoder_tokens
    ))
}

#[cfg(target_arch = "wasm32")]
mod web {
    use wasm_bindgen::prelude::*;

    /// `files`: a JS function from a file name to its bytes (a Uint8Array), or undefined.
    fn reader(files: &js_sys::Function) -> impl Fn(&str) -> Result<Vec<u8>, String> + '_ {
        move |name: &str| {
            let value = files
                .call1(&JsValue::NULL, &JsValue::from_str(name))
                .map_err(|e| format!("{e:?}"))?;
            if value.is_undefined() {
                return Err(format!("no {name}"));
            }
            Ok(js_sys::Uint8Array::new(&value).to_vec())
        }
    }

    #[wasm_bindgen]
    pub fn ops(
        files: &js_sys::Function,
        wav: &[u8],
        steps: usize,
        by_node: bool,
    ) -> Result<String, String> {
        super::ops(&reader(files), wav, steps, by_node)
    }

    #[wasm_bindgen]
    pub fn mel_input(wav: &[u8]) -> Result<Vec<f32>, String> {
        super::mel_input(wav)
    }

    #[wasm_bindgen]
    pub fn whole(files: &js_sys::Function, wav: &[u8]) -> Result<String, String> {
        super::whole(&reader(files), wav)
    }
}
