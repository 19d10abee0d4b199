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
    let new_id = random_token(32);
    let outcome = publisher
        .finish_authorization(hash.as_deref(), &sha256_hex(&new_id), params)
        .await;
    let cookie = (outcome.outcome == "connected").then(|| {
        let config = publisher.config();
        session_cookie(
            &new_id,
            config.session_cookie_max_age_secs,
            config.secure_cookies,
        )
    });
    Ok(redirect(&outcome.location(), cookie))
}

async fn publish(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    request: Result<ApiJson<PublishRequest>, AppError>,
) -> Result<Response, AppError> {
    let publisher = publisher(&state)?;
    let ApiJson(request) = request?;
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
    let publisher = state.publishing.clone().ok_or(AppError::NotConfigured)?;
    let Path(publish_id) = publish_id.map_err(bad_path)?;
    // Checked by the publisher, which reads the rest of a refused body before answering.
    let hash = session_hash(&headers);
    let content_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    // A task of its own: when the browser drops the connection, hyper drops this handler,
    // but the upload must still record the chunks TikTok confirmed and let go of its claim,
    // so that the next PUT resumes at once.
    let done = tokio::spawn(async move {
        publisher
            .upload(
                hash.as_deref(),
                &publish_id,
                content_length,
                content_type.as_deref(),
                body,
            )
            .await
    })
    .await
    .map_err(|e| AppError::Internal(format!("the upload task failed: {e}")))??;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PublishConfig, TikTokConfig, DEFAULT_SCOPES};
    use crate::crypto::TokenCipher;
    use crate::store::{Upload, UploadState};
    use axum::body::{to_bytes, Bytes};
    use reqwest::Url;
    use tower::ServiceExt;

    const ORIGIN: &str = "https://clips.example";

    struct Setup {
        router: Router,
        publisher: Arc<Publisher>,
        _dir: tempfile::TempDir,
    }

    /// A relay with publishing on; TikTok is a closed port (these tests never reach it).
    async fn setup(redirect: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<html></html>").unwrap();
        let tiktok = TikTokConfig {
            client_key: "key".into(),
            client_secret: "secret".into(),
            redirect_url: Url::parse(redirect).unwrap(),
            auth_base: Url::parse("http://127.0.0.1:1/").unwrap(),
            api_base: Url::parse("http://127.0.0.1:1/").unwrap(),
            scopes: DEFAULT_SCOPES.into(),
        };
        let db = format!("sqlite://{}/relay.db", dir.path().display());
        let config = PublishConfig::new(tiktok, db, TokenCipher::random());
        let publisher = Publisher::start(config).await.unwrap();
        let state = AppState::load(dir.path())
            .unwrap()
            .with_publishing(publisher);
        let publisher = state.publishing.clone().unwrap();
        Setup {
            router: crate::app(state),
            publisher,
            _dir: dir,
        }
    }

    async fn send(router: &Router, request: Request) -> (StatusCode, HeaderMap, serde_json::Value) {
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (
            status,
            headers,
            serde_json::from_slice(&body).unwrap_or_default(),
        )
    }

    fn request(method: &str, path: &str) -> axum::http::request::Builder {
        Request::builder().method(method).uri(path)
    }

    #[tokio::test]
    async fn without_credentials_the_editor_is_served_and_publishing_says_so() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<html></html>").unwrap();
        let router = crate::app(AppState::load(dir.path()).unwrap());
        let (status, _, body) = send(
            &router,
            request("GET", "/api/session").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            serde_json::json!({ "configured": false, "connected": false })
        );
        for (method, path) in [
            ("GET", "/api/connect"),
            ("POST", "/api/publish"),
            ("POST", "/api/disconnect"),
        ] {
            let (status, _, body) = send(
                &router,
                request(method, path)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from("{}"))
                    .unwrap(),
            )
            .await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
            assert_eq!(body["error"]["code"], "publishing_not_configured");
        }
        let (status, _, _) = send(&router, request("GET", "/").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn cors_answers_exactly_the_allowed_origins() {
        let s = setup("https://clips.example/api/callback").await;
        let preflight = |origin: &str| {
            request("OPTIONS", "/api/publish")
                .header(header::ORIGIN, origin)
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
                .body(Body::empty())
                .unwrap()
        };
        let (status, headers, _) = send(&s.router, preflight(ORIGIN)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], ORIGIN);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        for other in [
            "https://evil.example",
            "https://clips.example.evil.example",
            "http://clips.example",
        ] {
            let (_, headers, _) = send(&s.router, preflight(other)).await;
            assert!(
                !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
                "{other}"
            );
        }
    }

    #[tokio::test]
    async fn changes_need_an_allowed_origin() {
        let s = setup("https://clips.example/api/callback").await;
        let post = |origin: Option<&str>| {
            let mut r =
                request("POST", "/api/publish").header(header::CONTENT_TYPE, "application/json");
            if let Some(origin) = origin {
                r = r.header(header::ORIGIN, origin);
            }
            r.body(Body::from(
                r#"{"mode":"inbox","video_size_bytes":10,"content_type":"video/mp4"}"#,
            ))
            .unwrap()
        };
        for origin in [None, Some("https://evil.example")] {
            let (status, _, body) = send(&s.router, post(origin)).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
            assert_eq!(body["error"]["code"], "origin_not_allowed");
        }
        // Allowed, but no session yet.
        let (status, headers, body) = send(&s.router, post(Some(ORIGIN))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "not_connected");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers["cross-origin-resource-policy"], "same-origin");
    }

    #[tokio::test]
    async fn json_bodies_are_small_and_well_formed() {
        let s = setup("https://clips.example/api/callback").await;
        let post = |body: Vec<u8>| {
            request("POST", "/api/publish")
                .header(header::ORIGIN, ORIGIN)
                .header(header::CONTENT_TYPE, "application/json")
                .header(
                    header::COOKIE,
                    format!("{SESSION_COOKIE}={}", random_token(32)),
                )
                .body(Body::from(body))
                .unwrap()
        };
        let big = format!(
            r#"{{"mode":"inbox","video_size_bytes":10,"content_type":"video/mp4","title":"{}"}}"#,
            "x".repeat(100_000)
        );
        let (status, _, body) = send(&s.router, post(big.into_bytes())).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["error"]["code"], "payload_too_large");
        let (status, _, body) = send(&s.router, post(b"{not json".to_vec())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "bad_request");
        let (status, _, body) = send(
            &s.router,
            post(
                br#"{"mode":"inbox","video_size_bytes":10,"content_type":"video/mp4","extra":1}"#
                    .to_vec(),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"]["message"].as_str().unwrap().contains("extra"));
    }

    #[tokio::test]
    async fn connect_sets_a_locked_down_cookie_and_goes_to_tiktok() {
        let s = setup("https://clips.example/api/callback").await;
        let (status, headers, _) = send(
            &s.router,
            request("GET", "/api/connect?return_to=%2F")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let cookie = headers[header::SET_COOKIE].to_str().unwrap();
        for part in [
            "reelsmith_session=",
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/",
        ] {
            assert!(cookie.contains(part), "{cookie}");
        }
        let location = headers[header::LOCATION].to_str().unwrap();
        assert!(location.starts_with("http://127.0.0.1:1/v2/auth/authorize/?client_key=key&"));
        assert!(location.contains("redirect_uri=https%3A%2F%2Fclips.example%2Fapi%2Fcallback"));
        // A second connect from the same browser keeps its session.
        let id = cookie.split(';').next().unwrap().to_string();
        let (_, again, _) = send(
            &s.router,
            request("GET", "/api/connect")
                .header(header::COOKIE, &id)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert!(again[header::SET_COOKIE].to_str().unwrap().starts_with(&id));
    }

    #[tokio::test]
    async fn a_callback_without_the_session_goes_back_with_an_error() {
        let s = setup("https://clips.example/api/callback").await;
        let (status, headers, _) = send(
            &s.router,
            request("GET", "/api/callback?code=abc&state=def")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/?tiktok=error&reason="));
    }

    #[tokio::test]
    async fn uploads_need_their_exact_length() {
        let s = setup("https://clips.example/api/callback").await;
        let id = random_token(32);
        let session = sha256_hex(&id);
        let upload = Upload {
            publish_id: "p1".into(),
            mode: "inbox".into(),
            upload_url: "http://127.0.0.1:1/video/".into(),
            content_type: "video/mp4".into(),
            video_size_bytes: 10,
            chunk_size_bytes: 10,
            total_chunk_count: 1,
            chunks_done: 0,
            state: UploadState::Ready,
        };
        s.publisher
            .store()
            .insert_upload(&session, &upload, 0)
            .await
            .unwrap();
        let put = |path: &str, length: Option<&str>, body: Body| {
            let mut r = request("PUT", path)
                .header(header::ORIGIN, ORIGIN)
                .header(header::COOKIE, format!("{SESSION_COOKIE}={id}"));
            if let Some(length) = length {
                r = r.header(header::CONTENT_LENGTH, length);
            }
            r.body(body).unwrap()
        };
        let stream = || {
            Body::from_stream(futures::stream::once(async {
                Ok::<_, std::io::Error>(Bytes::from_static(b"0123456789"))
            }))
        };
        let (status, _, body) = send(&s.router, put("/api/upload/p1", None, stream())).await;
        assert_eq!(status, StatusCode::LENGTH_REQUIRED);
        assert_eq!(body["error"]["code"], "length_required");
        let (status, _, body) = send(&s.router, put("/api/upload/p1", Some("11"), stream())).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("10 bytes"));
        let (status, _, _) = send(&s.router, put("/api/upload/p2", Some("10"), stream())).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Nothing was claimed by the refused requests.
        let stored = s
            .publisher
            .store()
            .upload(&session, "p1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.state, UploadState::Ready);
    }

    #[test]
    fn only_well_formed_session_cookies_count() {
        let mut headers = HeaderMap::new();
        let id = random_token(32);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {SESSION_COOKIE}={id}; c=d")).unwrap(),
        );
        assert_eq!(session_id(&headers), Some(id));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("reelsmith_session=short"),
        );
        assert_eq!(session_id(&headers), None);
    }
}
