//! `reelsmith-relay`: serves the editor on REELSMITH_ADDR (default 127.0.0.1:8080) from
//! REELSMITH_DIST (default `dist`), the speech models found under REELSMITH_MODELS (default
//! `~/.cache/reelsmith/models`, where `scripts/prepare-model.sh` puts them), and the publish
//! API when TikTok credentials are configured (relay/API.md lists the settings), and the
//! embeddable editor to the partner origins in REELSMITH_PARTNER_ORIGINS. With
//! `REELSMITH_TIKTOK_FAKE=1` it starts the fake TikTok beside itself and publishes there.

use std::process::ExitCode;

use reelsmith_relay::config::{self, PublishConfig};
use reelsmith_relay::crypto::TokenCipher;
use reelsmith_relay::fake::{self, FakeConfig};
use reelsmith_relay::{app, AppState, Publisher};
use reqwest::Url;

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("reelsmith-relay: {message}");
    ExitCode::FAILURE
}

/// Demo mode: a fake TikTok in this process, demo credentials, a throwaway database.
struct Demo {
    _fake: fake::FakeTikTok,
    _dir: Option<tempfile::TempDir>,
}

async fn demo_config(
    env: &dyn Fn(&str) -> Option<String>,
    relay_origin: &str,
    localhost_origin: &str,
) -> Result<(PublishConfig, Demo), String> {
    let redirect_url = Url::parse(&format!("{relay_origin}/api/callback"))
        .map_err(|e| format!("cannot make the demo redirect URL: {e}"))?;
    let fake_addr = env("REELSMITH_TIKTOK_FAKE_ADDR").unwrap_or_else(|| "127.0.0.1:0".into());
    let fake_config = FakeConfig {
        redirect_uris: vec![redirect_url.to_string()],
        ..FakeConfig::default()
    };
    let fake = fake::start(fake_config, &fake_addr)
        .await
        .map_err(|e| format!("cannot start the fake TikTok on {fake_addr}: {e}"))?;
    // Not "running at": scripts wait for that phrase to find the relay.
    println!("Fake TikTok (demo) at {}", fake.base_url);
    let (database_url, dir) = match env("DATABASE_URL") {
        Some(url) => (url, None),
        None => {
            let dir =
                tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
            (
                format!("sqlite://{}/relay.db", dir.path().display()),
                Some(dir),
            )
        }
    };
    let cipher = match env("REELSMITH_TOKEN_KEY") {
        Some(key) => TokenCipher::from_base64(&key)?,
        None => TokenCipher::random(),
    };
    let mut config = PublishConfig::new(fake.tiktok_config(redirect_url), database_url, cipher);
    config.allowed_origins = vec![relay_origin.to_string(), localhost_origin.to_string()];
    Ok((
        config,
        Demo {
            _fake: fake,
            _dir: dir,
        },
    ))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "reelsmith_relay=info".into()),
        )
        .init();
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let dist = env("REELSMITH_DIST").unwrap_or_else(|| "dist".into());
    let addr = env("REELSMITH_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into());
    let models = env("REELSMITH_MODELS").unwrap_or_else(|| {
        let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
        format!("{home}/.cache/reelsmith/models")
    });
    let mut state = match AppState::load(&dist).and_then(|s| s.with_models(&models)) {
        Ok(state) => state,
        Err(e) => return fail(e),
    };
    match config::partner_origins(&env) {
        Ok(partners) => {
            if !partners.is_empty() {
                eprintln!(
                    "reelsmith-relay: pages of {} may embed the editor (/embed.js)",
                    partners.join(", ")
                );
            }
            state = state.with_partners(partners);
        }
        Err(e) => return fail(e),
    }
    if state.model_names().is_empty() {
        eprintln!(
            "reelsmith-relay: no speech model in {models}; transcription will say so (run scripts/prepare-model.sh)"
        );
    }
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => return fail(format!("cannot listen on {addr}: {e}")),
    };
    let local = match listener.local_addr() {
        Ok(local) => local,
        Err(e) => return fail(format!("cannot read the listening address: {e}")),
    };
    // With port 0 the system picks one; with 0.0.0.0, browsers on this machine use 127.0.0.1.
    let host = if local.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        local.ip().to_string()
    };
    let origin = format!("http://{host}:{}", local.port());
    let mut demo = None;
    let publishing = if env("REELSMITH_TIKTOK_FAKE").as_deref() == Some("1") {
        let localhost = format!("http://localhost:{}", local.port());
        match demo_config(&env, &origin, &localhost).await {
            Ok((config, running)) => {
                demo = Some(running);
                Some(config)
            }
            Err(e) => return fail(e),
        }
    } else {
        match config::load(&env, &format!("{host}:{}", local.port())) {
            Ok(config) => config,
            Err(e) => return fail(e),
        }
    };
    match publishing {
        Some(config) => match Publisher::start(config).await {
            Ok(publisher) => state = state.with_publishing(publisher),
            Err(e) => return fail(e),
        },
        None => eprintln!(
            "reelsmith-relay: no TikTok credentials (REELSMITH_TIKTOK_CLIENT_KEY/SECRET); publishing is off"
        ),
    }
    println!("Reelsmith is running at {origin}/");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let served = reelsmith_relay::serve::serve(listener, app(state), shutdown).await;
    drop(demo);
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
