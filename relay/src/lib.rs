//! The relay: Reelsmith's one server. It serves the built editor (`dist/`) with the headers
//! that make it cross-origin isolated (COOP/COEP, for SharedArrayBuffer and precise timers)
//! and a strict Content-Security-Policy, the speech model files the editor downloads once and
//! keeps in the browser (`/models/<name>/…`, listed with their SHA-256 in `manifest.json`),
//! and, when TikTok credentials are configured, the publish API under `/api` (relay/API.md).
//! For partner sites it serves `/embed.js` and the embeddable editor at `/embed` ([`embed`]).
//! Build the router with [`app`]; tests drive it without a socket.

pub mod api;
pub mod chunks;
pub mod config;
pub mod crypto;
pub mod embed;
pub mod error;
pub mod fake;
pub mod publish;
pub mod serve;
pub mod store;
pub mod tiktok;
pub mod upload;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderValue, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use reelsmith_core::protocol::{ModelFile, ModelManifest, MODEL_FILES, OPTIONAL_MODEL_FILES};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

pub use error::AppError;
pub use publish::Publisher;

/// What the relay serves and how.
pub struct AppState {
    pub dist: PathBuf,
    index_html: String,
    /// The inline start-up script's hash, in CSP source form.
    script_hashes: String,
    csp: String,
    /// Exact origins allowed to frame the editor (`/embed?parent=…`).
    partners: Vec<String>,
    /// Speech models found under the models directory, by name, with their folders.
    models: BTreeMap<String, (PathBuf, ModelManifest)>,
    /// Publishing to TikTok; `None` when no credentials are configured.
    pub publishing: Option<Arc<Publisher>>,
}

impl AppState {
    /// Reads the built editor's `index.html` and derives the CSP from it.
    pub fn load(dist: impl AsRef<Path>) -> Result<Self, AppError> {
        let dist = dist.as_ref().to_path_buf();
        let index_html = std::fs::read_to_string(dist.join("index.html"))
            .map_err(|_| AppError::NotBuilt(dist.clone()))?;
        let script_hashes = inline_script_hashes(&index_html).join(" ");
        let csp = policy(&script_hashes, "'self'", "'none'");
        Ok(Self {
            dist,
            index_html,
            script_hashes,
            csp,
            partners: Vec::new(),
            models: BTreeMap::new(),
            publishing: None,
        })
    }

    /// Serves every model folder under `root` that has a `SHA256SUMS` listing the files the
    /// engine needs (what `scripts/prepare-model.sh` writes). A folder without one is skipped.
    pub fn with_models(mut self, root: impl AsRef<Path>) -> Result<Self, AppError> {
        let root = root.as_ref();
        if !root.exists() {
            return Ok(self); // nothing prepared: the editor says transcription is unavailable
        }
        let entries = std::fs::read_dir(root)
            .map_err(|e| AppError::Models(format!("{}: {e}", root.display())))?;
        for entry in entries.flatten() {
            let dir = entry.path();
            let Some(name) = dir.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
                continue;
            };
            let Ok(sums) = std::fs::read_to_string(dir.join("SHA256SUMS")) else {
                continue;
            };
            let manifest = manifest_for(&name, &dir, &sums)?;
            self.models.insert(name, (dir, manifest));
        }
        Ok(self)
    }

    /// Turns publishing on.
    pub fn with_publishing(mut self, publisher: Publisher) -> Self {
        self.publishing = Some(Arc::new(publisher));
        self
    }

    /// Lets pages of these origins embed the editor (exact origins, `config::partner_origins`).
    pub fn with_partners(mut self, origins: Vec<String>) -> Self {
        self.partners = origins;
        self
    }

    /// The origins that may embed the editor.
    pub fn partners(&self) -> &[String] {
        &self.partners
    }

    /// The embedded editor's policy for one partner: framed by that origin only, and allowed
    /// to fetch from it (a video the partner names by URL); otherwise the editor's own.
    fn embedded_csp(&self, partner: &str) -> String {
        policy(&self.script_hashes, &format!("'self' {partner}"), partner)
    }

    /// Names of the models served.
    pub fn model_names(&self) -> Vec<&str> {
        self.models.keys().map(String::as_str).collect()
    }
}

/// The manifest of one model folder from its `SHA256SUMS` (`<hex>  <file>` lines).
fn manifest_for(name: &str, dir: &Path, sums: &str) -> Result<ModelManifest, AppError> {
    let hashes: BTreeMap<&str, &str> = sums
        .lines()
        .filter_map(|line| line.split_once("  "))
        .map(|(hash, file)| (file.trim(), hash.trim()))
        .collect();
    let mut files = Vec::new();
    let optional = OPTIONAL_MODEL_FILES
        .into_iter()
        .filter(|file| hashes.contains_key(file));
    for file in MODEL_FILES.into_iter().chain(optional) {
        let sha256 = hashes.get(file).ok_or_else(|| {
            AppError::Models(format!(
                "{}: SHA256SUMS does not list {file}",
                dir.display()
            ))
        })?;
        let bytes = std::fs::metadata(dir.join(file))
            .map_err(|e| AppError::Models(format!("{}/{file}: {e}", dir.display())))?
            .len();
        files.push(ModelFile {
            name: file.to_string(),
            url: format!("/models/{name}/{file}"),
            bytes,
            sha256: sha256.to_lowercase(),
        });
    }
    Ok(ModelManifest {
        name: name.to_string(),
        cache: format!("reelsmith-model-{name}"),
        files,
    })
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
/// no inline code but the start-up script, no framing (the embedded editor has its own
/// policy: `frame-ancestors` its partner).
pub fn content_security_policy(index_html: &str) -> String {
    policy(
        &inline_script_hashes(index_html).join(" "),
        "'self'",
        "'none'",
    )
}

fn policy(scripts: &str, connect: &str, frame_ancestors: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {scripts}; worker-src 'self'; \
         style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src {connect}; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {frame_ancestors}"
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

async fn model_manifest(
    State(state): State<Arc<AppState>>,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, AppError> {
    let (_, manifest) = state.models.get(&name).ok_or(AppError::NoModel(name))?;
    Ok((
        [(header::CACHE_CONTROL, "no-cache")],
        Json(manifest.clone()),
    )
        .into_response())
}

async fn model_file(
    State(state): State<Arc<AppState>>,
    UrlPath((name, file)): UrlPath<(String, String)>,
    request: Request<Body>,
) -> Result<Response, AppError> {
    let (dir, manifest) = state
        .models
        .get(&name)
        .ok_or_else(|| AppError::NoModel(name.clone()))?;
    // Only the listed files: the name never reaches the file system otherwise.
    let listed = manifest
        .file(&file)
        .ok_or_else(|| AppError::NoModel(format!("{name}/{file}")))?;
    let mut response = ServeFile::new(dir.join(&listed.name))
        .oneshot(request)
        .await
        .map_err(|e| AppError::Models(e.to_string()))?
        .into_response();
    // The app keeps the files in Cache Storage after checking their hash; the HTTP cache
    // need not hold a second copy.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Isolation and safety headers on every response: COOP/COEP except on the embedded editor
/// page; CORP and the CSP unless the route set its own (`/embed.js`, `/embed`).
async fn security_headers(
    State(state): State<Arc<AppState>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let mut response = next.run(request).await;
    let embeddable = response.extensions().get::<embed::Embeddable>().is_some();
    let headers = response.headers_mut();
    if !embeddable {
        headers.insert(
            "cross-origin-opener-policy",
            HeaderValue::from_static("same-origin"),
        );
        headers.insert(
            "cross-origin-embedder-policy",
            HeaderValue::from_static("require-corp"),
        );
    }
    headers
        .entry("cross-origin-resource-policy")
        .or_insert(HeaderValue::from_static("same-origin"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(csp) = HeaderValue::from_str(&state.csp) {
            headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
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
        .merge(api::routes(&state))
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/embed.js", get(embed::script))
        .route(reelsmith_core::embed::EMBED_PATH, get(embed::page))
        .route("/models/{name}/manifest.json", get(model_manifest))
        .route("/models/{name}/{file}", get(model_file))
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
    use axum::http::StatusCode;

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

    fn csp(response: &Response) -> &str {
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
    }

    fn with_partners() -> (tempfile::TempDir, Router) {
        let dir = dist();
        let state = AppState::load(dir.path()).unwrap().with_partners(vec![
            "http://127.0.0.1:5000".into(),
            "https://shop.example".into(),
        ]);
        (dir, app(state))
    }

    #[tokio::test]
    async fn the_embedded_editor_may_be_framed_by_the_partner_it_names_only() {
        let (_dir, router) = with_partners();
        let response = get(router, "/embed?parent=http%3A%2F%2F127.0.0.1%3A5000").await;
        assert_eq!(response.status(), StatusCode::OK);
        let policy = csp(&response);
        assert!(
            policy.ends_with("; frame-ancestors http://127.0.0.1:5000"),
            "{policy}"
        );
        assert!(policy.contains("connect-src 'self' http://127.0.0.1:5000;"));
        // The other partner may not frame this page: it is the first one's.
        assert!(!policy.contains("shop.example"));
        // The rest stays as strict as the standalone editor's.
        assert!(policy.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"));
        assert!(policy.contains("default-src 'self'"));
        assert!(!policy.contains("unsafe-inline"));
        let h = response.headers();
        assert!(!h.contains_key("cross-origin-opener-policy"));
        assert!(!h.contains_key("cross-origin-embedder-policy"));
        assert_eq!(h["content-type"], "text/html; charset=utf-8");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        assert_eq!(body, PAGE.as_bytes());
    }

    #[tokio::test]
    async fn a_page_not_on_the_list_gets_a_refusal_no_page_may_frame() {
        let (_dir, router) = with_partners();
        for path in [
            "/embed",
            "/embed?parent=http%3A%2F%2Fevil.example",
            // Near misses: a prefix, another port, a trailing slash, the wrong case.
            "/embed?parent=http%3A%2F%2F127.0.0.1%3A5000.evil.example",
            "/embed?parent=http%3A%2F%2F127.0.0.1%3A50000",
            "/embed?parent=https%3A%2F%2Fshop.example%2F",
            "/embed?parent=https%3A%2F%2FSHOP.example",
            "/embed?parent=*",
        ] {
            let response = get(router.clone(), path).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
            assert!(csp(&response).ends_with("frame-ancestors 'none'"), "{path}");
            let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
            let text = String::from_utf8(body.to_vec()).unwrap();
            assert!(text.contains("REELSMITH_PARTNER_ORIGINS"), "{path}");
        }
    }

    #[tokio::test]
    async fn without_partners_nothing_may_frame_the_editor() {
        let dir = dist();
        let router = app(AppState::load(dir.path()).unwrap());
        let response = get(router, "/embed?parent=http%3A%2F%2F127.0.0.1%3A5000").await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(csp(&response).ends_with("frame-ancestors 'none'"));
    }

    #[tokio::test]
    async fn the_standalone_editor_stays_isolated_and_unframeable_with_partners_listed() {
        let (_dir, router) = with_partners();
        for path in ["/", "/index.html", "/reelsmith-app-0123abcd_bg.wasm"] {
            let response = get(router.clone(), path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let h = response.headers();
            assert_eq!(h["cross-origin-opener-policy"], "same-origin", "{path}");
            assert_eq!(h["cross-origin-embedder-policy"], "require-corp", "{path}");
            assert_eq!(h["cross-origin-resource-policy"], "same-origin", "{path}");
            let policy = csp(&response);
            assert!(policy.ends_with("frame-ancestors 'none'"), "{path}");
            assert!(policy.contains("connect-src 'self';"), "{path}");
        }
    }

    #[tokio::test]
    async fn embed_js_is_served_as_javascript_any_origin_may_load() {
        let (_dir, router) = with_partners();
        let response = get(router, "/embed.js").await;
        assert_eq!(response.status(), StatusCode::OK);
        let h = response.headers();
        assert_eq!(h["content-type"], "text/javascript; charset=utf-8");
        assert_eq!(h["cross-origin-resource-policy"], "cross-origin");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["cache-control"], "no-cache");
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        assert_eq!(body, embed::EMBED_JS.as_bytes());
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

    /// A models folder with one complete model, one without SHA256SUMS.
    fn models() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("tiny");
        std::fs::create_dir(&model).unwrap();
        let mut sums = String::new();
        for (i, file) in MODEL_FILES.iter().enumerate() {
            let body = vec![b'a' + i as u8; 10 + i];
            sums.push_str(&format!("{:x}  {file}\n", Sha256::digest(&body)));
            std::fs::write(model.join(file), body).unwrap();
        }
        std::fs::write(model.join("secret.txt"), b"not served").unwrap();
        std::fs::write(model.join("SHA256SUMS"), sums).unwrap();
        std::fs::create_dir(dir.path().join("half-built")).unwrap();
        dir
    }

    #[tokio::test]
    async fn models_are_listed_with_sizes_and_hashes_and_served() {
        let (dist, models) = (dist(), models());
        let state = AppState::load(dist.path())
            .unwrap()
            .with_models(models.path())
            .unwrap();
        assert_eq!(state.model_names(), vec!["tiny"]);
        let router = app(state);
        let response = get(router.clone(), "/models/tiny/manifest.json").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-cache");
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let manifest: ModelManifest = serde_json::from_slice(&body).unwrap();
        assert_eq!(manifest.files.len(), MODEL_FILES.len());
        let decoder = manifest.file("decoder.onnx").unwrap();
        assert_eq!(decoder.bytes, 11);
        assert_eq!(decoder.url, "/models/tiny/decoder.onnx");
        assert_eq!(
            decoder.sha256,
            format!("{:x}", Sha256::digest(vec![b'b'; 11]))
        );

        let response = get(router.clone(), "/models/tiny/decoder.onnx").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-length"], "11");
        assert_eq!(
            response.headers()["cross-origin-resource-policy"],
            "same-origin"
        );
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        assert_eq!(body.as_ref(), vec![b'b'; 11].as_slice());

        for path in [
            "/models/tiny/secret.txt",
            "/models/tiny/SHA256SUMS",
            "/models/tiny/..%2Fsecret.txt",
            "/models/half-built/manifest.json",
            "/models/nope/encoder.onnx",
        ] {
            let response = get(router.clone(), path).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[tokio::test]
    async fn the_vad_is_listed_and_served_only_where_sha256sums_lists_it() {
        let (dist, models) = (dist(), models());
        // A second model with vad.onnx on disk and listed; the first has one on disk only.
        let with_vad = models.path().join("with-vad");
        std::fs::create_dir(&with_vad).unwrap();
        let mut sums = std::fs::read_to_string(models.path().join("tiny/SHA256SUMS")).unwrap();
        for file in MODEL_FILES {
            std::fs::copy(models.path().join("tiny").join(file), with_vad.join(file)).unwrap();
        }
        std::fs::write(with_vad.join("vad.onnx"), b"vad").unwrap();
        std::fs::write(models.path().join("tiny/vad.onnx"), b"vad").unwrap();
        sums.push_str(&format!("{:x}  vad.onnx\n", Sha256::digest(b"vad")));
        std::fs::write(with_vad.join("SHA256SUMS"), sums).unwrap();
        let state = AppState::load(dist.path())
            .unwrap()
            .with_models(models.path())
            .unwrap();
        let router = app(state);
        let manifest = |name: &'static str| {
            let router = router.clone();
            async move {
                let response = get(router, &format!("/models/{name}/manifest.json")).await;
                let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
                serde_json::from_slice::<ModelManifest>(&body).unwrap()
            }
        };
        let listed = manifest("with-vad").await;
        assert_eq!(listed.files.len(), MODEL_FILES.len() + 1);
        assert_eq!(listed.file("vad.onnx").unwrap().bytes, 3);
        assert!(manifest("tiny").await.file("vad.onnx").is_none());
        let response = get(router.clone(), "/models/with-vad/vad.onnx").await;
        assert_eq!(response.status(), StatusCode::OK);
        let response = get(router.clone(), "/models/tiny/vad.onnx").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn an_unbuilt_editor_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = AppState::load(dir.path()).err().unwrap();
        assert!(err.to_string().contains("not built"));
    }
}
