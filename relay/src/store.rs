//! Everything the relay remembers, in SQLite or PostgreSQL (the URL picks: `sqlite://…` or
//! `postgres://…`), through sqlx's `Any` driver and one portable migration set
//! (`relay/migrations`). Nothing lives in process memory, so several relay instances can share
//! one database. Tokens and upload URLs are sealed by [`TokenCipher`] on the way in and opened
//! on the way out; the rest of the relay only sees plain values.

use std::path::Path;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::crypto::TokenCipher;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Database access for publishing.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    cipher: TokenCipher,
    backend: &'static str,
}

/// A stored TikTok connection, tokens opened.
#[derive(Clone)]
pub struct Connection {
    pub open_id: String,
    pub scope: String,
    pub access_token: String,
    pub access_expires_at_secs: i64,
    pub refresh_token: String,
    pub refresh_expires_at_secs: i64,
    pub token_version: i64,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("open_id", &self.open_id)
            .field("scope", &self.scope)
            .field("access_expires_at_secs", &self.access_expires_at_secs)
            .field("token_version", &self.token_version)
            .finish_non_exhaustive()
    }
}

/// Tokens from a grant, with absolute expiry times.
pub struct NewTokens {
    pub open_id: String,
    pub scope: String,
    pub access_token: String,
    pub access_expires_at_secs: i64,
    pub refresh_token: String,
    pub refresh_expires_at_secs: i64,
}

/// Where an upload stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadState {
    Ready,
    Uploading,
    Uploaded,
}

impl UploadState {
    fn as_str(self) -> &'static str {
        match self {
            UploadState::Ready => "ready",
            UploadState::Uploading => "uploading",
            UploadState::Uploaded => "uploaded",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "uploading" => UploadState::Uploading,
            "uploaded" => UploadState::Uploaded,
            _ => UploadState::Ready,
        }
    }
}

/// A publish started at TikTok.
#[derive(Clone)]
pub struct Upload {
    pub publish_id: String,
    pub mode: String,
    pub upload_url: String,
    pub content_type: String,
    pub video_size_bytes: u64,
    pub chunk_size_bytes: u64,
    pub total_chunk_count: u64,
    pub chunks_done: u64,
    pub state: UploadState,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("publish_id", &self.publish_id)
            .field("video_size_bytes", &self.video_size_bytes)
            .field("chunks_done", &self.chunks_done)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// A request over budget: when the next one may go.
#[derive(Debug, PartialEq, Eq)]
pub struct OverBudget {
    pub retry_after_secs: u64,
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl Store {
    /// Opens (creating a SQLite file and its folder if needed) and migrates the database.
    pub async fn connect(url: &str, cipher: TokenCipher) -> Result<Store, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let is_sqlite = url.starts_with("sqlite:");
        let url = if is_sqlite {
            prepare_sqlite_url(url)?
        } else {
            url.to_string()
        };
        let pool = AnyPoolOptions::new()
            // SQLite has one writer at a time: more connections only queue on its lock.
            .max_connections(if is_sqlite { 8 } else { 20 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if is_sqlite {
                        // WAL lets readers run beside the writer; waiting on a busy database
                        // beats failing a user's request.
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Store {
            pool,
            cipher,
            backend: if is_sqlite { "sqlite" } else { "postgres" },
        })
    }

    /// `sqlite` or `postgres`, for logs.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    fn seal(&self, value: &str, column: &str, row: &str) -> String {
        self.cipher.seal(value, &format!("{column}:{row}"))
    }

    fn open(&self, value: &str, column: &str, row: &str) -> Option<String> {
        self.cipher.open(value, &format!("{column}:{row}")).ok()
    }

    // --- authorizations in progress ---

    pub async fn put_pending(
        &self,
        state_hash: &str,
        session_hash: &str,
        code_verifier: &str,
        return_to: &str,
        now_secs: i64,
    ) -> Result<(), sqlx::Error> {
        let sealed = self.seal(code_verifier, "oauth_pending.code_verifier", state_hash);
        sqlx::query(
            "INSERT INTO oauth_pending (state_hash, session_hash, code_verifier, return_to, created_at_secs) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(state_hash)
        .bind(session_hash)
        .bind(sealed)
        .bind(return_to)
        .bind(now_secs)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes (once) the pending authorization with this state, if it belongs to this session
    /// and is not older than `not_before_secs`: `(code_verifier, return_to)`.
    pub async fn take_pending(
        &self,
        state_hash: &str,
        session_hash: &str,
        not_before_secs: i64,
    ) -> Result<Option<(String, String)>, sqlx::Error> {
        let row = sqlx::query(
            "DELETE FROM oauth_pending WHERE state_hash = $1 AND session_hash = $2 AND created_at_secs >= $3 \
             RETURNING code_verifier, return_to",
        )
        .bind(state_hash)
        .bind(session_hash)
        .bind(not_before_secs)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let sealed: String = row.try_get(0)?;
        let return_to: String = row.try_get(1)?;
        Ok(self
            .open(&sealed, "oauth_pending.code_verifier", state_hash)
            .map(|verifier| (verifier, return_to)))
    }

    /// Forgets authorizations that were never completed.
    pub async fn forget_pending_before(&self, before_secs: i64) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM oauth_pending WHERE created_at_secs < $1")
            .bind(before_secs)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // --- connections ---

    /// Stores a new connection for the session, replacing any earlier one.
    pub async fn save_connection(
        &self,
        session_hash: &str,
        tokens: &NewTokens,
        now_secs: i64,
    ) -> Result<(), sqlx::Error> {
        let access = self.seal(
            &tokens.access_token,
            "connections.access_token",
            session_hash,
        );
        let refresh = self.seal(
            &tokens.refresh_token,
            "connections.refresh_token",
            session_hash,
        );
        sqlx::query(
            "INSERT INTO connections (session_hash, open_id, scope, access_token, access_expires_at_secs, \
               refresh_token, refresh_expires_at_secs, token_version, refresh_lease_until_secs, created_at_secs, updated_at_secs) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, 0, $8, $8) \
             ON CONFLICT (session_hash) DO UPDATE SET open_id = excluded.open_id, scope = excluded.scope, \
               access_token = excluded.access_token, access_expires_at_secs = excluded.access_expires_at_secs, \
               refresh_token = excluded.refresh_token, refresh_expires_at_secs = excluded.refresh_expires_at_secs, \
               token_version = connections.token_version + 1, refresh_lease_until_secs = 0, \
               updated_at_secs = excluded.updated_at_secs",
        )
        .bind(session_hash)
        .bind(&tokens.open_id)
        .bind(&tokens.scope)
        .bind(access)
        .bind(tokens.access_expires_at_secs)
        .bind(refresh)
        .bind(tokens.refresh_expires_at_secs)
        .bind(now_secs)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    fn connection_from(
        &self,
        session_hash: &str,
        row: &AnyRow,
    ) -> Result<Option<Connection>, sqlx::Error> {
        let access: String = row.try_get("access_token")?;
        let refresh: String = row.try_get("refresh_token")?;
        let (Some(access_token), Some(refresh_token)) = (
            self.open(&access, "connections.access_token", session_hash),
            self.open(&refresh, "connections.refresh_token", session_hash),
        ) else {
            // Sealed under another key (REELSMITH_TOKEN_KEY changed): the user connects again.
            tracing::warn!(session = %&session_hash[..8], "stored tokens do not open with this key; treating the session as disconnected");
            return Ok(None);
        };
        Ok(Some(Connection {
            open_id: row.try_get("open_id")?,
            scope: row.try_get("scope")?,
            access_token,
            access_expires_at_secs: row.try_get("access_expires_at_secs")?,
            refresh_token,
            refresh_expires_at_secs: row.try_get("refresh_expires_at_secs")?,
            token_version: row.try_get("token_version")?,
        }))
    }

    pub async fn connection(&self, session_hash: &str) -> Result<Option<Connection>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT open_id, scope, access_token, access_expires_at_secs, refresh_token, \
               refresh_expires_at_secs, token_version FROM connections WHERE session_hash = $1",
        )
        .bind(session_hash)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => self.connection_from(session_hash, &row),
            None => Ok(None),
        }
    }

    /// Claims the right to refresh this connection's tokens until `lease_until_secs`, if they
    /// are still at `token_version` and nobody else holds an unexpired claim.
    pub async fn lease_refresh(
        &self,
        session_hash: &str,
        token_version: i64,
        now_secs: i64,
        lease_until_secs: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE connections SET refresh_lease_until_secs = $1 \
             WHERE session_hash = $2 AND token_version = $3 AND refresh_lease_until_secs < $4",
        )
        .bind(lease_until_secs)
        .bind(session_hash)
        .bind(token_version)
        .bind(now_secs)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores refreshed tokens over `token_version` (and releases the claim).
    pub async fn store_refreshed(
        &self,
        session_hash: &str,
        token_version: i64,
        tokens: &NewTokens,
        now_secs: i64,
    ) -> Result<bool, sqlx::Error> {
        let access = self.seal(
            &tokens.access_token,
            "connections.access_token",
            session_hash,
        );
        let refresh = self.seal(
            &tokens.refresh_token,
            "connections.refresh_token",
            session_hash,
        );
        let done = sqlx::query(
            "UPDATE connections SET scope = $1, access_token = $2, access_expires_at_secs = $3, \
               refresh_token = $4, refresh_expires_at_secs = $5, token_version = token_version + 1, \
               refresh_lease_until_secs = 0, updated_at_secs = $6 \
             WHERE session_hash = $7 AND token_version = $8",
        )
        .bind(&tokens.scope)
        .bind(access)
        .bind(tokens.access_expires_at_secs)
        .bind(refresh)
        .bind(tokens.refresh_expires_at_secs)
        .bind(now_secs)
        .bind(session_hash)
        .bind(token_version)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn release_refresh(&self, session_hash: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE connections SET refresh_lease_until_secs = 0 WHERE session_hash = $1")
            .bind(session_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Moves a session's publishes to a new session id and forgets its connection (which is
    /// about to be replaced; its sealed tokens are bound to the old id).
    pub async fn move_session(&self, from_hash: &str, to_hash: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE uploads SET session_hash = $1 WHERE session_hash = $2")
            .bind(to_hash)
            .bind(from_hash)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM connections WHERE session_hash = $1")
            .bind(from_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes the session's connection and its publishes; returns the connection that was
    /// stored (to revoke its token).
    pub async fn delete_connection(
        &self,
        session_hash: &str,
    ) -> Result<Option<Connection>, sqlx::Error> {
        let row = sqlx::query(
            "DELETE FROM connections WHERE session_hash = $1 RETURNING open_id, scope, access_token, \
               access_expires_at_secs, refresh_token, refresh_expires_at_secs, token_version",
        )
        .bind(session_hash)
        .fetch_optional(&self.pool)
        .await?;
        sqlx::query("DELETE FROM uploads WHERE session_hash = $1")
            .bind(session_hash)
            .execute(&self.pool)
            .await?;
        match row {
            Some(row) => self.connection_from(session_hash, &row),
            None => Ok(None),
        }
    }

    // --- uploads ---

    pub async fn insert_upload(
        &self,
        session_hash: &str,
        upload: &Upload,
        now_secs: i64,
    ) -> Result<(), sqlx::Error> {
        let url = self.seal(&upload.upload_url, "uploads.upload_url", &upload.publish_id);
        sqlx::query(
            "INSERT INTO uploads (publish_id, session_hash, mode, upload_url, content_type, video_size_bytes, \
               chunk_size_bytes, total_chunk_count, chunks_done, state, lease_until_secs, created_at_secs) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11)",
        )
        .bind(&upload.publish_id)
        .bind(session_hash)
        .bind(&upload.mode)
        .bind(url)
        .bind(&upload.content_type)
        .bind(to_i64(upload.video_size_bytes))
        .bind(to_i64(upload.chunk_size_bytes))
        .bind(to_i64(upload.total_chunk_count))
        .bind(to_i64(upload.chunks_done))
        .bind(upload.state.as_str())
        .bind(now_secs)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets publishes started before `before_secs` (their upload URLs expired long ago).
    pub async fn forget_uploads_before(&self, before_secs: i64) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM uploads WHERE created_at_secs < $1")
            .bind(before_secs)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The session's publish with this id (another session's is not found).
    pub async fn upload(
        &self,
        session_hash: &str,
        publish_id: &str,
    ) -> Result<Option<Upload>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT mode, upload_url, content_type, video_size_bytes, chunk_size_bytes, total_chunk_count, \
               chunks_done, state FROM uploads WHERE publish_id = $1 AND session_hash = $2",
        )
        .bind(publish_id)
        .bind(session_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let sealed: String = row.try_get("upload_url")?;
        let Some(upload_url) = self.open(&sealed, "uploads.upload_url", publish_id) else {
            return Ok(None);
        };
        let state: String = row.try_get("state")?;
        Ok(Some(Upload {
            publish_id: publish_id.to_string(),
            mode: row.try_get("mode")?,
            upload_url,
            content_type: row.try_get("content_type")?,
            video_size_bytes: to_u64(row.try_get("video_size_bytes")?),
            chunk_size_bytes: to_u64(row.try_get("chunk_size_bytes")?),
            total_chunk_count: to_u64(row.try_get("total_chunk_count")?),
            chunks_done: to_u64(row.try_get("chunks_done")?),
            state: UploadState::parse(&state),
        }))
    }

    /// Marks the upload as in progress until `lease_until_secs`, unless it already is (on any
    /// instance, with a live lease) or is finished. Returns whether this request got it.
    pub async fn claim_upload(
        &self,
        session_hash: &str,
        publish_id: &str,
        now_secs: i64,
        lease_until_secs: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE uploads SET state = 'uploading', lease_until_secs = $1 \
             WHERE publish_id = $2 AND session_hash = $3 \
               AND (state = 'ready' OR (state = 'uploading' AND lease_until_secs < $4))",
        )
        .bind(lease_until_secs)
        .bind(publish_id)
        .bind(session_hash)
        .bind(now_secs)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that TikTok has the first `chunks_done` chunks, and extends the claim.
    pub async fn record_chunks(
        &self,
        publish_id: &str,
        chunks_done: u64,
        lease_until_secs: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE uploads SET chunks_done = $1, lease_until_secs = $2 WHERE publish_id = $3",
        )
        .bind(to_i64(chunks_done))
        .bind(lease_until_secs)
        .bind(publish_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends the claim: `Uploaded` when TikTok has every chunk, `Ready` to allow a resume.
    pub async fn end_upload(
        &self,
        publish_id: &str,
        state: UploadState,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE uploads SET state = $1, lease_until_secs = 0 WHERE publish_id = $2")
            .bind(state.as_str())
            .bind(publish_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // --- rate limits ---

    /// Spends one request of `bucket`'s budget of `per_min` a minute (a burst of `per_min`,
    /// then one every `60 / per_min` s: GCRA, one row per session and bucket, atomic in one
    /// statement so concurrent instances share the budget).
    pub async fn spend(
        &self,
        session_hash: &str,
        bucket: &str,
        per_min: u32,
        now_ms: i64,
    ) -> Result<Result<(), OverBudget>, sqlx::Error> {
        const WINDOW_MS: i64 = 60_000;
        let interval_ms = WINDOW_MS / i64::from(per_min.max(1));
        let row = sqlx::query(
            "INSERT INTO rate_limits (session_hash, bucket, tat_ms) VALUES ($1, $2, $3 + $4) \
             ON CONFLICT (session_hash, bucket) DO UPDATE \
               SET tat_ms = (CASE WHEN rate_limits.tat_ms > $3 THEN rate_limits.tat_ms ELSE $3 END) + $4 \
               WHERE (CASE WHEN rate_limits.tat_ms > $3 THEN rate_limits.tat_ms ELSE $3 END) + $4 - $3 <= $5 \
             RETURNING tat_ms",
        )
        .bind(session_hash)
        .bind(bucket)
        .bind(now_ms)
        .bind(interval_ms)
        .bind(WINDOW_MS)
        .fetch_optional(&self.pool)
        .await?;
        if row.is_some() {
            return Ok(Ok(()));
        }
        let tat_ms: i64 =
            sqlx::query("SELECT tat_ms FROM rate_limits WHERE session_hash = $1 AND bucket = $2")
                .bind(session_hash)
                .bind(bucket)
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
        let wait_ms = (tat_ms + interval_ms - now_ms - WINDOW_MS).max(1);
        Ok(Err(OverBudget {
            retry_after_secs: to_u64(wait_ms).div_ceil(1000),
        }))
    }
}

/// Adds `mode=rwc` (create if missing) to a SQLite URL and makes the file's folder.
fn prepare_sqlite_url(url: &str) -> Result<String, sqlx::Error> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:" && !path.is_empty() {
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)?;
        }
    }
    let url = if query.contains("mode=") {
        url.to_string()
    } else if query.is_empty() {
        format!("{url}?mode=rwc")
    } else {
        format!("{url}&mode=rwc")
    };
    Ok(url)
}
