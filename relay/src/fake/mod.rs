//! A fake TikTok for tests, benchmarks and the demo mode: the authorize page, the token,
//! refresh and revoke endpoints (`oauth`), and the Content Posting API with TikTok's chunk
//! validation (`posting`), following shared/tiktok-api.md closely enough that a relay that
//! works against it works against TikTok. It keeps what it received (each upload's SHA-256,
//! accepted Content-Ranges and, for small files, the bytes) and can be told to misbehave:
//! refuse the sign-in, fail or hang an endpoint, report tokens invalid, rate-limit, expire
//! tokens, rotate refresh tokens. All state is in memory; [`start`] serves it on a port,
//! [`router`] gives the routes for in-process tests, `/fake/…` exposes it over HTTP.

mod oauth;
mod posting;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::chunks::ChunkRules;

pub use posting::PublishReport;

/// How the authorize page answers.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Authorize {
    /// Redirects back with a code at once, as if the user had approved.
    Approve,
    /// Redirects back with `error=access_denied`.
    Deny,
}

/// The fake's endpoints, for fault injection.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Authorize,
    Token,
    Refresh,
    Revoke,
    CreatorInfo,
    InboxInit,
    DirectInit,
    Chunk,
    Status,
}

/// What an injected fault does.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 500 `internal_error`. A chunk's body is read first and then dropped.
    ServerError,
    /// Never answers. An init creates the publish first and a chunk is stored first: the
    /// answer is what gets lost.
    Hang,
    /// 401 `access_token_invalid` whatever the token.
    AccessTokenInvalid,
    /// 429 `rate_limit_exceeded`.
    RateLimited,
}

/// A fault for `times` requests to `endpoint`, after letting `after` of them through.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Fault {
    pub endpoint: Endpoint,
    pub kind: FaultKind,
    #[serde(default = "one")]
    pub times: u32,
    #[serde(default)]
    pub after: u32,
}

impl Fault {
    /// The next `times` requests to `endpoint`.
    pub fn new(endpoint: Endpoint, kind: FaultKind, times: u32) -> Self {
        Fault {
            endpoint,
            kind,
            times,
            after: 0,
        }
    }

    /// Let the first `after` requests through first.
    pub fn after(self, after: u32) -> Self {
        Fault { after, ..self }
    }
}

fn one() -> u32 {
    1
}

/// The fake's behaviour. Where TikTok's documentation is silent or disagrees, it is a setting.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    pub client_key: String,
    pub client_secret: String,
    /// Registered redirect URIs; empty accepts any http(s) URI without query or fragment.
    pub redirect_uris: Vec<String>,
    pub authorize: Authorize,
    pub access_expires_in_secs: i64,
    pub refresh_expires_in_secs: i64,
    /// Issue a new refresh token on each refresh (the old one stops working).
    pub rotate_refresh_tokens: bool,
    pub chunk_rules: ChunkRules,
    /// Status fetches answered `PROCESSING_UPLOAD` after the last chunk, before the final state.
    pub processing_polls: u32,
    /// Inbox shares per user per 24 h before `spam_risk_too_many_pending_share`.
    pub pending_share_limit: usize,
    /// An unaudited client may only post `SELF_ONLY`.
    pub unaudited: bool,
    pub privacy_level_options: Vec<String>,
    pub max_video_post_duration_sec: u64,
    pub creator_nickname: String,
    pub comment_disabled: bool,
    pub duet_disabled: bool,
    pub stitch_disabled: bool,
    pub creator_info_per_min: u32,
    pub init_per_min: u32,
    pub status_per_min: u32,
    /// Uploads up to this size keep their bytes (for `/fake/publishes/{id}/bytes`).
    pub keep_bytes_max: u64,
    pub upload_url_ttl_secs: i64,
    /// Fail processing (`file_format_check_failed`) unless the file starts like an MP4/MOV or WebM.
    pub check_container: bool,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            client_key: "reelsmith-demo".into(),
            client_secret: "reelsmith-demo-secret".into(),
            redirect_uris: Vec::new(),
            authorize: Authorize::Approve,
            access_expires_in_secs: 86_400,
            refresh_expires_in_secs: 31_536_000,
            rotate_refresh_tokens: true,
            chunk_rules: ChunkRules::STRICT,
            processing_polls: 1,
            pending_share_limit: 5,
            unaudited: false,
            privacy_level_options: vec![
                "PUBLIC_TO_EVERYONE".into(),
                "MUTUAL_FOLLOW_FRIENDS".into(),
                "FOLLOWER_OF_CREATOR".into(),
                "SELF_ONLY".into(),
            ],
            max_video_post_duration_sec: 600,
            creator_nickname: "Demo Creator".into(),
            comment_disabled: false,
            duet_disabled: false,
            stitch_disabled: false,
            creator_info_per_min: 20,
            init_per_min: 6,
            status_per_min: 30,
            keep_bytes_max: 256 << 20,
            upload_url_ttl_secs: 3600,
            check_container: true,
        }
    }
}

/// The settings the `fake-tiktok` binary reads, with what each does.
pub const ENV_HELP: &str = "\
FAKE_TIKTOK_ADDR                  listen address (default 127.0.0.1:9300; port 0 picks one)
FAKE_TIKTOK_CLIENT_KEY            the app's client key (default reelsmith-demo)
FAKE_TIKTOK_CLIENT_SECRET         its secret (default reelsmith-demo-secret)
FAKE_TIKTOK_REDIRECT_URIS         comma-separated registered redirect URIs (default: any without query)
FAKE_TIKTOK_AUTHORIZE             approve | deny (default approve)
FAKE_TIKTOK_ACCESS_EXPIRES_SECS   access token lifetime (default 86400)
FAKE_TIKTOK_ROTATE_REFRESH        1 | 0: new refresh token on each refresh (default 1)
FAKE_TIKTOK_PENDING_SHARE_LIMIT   inbox drafts per user per 24 h (default 5)
FAKE_TIKTOK_KEEP_BYTES_MAX        keep uploads up to this many bytes (default 268435456)
FAKE_TIKTOK_PROCESSING_POLLS      status polls in PROCESSING_UPLOAD after the last chunk (default 1)
FAKE_TIKTOK_RATE_LIMITS           0 turns TikTok's per-minute limits off (default on)
";

impl FakeConfig {
    /// Reads the `FAKE_TIKTOK_*` settings ([`ENV_HELP`]) over the defaults.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut c = FakeConfig::default();
        let number = |name: &str| -> Result<Option<i64>, String> {
            env(name)
                .map(|v| {
                    v.parse::<i64>()
                        .map_err(|_| format!("{name}={v:?} is not a number"))
                })
                .transpose()
        };
        if let Some(v) = env("FAKE_TIKTOK_CLIENT_KEY") {
            c.client_key = v;
        }
        if let Some(v) = env("FAKE_TIKTOK_CLIENT_SECRET") {
            c.client_secret = v;
        }
        if let Some(v) = env("FAKE_TIKTOK_REDIRECT_URIS") {
            c.redirect_uris = v
                .split(',')
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty())
                .collect();
        }
        match env("FAKE_TIKTOK_AUTHORIZE").as_deref() {
            None | Some("approve") => {}
            Some("deny") => c.authorize = Authorize::Deny,
            Some(other) => {
                return Err(format!(
                    "FAKE_TIKTOK_AUTHORIZE={other:?}: use approve or deny"
                ))
            }
        }
        if let Some(v) = number("FAKE_TIKTOK_ACCESS_EXPIRES_SECS")? {
            c.access_expires_in_secs = v;
        }
        if let Some(v) = env("FAKE_TIKTOK_ROTATE_REFRESH") {
            c.rotate_refresh_tokens = v != "0";
        }
        if let Some(v) = number("FAKE_TIKTOK_PENDING_SHARE_LIMIT")? {
            c.pending_share_limit = usize::try_from(v).unwrap_or(0);
        }
        if let Some(v) = number("FAKE_TIKTOK_KEEP_BYTES_MAX")? {
            c.keep_bytes_max = u64::try_from(v).unwrap_or(0);
        }
        if let Some(v) = number("FAKE_TIKTOK_PROCESSING_POLLS")? {
            c.processing_polls = u32::try_from(v).unwrap_or(0);
        }
        if env("FAKE_TIKTOK_RATE_LIMITS").as_deref() == Some("0") {
            c.creator_info_per_min = u32::MAX;
            c.init_per_min = u32::MAX;
            c.status_per_min = u32::MAX;
        }
        Ok(c)
    }
}

/// Counts of what the fake was asked, for tests and the benchmark.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FakeStats {
    pub authorizations: u64,
    pub code_exchanges: u64,
    pub refreshes: u64,
    pub rotations: u64,
    pub revocations: u64,
    pub creator_info_calls: u64,
    pub inits: u64,
    pub chunk_puts: u64,
    pub status_calls: u64,
    pub faults_fired: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct Grant {
    pub open_id: String,
    pub scope: String,
    pub expires_at_secs: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct AuthCode {
    pub redirect_uri: String,
    pub code_challenge: String,
    pub open_id: String,
    pub scope: String,
    pub expires_at_secs: i64,
}

pub(crate) struct Inner {
    pub config: FakeConfig,
    pub base_url: String,
    pub next_id: u64,
    pub codes: HashMap<String, AuthCode>,
    pub access_tokens: HashMap<String, Grant>,
    pub refresh_tokens: HashMap<String, Grant>,
    pub publishes: BTreeMap<String, posting::Publish>,
    /// upload_token → publish_id.
    pub upload_tokens: HashMap<String, String>,
    pub faults: Vec<Fault>,
    /// (access token, endpoint) → when its requests of the last minute came (Unix ms).
    pub windows: HashMap<(String, Endpoint), std::collections::VecDeque<i64>>,
    pub stats: FakeStats,
    /// Every secret handed out (codes, tokens, upload tokens), for tests that look for leaks.
    pub issued: Vec<String>,
}

impl Inner {
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Takes one use of a fault for `endpoint`, if one is armed.
    pub fn take_fault(&mut self, endpoint: Endpoint) -> Option<FaultKind> {
        let index = self.faults.iter().position(|f| f.endpoint == endpoint)?;
        let fault = &mut self.faults[index];
        if fault.after > 0 {
            fault.after -= 1;
            return None;
        }
        let kind = fault.kind;
        fault.times = fault.times.saturating_sub(1);
        if fault.times == 0 {
            self.faults.remove(index);
        }
        self.stats.faults_fired += 1;
        Some(kind)
    }
}

/// The fake's shared state.
#[derive(Clone)]
pub struct FakeState(Arc<Mutex<Inner>>);

impl FakeState {
    pub fn new(config: FakeConfig, base_url: &str) -> Self {
        FakeState(Arc::new(Mutex::new(Inner {
            config,
            base_url: base_url.trim_end_matches('/').to_string(),
            next_id: 7000,
            codes: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            publishes: BTreeMap::new(),
            upload_tokens: HashMap::new(),
            faults: Vec::new(),
            windows: HashMap::new(),
            stats: FakeStats::default(),
            issued: Vec::new(),
        })))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn add_fault(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Faults armed and not yet used up.
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.lock().faults.clone()
    }

    pub fn update_config(&self, change: impl FnOnce(&mut FakeConfig)) {
        change(&mut self.lock().config);
    }

    /// Makes every access token issued so far expired (calls with them get 401).
    pub fn expire_access_tokens(&self) {
        for grant in self.lock().access_tokens.values_mut() {
            grant.expires_at_secs = 0;
        }
    }

    pub fn stats(&self) -> FakeStats {
        self.lock().stats.clone()
    }

    /// Whether this access token would be accepted now.
    pub fn access_token_works(&self, token: &str) -> bool {
        let now = crate::publish::now_secs();
        self.lock()
            .access_tokens
            .get(token)
            .is_some_and(|g| g.expires_at_secs > now)
    }

    /// Access tokens currently valid (for revocation tests).
    pub fn live_access_tokens(&self) -> usize {
        let now = crate::publish::now_secs();
        self.lock()
            .access_tokens
            .values()
            .filter(|g| g.expires_at_secs > now)
            .count()
    }

    pub fn live_refresh_tokens(&self) -> Vec<String> {
        self.lock().refresh_tokens.keys().cloned().collect()
    }

    pub fn live_access_token_list(&self) -> Vec<String> {
        let now = crate::publish::now_secs();
        self.lock()
            .access_tokens
            .iter()
            .filter(|(_, g)| g.expires_at_secs > now)
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Ends every authorization, as if each user had removed the app in TikTok.
    pub fn revoke_everything(&self) {
        let mut inner = self.lock();
        inner.access_tokens.clear();
        inner.refresh_tokens.clear();
    }

    /// Every code, token and upload token the fake ever handed out.
    pub fn issued_secrets(&self) -> Vec<String> {
        self.lock().issued.clone()
    }

    pub fn publishes(&self) -> Vec<PublishReport> {
        self.lock().publishes.values().map(|p| p.report()).collect()
    }

    pub fn publish(&self, publish_id: &str) -> Option<PublishReport> {
        self.lock().publishes.get(publish_id).map(|p| p.report())
    }

    pub fn publish_bytes(&self, publish_id: &str) -> Option<Vec<u8>> {
        self.lock()
            .publishes
            .get(publish_id)
            .and_then(|p| p.bytes.clone())
    }
}

/// `POST /fake/control`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Control {
    authorize: Option<Authorize>,
    #[serde(default)]
    faults: Vec<Fault>,
    #[serde(default)]
    expire_access_tokens: bool,
    rotate_refresh_tokens: Option<bool>,
    access_expires_in_secs: Option<i64>,
    processing_polls: Option<u32>,
    unaudited: Option<bool>,
}

async fn control(State(state): State<FakeState>, Json(control): Json<Control>) -> Response {
    state.update_config(|c| {
        if let Some(a) = control.authorize {
            c.authorize = a;
        }
        if let Some(r) = control.rotate_refresh_tokens {
            c.rotate_refresh_tokens = r;
        }
        if let Some(secs) = control.access_expires_in_secs {
            c.access_expires_in_secs = secs;
        }
        if let Some(polls) = control.processing_polls {
            c.processing_polls = polls;
        }
        if let Some(u) = control.unaudited {
            c.unaudited = u;
        }
    });
    for fault in control.faults {
        state.add_fault(fault);
    }
    if control.expire_access_tokens {
        state.expire_access_tokens();
    }
    Json(serde_json::json!({ "ok": true, "stats": state.stats() })).into_response()
}

async fn list_publishes(State(state): State<FakeState>) -> Response {
    Json(state.publishes()).into_response()
}

async fn one_publish(State(state): State<FakeState>, Path(id): Path<String>) -> Response {
    match state.publish(&id) {
        Some(report) => Json(report).into_response(),
        None => (StatusCode::NOT_FOUND, "no such publish").into_response(),
    }
}

async fn publish_bytes(State(state): State<FakeState>, Path(id): Path<String>) -> Response {
    match state.publish_bytes(&id) {
        Some(bytes) => bytes.into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "no such publish, or its bytes were not kept (over keep_bytes_max)",
        )
            .into_response(),
    }
}

async fn stats(State(state): State<FakeState>) -> Response {
    Json(state.stats()).into_response()
}

/// The fake's routes (TikTok's paths, plus `/fake/…` to inspect and steer it).
pub fn router(state: FakeState) -> Router {
    Router::new()
        .route("/v2/auth/authorize/", get(oauth::authorize))
        .route("/v2/oauth/token/", post(oauth::token))
        .route("/v2/oauth/revoke/", post(oauth::revoke))
        .route(
            "/v2/post/publish/creator_info/query/",
            post(posting::creator_info),
        )
        .route(
            "/v2/post/publish/inbox/video/init/",
            post(posting::inbox_init),
        )
        .route("/v2/post/publish/video/init/", post(posting::direct_init))
        .route("/v2/post/publish/status/fetch/", post(posting::status))
        .route("/video/", put(posting::put_chunk))
        .route("/fake/control", post(control))
        .route("/fake/stats", get(stats))
        .route("/fake/publishes", get(list_publishes))
        .route("/fake/publishes/{id}", get(one_publish))
        .route("/fake/publishes/{id}/bytes", get(publish_bytes))
        // Chunks are up to 128 MB; the chunk handler checks each against its Content-Length.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

/// A running fake, served until dropped.
pub struct FakeTikTok {
    pub base_url: Url,
    pub state: FakeState,
    task: tokio::task::JoinHandle<()>,
}

impl FakeTikTok {
    /// The relay settings pointing at this fake, with its credentials.
    pub fn tiktok_config(&self, redirect_url: Url) -> crate::config::TikTokConfig {
        let (client_key, client_secret) = {
            let inner = self.state.lock();
            (
                inner.config.client_key.clone(),
                inner.config.client_secret.clone(),
            )
        };
        crate::config::TikTokConfig {
            client_key,
            client_secret,
            redirect_url,
            auth_base: self.base_url.clone(),
            api_base: self.base_url.clone(),
            scopes: crate::config::DEFAULT_SCOPES.into(),
        }
    }
}

impl Drop for FakeTikTok {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves a fake on `addr` (`127.0.0.1:0` picks a free port).
pub async fn start(config: FakeConfig, addr: &str) -> std::io::Result<FakeTikTok> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let base = format!("http://{local}/");
    let base_url = Url::parse(&base).map_err(|e| std::io::Error::other(e.to_string()))?;
    let state = FakeState::new(config, &base);
    let app = router(state.clone());
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "fake TikTok stopped");
        }
    });
    Ok(FakeTikTok {
        base_url,
        state,
        task,
    })
}

/// TikTok's Content Posting error envelope.
pub(crate) fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({
            "data": {},
            "error": { "code": code, "message": message, "log_id": log_id() },
        })),
    )
        .into_response()
}

/// TikTok's OAuth error shape.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(serde_json::json!({
            "error": error,
            "error_description": description,
            "log_id": log_id(),
        })),
    )
        .into_response()
}

fn log_id() -> String {
    format!("fake{}", crate::crypto::random_token(9))
}

/// A fault as TikTok's answer, for endpoints where it happens before any work. `None` for
/// [`FaultKind::Hang`]: the caller awaits forever.
pub(crate) fn fault_response(kind: FaultKind, oauth: bool) -> Option<Response> {
    let (status, code, message) = match kind {
        FaultKind::ServerError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "injected fault",
        ),
        FaultKind::AccessTokenInvalid => (
            StatusCode::UNAUTHORIZED,
            "access_token_invalid",
            "The access token is invalid or not found in the request.",
        ),
        FaultKind::RateLimited => (
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            "API rate limit exceeded",
        ),
        FaultKind::Hang => return None,
    };
    Some(if oauth {
        oauth_error(status, code, message)
    } else {
        api_error(status, code, message)
    })
}

/// Never answers: the connection stays open until the client gives up.
pub(crate) async fn hang() -> Response {
    std::future::pending::<()>().await;
    StatusCode::GATEWAY_TIMEOUT.into_response()
}
