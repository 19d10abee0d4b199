//! `reelsmith transcribe FILE.wav [--format json|srt|vtt] [--model DIR]`: the transcription
//! engine on the command line, subtitles or JSON on stdout. The model directory is what
//! `scripts/prepare-model.sh` writes (default `~/.cache/reelsmith/models/whisper-tiny.en`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use reelsmith_speech::audio::read_wav_16k_mono;
use reelsmith_speech::subtitles::{to_json, to_srt, to_vtt};
use reelsmith_speech::transcribe::Engine;

const USAGE: &str =
    "usage: reelsmith transcribe FILE.wav [--format json|srt|vtt] [--model DIR] [--timings]";

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
    /// Print where the time went to stderr.
    timings: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    match args.next().as_deref() {
        Some("transcribe") => {}
        Some(other) => return Err(format!("unknown command {other:?}\n{USAGE}")),
        None => return Err(USAGE.into()),
    }
    let (mut wav, mut format, mut model, mut timings) = (None, Format::Json, None, false);
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
                let dir = args
                    .next()
                    .ok_or_else(|| format!("--model needs a directory\n{USAGE}"))?;
                model = Some(PathBuf::from(dir));
            }
            "--timings" => timings = true,
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option {flag:?}\n{USAGE}"))
            }
            path if wav.is_none() => wav = Some(PathBuf::from(path)),
            extra => return Err(format!("unexpected argument {extra:?}\n{USAGE}")),
        }
    }
    let wav = wav.ok_or_else(|| format!("no WAV file given\n{USAGE}"))?;
    let model = match model {
        Some(dir) => dir,
        None => std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(".cache/reelsmith/models/whisper-tiny.en"))
            .ok_or("HOME is not set: pass the model directory with --model DIR")?,
    };
    Ok(Args {
        wav,
        format,
        model,
        timings,
    })
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
    let load_secs = loading.elapsed().as_secs_f64();
    let transcribing = std::time::Instant::now();
    let segments = engine.transcribe(&samples).map_err(|e| e.to_string())?;
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
