//! `fake-tiktok`: the fake TikTok (`reelsmith_relay::fake`) on its own port, for benchmarks
//! and for running the relay against it by hand. Settings come from `FAKE_TIKTOK_*`
//! variables (`--help`). Point the relay at it with `REELSMITH_TIKTOK_AUTH_BASE` and
//! `REELSMITH_TIKTOK_API_BASE` set to the URL it prints, and its client key and secret.

use reelsmith_relay::fake::{self, FakeConfig, ENV_HELP};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("fake-tiktok: a fake TikTok Login Kit and Content Posting API.\n\nSettings (environment):\n{ENV_HELP}");
        return std::process::ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "reelsmith_relay=info".into()),
        )
        .init();
    let config = match FakeConfig::from_env(&|k| std::env::var(k).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("fake-tiktok: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = std::env::var("FAKE_TIKTOK_ADDR").unwrap_or_else(|_| "127.0.0.1:9300".into());
    let running = match fake::start(config, &addr).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("fake-tiktok: cannot listen on {addr}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("Fake TikTok is running at {}", running.base_url);
    let _ = tokio::signal::ctrl_c().await;
    drop(running);
    std::process::ExitCode::SUCCESS
}
