//! The relay's settings: an optional TOML file (`REELSMITH_CONFIG`, see
//! `relay/relay.example.toml`) overridden by the environment (names in relay/API.md). Without a
//! TikTok client key and secret publishing is off and the relay only serves the editor. The
//! origins allowed to embed the editor ([`partner_origins`]) are read apart from publishing:
//! a relay serves the widget with or without TikTok credentials.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use crate::chunks::DEFAULT_CHUNK_BYTES;
use crate::crypto::TokenCipher;

pub const DEFAULT_AUTH_BASE: &str = "https://www.tiktok.com";
pub const DEFAULT_API_BASE: &str = "https://open.tiktokapis.com";
/// Inbox drafts need `video.upload`, direct posts `video.publish` (which creator_info needs too).
pub const DEFAULT_SCOPES: &str = "user.info.basic,video.upload,video.publish";

/// Everything publishing needs; `None` in [`Config::tiktok`] means "not configured".
#[derive(Clone)]
pub struct TikTokConfig {
    pub client_key: String,
    pub client_secret: String,
    /// Where TikTok sends the browser back: this relay's `/api/callback`, as registered.
    pub redirect_url: Url,
    /// Base of the authorize page (`{base}/v2/auth/authorize/`).
    pub auth_base: Url,
    /// Base of the token, revoke and Content Posting endpoints.
    pub api_base: Url,
    pub scopes: String,
}

impl std::fmt::Debug for TikTokConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TikTokConfig")
            .field("client_key", &self.client_key)
            .field("redirect_url", &self.redirect_url.as_str())
            .field("auth_base", &self.auth_base.as_str())
            .field("api_base", &self.api_base.as_str())
            .finish_non_exhaustive()
    }
}

/// Per-session request budgets per minute, mirroring TikTok's per-user limits so a busy
/// session is told to slow down before TikTok starts refusing the user.
#[derive(Clone, Copy, Debug)]
pub struct RateLimits {
    pub creator_info_per_min: u32,
    pub init_per_min: u32,
    pub status_per_min: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            creator_info_per_min: 20,
            init_per_min: 6,
            status_per_min: 30,
        }
    }
}

/// Where the per-session budgets read the time, in Unix milliseconds. The system clock,
/// except in tests that must not depend on how fast they run.
#[derive(Clone)]
pub struct Clock(std::sync::Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Clock(std::sync::Arc::new(crate::publish::now_ms))
    }

    /// A clock that reads `millis` (shared: tests move it by storing a new value).
    pub fn manual(millis: std::sync::Arc<std::sync::atomic::AtomicI64>) -> Self {
        Clock(std::sync::Arc::new(move || {
            millis.load(std::sync::atomic::Ordering::SeqCst)
        }))
    }

    pub fn now_ms(&self) -> i64 {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// The publishing half of the settings.
#[derive(Clone, Debug)]
pub struct PublishConfig {
    pub tiktok: TikTokConfig,
    pub database_url: String,
    pub cipher: TokenCipher,
    /// Exact origins allowed to call `/api` from a browser (CORS and the Origin check).
    pub allowed_origins: Vec<String>,
    /// `Secure` on the session cookie: off only when the relay is reached over http on localhost.
    pub secure_cookies: bool,
    pub spool_dir: PathBuf,
    pub limits: RateLimits,
    /// The budgets' clock.
    pub clock: Clock,
    /// How long to wait for TikTok to answer an API call.
    pub api_timeout: Duration,
    /// How long a chunk PUT may make no progress (nothing read from its body, no answer).
    pub chunk_stall_timeout: Duration,
    /// Tries per chunk when TikTok fails with a 5xx or does not answer.
    pub chunk_attempts: u32,
    pub preferred_chunk_bytes: u64,
    /// Refresh the access token when it has less than this left.
    pub refresh_margin_secs: i64,
    /// A pending authorization (state + PKCE verifier) is forgotten after this long.
    pub authorize_ttl_secs: i64,
    pub session_cookie_max_age_secs: i64,
}

impl PublishConfig {
    /// Settings for tests and demos: everything default except what names the TikTok to use.
    pub fn new(tiktok: TikTokConfig, database_url: impl Into<String>, cipher: TokenCipher) -> Self {
        let allowed_origins = vec![origin_of(&tiktok.redirect_url)];
        let secure_cookies = !is_loopback_http(&tiktok.redirect_url);
        Self {
            tiktok,
            database_url: database_url.into(),
            cipher,
            allowed_origins,
            secure_cookies,
            spool_dir: std::env::temp_dir(),
            limits: RateLimits::default(),
            clock: Clock::system(),
            api_timeout: Duration::from_secs(30),
            chunk_stall_timeout: Duration::from_secs(60),
            chunk_attempts: 3,
            preferred_chunk_bytes: DEFAULT_CHUNK_BYTES,
            refresh_margin_secs: 300,
            authorize_ttl_secs: 600,
            session_cookie_max_age_secs: 180 * 24 * 3600,
        }
    }
}

/// A setting that could not be used, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    tiktok: FileTikTok,
    #[serde(default)]
    relay: FileRelay,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTikTok {
    client_key: Option<String>,
    client_secret: Option<String>,
    redirect_url: Option<String>,
    auth_base_url: Option<String>,
    api_base_url: Option<String>,
    scopes: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRelay {
    allowed_origins: Option<Vec<String>>,
    /// Exact origins whose pages may embed the editor (`/embed.js`, `/embed`).
    partner_origins: Option<Vec<String>>,
    database_url: Option<String>,
    /// A file holding the base64 token key (e.g. a systemd credential), instead of the variable.
    token_key_file: Option<PathBuf>,
    spool_dir: Option<PathBuf>,
    chunk_size_bytes: Option<u64>,
}

/// The settings file named by `REELSMITH_CONFIG`, or nothing set.
fn read_file(env: &dyn Fn(&str) -> Option<String>) -> Result<FileConfig, ConfigError> {
    match env("REELSMITH_CONFIG") {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ConfigError(format!("cannot read REELSMITH_CONFIG {path}: {e}")))?;
            toml::from_str(&text).map_err(|e| ConfigError(format!("{path}: {e}")))
        }
        None => Ok(FileConfig::default()),
    }
}

/// The origins whose pages may embed the editor: `REELSMITH_PARTNER_ORIGINS` (comma-separated)
/// or else the file's `[relay] partner_origins`; none by default, so no page can frame it.
/// Each must be an origin exactly as browsers write it (`https://partner.example`): the relay
/// and the editor compare it with what the browser reports, byte for byte.
pub fn partner_origins(env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<String>, ConfigError> {
    let listed: Vec<String> =
        match env("REELSMITH_PARTNER_ORIGINS").filter(|v| !v.trim().is_empty()) {
            Some(list) => list.split(',').map(|o| o.trim().to_string()).collect(),
            None => read_file(env)?.relay.partner_origins.unwrap_or_default(),
        };
    let mut origins: Vec<String> = Vec::new();
    for origin in listed.into_iter().filter(|o| !o.is_empty()) {
        if !reelsmith_core::embed::is_origin(&origin) {
            return Err(ConfigError(format!(
                "REELSMITH_PARTNER_ORIGINS: {origin:?} is not an origin as browsers write it \
                 (scheme://host[:port] in lowercase, no path or trailing slash, no default port)"
            )));
        }
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    Ok(origins)
}

/// Reads the settings. `env` looks a variable up (the process environment in `main`, a map in
/// tests); `relay_addr` is where the relay listens, for the default redirect URL.
pub fn load(
    env: &dyn Fn(&str) -> Option<String>,
    relay_addr: &str,
) -> Result<Option<PublishConfig>, ConfigError> {
    let file = read_file(env)?;
    let pick =
        |var: &str, from_file: Option<String>| env(var).filter(|v| !v.is_empty()).or(from_file);
    let client_key = pick("REELSMITH_TIKTOK_CLIENT_KEY", file.tiktok.client_key);
    let client_secret = pick("REELSMITH_TIKTOK_CLIENT_SECRET", file.tiktok.client_secret);
    let (Some(client_key), Some(client_secret)) = (client_key, client_secret) else {
        return Ok(None);
    };
    let url = |var: &str, value: String| {
        Url::parse(&value).map_err(|e| ConfigError(format!("{var} = {value:?} is not a URL: {e}")))
    };
    let redirect_url = url(
        "REELSMITH_TIKTOK_REDIRECT_URL",
        pick("REELSMITH_TIKTOK_REDIRECT_URL", file.tiktok.redirect_url)
            .unwrap_or_else(|| format!("http://{relay_addr}/api/callback")),
    )?;
    if redirect_url.query().is_some() || redirect_url.fragment().is_some() {
        return Err(ConfigError(
            "REELSMITH_TIKTOK_REDIRECT_URL must be static: no query or fragment (TikTok's rule)"
                .into(),
        ));
    }
    let auth_base = url(
        "REELSMITH_TIKTOK_AUTH_BASE",
        pick("REELSMITH_TIKTOK_AUTH_BASE", file.tiktok.auth_base_url)
            .unwrap_or_else(|| DEFAULT_AUTH_BASE.into()),
    )?;
    let api_base = url(
        "REELSMITH_TIKTOK_API_BASE",
        pick("REELSMITH_TIKTOK_API_BASE", file.tiktok.api_base_url)
            .unwrap_or_else(|| DEFAULT_API_BASE.into()),
    )?;
    let key = match pick("REELSMITH_TOKEN_KEY", None) {
        Some(key) => key,
        None => match file.relay.token_key_file {
            Some(path) => std::fs::read_to_string(&path).map_err(|e| {
                ConfigError(format!("cannot read token_key_file {}: {e}", path.display()))
            })?,
            None => {
                return Err(ConfigError(
                    "publishing is configured but REELSMITH_TOKEN_KEY is not set: make one with \
                     `openssl rand -base64 32` and keep it (tokens stored under it are unreadable without it)"
                        .into(),
                ))
            }
        },
    };
    let cipher = TokenCipher::from_base64(&key).map_err(ConfigError)?;
    let database_url =
        pick("DATABASE_URL", file.relay.database_url).unwrap_or_else(default_database_url);
    let tiktok = TikTokConfig {
        client_key,
        client_secret,
        redirect_url,
        auth_base,
        api_base,
        scopes: file
            .tiktok
            .scopes
            .unwrap_or_else(|| DEFAULT_SCOPES.to_string()),
    };
    let mut config = PublishConfig::new(tiktok, database_url, cipher);
    let origins = match env("REELSMITH_ALLOWED_ORIGINS").filter(|v| !v.is_empty()) {
        Some(list) => Some(list.split(',').map(|o| o.trim().to_string()).collect()),
        None => file.relay.allowed_origins,
    };
    if let Some(origins) = origins {
        config.allowed_origins = origins
            .into_iter()
            .filter(|o: &String| !o.is_empty())
            .map(|o| o.trim_end_matches('/').to_string())
            .collect();
    }
    for origin in &config.allowed_origins {
        let parsed = url("REELSMITH_ALLOWED_ORIGINS", origin.clone())?;
        if origin_of(&parsed) != *origin {
            return Err(ConfigError(format!(
                "REELSMITH_ALLOWED_ORIGINS: {origin:?} is not an origin (scheme://host[:port], no path)"
            )));
        }
    }
    if let Some(dir) = pick("REELSMITH_SPOOL_DIR", None)
        .map(PathBuf::from)
        .or(file.relay.spool_dir)
    {
        config.spool_dir = dir;
    }
    if let Some(bytes) = file.relay.chunk_size_bytes {
        config.preferred_chunk_bytes = bytes;
    }
    Ok(Some(config))
}

/// `sqlite://~/.cache/reelsmith/relay.db` (created on first start).
pub fn default_database_url() -> String {
    let cache = std::env::var("REELSMITH_CACHE").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
        format!("{home}/.cache/reelsmith")
    });
    format!("sqlite://{cache}/relay.db")
}

/// `scheme://host[:port]` of a URL, as browsers send it in `Origin`.
pub fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Plain http to this machine: the only case where the cookie cannot be `Secure`.
pub fn is_loopback_http(url: &Url) -> bool {
    url.scheme() == "http"
        && matches!(
            url.host_str(),
            Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use std::collections::HashMap;

    fn key() -> String {
        base64::engine::general_purpose::STANDARD.encode([1u8; 32])
    }

    fn load_with(vars: &[(&str, &str)]) -> Result<Option<PublishConfig>, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        load(&|k| map.get(k).cloned(), "127.0.0.1:8080")
    }

    #[test]
    fn no_credentials_means_publishing_is_off() {
        assert!(load_with(&[]).unwrap().is_none());
        assert!(load_with(&[("REELSMITH_TIKTOK_CLIENT_KEY", "k")])
            .unwrap()
            .is_none());
    }

    #[test]
    fn credentials_without_a_key_say_how_to_make_one() {
        let err = load_with(&[
            ("REELSMITH_TIKTOK_CLIENT_KEY", "k"),
            ("REELSMITH_TIKTOK_CLIENT_SECRET", "s"),
        ])
        .err()
        .unwrap();
        assert!(err.to_string().contains("openssl rand -base64 32"));
    }

    #[test]
    fn defaults_follow_the_listen_address() {
        let key = key();
        let c = load_with(&[
            ("REELSMITH_TIKTOK_CLIENT_KEY", "k"),
            ("REELSMITH_TIKTOK_CLIENT_SECRET", "s"),
            ("REELSMITH_TOKEN_KEY", &key),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            c.tiktok.redirect_url.as_str(),
            "http://127.0.0.1:8080/api/callback"
        );
        assert_eq!(c.allowed_origins, vec!["http://127.0.0.1:8080"]);
        assert!(!c.secure_cookies);
        assert_eq!(c.tiktok.api_base.as_str(), "https://open.tiktokapis.com/");
        assert!(c.database_url.starts_with("sqlite://"));
        // The secret never shows in debug output.
        assert!(!format!("{:?}", c.tiktok).contains("\"s\""));
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        let key_path = dir.path().join("key");
        std::fs::write(&key_path, key()).unwrap();
        std::fs::write(
            &path,
            format!(
                r#"
[tiktok]
client_key = "file-key"
client_secret = "file-secret"
redirect_url = "https://clips.example/api/callback"
api_base_url = "https://file.example"

[relay]
allowed_origins = ["https://clips.example", "https://partner.example/"]
database_url = "postgres://relay@db/relay"
token_key_file = "{}"
chunk_size_bytes = 20000000
"#,
                key_path.display()
            ),
        )
        .unwrap();
        let c = load_with(&[
            ("REELSMITH_CONFIG", path.to_str().unwrap()),
            ("REELSMITH_TIKTOK_API_BASE", "http://127.0.0.1:9/"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(c.tiktok.client_key, "file-key");
        assert_eq!(c.tiktok.api_base.as_str(), "http://127.0.0.1:9/");
        assert_eq!(c.tiktok.auth_base.as_str(), "https://www.tiktok.com/");
        assert_eq!(
            c.allowed_origins,
            vec!["https://clips.example", "https://partner.example"]
        );
        assert_eq!(c.database_url, "postgres://relay@db/relay");
        assert!(c.secure_cookies);
        assert_eq!(c.preferred_chunk_bytes, 20_000_000);

        let c = load_with(&[
            ("REELSMITH_CONFIG", path.to_str().unwrap()),
            ("REELSMITH_ALLOWED_ORIGINS", "http://localhost:3000"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(c.allowed_origins, vec!["http://localhost:3000"]);
    }

    #[test]
    fn the_example_file_is_valid() {
        let key = key();
        let dir = tempfile::tempdir().unwrap();
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/relay.example.toml");
        let c = load_with(&[
            ("REELSMITH_CONFIG", example),
            ("REELSMITH_TIKTOK_CLIENT_SECRET", "s"),
            ("REELSMITH_TOKEN_KEY", &key),
            ("REELSMITH_SPOOL_DIR", dir.path().to_str().unwrap()),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(c.tiktok.client_key, "aw1234567890");
        assert_eq!(c.allowed_origins, vec!["https://clips.example.com"]);
        assert_eq!(c.spool_dir, dir.path());
        assert!(c.secure_cookies);
        let partners = partner_origins(&|k| (k == "REELSMITH_CONFIG").then(|| example.to_string()));
        assert_eq!(partners.unwrap(), vec!["https://shop.example.com"]);
    }

    #[test]
    fn partner_origins_come_from_the_environment_or_the_file_and_must_be_exact() {
        let origins = |vars: &[(&str, &str)]| {
            let map: HashMap<String, String> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            partner_origins(&|k| map.get(k).cloned())
        };
        assert!(origins(&[]).unwrap().is_empty());
        assert_eq!(
            origins(&[(
                "REELSMITH_PARTNER_ORIGINS",
                "https://a.example, http://127.0.0.1:5000,https://a.example"
            )])
            .unwrap(),
            vec!["https://a.example", "http://127.0.0.1:5000"]
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        std::fs::write(
            &path,
            "[relay]\npartner_origins = [\"https://shop.example\"]\n",
        )
        .unwrap();
        let file = path.to_str().unwrap();
        assert_eq!(
            origins(&[("REELSMITH_CONFIG", file)]).unwrap(),
            vec!["https://shop.example"]
        );
        assert_eq!(
            origins(&[
                ("REELSMITH_CONFIG", file),
                ("REELSMITH_PARTNER_ORIGINS", "https://b.example")
            ])
            .unwrap(),
            vec!["https://b.example"]
        );
        for bad in [
            "https://a.example/",
            "*",
            "https://A.example",
            "a.example",
            "https://a.example:443",
        ] {
            let err = origins(&[("REELSMITH_PARTNER_ORIGINS", bad)])
                .err()
                .unwrap();
            assert!(err.to_string().contains("is not an origin"), "{bad}: {err}");
        }
    }

    #[test]
    fn bad_settings_are_named() {
        let key = key();
        let base = [
            ("REELSMITH_TIKTOK_CLIENT_KEY", "k"),
            ("REELSMITH_TIKTOK_CLIENT_SECRET", "s"),
            ("REELSMITH_TOKEN_KEY", key.as_str()),
        ];
        let with = |extra: (&'static str, &'static str)| {
            let mut vars = base.to_vec();
            vars.push(extra);
            load_with(&vars).err().unwrap().to_string()
        };
        assert!(
            with(("REELSMITH_TIKTOK_REDIRECT_URL", "https://x.example/cb?a=1")).contains("static")
        );
        assert!(
            with(("REELSMITH_TIKTOK_API_BASE", "not a url")).contains("REELSMITH_TIKTOK_API_BASE")
        );
        assert!(
            with(("REELSMITH_ALLOWED_ORIGINS", "https://x.example/path")).contains("not an origin")
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "[tiktok]\nclient_kee = \"typo\"\n").unwrap();
        let err = load_with(&[("REELSMITH_CONFIG", path.to_str().unwrap())])
            .err()
            .unwrap();
        assert!(err.to_string().contains("client_kee"));
    }
}
