//! Publishing, independent of HTTP: the OAuth flow bound to a browser session, access tokens
//! kept fresh (refreshed before expiry and when TikTok says one is invalid, with a lease in
//! the database so only one request — on any instance — refreshes at a time, and the rotated
//! refresh token stored), the publish steps the editor calls, and per-session budgets that
//! mirror TikTok's rate limits. `api` turns these into routes.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use reqwest::Url;
use serde::Deserialize;

use crate::chunks;
use crate::config::PublishConfig;
use crate::crypto::{pkce_pair, random_token, sha256_hex};
use crate::error::AppError;
use crate::store::{Connection, NewTokens, Store, Upload, UploadState};
use crate::tiktok::{FileSource, PostInfo, TikTok, TikTokError, TokenGrant};
use crate::upload;

/// The video types TikTok takes, as the chunk PUT's `Content-Type`.
pub const VIDEO_TYPES: [&str; 3] = ["video/mp4", "video/webm", "video/quicktime"];
/// TikTok's privacy levels.
pub const PRIVACY_LEVELS: [&str; 4] = [
    "PUBLIC_TO_EVERYONE",
    "MUTUAL_FOLLOW_FRIENDS",
    "FOLLOWER_OF_CREATOR",
    "SELF_ONLY",
];
/// TikTok's limit on a post title, in characters.
pub const MAX_TITLE_CHARS: usize = 2200;
/// How long an upload claim lasts without progress before another request may take it over.
const UPLOAD_LEASE_SECS: i64 = 600;
/// Publishes older than this are forgotten.
const UPLOAD_KEEP_SECS: i64 = 7 * 24 * 3600;

pub fn now_secs() -> i64 {
    now_ms() / 1000
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The first 8 hex digits of a session hash: enough to follow a session through the logs.
pub fn log_id(session_hash: &str) -> &str {
    session_hash.get(..8).unwrap_or(session_hash)
}

// The JSON the editor reads: one definition for both sides.
pub use reelsmith_core::publish_api::{
    Creator, DisconnectReply, Mode, PublishRequest, PublishStarted, SessionStatus, StatusReply,
    UploadDone,
};

/// What TikTok sent back to `/api/callback`.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// How an authorization ended: where to send the browser, with `tiktok=<outcome>`.
#[derive(Debug, PartialEq, Eq)]
pub struct CallbackOutcome {
    pub return_to: String,
    pub outcome: &'static str,
    pub reason: Option<String>,
}

impl CallbackOutcome {
    /// `return_to` with `tiktok=…` (and `reason=…`) added to its query.
    pub fn location(&self) -> String {
        let mut query = format!("tiktok={}", self.outcome);
        if let Some(reason) = &self.reason {
            query.push_str(&format!("&reason={}", url_encode(reason)));
        }
        let (path, fragment) = match self.return_to.split_once('#') {
            Some((p, f)) => (p, Some(f)),
            None => (self.return_to.as_str(), None),
        };
        let separator = if path.contains('?') { '&' } else { '?' };
        match fragment {
            Some(f) => format!("{path}{separator}{query}#{f}"),
            None => format!("{path}{separator}{query}"),
        }
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A path on this origin to come back to; anything else (another site, `//host`) becomes `/`.
pub fn safe_return_to(requested: Option<&str>) -> String {
    match requested {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && path.len() <= 2048
                && !path.chars().any(|c| c.is_control() || c == '\\') =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

fn has_scope(scope: &str, wanted: &str) -> bool {
    scope.split(',').any(|s| s.trim() == wanted)
}

fn tokens_from(grant: TokenGrant, now_secs: i64, previous_scope: Option<&str>) -> NewTokens {
    NewTokens {
        open_id: grant.open_id,
        // A refresh answer may leave the scope out: keep what was granted.
        scope: if grant.scope.is_empty() {
            previous_scope.unwrap_or_default().to_string()
        } else {
            grant.scope
        },
        access_token: grant.access_token,
        access_expires_at_secs: now_secs + grant.expires_in,
        refresh_token: grant.refresh_token,
        refresh_expires_at_secs: now_secs + grant.refresh_expires_in,
    }
}

fn not_connected() -> AppError {
    AppError::NotConnected("Connect TikTok first.".into())
}

/// Publishing to TikTok for browser sessions.
pub struct Publisher {
    config: PublishConfig,
    store: Store,
    tiktok: TikTok,
}

impl Publisher {
    /// Opens the database (running migrations) and prepares the TikTok client.
    pub async fn start(config: PublishConfig) -> Result<Self, String> {
        let store = Store::connect(&config.database_url, config.cipher.clone())
            .await
            .map_err(|e| {
                format!(
                    "cannot open the database {}: {e}",
                    redact_url(&config.database_url)
                )
            })?;
        let tiktok = TikTok::new(config.tiktok.clone(), config.api_timeout)?;
        tracing::info!(database = store.backend(), api = %config.tiktok.api_base, "publishing to TikTok is configured");
        Ok(Self {
            config,
            store,
            tiktok,
        })
    }

    pub fn config(&self) -> &PublishConfig {
        &self.config
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    async fn spend(&self, session_hash: &str, bucket: &str, per_min: u32) -> Result<(), AppError> {
        match self
            .store
            .spend(session_hash, bucket, per_min, self.config.clock.now_ms())
            .await?
        {
            Ok(()) => Ok(()),
            Err(over) => Err(AppError::RateLimited {
                retry_after_secs: over.retry_after_secs,
            }),
        }
    }

    // --- OAuth ---

    /// Starts an authorization for the session: the TikTok page to send the browser to.
    pub async fn start_authorization(
        &self,
        session_hash: &str,
        return_to: &str,
    ) -> Result<Url, AppError> {
        let now = now_secs();
        self.store
            .forget_pending_before(now - self.config.authorize_ttl_secs)
            .await?;
        let state = random_token(32);
        let (verifier, challenge) = pkce_pair();
        self.store
            .put_pending(&sha256_hex(&state), session_hash, &verifier, return_to, now)
            .await?;
        tracing::info!(session = log_id(session_hash), "authorization started");
        self.tiktok
            .authorize_url(&state, &challenge)
            .map_err(AppError::Internal)
    }

    /// Completes an authorization from TikTok's callback. Never fails: every outcome is a
    /// place to send the browser back to. On success the connection is stored under
    /// `new_session_hash` (the browser gets a new session id, so an id planted before the
    /// sign-in is worth nothing after it) and the old session's publishes move with it.
    pub async fn finish_authorization(
        &self,
        session_hash: Option<&str>,
        new_session_hash: &str,
        params: CallbackParams,
    ) -> CallbackOutcome {
        let error = |reason: &str| CallbackOutcome {
            return_to: "/".into(),
            outcome: "error",
            reason: Some(reason.into()),
        };
        let (Some(session_hash), Some(state)) = (session_hash, params.state.as_deref()) else {
            return error(
                "the sign-in did not come back to the browser that started it; connect again",
            );
        };
        let not_before = now_secs() - self.config.authorize_ttl_secs;
        let pending = match self
            .store
            .take_pending(&sha256_hex(state), session_hash, not_before)
            .await
        {
            Ok(Some(pending)) => pending,
            Ok(None) => {
                tracing::warn!(
                    session = log_id(session_hash),
                    "callback with an unknown or expired state"
                );
                return error("the sign-in expired or did not start here; connect again");
            }
            Err(e) => {
                tracing::error!(error = %e, "callback: database");
                return error("the server had a problem; connect again later");
            }
        };
        let (verifier, return_to) = pending;
        let back = |outcome: &'static str, reason: Option<String>| CallbackOutcome {
            return_to: return_to.clone(),
            outcome,
            reason,
        };
        if let Some(code) = params.error.as_deref() {
            tracing::info!(
                session = log_id(session_hash),
                error = code,
                "authorization not granted"
            );
            return if code == "access_denied" {
                back("denied", None)
            } else {
                back(
                    "error",
                    Some(params.error_description.unwrap_or_else(|| code.to_string())),
                )
            };
        }
        let Some(code) = params.code.as_deref() else {
            return back("error", Some("TikTok sent no authorization code".into()));
        };
        let grant = match self.tiktok.exchange_code(code, &verifier).await {
            Ok(grant) => grant,
            Err(e) => {
                tracing::warn!(session = log_id(session_hash), error = ?e.code(), "code exchange failed");
                let reason = match e {
                    TikTokError::Rejected { message, code, .. } if message.is_empty() => code,
                    TikTokError::Rejected { message, .. } => message,
                    TikTokError::Unavailable { reason } => reason,
                };
                return back("error", Some(reason));
            }
        };
        let now = now_secs();
        let saved = async {
            self.store
                .move_session(session_hash, new_session_hash)
                .await?;
            self.store
                .save_connection(new_session_hash, &tokens_from(grant, now, None), now)
                .await
        };
        if let Err(e) = saved.await {
            tracing::error!(error = %e, "callback: storing tokens");
            return back(
                "error",
                Some("the server could not store the connection".into()),
            );
        }
        tracing::info!(session = log_id(new_session_hash), "connected");
        back("connected", None)
    }

    // --- tokens ---

    async fn connection(&self, session_hash: &str) -> Result<Connection, AppError> {
        self.store
            .connection(session_hash)
            .await?
            .ok_or_else(not_connected)
    }

    /// An access token worth using: refreshed first if it expires within the margin, or if
    /// `stale_version` says the one at that version was refused.
    async fn access_token(
        &self,
        session_hash: &str,
        stale_version: Option<i64>,
    ) -> Result<Connection, AppError> {
        let conn = self.connection(session_hash).await?;
        let now = now_secs();
        let expiring = conn.access_expires_at_secs - now <= self.config.refresh_margin_secs;
        let refused = stale_version == Some(conn.token_version);
        if !expiring && !refused {
            return Ok(conn);
        }
        self.refresh(session_hash, conn).await
    }

    async fn refresh(
        &self,
        session_hash: &str,
        mut conn: Connection,
    ) -> Result<Connection, AppError> {
        let poll = Duration::from_millis(50);
        let give_up =
            now_ms() + i64::try_from(self.config.api_timeout.as_millis()).unwrap_or(30_000) * 2;
        loop {
            let now = now_secs();
            if conn.refresh_expires_at_secs <= now {
                self.store.delete_connection(session_hash).await?;
                return Err(AppError::NotConnected(
                    "The TikTok connection expired: connect TikTok again.".into(),
                ));
            }
            let lease_until = now + self.config.api_timeout.as_secs() as i64 + 5;
            if self
                .store
                .lease_refresh(session_hash, conn.token_version, now, lease_until)
                .await?
            {
                return self.refresh_holding_lease(session_hash, conn).await;
            }
            // Someone else (maybe another instance) is refreshing: use what they store.
            tokio::time::sleep(poll).await;
            let latest = self.connection(session_hash).await?;
            if latest.token_version != conn.token_version {
                return Ok(latest);
            }
            if now_ms() > give_up {
                return Err(AppError::TikTokUnavailable {
                    message:
                        "Renewing the TikTok connection is taking too long. Try again in a moment."
                            .into(),
                    retryable: true,
                });
            }
            conn = latest;
        }
    }

    /// Refreshes with the lease held. Runs as a task of its own: if the browser goes away
    /// mid-request, the refresh still finishes and is stored — with rotation, a refresh that
    /// TikTok did but the relay dropped would leave only a dead refresh token.
    async fn refresh_holding_lease(
        &self,
        session_hash: &str,
        conn: Connection,
    ) -> Result<Connection, AppError> {
        let (tiktok, store, session_hash) = (
            self.tiktok.clone(),
            self.store.clone(),
            session_hash.to_string(),
        );
        tokio::spawn(async move { refresh_and_store(&tiktok, &store, &session_hash, conn).await })
            .await
            .unwrap_or_else(|e| Err(AppError::Internal(format!("the refresh task failed: {e}"))))
    }

    /// Runs a TikTok call with a fresh access token; if TikTok says the token is invalid,
    /// refreshes once and runs it again (safe: TikTok did nothing with an invalid token).
    async fn with_access<T, F, Fut>(
        &self,
        session_hash: &str,
        call: F,
    ) -> Result<Result<T, TikTokError>, AppError>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = Result<T, TikTokError>>,
    {
        let conn = self.access_token(session_hash, None).await?;
        let version = conn.token_version;
        match call(conn).await {
            Err(TikTokError::Rejected { code, .. }) if code == "access_token_invalid" => {
                tracing::info!(
                    session = log_id(session_hash),
                    "access token refused; refreshing"
                );
                let conn = self.access_token(session_hash, Some(version)).await?;
                Ok(call(conn).await)
            }
            other => Ok(other),
        }
    }

    /// Like `with_access`, for calls that change nothing (creator info, status): one more try
    /// when TikTok fails or does not answer.
    async fn read_with_access<T, F, Fut>(&self, session_hash: &str, call: F) -> Result<T, AppError>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = Result<T, TikTokError>>,
    {
        match self.with_access(session_hash, &call).await? {
            Err(TikTokError::Unavailable { reason }) => {
                tracing::warn!(session = log_id(session_hash), %reason, "retrying a read");
                self.with_access(session_hash, &call)
                    .await?
                    .map_err(|e| AppError::from_tiktok(e, true))
            }
            other => other.map_err(|e| AppError::from_tiktok(e, true)),
        }
    }

    // --- the steps the editor calls ---

    pub async fn session_status(
        &self,
        session_hash: Option<&str>,
    ) -> Result<SessionStatus, AppError> {
        let disconnected = SessionStatus {
            configured: true,
            ..SessionStatus::default()
        };
        let Some(session_hash) = session_hash else {
            return Ok(disconnected);
        };
        let Some(conn) = self.store.connection(session_hash).await? else {
            return Ok(disconnected);
        };
        let inbox_allowed = has_scope(&conn.scope, "video.upload");
        let direct_allowed = has_scope(&conn.scope, "video.publish");
        let mut status = SessionStatus {
            configured: true,
            connected: true,
            inbox_allowed: Some(inbox_allowed),
            direct_allowed: Some(direct_allowed),
            ..SessionStatus::default()
        };
        // creator_info needs video.publish; without it there is nothing more to show.
        if !direct_allowed {
            return Ok(status);
        }
        self.spend(
            session_hash,
            "creator_info",
            self.config.limits.creator_info_per_min,
        )
        .await?;
        let info = self
            .read_with_access(session_hash, |conn| {
                let tiktok = self.tiktok.clone();
                async move { tiktok.creator_info(&conn.access_token).await }
            })
            .await?;
        status.creator = Some(Creator {
            nickname: info.creator_nickname,
            username: info.creator_username,
            avatar_url: info.creator_avatar_url,
        });
        status.privacy_level_options = Some(info.privacy_level_options);
        status.comment_disabled = Some(info.comment_disabled);
        status.duet_disabled = Some(info.duet_disabled);
        status.stitch_disabled = Some(info.stitch_disabled);
        status.max_video_post_duration_secs = Some(info.max_video_post_duration_sec);
        Ok(status)
    }

    pub async fn init(
        &self,
        session_hash: &str,
        request: PublishRequest,
    ) -> Result<PublishStarted, AppError> {
        if !VIDEO_TYPES.contains(&request.content_type.as_str()) {
            return Err(AppError::BadRequest(format!(
                "content_type {:?} is not one TikTok takes: use one of {}",
                request.content_type,
                VIDEO_TYPES.join(", ")
            )));
        }
        let plan = chunks::plan(request.video_size_bytes, self.config.preferred_chunk_bytes)
            .map_err(|e| AppError::BadRequest(e.to_string()))?;
        let post = match request.mode {
            Mode::Inbox => None,
            Mode::Direct => {
                let Some(privacy_level) = request.privacy_level.clone() else {
                    return Err(AppError::BadRequest(
                        "privacy_level is required for a direct post: choose who can see it".into(),
                    ));
                };
                if !PRIVACY_LEVELS.contains(&privacy_level.as_str()) {
                    return Err(AppError::BadRequest(format!(
                        "privacy_level {privacy_level:?} is not one of {}",
                        PRIVACY_LEVELS.join(", ")
                    )));
                }
                let title = request.title.clone().unwrap_or_default();
                if title.chars().count() > MAX_TITLE_CHARS {
                    return Err(AppError::BadRequest(format!(
                        "the title is longer than TikTok's {MAX_TITLE_CHARS} characters"
                    )));
                }
                Some(PostInfo {
                    title,
                    privacy_level,
                    disable_duet: request.disable_duet,
                    disable_comment: request.disable_comment,
                    disable_stitch: request.disable_stitch,
                    video_cover_timestamp_ms: request.video_cover_timestamp_ms,
                })
            }
        };
        let conn = self.connection(session_hash).await?;
        let needed = if post.is_some() {
            "video.publish"
        } else {
            "video.upload"
        };
        if !has_scope(&conn.scope, needed) {
            return Err(AppError::NotConnected(format!(
                "TikTok was not given the {needed} permission: connect TikTok again and allow it."
            )));
        }
        self.spend(session_hash, "init", self.config.limits.init_per_min)
            .await?;
        let source = FileSource {
            video_size: plan.video_size_bytes,
            chunk_size: plan.chunk_size_bytes,
            total_chunk_count: plan.total_chunk_count,
        };
        let data = self
            .with_access(session_hash, |conn| {
                let tiktok = self.tiktok.clone();
                let post = post.clone();
                async move {
                    match post {
                        Some(post) => tiktok.init_direct(&conn.access_token, &post, source).await,
                        None => tiktok.init_inbox(&conn.access_token, source).await,
                    }
                }
            })
            .await?
            // Not retried: TikTok may have created the publish before failing.
            .map_err(|e| AppError::from_tiktok(e, false))?;
        if data.upload_url.is_empty() {
            return Err(AppError::TikTokRejected {
                tiktok_code: "invalid_response".into(),
                message: "TikTok gave no upload URL; try again.".into(),
            });
        }
        let now = now_secs();
        let upload = Upload {
            publish_id: data.publish_id.clone(),
            mode: match request.mode {
                Mode::Inbox => "inbox".into(),
                Mode::Direct => "direct".into(),
            },
            upload_url: data.upload_url,
            content_type: request.content_type,
            video_size_bytes: plan.video_size_bytes,
            chunk_size_bytes: plan.chunk_size_bytes,
            total_chunk_count: plan.total_chunk_count,
            chunks_done: 0,
            state: UploadState::Ready,
        };
        self.store
            .forget_uploads_before(now - UPLOAD_KEEP_SECS)
            .await?;
        self.store.insert_upload(session_hash, &upload, now).await?;
        tracing::info!(
            session = log_id(session_hash),
            publish_id = %upload.publish_id,
            mode = %upload.mode,
            video_size_bytes = plan.video_size_bytes,
            chunks = plan.total_chunk_count,
            "publish started"
        );
        Ok(PublishStarted {
            upload_path: format!("/api/upload/{}", path_segment(&upload.publish_id)),
            publish_id: upload.publish_id,
            video_size_bytes: plan.video_size_bytes,
            chunk_size_bytes: plan.chunk_size_bytes,
            total_chunk_count: plan.total_chunk_count,
        })
    }

    /// Streams the browser's body to TikTok. `content_length` and `content_type` are the
    /// request's headers. On an error the rest of a short body is read first, so the browser
    /// gets the answer rather than a reset connection.
    pub async fn upload(
        &self,
        session_hash: Option<&str>,
        publish_id: &str,
        content_length: Option<u64>,
        content_type: Option<&str>,
        body: Body,
    ) -> Result<UploadDone, AppError> {
        let mut incoming = upload::Incoming::new(body, content_length.unwrap_or(0));
        let result = match session_hash {
            Some(session_hash) => {
                self.upload_from(
                    session_hash,
                    publish_id,
                    content_length,
                    content_type,
                    &mut incoming,
                )
                .await
            }
            None => Err(not_connected()),
        };
        if result.is_err() {
            incoming.drain(self.config.chunk_stall_timeout).await;
        }
        result
    }

    async fn upload_from(
        &self,
        session_hash: &str,
        publish_id: &str,
        content_length: Option<u64>,
        content_type: Option<&str>,
        incoming: &mut upload::Incoming,
    ) -> Result<UploadDone, AppError> {
        let upload = self
            .store
            .upload(session_hash, publish_id)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(
                    "No such publish for this browser: start the publish again.".into(),
                )
            })?;
        if upload.state == UploadState::Uploaded {
            return Err(AppError::AlreadyUploaded);
        }
        let Some(length) = content_length else {
            return Err(AppError::LengthRequired);
        };
        if length != upload.video_size_bytes {
            return Err(AppError::PayloadTooLarge(format!(
                "The upload is {length} bytes but the publish was started for {} bytes: start the publish again with the file's size.",
                upload.video_size_bytes
            )));
        }
        if let Some(content_type) = content_type {
            let base = content_type.split(';').next().unwrap_or_default().trim();
            if base != upload.content_type {
                return Err(AppError::BadRequest(format!(
                    "The upload is {base:?} but the publish was started as {:?}.",
                    upload.content_type
                )));
            }
        }
        let now = now_secs();
        if !self
            .store
            .claim_upload(session_hash, publish_id, now, now + UPLOAD_LEASE_SECS)
            .await?
        {
            return Err(AppError::UploadInProgress);
        }
        let plan = chunks::ChunkPlan {
            video_size_bytes: upload.video_size_bytes,
            chunk_size_bytes: upload.chunk_size_bytes,
            total_chunk_count: upload.total_chunk_count,
        };
        tracing::info!(
            session = log_id(session_hash),
            publish_id,
            resume_at_chunk = upload.chunks_done + 1,
            "upload started"
        );
        let target = upload::Target {
            tiktok: &self.tiktok,
            upload_url: &upload.upload_url,
            content_type: &upload.content_type,
            plan,
            chunks_done: upload.chunks_done,
            spool_dir: &self.config.spool_dir,
            stall_timeout: self.config.chunk_stall_timeout,
            attempts: self.config.chunk_attempts.max(1),
        };
        let store = &self.store;
        let result = upload::forward(target, incoming, |done| async move {
            store
                .record_chunks(publish_id, done, now_secs() + UPLOAD_LEASE_SECS)
                .await
                .map_err(AppError::from)
        })
        .await;
        match result {
            Ok(()) => {
                self.store
                    .end_upload(publish_id, UploadState::Uploaded)
                    .await?;
                tracing::info!(
                    session = log_id(session_hash),
                    publish_id,
                    "upload complete"
                );
                Ok(UploadDone {
                    publish_id: publish_id.to_string(),
                    uploaded_bytes: upload.video_size_bytes,
                    total_chunk_count: upload.total_chunk_count,
                })
            }
            Err(e) => {
                self.store
                    .end_upload(publish_id, UploadState::Ready)
                    .await?;
                tracing::warn!(session = log_id(session_hash), publish_id, error = %e, "upload stopped");
                Err(e)
            }
        }
    }

    pub async fn status(
        &self,
        session_hash: &str,
        publish_id: &str,
    ) -> Result<StatusReply, AppError> {
        if self.store.upload(session_hash, publish_id).await?.is_none() {
            return Err(AppError::NotFound(
                "No such publish for this browser.".into(),
            ));
        }
        self.spend(session_hash, "status", self.config.limits.status_per_min)
            .await?;
        let status = self
            .read_with_access(session_hash, |conn| {
                let tiktok = self.tiktok.clone();
                async move { tiktok.status(&conn.access_token, publish_id).await }
            })
            .await?;
        let done = matches!(
            status.status.as_str(),
            "SEND_TO_USER_INBOX" | "PUBLISH_COMPLETE" | "FAILED"
        );
        Ok(StatusReply {
            publish_id: publish_id.to_string(),
            done,
            fail_reason: status.fail_reason.filter(|r| !r.is_empty()),
            uploaded_bytes: status.uploaded_bytes,
            post_ids: status
                .publicaly_available_post_id
                .iter()
                .map(|id| match id {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
            status: status.status,
        })
    }

    /// Revokes at TikTok (one more try if TikTok fails) and deletes the tokens either way.
    pub async fn disconnect(&self, session_hash: &str) -> Result<DisconnectReply, AppError> {
        let Some(conn) = self.store.delete_connection(session_hash).await? else {
            return Ok(DisconnectReply {
                connected: false,
                revoked_at_tiktok: false,
            });
        };
        let mut revoked = self.tiktok.revoke(&conn.access_token).await;
        if matches!(revoked, Err(TikTokError::Unavailable { .. })) {
            revoked = self.tiktok.revoke(&conn.access_token).await;
        }
        match &revoked {
            Ok(()) => tracing::info!(session = log_id(session_hash), "disconnected and revoked"),
            Err(e) => {
                tracing::warn!(session = log_id(session_hash), error = ?e.code(), "disconnected; TikTok did not confirm the revocation")
            }
        }
        Ok(DisconnectReply {
            connected: false,
            revoked_at_tiktok: revoked.is_ok(),
        })
    }
}

async fn refresh_and_store(
    tiktok: &TikTok,
    store: &Store,
    session_hash: &str,
    conn: Connection,
) -> Result<Connection, AppError> {
    match tiktok.refresh(&conn.refresh_token).await {
        Ok(grant) => {
            let now = now_secs();
            let rotated = grant.refresh_token != conn.refresh_token;
            let tokens = tokens_from(grant, now, Some(&conn.scope));
            if !store
                .store_refreshed(session_hash, conn.token_version, &tokens, now)
                .await?
            {
                // Disconnected meanwhile.
                return Err(not_connected());
            }
            tracing::info!(
                session = log_id(session_hash),
                rotated,
                "access token refreshed"
            );
            store
                .connection(session_hash)
                .await?
                .ok_or_else(not_connected)
        }
        Err(TikTokError::Rejected { code, .. }) if code == "invalid_grant" => {
            tracing::info!(
                session = log_id(session_hash),
                "refresh token refused; disconnecting"
            );
            store.delete_connection(session_hash).await?;
            Err(AppError::NotConnected(
                "TikTok ended the connection: connect TikTok again.".into(),
            ))
        }
        Err(e) => {
            store.release_refresh(session_hash).await?;
            Err(AppError::from_tiktok(e, true))
        }
    }
}

/// A publish id as one URL path segment (TikTok's ids hold `~` and `.`, which are fine, but
/// nothing guarantees they stay that way).
pub fn path_segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A database URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_stays_on_this_origin() {
        assert_eq!(safe_return_to(Some("/?model=x")), "/?model=x");
        assert_eq!(safe_return_to(Some("/editor#clip")), "/editor#clip");
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "",
            "x",
            "/a\nb",
        ] {
            assert_eq!(safe_return_to(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_return_to(None), "/");
    }

    #[test]
    fn the_outcome_is_added_to_the_return_path() {
        let at = |return_to: &str, outcome, reason: Option<&str>| {
            CallbackOutcome {
                return_to: return_to.into(),
                outcome,
                reason: reason.map(String::from),
            }
            .location()
        };
        assert_eq!(at("/", "connected", None), "/?tiktok=connected");
        assert_eq!(at("/?a=1#x", "denied", None), "/?a=1&tiktok=denied#x");
        assert_eq!(
            at("/", "error", Some("bad code & more")),
            "/?tiktok=error&reason=bad+code+%26+more"
        );
    }

    #[test]
    fn publish_ids_become_one_path_segment() {
        assert_eq!(path_segment("v_inbox_file~v2.123"), "v_inbox_file~v2.123");
        assert_eq!(path_segment("a/b?c"), "a%2Fb%3Fc");
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redact_url("postgres://relay:hunter2@db/relay"),
            "postgres://relay:***@db/relay"
        );
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }

    #[test]
    fn scopes_are_comma_separated() {
        assert!(has_scope("user.info.basic,video.upload", "video.upload"));
        assert!(!has_scope("user.info.basic,video.upload", "video.publish"));
    }
}
