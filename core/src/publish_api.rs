//! The relay's publish API as data: the JSON the editor and the relay exchange under `/api`
//! (relay/API.md), in one place so both sides agree. The relay serialises these; the editor's
//! Publish dialog reads them. TikTok's own wire format is the relay's business, not this.

use serde::{Deserialize, Serialize};

/// `GET /api/session`: what the Publish dialog shows.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SessionStatus {
    pub configured: bool,
    pub connected: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<Creator>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_level_options: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duet_disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stitch_disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_video_post_duration_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbox_allowed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_allowed: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Creator {
    pub nickname: String,
    pub username: String,
    pub avatar_url: String,
}

/// Inbox: a draft the user finishes in the TikTok app. Direct: posted now.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Inbox,
    Direct,
}

/// `POST /api/publish`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    pub mode: Mode,
    pub video_size_bytes: u64,
    pub content_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_level: Option<String>,
    #[serde(default)]
    pub disable_comment: bool,
    #[serde(default)]
    pub disable_duet: bool,
    #[serde(default)]
    pub disable_stitch: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_cover_timestamp_ms: Option<u64>,
}

/// The answer to `POST /api/publish`: where to upload the file and how it is chunked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PublishStarted {
    pub publish_id: String,
    pub upload_path: String,
    pub video_size_bytes: u64,
    pub chunk_size_bytes: u64,
    pub total_chunk_count: u64,
}

/// The answer to `PUT /api/upload/{publish_id}` once TikTok has every chunk.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UploadDone {
    pub publish_id: String,
    pub uploaded_bytes: u64,
    pub total_chunk_count: u64,
}

/// `GET /api/publish/{publish_id}/status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatusReply {
    pub publish_id: String,
    pub status: String,
    pub done: bool,
    pub fail_reason: Option<String>,
    pub uploaded_bytes: Option<u64>,
    pub post_ids: Vec<String>,
}

/// `POST /api/disconnect`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DisconnectReply {
    pub connected: bool,
    pub revoked_at_tiktok: bool,
}

/// Every error answer: `{ "error": { … } }`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorEnvelope {
    pub error: ApiError,
}

/// An error the relay answers with; `message` is written for the user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub retryable: bool,
    #[serde(default)]
    pub tiktok_code: Option<String>,
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
}

/// TikTok's privacy levels as a creator reads them.
pub fn privacy_label(level: &str) -> &str {
    match level {
        "PUBLIC_TO_EVERYONE" => "Everyone",
        "MUTUAL_FOLLOW_FRIENDS" => "Friends (followers you follow back)",
        "FOLLOWER_OF_CREATOR" => "Followers",
        "SELF_ONLY" => "Only me",
        other => other,
    }
}

/// What a finished publish means for the user, from TikTok's status.
pub fn status_text(reply: &StatusReply) -> String {
    match reply.status.as_str() {
        "PROCESSING_UPLOAD" => "TikTok is receiving the video…".into(),
        "PROCESSING_DOWNLOAD" => "TikTok is processing the video…".into(),
        "SEND_TO_USER_INBOX" => {
            "Sent to your TikTok inbox: open TikTok to finish and post the draft.".into()
        }
        "PUBLISH_COMPLETE" => "Posted to TikTok.".into(),
        "FAILED" => format!(
            "TikTok could not publish the video: {}.",
            reply.fail_reason.as_deref().unwrap_or("no reason given")
        ),
        other => format!("TikTok says: {other}"),
    }
}

/// Why a clip cannot be posted as it is (None: it can). TikTok takes 23–60 fps, sides of
/// 360–4096 px, at most 4 GB and at most the creator's longest post.
pub fn clip_problem(duration_secs: f64, bytes: u64, max_post_secs: Option<u64>) -> Option<String> {
    const MAX_BYTES: u64 = 4_000_000_000;
    if bytes == 0 {
        return Some("Export the clip first.".into());
    }
    if bytes > MAX_BYTES {
        return Some("TikTok takes videos of at most 4 GB: export a shorter clip.".into());
    }
    match max_post_secs {
        Some(max) if duration_secs > max as f64 + 0.5 => Some(format!(
            "This clip is {duration_secs:.0} s long; your TikTok account takes posts of at \
             most {max} s. Trim the clip and export it again."
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_json_of_the_api_document_reads() {
        let json = r#"{ "configured": true, "connected": true,
          "creator": { "nickname": "Ada", "username": "ada.clips", "avatar_url": "https://x/a.png" },
          "privacy_level_options": ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
          "comment_disabled": false, "duet_disabled": true, "stitch_disabled": false,
          "max_video_post_duration_secs": 600, "inbox_allowed": true, "direct_allowed": true }"#;
        let s: SessionStatus = serde_json::from_str(json).unwrap();
        assert!(s.connected);
        assert_eq!(s.creator.unwrap().nickname, "Ada");
        assert_eq!(s.duet_disabled, Some(true));
        let off: SessionStatus =
            serde_json::from_str(r#"{"configured": false, "connected": false}"#).unwrap();
        assert_eq!(off, SessionStatus::default());
    }

    #[test]
    fn an_inbox_request_carries_no_post_fields() {
        let r = PublishRequest {
            mode: Mode::Inbox,
            video_size_bytes: 12,
            content_type: "video/mp4".into(),
            title: None,
            privacy_level: None,
            disable_comment: false,
            disable_duet: false,
            disable_stitch: false,
            video_cover_timestamp_ms: None,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["mode"], "inbox");
        assert!(v.get("title").is_none() && v.get("privacy_level").is_none());
        assert_eq!(serde_json::from_value::<PublishRequest>(v).unwrap(), r);
    }

    #[test]
    fn errors_read_with_or_without_the_optional_fields() {
        let e: ErrorEnvelope = serde_json::from_str(
            r#"{"error":{"code":"not_connected","message":"Connect TikTok again."}}"#,
        )
        .unwrap();
        assert_eq!(e.error.code, "not_connected");
        assert!(!e.error.retryable);
    }

    #[test]
    fn clips_longer_than_the_creator_may_post_are_refused_before_upload() {
        assert!(clip_problem(30.0, 1_000, Some(60)).is_none());
        assert!(clip_problem(60.4, 1_000, Some(60)).is_none());
        let long = clip_problem(75.0, 1_000, Some(60)).unwrap();
        assert!(long.contains("at most 60 s"), "{long}");
        assert!(clip_problem(10.0, 0, None).is_some());
        assert!(clip_problem(10.0, 5_000_000_000, None).is_some());
    }
}
