//! The fake's Content Posting API: creator info, inbox and direct-post init (source_info
//! checked by [`ChunkRules::check`], privacy level against the creator's options, the pending
//! inbox limit, unaudited clients), chunk PUTs validated as TikTok does (Content-Type,
//! Content-Range, each chunk's exact size, in order; the last chunk re-sent after a lost answer
//! is accepted again), and the status of each publish, which moves from `PROCESSING_UPLOAD`
//! to `SEND_TO_USER_INBOX` or `PUBLISH_COMPLETE` (or `FAILED`) as the fake is polled.
//! Bearer tokens are checked for expiry and scope, and rate-limited per token per minute.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{api_error, fault_response, hang, Endpoint, FakeState, FaultKind, Grant, Inner};
use crate::chunks::ChunkPlan;
use crate::crypto::random_token;
use crate::publish::now_secs;

const VIDEO_TYPES: [&str; 3] = ["video/mp4", "video/quicktime", "video/webm"];
const DAY_SECS: i64 = 24 * 3600;

/// One publish as the fake holds it.
pub(crate) struct Publish {
    pub publish_id: String,
    pub open_id: String,
    pub mode: &'static str,
    pub plan: ChunkPlan,
    pub created_at_secs: i64,
    pub upload_expires_at_secs: i64,
    pub content_type: Option<String>,
    pub chunks_received: u64,
    pub received_bytes: u64,
    /// Hash of the chunks received so far, and of all but the last (to take a re-send).
    pub hasher: Sha256,
    pub hasher_before_last: Sha256,
    pub head: Vec<u8>,
    pub bytes: Option<Vec<u8>>,
    pub ranges: Vec<String>,
    pub sha256: Option<String>,
    pub polls_after_upload: u32,
    pub final_status: Option<(&'static str, Option<String>)>,
    pub title: Option<String>,
    pub privacy_level: Option<String>,
    pub disable_comment: Option<bool>,
    pub post_id: u64,
}

/// What tests and `/fake/publishes` see of a publish.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct PublishReport {
    pub publish_id: String,
    pub open_id: String,
    pub mode: String,
    pub content_type: Option<String>,
    pub video_size_bytes: u64,
    pub chunk_size_bytes: u64,
    pub total_chunk_count: u64,
    pub chunks_received: u64,
    pub received_bytes: u64,
    /// Every Content-Range accepted, in order (a re-sent chunk appears twice).
    pub content_ranges: Vec<String>,
    /// Hex SHA-256 of the assembled file, once every chunk is in.
    pub sha256: Option<String>,
    pub status: String,
    pub title: Option<String>,
    pub privacy_level: Option<String>,
    pub disable_comment: Option<bool>,
}

impl Publish {
    fn complete(&self) -> bool {
        self.chunks_received == self.plan.total_chunk_count
    }

    fn current_status(&self) -> &'static str {
        match &self.final_status {
            Some((status, _)) => status,
            None => "PROCESSING_UPLOAD",
        }
    }

    pub fn report(&self) -> PublishReport {
        PublishReport {
            publish_id: self.publish_id.clone(),
            open_id: self.open_id.clone(),
            mode: self.mode.into(),
            content_type: self.content_type.clone(),
            video_size_bytes: self.plan.video_size_bytes,
            chunk_size_bytes: self.plan.chunk_size_bytes,
            total_chunk_count: self.plan.total_chunk_count,
            chunks_received: self.chunks_received,
            received_bytes: self.received_bytes,
            content_ranges: self.ranges.clone(),
            sha256: self.sha256.clone(),
            status: self.current_status().into(),
            title: self.title.clone(),
            privacy_level: self.privacy_level.clone(),
            disable_comment: self.disable_comment,
        }
    }

    /// Whether the file starts as its type says (ISO BMFF box or EBML header).
    fn looks_like_video(&self) -> bool {
        let head = &self.head;
        match self.content_type.as_deref() {
            Some("video/webm") => head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]),
            _ => {
                head.len() >= 8
                    && [b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"]
                        .contains(&&[head[4], head[5], head[6], head[7]])
            }
        }
    }
}

fn ok(data: Value) -> Response {
    Json(serde_json::json!({
        "data": data,
        "error": { "code": "ok", "message": "", "log_id": super::log_id() },
    }))
    .into_response()
}

fn invalid_param(message: &str) -> Response {
    api_error(StatusCode::BAD_REQUEST, "invalid_param", message)
}

/// Checks the bearer token (expiry, scope) and the per-token rate limit, and fires an armed
/// fault. `Err` is the answer to give instead; `Ok((grant, true))` means a hang fault fired:
/// do the work, then never answer (the answer is what gets lost).
// The error is the HTTP answer itself, made once per refused request: not worth boxing.
#[allow(clippy::result_large_err)]
fn authorize(
    inner: &mut Inner,
    headers: &HeaderMap,
    endpoint: Endpoint,
    scope: &str,
) -> Result<(Grant, bool), Response> {
    let hang_after = match inner.take_fault(endpoint) {
        Some(FaultKind::Hang) => true,
        Some(kind) => {
            return Err(fault_response(kind, false)
                .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response()))
        }
        None => false,
    };
    let token = bearer(headers);
    let now = now_secs();
    let Some(grant) = inner
        .access_tokens
        .get(&token)
        .filter(|g| g.expires_at_secs > now)
        .cloned()
    else {
        return Err(api_error(
            StatusCode::UNAUTHORIZED,
            "access_token_invalid",
            "The access token is invalid or not found in the request.",
        ));
    };
    if !grant.scope.split(',').any(|s| s == scope) {
        return Err(api_error(
            StatusCode::UNAUTHORIZED,
            "scope_not_authorized",
            &format!("The user did not authorize the scope required: {scope}"),
        ));
    }
    let per_min = match endpoint {
        Endpoint::CreatorInfo => inner.config.creator_info_per_min,
        Endpoint::InboxInit | Endpoint::DirectInit => inner.config.init_per_min,
        _ => inner.config.status_per_min,
    };
    // Both inits share one budget.
    let bucket = if endpoint == Endpoint::DirectInit {
        Endpoint::InboxInit
    } else {
        endpoint
    };
    // A sliding minute: at most `per_min` requests in any 60 s.
    let now_ms = crate::publish::now_ms();
    let window = inner.windows.entry((token, bucket)).or_default();
    while window.front().is_some_and(|&at| at <= now_ms - 60_000) {
        window.pop_front();
    }
    if window.len() >= per_min as usize {
        return Err(api_error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            "API rate limit exceeded",
        ));
    }
    window.push_back(now_ms);
    Ok((grant, hang_after))
}

fn bearer(headers: &HeaderMap) -> String {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string()
}

async fn answer(response: Option<Response>) -> Response {
    match response {
        Some(response) => response,
        None => hang().await,
    }
}

/// `POST /v2/post/publish/creator_info/query/`.
pub async fn creator_info(State(state): State<FakeState>, headers: HeaderMap) -> Response {
    let response = {
        let mut inner = state.lock();
        match authorize(&mut inner, &headers, Endpoint::CreatorInfo, "video.publish") {
            Err(response) => Some(response),
            Ok((_, true)) => None,
            Ok((grant, false)) => {
                inner.stats.creator_info_calls += 1;
                let c = &inner.config;
                Some(ok(serde_json::json!({
                    "creator_avatar_url": "https://p16.fake-tiktok.invalid/avatar.jpeg",
                    "creator_username": grant.open_id,
                    "creator_nickname": c.creator_nickname,
                    "privacy_level_options": c.privacy_level_options,
                    "comment_disabled": c.comment_disabled,
                    "duet_disabled": c.duet_disabled,
                    "stitch_disabled": c.stitch_disabled,
                    "max_video_post_duration_sec": c.max_video_post_duration_sec,
                })))
            }
        }
    };
    answer(response).await
}

pub async fn inbox_init(
    State(state): State<FakeState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    init(state, headers, body, false).await
}

pub async fn direct_init(
    State(state): State<FakeState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    init(state, headers, body, true).await
}

async fn init(state: FakeState, headers: HeaderMap, body: Bytes, direct: bool) -> Response {
    let (endpoint, scope) = if direct {
        (Endpoint::DirectInit, "video.publish")
    } else {
        (Endpoint::InboxInit, "video.upload")
    };
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (response, hang_after) = {
        let mut inner = state.lock();
        match authorize(&mut inner, &headers, endpoint, scope) {
            Err(response) => (response, false),
            Ok(_) if !json_type => (
                invalid_param("Content-Type must be application/json"),
                false,
            ),
            Ok((grant, hang_after)) => (
                create_publish(&mut inner, &grant, &body, direct),
                hang_after,
            ),
        }
    };
    if hang_after {
        return hang().await;
    }
    response
}

fn create_publish(inner: &mut Inner, grant: &Grant, body: &[u8], direct: bool) -> Response {
    inner.stats.inits += 1;
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return invalid_param("The request body is not JSON.");
    };
    let source = &request["source_info"];
    match source["source"].as_str() {
        Some("FILE_UPLOAD") => {}
        Some("PULL_FROM_URL") => {
            return api_error(
                StatusCode::FORBIDDEN,
                "url_ownership_unverified",
                "The domain or URL prefix of video_url is not verified for this app.",
            )
        }
        _ => return invalid_param("source_info.source must be FILE_UPLOAD or PULL_FROM_URL"),
    }
    let field = |name: &str| source[name].as_u64();
    let (Some(video_size), Some(chunk_size), Some(count)) = (
        field("video_size"),
        field("chunk_size"),
        field("total_chunk_count"),
    ) else {
        return invalid_param("source_info needs video_size, chunk_size and total_chunk_count");
    };
    let plan = match inner
        .config
        .chunk_rules
        .check(video_size, chunk_size, count)
    {
        Ok(plan) => plan,
        Err(rule) => return invalid_param(&rule),
    };
    let now = now_secs();
    let (mut title, mut privacy_level, mut disable_comment) = (None, None, None);
    if direct {
        let post = &request["post_info"];
        let Some(level) = post["privacy_level"].as_str() else {
            return invalid_param("post_info.privacy_level is required");
        };
        if !inner
            .config
            .privacy_level_options
            .iter()
            .any(|o| o == level)
        {
            return invalid_param(
                "post_info.privacy_level is not one of the creator's privacy_level_options",
            );
        }
        if inner.config.unaudited && level != "SELF_ONLY" {
            return api_error(
                StatusCode::FORBIDDEN,
                "unaudited_client_can_only_post_to_private_accounts",
                "Unaudited clients can only post to a private account.",
            );
        }
        let text = post["title"].as_str().unwrap_or_default();
        if text.encode_utf16().count() > 2200 {
            return invalid_param("post_info.title is longer than 2200 characters");
        }
        title = Some(text.to_string());
        privacy_level = Some(level.to_string());
        disable_comment = post["disable_comment"].as_bool();
    } else {
        let pending = inner
            .publishes
            .values()
            .filter(|p| {
                p.open_id == grant.open_id
                    && p.mode == "inbox"
                    && p.created_at_secs > now - DAY_SECS
            })
            .count();
        if pending >= inner.config.pending_share_limit {
            return api_error(
                StatusCode::FORBIDDEN,
                "spam_risk_too_many_pending_share",
                "The user has too many pending shares in the last 24 hours.",
            );
        }
    }
    let id = inner.next_id();
    let publish_id = if direct {
        format!("v_pub_file~v2.{id}")
    } else {
        format!("v_inbox_file~v2.{id}")
    };
    let upload_token = random_token(24);
    inner.issued.push(upload_token.clone());
    let upload_url = format!(
        "{}/video/?upload_id={id}&upload_token={upload_token}",
        inner.base_url
    );
    inner.upload_tokens.insert(upload_token, publish_id.clone());
    inner.publishes.insert(
        publish_id.clone(),
        Publish {
            publish_id: publish_id.clone(),
            open_id: grant.open_id.clone(),
            mode: if direct { "direct" } else { "inbox" },
            plan,
            created_at_secs: now,
            upload_expires_at_secs: now + inner.config.upload_url_ttl_secs,
            content_type: None,
            chunks_received: 0,
            received_bytes: 0,
            hasher: Sha256::new(),
            hasher_before_last: Sha256::new(),
            head: Vec::new(),
            bytes: (video_size <= inner.config.keep_bytes_max).then(Vec::new),
            ranges: Vec::new(),
            sha256: None,
            polls_after_upload: 0,
            final_status: None,
            title,
            privacy_level,
            disable_comment,
            post_id: 7_300_000_000_000_000_000 + id,
        },
    );
    ok(serde_json::json!({ "publish_id": publish_id, "upload_url": upload_url }))
}

fn upload_error(message: &str) -> Response {
    api_error(StatusCode::BAD_REQUEST, "invalid_file_upload", message)
}

/// `bytes FIRST-LAST/TOTAL`.
fn parse_content_range(value: &str) -> Option<(u64, u64, u64)> {
    let rest = value.strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    Some((
        first.trim().parse().ok()?,
        last.trim().parse().ok()?,
        total.trim().parse().ok()?,
    ))
}

/// What a chunk PUT was checked to be, before its body is read.
struct Expected {
    publish_id: String,
    index: u64,
    len_bytes: u64,
    base_chunks: u64,
    hasher: Sha256,
    keep: bool,
    content_type: String,
    range: String,
    fault: Option<FaultKind>,
}

#[allow(clippy::result_large_err)]
fn check_chunk(
    inner: &mut Inner,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Expected, Response> {
    let token = query.get("upload_token").cloned().unwrap_or_default();
    let Some(publish_id) = inner.upload_tokens.get(&token).cloned() else {
        return Err(api_error(
            StatusCode::NOT_FOUND,
            "invalid_file_upload",
            "Unknown upload URL.",
        ));
    };
    let fault = inner.take_fault(Endpoint::Chunk);
    let Some(publish) = inner.publishes.get(&publish_id) else {
        return Err(api_error(
            StatusCode::NOT_FOUND,
            "invalid_file_upload",
            "Unknown upload URL.",
        ));
    };
    if publish.upload_expires_at_secs < now_secs() {
        return Err(api_error(
            StatusCode::FORBIDDEN,
            "invalid_file_upload",
            "The upload URL has expired (valid 1 hour).",
        ));
    }
    let header_str = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let content_type = header_str(header::CONTENT_TYPE);
    if !VIDEO_TYPES.contains(&content_type.as_str()) {
        return Err(upload_error(
            "Content-Type must be video/mp4, video/quicktime or video/webm.",
        ));
    }
    if publish
        .content_type
        .as_ref()
        .is_some_and(|t| *t != content_type)
    {
        return Err(upload_error("Content-Type changed between chunks."));
    }
    let range = header_str(header::CONTENT_RANGE);
    let Some((first, last, total)) = parse_content_range(&range) else {
        return Err(upload_error(
            "Content-Range must be bytes FIRST-LAST/TOTAL.",
        ));
    };
    let Ok(content_length) = header_str(header::CONTENT_LENGTH).parse::<u64>() else {
        return Err(upload_error("Content-Length is required."));
    };
    let plan = publish.plan;
    if total != plan.video_size_bytes {
        return Err(upload_error(
            "Content-Range total is not the video_size given at init.",
        ));
    }
    if first % plan.chunk_size_bytes != 0 || first / plan.chunk_size_bytes >= plan.total_chunk_count
    {
        return Err(upload_error(
            "Content-Range does not start at a chunk boundary.",
        ));
    }
    let index = first / plan.chunk_size_bytes;
    let Some(chunk) = plan.chunk(index) else {
        return Err(upload_error("No such chunk."));
    };
    if last != chunk.last_byte() || content_length != chunk.len_bytes {
        return Err(upload_error(&format!(
            "chunk {} must be bytes {}-{} ({} bytes)",
            index + 1,
            chunk.first_byte,
            chunk.last_byte(),
            chunk.len_bytes
        )));
    }
    let hasher = if index == publish.chunks_received {
        publish.hasher.clone()
    } else if index + 1 == publish.chunks_received {
        // The previous chunk again: its answer was lost.
        publish.hasher_before_last.clone()
    } else {
        return Err(upload_error(&format!(
            "chunks must be sent in order: expected chunk {}, got {}",
            publish.chunks_received + 1,
            index + 1
        )));
    };
    Ok(Expected {
        publish_id,
        index,
        len_bytes: chunk.len_bytes,
        base_chunks: publish.chunks_received,
        hasher,
        keep: publish.bytes.is_some(),
        content_type,
        range,
        fault,
    })
}

/// `PUT <upload_url>`.
pub async fn put_chunk(
    State(state): State<FakeState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let checked = {
        let mut inner = state.lock();
        inner.stats.chunk_puts += 1;
        check_chunk(&mut inner, &query, &headers)
    };
    let mut expected = match checked {
        Ok(expected) => expected,
        Err(response) => {
            // Read the refused body first, as HTTP servers commonly do: a client still
            // sending when the answer comes would see a reset connection instead of it.
            let mut stream = body.into_data_stream();
            while let Some(Ok(_)) = stream.next().await {}
            return response;
        }
    };
    let mut stream = body.into_data_stream();
    let mut received = 0u64;
    let mut kept = Vec::new();
    let mut head = Vec::new();
    while let Some(frame) = stream.next().await {
        let Ok(frame) = frame else {
            return upload_error("The chunk body ended early.");
        };
        received += frame.len() as u64;
        if received > expected.len_bytes {
            return upload_error("The chunk body is longer than its Content-Length.");
        }
        expected.hasher.update(&frame);
        if head.len() < 16 {
            head.extend_from_slice(&frame[..frame.len().min(16 - head.len())]);
        }
        if expected.keep {
            kept.extend_from_slice(&frame);
        }
    }
    if received != expected.len_bytes {
        return upload_error("The chunk body is shorter than its Content-Length.");
    }
    if expected.fault == Some(FaultKind::ServerError) {
        return api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "injected fault",
        );
    }
    if let Some(kind) = expected.fault.filter(|k| *k != FaultKind::Hang) {
        return fault_response(kind, false)
            .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    let response = {
        let mut inner = state.lock();
        let check_container = inner.config.check_container;
        let processing_polls = inner.config.processing_polls;
        let Some(publish) = inner.publishes.get_mut(&expected.publish_id) else {
            return upload_error("The publish is gone.");
        };
        if publish.chunks_received != expected.base_chunks {
            return api_error(
                StatusCode::CONFLICT,
                "invalid_file_upload",
                "Another chunk of this upload arrived meanwhile.",
            );
        }
        let plan = publish.plan;
        let first_byte = expected.index * plan.chunk_size_bytes;
        if expected.index == publish.chunks_received {
            publish.hasher_before_last = publish.hasher.clone();
            publish.chunks_received += 1;
            publish.received_bytes += received;
        }
        publish.hasher = expected.hasher.clone();
        if expected.index == 0 {
            publish.head = head;
        }
        if let Some(bytes) = publish.bytes.as_mut() {
            bytes.truncate(usize::try_from(first_byte).unwrap_or(usize::MAX));
            bytes.extend_from_slice(&kept);
        }
        publish.content_type = Some(expected.content_type.clone());
        publish.ranges.push(expected.range.clone());
        if publish.complete() {
            let digest = publish.hasher.clone().finalize();
            publish.sha256 = Some(digest.iter().map(|b| format!("{b:02x}")).collect());
            publish.polls_after_upload = 0;
            publish.final_status = None;
            if check_container && !publish.looks_like_video() {
                publish.final_status = Some(("FAILED", Some("file_format_check_failed".into())));
            } else if processing_polls == 0 {
                publish.final_status = Some((final_state(publish.mode), None));
            }
            StatusCode::CREATED.into_response()
        } else {
            StatusCode::PARTIAL_CONTENT.into_response()
        }
    };
    if expected.fault == Some(FaultKind::Hang) {
        return hang().await;
    }
    response
}

fn final_state(mode: &str) -> &'static str {
    if mode == "inbox" {
        "SEND_TO_USER_INBOX"
    } else {
        "PUBLISH_COMPLETE"
    }
}

/// `POST /v2/post/publish/status/fetch/`.
pub async fn status(State(state): State<FakeState>, headers: HeaderMap, body: Bytes) -> Response {
    let response = {
        let mut inner = state.lock();
        // Status serves inbox drafts (video.upload) and direct posts (video.publish).
        let scope = match inner.access_tokens.get(&bearer(&headers)) {
            Some(g) if g.scope.split(',').any(|s| s == "video.publish") => "video.publish",
            _ => "video.upload",
        };
        match authorize(&mut inner, &headers, Endpoint::Status, scope) {
            Err(response) => Some(response),
            Ok((grant, hang_after)) => {
                let response = status_answer(&mut inner, &grant, &body);
                (!hang_after).then_some(response)
            }
        }
    };
    answer(response).await
}

fn status_answer(inner: &mut Inner, grant: &Grant, body: &[u8]) -> Response {
    inner.stats.status_calls += 1;
    let processing_polls = inner.config.processing_polls;
    let publish_id = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["publish_id"].as_str().map(String::from))
        .unwrap_or_default();
    let Some(publish) = inner
        .publishes
        .get_mut(&publish_id)
        .filter(|p| p.open_id == grant.open_id)
    else {
        return invalid_param("publish_id is not a publish of this user");
    };
    if publish.complete() && publish.final_status.is_none() {
        if publish.polls_after_upload >= processing_polls {
            publish.final_status = Some((final_state(publish.mode), None));
        } else {
            publish.polls_after_upload += 1;
        }
    }
    let status = publish.current_status();
    let fail_reason = publish.final_status.as_ref().and_then(|(_, r)| r.clone());
    let post_ids: Vec<u64> = if status == "PUBLISH_COMPLETE"
        && publish.privacy_level.as_deref() == Some("PUBLIC_TO_EVERYONE")
    {
        vec![publish.post_id]
    } else {
        vec![]
    };
    ok(serde_json::json!({
        "status": status,
        "fail_reason": fail_reason.unwrap_or_default(),
        "uploaded_bytes": publish.received_bytes,
        "downloaded_bytes": 0,
        "publicaly_available_post_id": post_ids,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_parse() {
        assert_eq!(parse_content_range("bytes 0-9/10"), Some((0, 9, 10)));
        assert_eq!(
            parse_content_range("bytes 40000000-50000122/50000123"),
            Some((40_000_000, 50_000_122, 50_000_123))
        );
        assert_eq!(parse_content_range("0-9/10"), None);
        assert_eq!(parse_content_range("bytes 0-9/*"), None);
    }
}
