//! `reelsmith transcribe FILE.wav [--format json|srt|vtt] [--model tiny.en|base|DIR]
//! [--language CODE|auto] [--task transcribe|translate] [--words "A, B"] [--beam-size N]
//! [--no-vad]`: the transcription engine on the command line, subtitles or JSON on stdout.
//! `--beam-size` sets the hypotheses the beam search keeps (1: greedy; the default is 5, as
//! whisper's own command line). `--words` names
//! words to know (names, brands, jargon), told to the model before each window. The model folder's `vad.onnx`, when there is
//! one, finds the speech first (`--no-vad` decodes everything). A model name is a model `scripts/prepare-model.sh`
//! prepared in `~/.cache/reelsmith/models/whisper-NAME` (`$REELSMITH_MODELS` overrides the
//! folder); anything else is the model's directory. The default is tiny.en.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use reelsmith_speech::audio::read_wav_16k_mono;
use reelsmith_speech::subtitles::{to_json, to_srt, to_vtt};
use reelsmith_speech::tokenizer::Task;
use reelsmith_speech::transcribe::{DecodeOptions, Engine};
use reelsmith_speech::vad::Vad;

const USAGE: &str = "usage: reelsmith transcribe FILE.wav [--format json|srt|vtt] \
[--model tiny.en|base|DIR] [--language CODE|auto] [--task transcribe|translate] \
[--words \"NAME, BRAND, …\"] [--beam-size N] [--no-vad] [--timings]";
/// Hypotheses the beam search keeps unless `--beam-size` says otherwise (whisper's CLI).
const DEFAULT_BEAM_SIZE: usize = 5;
/// The widest beam `--beam-size` takes: each hypothesis is a decoder run per token.
const MAX_BEAM_SIZE: usize = 16;
/// The models `scripts/prepare-model.sh` prepares, by the name `--model` takes.
const MODEL_NAMES: [&str; 2] = ["tiny.en", "base"];

#[derive(Debug, Clone, Copy)]
enum Format {
    Json,
    Srt,
    Vtt,
}

struct Args {
    wav: PathBuf,
    format: Format,
    model: PathBuf,
    options: DecodeOptions,
    /// Print where the time went to stderr.
    timings: bool,
    /// Decode everything, not only what the VAD calls speech.
    no_vad: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    match args.next().as_deref() {
        Some("transcribe") => {}
        Some(other) => return Err(format!("unknown command {other:?}\n{USAGE}")),
        None => return Err(USAGE.into()),
    }
    let (mut wav, mut format, mut model, mut timings) = (None, Format::Json, None, false);
    let mut no_vad = false;
    let mut options = DecodeOptions {
        beam_size: DEFAULT_BEAM_SIZE,
        ..DecodeOptions::default()
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--format" => {
                format = match args.next().as_deref() {
                    Some("json") => Format::Json,
                    Some("srt") => Format::Srt,
                    Some("vtt") => Format::Vtt,
                    other => {
                        return Err(format!(
                            "--format takes json, srt or vtt, not {other:?}\n{USAGE}"
                        ))
                    }
                }
            }
            "--model" => {
                let name = args
                    .next()
                    .ok_or_else(|| format!("--model needs a name or a directory\n{USAGE}"))?;
                model = Some(name);
            }
            "--language" => {
                options.language = match args.next().as_deref() {
                    Some("auto") => None,
                    Some(code) if is_language_code(code) => Some(code.to_owned()),
                    other => {
                        return Err(format!(
                            "--language takes a language code (en, es, de, …) or auto, not \
                             {other:?}\n{USAGE}"
                        ))
                    }
                }
            }
            "--task" => {
                options.task = match args.next().as_deref() {
                    Some("transcribe") => Task::Transcribe,
                    Some("translate") => Task::Translate,
                    other => {
                        return Err(format!(
                            "--task takes transcribe or translate, not {other:?}\n{USAGE}"
                        ))
                    }
                }
            }
            "--words" => {
                let words = args
                    .next()
                    .ok_or_else(|| format!("--words needs the words to know\n{USAGE}"))?;
                options.prompt = Some(words).filter(|w| !w.trim().is_empty());
            }
            "--beam-size" => {
                let given = args.next();
                options.beam_size = match given.as_deref().map(str::parse::<usize>) {
                    Some(Ok(n)) if (1..=MAX_BEAM_SIZE).contains(&n) => n,
                    _ => {
                        return Err(format!(
                            "--beam-size takes a number from 1 (greedy) to {MAX_BEAM_SIZE}, not \
                             {given:?}\n{USAGE}"
                        ))
                    }
                }
            }
            "--timings" => timings = true,
            "--no-vad" => no_vad = true,
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option {flag:?}\n{USAGE}"))
            }
            path if wav.is_none() => wav = Some(PathBuf::from(path)),
            extra => return Err(format!("unexpected argument {extra:?}\n{USAGE}")),
        }
    }
    let wav = wav.ok_or_else(|| format!("no WAV file given\n{USAGE}"))?;
    let model = model_dir(model.as_deref().unwrap_or(MODEL_NAMES[0]))?;
    Ok(Args {
        wav,
        format,
        model,
        options,
        timings,
        no_vad,
    })
}

/// Whisper's language codes: two or three lower-case letters (`haw`, `yue`).
fn is_language_code(code: &str) -> bool {
    (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase())
}

/// Where the model `--model` names lies: a prepared model's name in the models folder, or a
/// directory as given.
fn model_dir(name: &str) -> Result<PathBuf, String> {
    if !MODEL_NAMES.contains(&name) {
        return Ok(PathBuf::from(name));
    }
    let models = match std::env::var_os("REELSMITH_MODELS") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(".cache/reelsmith/models"))
            .ok_or("HOME is not set: pass the model directory with --model DIR")?,
    };
    Ok(models.join(format!("whisper-{name}")))
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

fn read_model_file(dir: &Path, name: &str) -> Result<Vec<u8>, String> {
    read(&dir.join(name), "the model file").map_err(|e| {
        format!("{e}\n(prepare the model with scripts/prepare-model.sh, or pass --model DIR)")
    })
}

fn run(args: Args) -> Result<String, String> {
    let wav = read(&args.wav, "the audio file")?;
    let samples = read_wav_16k_mono(&wav).map_err(|e| format!("{}: {e}", args.wav.display()))?;
    let text = |name: &str| {
        String::from_utf8(read_model_file(&args.model, name)?)
            .map_err(|_| format!("{name} in {} is not UTF-8", args.model.display()))
    };
    let loading = std::time::Instant::now();
    let engine = Engine::load(
        &read_model_file(&args.model, "encoder.onnx")?,
        &read_model_file(&args.model, "decoder.onnx")?,
        &text("config.json")?,
        &text("vocabulary.txt")?,
    )
    .map_err(|e| e.to_string())?;
    let vad_file = args.model.join("vad.onnx");
    let vad = match args.no_vad || !vad_file.exists() {
        true => None,
        false => Some(Vad::load(&read(&vad_file, "the VAD model")?).map_err(|e| e.to_string())?),
    };
    let engine = engine.with_vad(vad);
    let load_secs = loading.elapsed().as_secs_f64();
    let transcribing = std::time::Instant::now();
    let transcription = engine
        .transcribe_with(&samples, &args.options)
        .map_err(|e| e.to_string())?;
    let segments = transcription.segments;
    if args.options.language.is_none() {
        if let Some(code) = &transcription.language {
            eprintln!("reelsmith: language detected: {code}");
        }
    }
    if args.timings {
        let s = engine.stats();
        let audio_secs = samples.len() as f64 / 16_000.0;
        let total = transcribing.elapsed().as_secs_f64();
        eprintln!(
            "load {load_secs:.2} s; transcribe {total:.2} s for {audio_secs:.1} s of audio \
             ({:.1}x real time); encoder {} windows, {:.3} s each; decoder {} calls, {} tokens, \
             {:.1} ms per call",
            audio_secs / total,
            s.encoder_calls,
            s.encoder_secs / f64::from(s.encoder_calls.max(1)),
            s.decoder_calls,
            s.decoder_tokens,
            1000.0 * s.decoder_secs / f64::from(s.decoder_calls.max(1)),
        );
    }
    match args.format {
        Format::Json => to_json(&segments).map_err(|e| e.to_string()),
        Format::Srt => Ok(to_srt(&segments)),
        Format::Vtt => Ok(to_vtt(&segments)),
    }
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("reelsmith: {message}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("reelsmith: {message}");
            ExitCode::FAILURE
        }
    }
}
