//! `reelsmith-relay`: serves the editor on REELSMITH_ADDR (default 127.0.0.1:8080) from
//! REELSMITH_DIST (default `dist`), and the speech models found under REELSMITH_MODELS (default
//! `~/.cache/reelsmith/models`, where `scripts/prepare-model.sh` puts them).

use reelsmith_relay::{app, AppState};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "reelsmith_relay=info".into()),
        )
        .init();
    let dist = std::env::var("REELSMITH_DIST").unwrap_or_else(|_| "dist".into());
    let addr = std::env::var("REELSMITH_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let models = std::env::var("REELSMITH_MODELS").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
        format!("{home}/.cache/reelsmith/models")
    });
    let state = match AppState::load(&dist).and_then(|s| s.with_models(&models)) {
        Ok(state) => {
            if state.model_names().is_empty() {
                eprintln!(
                    "reelsmith-relay: no speech model in {models}; transcription will say so (run scripts/prepare-model.sh)"
                );
            }
            state
        }
        Err(e) => {
            eprintln!("reelsmith-relay: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("reelsmith-relay: cannot listen on {addr}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // With port 0 the system picks one: say which.
    let url = match listener.local_addr() {
        Ok(local) => format!("http://{local}/"),
        Err(_) => format!("http://{addr}/"),
    };
    println!("Reelsmith is running at {url}");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(e) = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("reelsmith-relay: {e}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
