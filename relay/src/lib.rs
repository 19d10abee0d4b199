//! The relay: Reelsmith's one server. For now it serves the built editor (`dist/`) with the
//! headers that make it cross-origin isolated (COOP/COEP, for SharedArrayBuffer and precise
//! timers) and a strict Content-Security-Policy. Build the router with [`app`]; tests drive it
//! without a socket.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use sha2::{Digest, Sha256};
use tower_http::services::ServeDir;

/// What the relay serves and how.
pub struct AppState {
    pub dist: PathBuf,
    index_html: String,
    csp: String,
}

/// Errors the relay answers with; one place turns them into responses.
#[derive(Debug)]
pub enum AppError {
    /// The editor has not been built (no `dist/index.html`).
    NotBuilt(PathBuf),
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::NotBuilt(dist) => write!(
                f,
                "the editor is not built: {} has no index.html (run the README's run command)",
                dist.display()
            ),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (StatusCode::SERVICE_UNAVAILABLE, self.to_string()).into_response()
    }
}

impl AppState {
    /// Reads the built editor's `index.html` and derives the CSP from it.
    pub fn load(dist: impl AsRef<Path>) -> Result<Self, AppError> {
        let dist = dist.as_ref().to_path_buf();
        let index_html = std::fs::read_to_string(dist.join("index.html"))
            .map_err(|_| AppError::NotBuilt(dist.clone()))?;
        let csp = content_security_policy(&index_html);
        Ok(Self {
            dist,
            index_html,
            csp,
        })
    }
}

/// SHA-256 hashes (CSP source form) of the inline scripts in a page. trunk writes one inline
/// module script that starts the app; allowing exactly its hash keeps `script-src` free of
/// `'unsafe-inline'`.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = vec![];
    let mut rest = html;
    while let Some(open) = rest.find("<script") {
        let after = &rest[open..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body_start = tag_end + 1;
        let Some(close) = after[body_start..].find("</script>") else {
            break;
        };
        let body = &after[body_start..body_start + close];
        if !tag.contains(" src=") {
            let digest = Sha256::digest(body.as_bytes());
            hashes.push(format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &after[body_start + close..];
    }
    hashes
}

/// The editor's policy: everything from its own origin, WebAssembly allowed to compile,
/// no inline code but the start-up script, no framing (embedding comes with its own policy).
pub fn content_security_policy(index_html: &str) -> String {
    let scripts = inline_script_hashes(index_html).join(" ");
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {scripts}; worker-src 'self'; \
         style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

async fn index(State(state): State<Arc<AppState>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        state.index_html.clone(),
    )
        .into_response()
}

/// Isolation and safety headers on every response.
async fn security_headers(
    State(state): State<Arc<AppState>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed = [
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-embedder-policy", "require-corp"),
        ("cross-origin-resource-policy", "same-origin"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if let Ok(csp) = HeaderValue::from_str(&state.csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    // trunk names built assets by content hash: they never change under the same name.
    let hashed = path
        .rsplit('/')
        .next()
        .is_some_and(|f| f.contains('-') && f.contains('.'));
    if hashed && !headers.contains_key(header::CACHE_CONTROL) && path != "/" {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    }
    response
}

/// The relay's routes.
pub fn app(state: AppState) -> Router {
    let state = Arc::new(state);
    let files = ServeDir::new(&state.dist);
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .fallback_service(files)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use tower::ServiceExt;

    const PAGE: &str = "<html><head><link rel=\"stylesheet\" href=\"/a.css\"/>\n<script type=\"module\">\nimport init from '/app.js';\nawait init();\n</script><script src=\"/x.js\"></script></head></html>";

    fn dist() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), PAGE).unwrap();
        std::fs::write(
            dir.path().join("reelsmith-app-0123abcd_bg.wasm"),
            b"\0asm\x01\0\0\0",
        )
        .unwrap();
        dir
    }

    async fn get(app: Router, path: &str) -> Response {
        app.oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    #[test]
    fn csp_allows_exactly_the_inline_start_script() {
        let hashes = inline_script_hashes(PAGE);
        assert_eq!(hashes.len(), 1, "the src= script is not inline");
        let body = "\nimport init from '/app.js';\nawait init();\n";
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body));
        assert_eq!(hashes[0], format!("'sha256-{expected}'"));
        let csp = content_security_policy(PAGE);
        assert!(csp.contains(&hashes[0]));
        assert!(!csp.contains("unsafe-inline"));
        assert!(csp.contains("'wasm-unsafe-eval'"));
    }

    #[tokio::test]
    async fn index_is_isolated_and_locked_down() {
        let dir = dist();
        let response = get(app(AppState::load(dir.path()).unwrap()), "/").await;
        assert_eq!(response.status(), StatusCode::OK);
        let h = response.headers();
        assert_eq!(h["cross-origin-opener-policy"], "same-origin");
        assert_eq!(h["cross-origin-embedder-policy"], "require-corp");
        assert!(h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sha256-"));
        assert_eq!(h["cache-control"], "no-cache");
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        assert_eq!(body, PAGE.as_bytes());
    }

    #[tokio::test]
    async fn wasm_is_served_with_its_type_and_cached_forever() {
        let dir = dist();
        let response = get(
            app(AppState::load(dir.path()).unwrap()),
            "/reelsmith-app-0123abcd_bg.wasm",
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        let h = response.headers();
        assert_eq!(h["content-type"], "application/wasm");
        assert_eq!(h["cross-origin-resource-policy"], "same-origin");
        assert!(h["cache-control"].to_str().unwrap().contains("immutable"));
    }

    #[tokio::test]
    async fn missing_files_are_404_with_headers() {
        let dir = dist();
        let response = get(app(AppState::load(dir.path()).unwrap()), "/nope.js").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()["cross-origin-embedder-policy"],
            "require-corp"
        );
    }

    #[test]
    fn an_unbuilt_editor_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = AppState::load(dir.path()).err().unwrap();
        assert!(err.to_string().contains("not built"));
    }
}
