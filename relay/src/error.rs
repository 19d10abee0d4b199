//! The relay's one error type. Serving errors answer in plain text; `/api` errors answer with
//! the JSON envelope relay/API.md documents (`{"error": {code, message, retryable, …}}`), the
//! message written for the user. Internal faults are logged here, once, and not shown.

use std::path::PathBuf;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use reelsmith_core::publish_api::{ApiError, ErrorEnvelope};

use crate::tiktok::TikTokError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the editor is not built: {} has no index.html (run the README's run command)", .0.display())]
    NotBuilt(PathBuf),
    #[error("the speech models could not be read: {0}")]
    Models(String),
    #[error("the speech model {0} is not installed on this server (run scripts/prepare-model.sh)")]
    NoModel(String),

    #[error("Publishing to TikTok is not set up on this server.")]
    NotConfigured,
    #[error("{0}")]
    NotConnected(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("This page's origin may not use the publish API.")]
    OriginNotAllowed,
    #[error("{0}")]
    NotFound(String),
    #[error("This clip is already being uploaded.")]
    UploadInProgress,
    #[error("This clip has already been uploaded; start a new publish to send it again.")]
    AlreadyUploaded,
    #[error("The upload needs a Content-Length header: send the file as a Blob.")]
    LengthRequired,
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("The upload stopped after {received_bytes} of {expected_bytes} bytes. Try again: it continues where TikTok stopped receiving.")]
    UploadIncomplete {
        received_bytes: u64,
        expected_bytes: u64,
    },
    #[error("TikTok refused: {message}")]
    TikTokRejected {
        tiktok_code: String,
        message: String,
    },
    #[error("{message}")]
    TikTokUnavailable { message: String, retryable: bool },
    #[error("Too many requests; try again in {retry_after_secs} s.")]
    RateLimited { retry_after_secs: u64 },
    #[error("The server had a problem; try again later.")]
    Internal(String),
}

impl AppError {
    fn code(&self) -> &'static str {
        match self {
            AppError::NotBuilt(_) | AppError::Models(_) | AppError::NoModel(_) => "serving",
            AppError::NotConfigured => "publishing_not_configured",
            AppError::NotConnected(_) => "not_connected",
            AppError::BadRequest(_) => "bad_request",
            AppError::OriginNotAllowed => "origin_not_allowed",
            AppError::NotFound(_) => "not_found",
            AppError::UploadInProgress => "upload_in_progress",
            AppError::AlreadyUploaded => "already_uploaded",
            AppError::LengthRequired => "length_required",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::UploadIncomplete { .. } => "upload_incomplete",
            AppError::TikTokRejected { .. } => "tiktok_rejected",
            AppError::TikTokUnavailable { .. } => "tiktok_unavailable",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Internal(_) => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            AppError::NoModel(_) | AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::NotBuilt(_) | AppError::Models(_) | AppError::NotConfigured => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::NotConnected(_) => StatusCode::UNAUTHORIZED,
            AppError::BadRequest(_) | AppError::UploadIncomplete { .. } => StatusCode::BAD_REQUEST,
            AppError::OriginNotAllowed => StatusCode::FORBIDDEN,
            AppError::UploadInProgress | AppError::AlreadyUploaded => StatusCode::CONFLICT,
            AppError::LengthRequired => StatusCode::LENGTH_REQUIRED,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TikTokRejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TikTokUnavailable { .. } => StatusCode::BAD_GATEWAY,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn retryable(&self) -> bool {
        match self {
            AppError::TikTokUnavailable { retryable, .. } => *retryable,
            AppError::UploadIncomplete { .. }
            | AppError::RateLimited { .. }
            | AppError::UploadInProgress
            | AppError::Internal(_) => true,
            _ => false,
        }
    }

    /// A TikTok failure as the user should hear it. `retry_safe` says whether repeating the
    /// request cannot do anything twice (false for init: TikTok may have created the publish).
    pub fn from_tiktok(error: TikTokError, retry_safe: bool) -> Self {
        match error {
            TikTokError::Rejected { code, message, .. } => match code.as_str() {
                "rate_limit_exceeded" => AppError::RateLimited {
                    retry_after_secs: 60,
                },
                "access_token_invalid" | "invalid_grant" => {
                    AppError::NotConnected("TikTok ended the connection: connect TikTok again.".into())
                }
                "scope_not_authorized" => AppError::NotConnected(
                    "TikTok was not given permission for this: connect TikTok again and allow posting videos."
                        .into(),
                ),
                _ => {
                    let message = match code.as_str() {
                        "spam_risk_too_many_pending_share" => {
                            "You have too many drafts waiting in your TikTok inbox: post or delete some in the TikTok app, then try again.".to_string()
                        }
                        "unaudited_client_can_only_post_to_private_accounts" => {
                            "This app may only post privately for now: choose \"Only me\" (SELF_ONLY).".to_string()
                        }
                        "spam_risk_user_banned_from_posting" => {
                            "TikTok does not let this account post right now.".to_string()
                        }
                        _ if message.is_empty() => format!("TikTok refused the request ({code})."),
                        _ => message,
                    };
                    AppError::TikTokRejected {
                        tiktok_code: code,
                        message,
                    }
                }
            },
            TikTokError::Unavailable { reason } => {
                let message = if retry_safe {
                    format!("{reason}. Try again in a moment.")
                } else {
                    format!(
                        "{reason}. It may have started anyway: check your TikTok inbox or profile before trying again."
                    )
                };
                AppError::TikTokUnavailable {
                    message,
                    retryable: retry_safe,
                }
            }
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        AppError::Internal(format!("database: {error}"))
    }
}

impl From<std::io::Error> for AppError {
    fn from(error: std::io::Error) -> Self {
        AppError::Internal(format!("i/o: {error}"))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if matches!(
            self,
            AppError::NotBuilt(_) | AppError::Models(_) | AppError::NoModel(_)
        ) {
            return (status, self.to_string()).into_response();
        }
        if let AppError::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let retry_after_secs = match &self {
            AppError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let tiktok_code = match &self {
            AppError::TikTokRejected { tiktok_code, .. } => Some(tiktok_code.clone()),
            _ => None,
        };
        let body = ErrorEnvelope {
            error: ApiError {
                code: self.code().to_string(),
                message: self.to_string(),
                retryable: self.retryable(),
                tiktok_code,
                retry_after_secs,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry_after_secs {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}
