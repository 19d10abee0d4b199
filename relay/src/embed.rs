//! The widget's server side: `/embed.js`, the partner's script (`relay/embed.js`, built into
//! the binary and served so any page may load it), and `/embed?parent=<origin>`, the editor
//! made frameable by exactly that origin when it is on the partner list. That page comes
//! without COOP/COEP: a cross-origin-isolated frame needs an isolated parent, and partner
//! pages rarely are; the editor needs no SharedArrayBuffer. Any other `parent` (or none) is
//! refused, and the refusal itself carries `frame-ancestors 'none'`.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;

/// The partner's script (protocol in relay/API.md, "Embedding").
pub const EMBED_JS: &str = include_str!("../embed.js");

/// Marks the embedded editor page: the security layer leaves out COOP and COEP and keeps the
/// page's own policy.
#[derive(Clone, Copy, Debug)]
pub struct Embeddable;

#[derive(Deserialize)]
pub struct EmbedQuery {
    parent: Option<String>,
}

/// `GET /embed.js`. `Cross-Origin-Resource-Policy: cross-origin` so that partner pages, even
/// cross-origin isolated ones, may load it.
pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (
                header::HeaderName::from_static("cross-origin-resource-policy"),
                "cross-origin",
            ),
            // Small and tied to the relay's version: revalidated, never stale.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        EMBED_JS,
    )
        .into_response()
}

/// `GET /embed?parent=<origin>`: the editor for that partner, or a refusal.
pub async fn page(State(state): State<Arc<AppState>>, Query(query): Query<EmbedQuery>) -> Response {
    let partner = query
        .parent
        .filter(|p| state.partners.iter().any(|allowed| allowed == p));
    let Some(partner) = partner else {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "This page may not embed the Reelsmith editor: its origin is not among the relay's \
             partner origins (REELSMITH_PARTNER_ORIGINS).\n",
        )
            .into_response();
    };
    let Ok(policy) = HeaderValue::from_str(&state.embedded_csp(&partner)) else {
        // Listed origins are checked at start-up to be plain ASCII: this cannot happen.
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        state.index_html.clone(),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, policy);
    response.extensions_mut().insert(Embeddable);
    response
}
