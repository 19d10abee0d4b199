//! `engine-bench ops MODEL_DIR WAV [STEPS] [--by-node]` or `engine-bench whole MODEL_DIR WAV`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: engine-bench ops|whole MODEL_DIR WAV [STEPS] [--by-node]";
    let (Some(what), Some(dir), Some(wav)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let files = |name: &str| std::fs::read(format!("{dir}/{name}")).map_err(|e| e.to_string());
    let wav = match std::fs::read(wav) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("{wav}: {e}");
            std::process::exit(1);
        }
    };
    let steps = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(60);
    let by_node = args.iter().any(|a| a == "--by-node");
    let result = match what.as_str() {
        "ops" => reelsmith_engine_bench::ops(&files, &wav, steps, by_node),
        "whole" => reelsmith_engine_bench::whole(&files, &wav),
        _ => Err(usage.to_string()),
    };
    match result {
        Ok(text) => print!("{text}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
