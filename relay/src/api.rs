//! The `/api` routes (relay/API.md): the session cookie, the Origin check on requests that
//! change something, exact-origin CORS, body limits, request logs (method, path, status, time;
//! never queries, bodies or tokens), and the handlers, which hand over to [`Publisher`].

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::crypto::{random_token, sha256_hex};
use crate::error::AppError;
use crate::publish::{
    log_id, safe_return_to, CallbackParams, PublishRequest, Publisher, SessionStatus,
};
use crate::AppState;

pub const SESSION_COOKIE: &str = "reelsmith_session";
/// JSON requests are a few hundred bytes; anything much larger is not from the editor.
pub const JSON_LIMIT_BYTES: usize = 64 * 1024;

/// The session id from the request's cookies, if it has a well-formed one.
pub fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|value| {
            value.len() == 43
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn session_hash(headers: &HeaderMap) -> Option<String> {
    session_id(headers).map(|id| sha256_hex(&id))
}

fn session_cookie(value: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    )
}

fn publisher(state: &AppState) -> Result<&Publisher, AppError> {
    state.publishing.as_deref().ok_or(AppError::NotConfigured)
}

/// `Json` whose rejections are [`AppError`]s.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::BytesRejection(_)) => Err(AppError::PayloadTooLarge(format!(
                "The request is over {JSON_LIMIT_BYTES} bytes."
            ))),
            Err(e) => Err(AppError::BadRequest(e.body_text())),
        }
    }
}

fn bad_query(e: QueryRejection) -> AppError {
    AppError::BadRequest(e.body_text())
}

fn bad_path(e: PathRejection) -> AppError {
    AppError::BadRequest(e.body_text())
}

async fn session(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<SessionStatus>, AppError> {
    let Some(publisher) = state.publishing.as_deref() else {
        return Ok(Json(SessionStatus::default()));
    };
    let hash = session_hash(&headers);
    Ok(Json(publisher.session_status(hash.as_deref()).await?))
}

#[derive(Deserialize)]
struct ConnectQuery {
    return_to: Option<String>,
}

async fn connect(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<ConnectQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let publisher = publisher(&state)?;
    let Query(query) = query.map_err(bad_query)?;
    let id = session_id(&headers).unwrap_or_else(|| random_token(32));
    let return_to = safe_return_to(query.return_to.as_deref());
    let url = publisher
        .start_authorization(&sha256_hex(&id), &return_to)
        .await?;
    let config = publisher.config();
    let cookie = session_cookie(
        &id,
        config.session_cookie_max_age_secs,
        config.secure_cookies,
    );
    Ok(redirect(url.as_str(), Some(cookie)))
}

fn redirect(location: &str, cookie: Option<String>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, location);
    }
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::SET_COOKIE, cookie);
    }
    response
}

async fn callback(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<CallbackParams>, QueryRejection>,
) -> Result<Response, AppError> {
    let publisher = publisher(&state)?;
    let params = query.map(|Query(q)| q).unwrap_or_default();
    let hash = session_hash(&headers);
    let outcome = publisher
        .finish_authorization(hash.as_deref(), params)
        .await;
    Ok(redirect(&outcome.location(), None))
}

async fn publish(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<PublishRequest>,
) -> Result<Response, AppError> {
    let publisher = publisher(&state)?;
    let hash = session_hash(&headers)
        .ok_or_else(|| AppError::NotConnected("Connect TikTok first.".into()))?;
    Ok(Json(publisher.init(&hash, request).await?).into_response())
}

async fn upload(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    publish_id: Result<Path<String>, PathRejection>,
    body: Body,
) -> Result<Response, AppError> {
    let publisher = publisher(&state)?;
    let Path(publish_id) = publish_id.map_err(bad_path)?;
    let hash = session_hash(&headers)
        .ok_or_else(|| AppError::NotConnected("Connect TikTok first.".into()))?;
    let content_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let done = publisher
        .upload(&hash, &publish_id, content_length, content_type, body)
        .await?;
    Ok(Json(done).into_response())
}

async fn status(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    publish_id: Result<Path<String>, PathRejection>,
) -> Result<Response, AppError> {
    let publisher = publisher(&state)?;
    let Path(publish_id) = publish_id.map_err(bad_path)?;
    let hash = session_hash(&headers)
        .ok_or_else(|| AppError::NotConnected("Connect TikTok first.".into()))?;
    Ok(Json(publisher.status(&hash, &publish_id).await?).into_response())
}

async fn disconnect(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let publisher = publisher(&state)?;
    let reply = match session_hash(&headers) {
        Some(hash) => publisher.disconnect(&hash).await?,
        None => crate::publish::DisconnectReply {
            connected: false,
            revoked_at_tiktok: false,
        },
    };
    let config = publisher.config();
    let mut response = Json(reply).into_response();
    if let Ok(cookie) = HeaderValue::from_str(&session_cookie("", 0, config.secure_cookies)) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// Requests that change something must come from an allowed page: browsers always send
/// `Origin` with them, and a cross-site form or script cannot fake it.
async fn check_origin(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if let (false, Some(publisher)) = (safe, state.publishing.as_deref()) {
        let origin = request
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok());
        let allowed =
            origin.is_some_and(|o| publisher.config().allowed_origins.iter().any(|a| a == o));
        if !allowed {
            tracing::warn!(origin = ?origin, path = request.uri().path(), "refused: origin not allowed");
            return AppError::OriginNotAllowed.into_response();
        }
    }
    next.run(request).await
}

/// One log line per API request, and `no-store` on every answer.
async fn log_and_no_store(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let session = session_hash(request.headers());
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        session = session.as_deref().map(log_id),
        "api"
    );
    response
}

/// The `/api` routes for a state; merged into [`crate::app`].
pub fn routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let origins: Vec<HeaderValue> = state
        .publishing
        .as_deref()
        .map(|p| p.config().allowed_origins.clone())
        .unwrap_or_default()
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PUT])
        .allow_headers([header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(600));
    Router::new()
        .route("/api/session", get(session))
        .route("/api/connect", get(connect))
        .route("/api/callback", get(callback))
        .route("/api/publish", post(publish))
        // The upload reads its body as a stream and checks Content-Length against the size
        // given at init (at most TikTok's 4 GB), so the JSON limit does not apply to it.
        .route("/api/upload/{publish_id}", put(upload))
        .route("/api/publish/{publish_id}/status", get(status))
        .route("/api/disconnect", post(disconnect))
        .layer(DefaultBodyLimit::max(JSON_LIMIT_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), check_origin))
        .layer(cors)
        .layer(middleware::from_fn(log_and_no_store))
}
