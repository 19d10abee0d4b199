-- Publishing state, portable between SQLite and PostgreSQL (one migration set for both):
-- TEXT and BIGINT only, times as Unix seconds (or milliseconds where named), secrets sealed
-- with AES-256-GCM by the relay before they get here. Session ids and OAuth states are kept
-- as SHA-256 hex: a copy of this database does not hand out live sessions.

-- An authorization in progress: the PKCE verifier waiting for TikTok's callback.
CREATE TABLE oauth_pending (
    state_hash TEXT PRIMARY KEY,
    session_hash TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    return_to TEXT NOT NULL,
    created_at_secs BIGINT NOT NULL
);

-- One TikTok connection per browser session.
CREATE TABLE connections (
    session_hash TEXT PRIMARY KEY,
    open_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    access_token TEXT NOT NULL,
    access_expires_at_secs BIGINT NOT NULL,
    refresh_token TEXT NOT NULL,
    refresh_expires_at_secs BIGINT NOT NULL,
    -- Bumped by every refresh; a refresh only lands on the version it started from.
    token_version BIGINT NOT NULL,
    -- Until when one request (on any relay instance) owns the refresh.
    refresh_lease_until_secs BIGINT NOT NULL,
    created_at_secs BIGINT NOT NULL,
    updated_at_secs BIGINT NOT NULL
);

-- A publish started at TikTok and the progress of its upload, so an interrupted upload
-- resumes at the first chunk TikTok does not have, on whichever instance it reaches.
CREATE TABLE uploads (
    publish_id TEXT PRIMARY KEY,
    session_hash TEXT NOT NULL,
    mode TEXT NOT NULL,
    upload_url TEXT NOT NULL,
    content_type TEXT NOT NULL,
    video_size_bytes BIGINT NOT NULL,
    chunk_size_bytes BIGINT NOT NULL,
    total_chunk_count BIGINT NOT NULL,
    chunks_done BIGINT NOT NULL,
    -- ready | uploading | uploaded
    state TEXT NOT NULL,
    lease_until_secs BIGINT NOT NULL,
    created_at_secs BIGINT NOT NULL
);
CREATE INDEX uploads_by_session ON uploads (session_hash);

-- Per-session request budgets (GCRA: the theoretical arrival time of the next request).
CREATE TABLE rate_limits (
    session_hash TEXT NOT NULL,
    bucket TEXT NOT NULL,
    tat_ms BIGINT NOT NULL,
    PRIMARY KEY (session_hash, bucket)
);
