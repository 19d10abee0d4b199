//! The relay's TikTok client: OAuth (authorize URL, code exchange, refresh, revoke) and the
//! Content Posting API (creator info, inbox and direct-post init, status, chunk PUTs), with
//! TikTok's two error shapes turned into one [`TikTokError`] that says whether trying again may
//! help. Base URLs come from the configuration, so the same code talks to the fake in tests.
//! Nothing here logs: tokens pass through, and errors carry no URLs (an upload URL is a secret).

use std::time::Duration;

use reqwest::{header, Body, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::chunks::Chunk;
use crate::config::TikTokConfig;

/// What went wrong talking to TikTok.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TikTokError {
    /// TikTok answered and refused: its `error.code` (or OAuth `error`) and message.
    Rejected {
        http_status: u16,
        code: String,
        message: String,
    },
    /// TikTok failed (5xx), could not be reached, or did not answer in time. Whether the
    /// request took effect is unknown.
    Unavailable { reason: String },
}

impl TikTokError {
    pub fn code(&self) -> Option<&str> {
        match self {
            TikTokError::Rejected { code, .. } => Some(code),
            TikTokError::Unavailable { .. } => None,
        }
    }

    fn unavailable(error: reqwest::Error) -> Self {
        let reason = if error.is_timeout() {
            "TikTok did not answer in time".to_string()
        } else if error.is_connect() {
            "TikTok could not be reached".to_string()
        } else {
            format!("the connection to TikTok failed: {}", error.without_url())
        };
        TikTokError::Unavailable { reason }
    }
}

/// A token grant (code exchange or refresh).
#[derive(Clone, Deserialize)]
pub struct TokenGrant {
    pub open_id: String,
    #[serde(default)]
    pub scope: String,
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: String,
    pub refresh_expires_in: i64,
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGrant")
            .field("open_id", &self.open_id)
            .field("scope", &self.scope)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// `creator_info/query` data.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CreatorInfo {
    #[serde(default)]
    pub creator_avatar_url: String,
    #[serde(default)]
    pub creator_username: String,
    #[serde(default)]
    pub creator_nickname: String,
    #[serde(default)]
    pub privacy_level_options: Vec<String>,
    #[serde(default)]
    pub comment_disabled: bool,
    #[serde(default)]
    pub duet_disabled: bool,
    #[serde(default)]
    pub stitch_disabled: bool,
    #[serde(default)]
    pub max_video_post_duration_sec: u64,
}

/// `source_info` for a file upload.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FileSource {
    pub video_size: u64,
    pub chunk_size: u64,
    pub total_chunk_count: u64,
}

/// `post_info` for a direct post.
#[derive(Clone, Debug, Serialize)]
pub struct PostInfo {
    pub title: String,
    pub privacy_level: String,
    pub disable_duet: bool,
    pub disable_comment: bool,
    pub disable_stitch: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_cover_timestamp_ms: Option<u64>,
}

/// Init data: the publish id and where its chunks go.
#[derive(Clone, Deserialize)]
pub struct InitData {
    pub publish_id: String,
    #[serde(default)]
    pub upload_url: String,
}

/// `status/fetch` data.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PublishStatus {
    pub status: String,
    #[serde(default)]
    pub fail_reason: Option<String>,
    #[serde(default)]
    pub uploaded_bytes: Option<u64>,
    #[serde(default)]
    pub downloaded_bytes: Option<u64>,
    /// TikTok's spelling.
    #[serde(default)]
    pub publicaly_available_post_id: Vec<Value>,
}

#[derive(Deserialize)]
struct ApiEnvelope<T> {
    data: Option<T>,
    error: Option<ApiErrorBody>,
}

#[derive(Deserialize)]
struct ApiErrorBody {
    code: String,
    #[serde(default)]
    message: String,
}

/// TikTok over HTTP.
#[derive(Clone)]
pub struct TikTok {
    http: reqwest::Client,
    config: TikTokConfig,
    api_timeout: Duration,
}

impl TikTok {
    pub fn new(config: TikTokConfig, api_timeout: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // TikTok's API does not redirect; following one could leak a bearer token.
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
        Ok(Self {
            http,
            config,
            api_timeout,
        })
    }

    pub fn config(&self) -> &TikTokConfig {
        &self.config
    }

    fn api_url(&self, path: &str) -> Result<Url, TikTokError> {
        self.config
            .api_base
            .join(path)
            .map_err(|e| TikTokError::Unavailable {
                reason: format!("the TikTok API base URL is unusable: {e}"),
            })
    }

    /// The authorize page URL for this state and PKCE challenge.
    pub fn authorize_url(&self, state: &str, code_challenge: &str) -> Result<Url, String> {
        let mut url = self
            .config
            .auth_base
            .join("v2/auth/authorize/")
            .map_err(|e| format!("the TikTok auth base URL is unusable: {e}"))?;
        url.query_pairs_mut()
            .append_pair("client_key", &self.config.client_key)
            .append_pair("scope", &self.config.scopes)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", self.config.redirect_url.as_str())
            .append_pair("state", state)
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(url)
    }

    /// POSTs a form to an OAuth endpoint and reads `T` or an OAuth error.
    async fn oauth_form<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<T, TikTokError> {
        let response = self
            .http
            .post(self.api_url(path)?)
            .timeout(self.api_timeout)
            .header(header::CACHE_CONTROL, "no-cache")
            .form(form)
            .send()
            .await
            .map_err(TikTokError::unavailable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(TikTokError::unavailable)?;
        if status.is_server_error() {
            return Err(server_error(status));
        }
        let value: Value = serde_json::from_slice(&body).map_err(|_| TikTokError::Rejected {
            http_status: status.as_u16(),
            code: "invalid_response".into(),
            message: format!("TikTok answered {status} with something other than JSON"),
        })?;
        // TikTok's OAuth errors are `{error, error_description}`, sometimes with HTTP 200.
        if let Some(error) = value
            .get("error")
            .and_then(Value::as_str)
            .filter(|e| !e.is_empty())
        {
            let message = value
                .get("error_description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            return Err(TikTokError::Rejected {
                http_status: status.as_u16(),
                code: error.to_string(),
                message,
            });
        }
        serde_json::from_value(value).map_err(|e| TikTokError::Rejected {
            http_status: status.as_u16(),
            code: "invalid_response".into(),
            message: format!("TikTok's answer is missing fields: {e}"),
        })
    }

    pub async fn exchange_code(
        &self,
        code: &str,
        code_verifier: &str,
    ) -> Result<TokenGrant, TikTokError> {
        let c = &self.config;
        self.oauth_form(
            "v2/oauth/token/",
            &[
                ("client_key", &c.client_key),
                ("client_secret", &c.client_secret),
                ("code", code),
                ("grant_type", "authorization_code"),
                ("redirect_uri", c.redirect_url.as_str()),
                ("code_verifier", code_verifier),
            ],
        )
        .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenGrant, TikTokError> {
        let c = &self.config;
        self.oauth_form(
            "v2/oauth/token/",
            &[
                ("client_key", &c.client_key),
                ("client_secret", &c.client_secret),
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    pub async fn revoke(&self, token: &str) -> Result<(), TikTokError> {
        let c = &self.config;
        let _: Value = self
            .oauth_form(
                "v2/oauth/revoke/",
                &[
                    ("client_key", &c.client_key),
                    ("client_secret", &c.client_secret),
                    ("token", token),
                ],
            )
            .await?;
        Ok(())
    }

    /// POSTs JSON to a Content Posting endpoint and reads its `data`.
    async fn api<T: DeserializeOwned>(
        &self,
        path: &str,
        access_token: &str,
        body: &Value,
    ) -> Result<T, TikTokError> {
        let response = self
            .http
            .post(self.api_url(path)?)
            .timeout(self.api_timeout)
            .bearer_auth(access_token)
            .header(header::CONTENT_TYPE, "application/json; charset=UTF-8")
            .body(body.to_string())
            .send()
            .await
            .map_err(TikTokError::unavailable)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(TikTokError::unavailable)?;
        read_envelope(status, &bytes)
    }

    pub async fn creator_info(&self, access_token: &str) -> Result<CreatorInfo, TikTokError> {
        self.api(
            "v2/post/publish/creator_info/query/",
            access_token,
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn init_inbox(
        &self,
        access_token: &str,
        source: FileSource,
    ) -> Result<InitData, TikTokError> {
        let body = serde_json::json!({ "source_info": source_info(source) });
        self.api("v2/post/publish/inbox/video/init/", access_token, &body)
            .await
    }

    pub async fn init_direct(
        &self,
        access_token: &str,
        post: &PostInfo,
        source: FileSource,
    ) -> Result<InitData, TikTokError> {
        let body = serde_json::json!({ "post_info": post, "source_info": source_info(source) });
        self.api("v2/post/publish/video/init/", access_token, &body)
            .await
    }

    pub async fn status(
        &self,
        access_token: &str,
        publish_id: &str,
    ) -> Result<PublishStatus, TikTokError> {
        let body = serde_json::json!({ "publish_id": publish_id });
        self.api("v2/post/publish/status/fetch/", access_token, &body)
            .await
    }

    /// PUTs one chunk to the upload URL. No overall timeout: the caller watches progress.
    pub async fn put_chunk(
        &self,
        upload_url: &str,
        content_type: &str,
        chunk: Chunk,
        body: Body,
    ) -> Result<(), TikTokError> {
        let url = Url::parse(upload_url).map_err(|_| TikTokError::Rejected {
            http_status: 0,
            code: "invalid_upload_url".into(),
            message: "TikTok gave an upload URL that is not a URL".into(),
        })?;
        let response = self
            .http
            .put(url)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CONTENT_LENGTH, chunk.len_bytes)
            .header(header::CONTENT_RANGE, chunk.content_range())
            .body(body)
            .send()
            .await
            .map_err(TikTokError::unavailable)?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let bytes = response.bytes().await.unwrap_or_default();
        if status.is_server_error() {
            return Err(server_error(status));
        }
        match read_envelope::<Value>(status, &bytes) {
            Err(e) => Err(e),
            Ok(_) => Err(TikTokError::Rejected {
                http_status: status.as_u16(),
                code: "invalid_file_upload".into(),
                message: format!("TikTok refused chunk {} with {status}", chunk.index + 1),
            }),
        }
    }
}

fn source_info(source: FileSource) -> Value {
    serde_json::json!({
        "source": "FILE_UPLOAD",
        "video_size": source.video_size,
        "chunk_size": source.chunk_size,
        "total_chunk_count": source.total_chunk_count,
    })
}

fn server_error(status: StatusCode) -> TikTokError {
    TikTokError::Unavailable {
        reason: format!("TikTok failed ({status})"),
    }
}

/// Reads `{data, error}`: `error.code == "ok"` is success whatever the HTTP status says.
fn read_envelope<T: DeserializeOwned>(status: StatusCode, bytes: &[u8]) -> Result<T, TikTokError> {
    // `data` is `{}` on errors: read the error first, the data only on success.
    let envelope: Result<ApiEnvelope<Value>, _> = serde_json::from_slice(bytes);
    match envelope {
        Ok(ApiEnvelope {
            error: Some(error), ..
        }) if error.code != "ok" => {
            if status.is_server_error() || error.code == "internal_error" {
                return Err(TikTokError::Unavailable {
                    reason: format!("TikTok failed ({}): {}", error.code, error.message),
                });
            }
            Err(TikTokError::Rejected {
                http_status: status.as_u16(),
                code: error.code,
                message: error.message,
            })
        }
        Ok(ApiEnvelope {
            data: Some(data), ..
        }) if status.is_success() => {
            serde_json::from_value(data).map_err(|e| TikTokError::Rejected {
                http_status: status.as_u16(),
                code: "invalid_response".into(),
                message: format!("TikTok's answer is missing fields: {e}"),
            })
        }
        _ if status.is_server_error() => Err(server_error(status)),
        _ => Err(TikTokError::Rejected {
            http_status: status.as_u16(),
            code: "invalid_response".into(),
            message: format!("TikTok answered {status} without the expected data"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_are_read_by_their_error_code() {
        let ok = br#"{"data":{"publish_id":"p1","upload_url":"https://u"},"error":{"code":"ok","message":"","log_id":"x"}}"#;
        let data: InitData = read_envelope(StatusCode::OK, ok).unwrap();
        assert_eq!(data.publish_id, "p1");

        let spam = br#"{"data":{},"error":{"code":"spam_risk_too_many_pending_share","message":"too many","log_id":"x"}}"#;
        let err = read_envelope::<InitData>(StatusCode::FORBIDDEN, spam)
            .err()
            .unwrap();
        assert_eq!(err.code(), Some("spam_risk_too_many_pending_share"));

        let internal =
            br#"{"data":{},"error":{"code":"internal_error","message":"oops","log_id":"x"}}"#;
        assert!(matches!(
            read_envelope::<InitData>(StatusCode::INTERNAL_SERVER_ERROR, internal),
            Err(TikTokError::Unavailable { .. })
        ));
        assert!(matches!(
            read_envelope::<InitData>(StatusCode::BAD_GATEWAY, b"<html>"),
            Err(TikTokError::Unavailable { .. })
        ));
        assert_eq!(
            read_envelope::<InitData>(StatusCode::OK, b"{}")
                .err()
                .unwrap()
                .code(),
            Some("invalid_response")
        );
    }
}
