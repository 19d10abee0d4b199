//! The fake's Login Kit: the authorize page (checks client_key, redirect_uri, scope and the
//! PKCE S256 challenge, then approves or denies at once), the token endpoint (authorization
//! code with its verifier, refresh with optional rotation) and revoke. Each approval signs in a
//! new user (a fresh `open_id`), so many sessions do not share one user's inbox limits.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use reqwest::Url;

use super::{
    fault_response, hang, oauth_error, AuthCode, Authorize, Endpoint, FakeState, FaultKind, Grant,
};
use crate::crypto::{pkce_challenge, random_token};
use crate::publish::now_secs;

const KNOWN_SCOPES: [&str; 3] = ["user.info.basic", "video.upload", "video.publish"];
const CODE_TTL_SECS: i64 = 600;

fn page(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("TikTok (fake): {message}"),
    )
        .into_response()
}

fn back_to(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return page(StatusCode::BAD_REQUEST, "redirect_uri is not a URL");
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

fn redirect_uri_allowed(registered: &[String], uri: &str) -> bool {
    if !registered.is_empty() {
        return registered.iter().any(|r| r == uri);
    }
    Url::parse(uri).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.query().is_none() && u.fragment().is_none()
    })
}

/// `GET /v2/auth/authorize/`.
pub async fn authorize(
    State(state): State<FakeState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let answer = {
        let mut inner = state.lock();
        match inner.take_fault(Endpoint::Authorize) {
            Some(FaultKind::Hang) => None,
            Some(_) => Some(page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "something went wrong (injected fault)",
            )),
            None => Some(authorize_answer(&mut inner, &q)),
        }
    };
    match answer {
        Some(response) => response,
        None => hang().await,
    }
}

fn authorize_answer(inner: &mut super::Inner, q: &HashMap<String, String>) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    if get("client_key") != inner.config.client_key {
        return page(
            StatusCode::BAD_REQUEST,
            "client_key is not a registered app",
        );
    }
    let redirect_uri = get("redirect_uri");
    if !redirect_uri_allowed(&inner.config.redirect_uris, redirect_uri) {
        return page(
            StatusCode::BAD_REQUEST,
            "redirect_uri is not registered for this app",
        );
    }
    let state = get("state");
    let refuse = |error: &str, description: &str| {
        back_to(
            redirect_uri,
            &[
                ("error", error),
                ("error_description", description),
                ("state", state),
            ],
        )
    };
    if get("response_type") != "code" {
        return refuse("unsupported_response_type", "response_type must be code");
    }
    let scopes: Vec<&str> = get("scope")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if scopes.is_empty() || scopes.iter().any(|s| !KNOWN_SCOPES.contains(s)) {
        return refuse("invalid_scope", "unknown or missing scope");
    }
    let challenge = get("code_challenge");
    if get("code_challenge_method") != "S256" || challenge.len() < 43 {
        return refuse(
            "invalid_request",
            "code_challenge with code_challenge_method=S256 is required",
        );
    }
    if inner.config.authorize == Authorize::Deny {
        return refuse("access_denied", "The user denied the request");
    }
    inner.stats.authorizations += 1;
    let user = inner.next_id();
    let code = random_token(24);
    inner.issued.push(code.clone());
    let scope = scopes.join(",");
    inner.codes.insert(
        code.clone(),
        AuthCode {
            redirect_uri: redirect_uri.to_string(),
            code_challenge: challenge.to_string(),
            open_id: format!("fake-open-id-{user}"),
            scope: scope.clone(),
            expires_at_secs: now_secs() + CODE_TTL_SECS,
        },
    );
    back_to(
        redirect_uri,
        &[("code", &code), ("scopes", &scope), ("state", state)],
    )
}

fn grant_json(
    open_id: &str,
    scope: &str,
    access: &str,
    expires_in: i64,
    refresh: &str,
    refresh_expires_in: i64,
) -> Response {
    Json(serde_json::json!({
        "open_id": open_id,
        "scope": scope,
        "access_token": access,
        "expires_in": expires_in,
        "refresh_token": refresh,
        "refresh_expires_in": refresh_expires_in,
        "token_type": "Bearer",
    }))
    .into_response()
}

/// `POST /v2/oauth/token/` (form).
pub async fn token(
    State(state): State<FakeState>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let grant_type = get("grant_type");
    let endpoint = if grant_type == "refresh_token" {
        Endpoint::Refresh
    } else {
        Endpoint::Token
    };
    let answer = {
        let mut inner = state.lock();
        match inner.take_fault(endpoint) {
            Some(FaultKind::Hang) => None,
            Some(kind) => fault_response(kind, true),
            None => Some(token_answer(&mut inner, &form, grant_type)),
        }
    };
    match answer {
        Some(response) => response,
        None => hang().await,
    }
}

fn token_answer(
    inner: &mut super::Inner,
    form: &HashMap<String, String>,
    grant_type: &str,
) -> Response {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if get("client_key") != inner.config.client_key
        || get("client_secret") != inner.config.client_secret
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client key or secret is incorrect.",
        );
    }
    let now = now_secs();
    let access_ttl = inner.config.access_expires_in_secs;
    let refresh_ttl = inner.config.refresh_expires_in_secs;
    match grant_type {
        "authorization_code" => {
            inner.stats.code_exchanges += 1;
            // A code works once, whatever happens next.
            let Some(code) = inner.codes.remove(get("code")) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Authorization code is expired or was already used.",
                );
            };
            if code.expires_at_secs < now {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Authorization code is expired.",
                );
            }
            if code.redirect_uri != get("redirect_uri") {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "redirect_uri does not match the authorization request.",
                );
            }
            let verifier = get("code_verifier");
            if verifier.is_empty() || pkce_challenge(verifier) != code.code_challenge {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "code_verifier does not match the code_challenge.",
                );
            }
            let access = format!("act.{}", random_token(32));
            let refresh = format!("rft.{}", random_token(32));
            inner.issued.extend([access.clone(), refresh.clone()]);
            inner.access_tokens.insert(
                access.clone(),
                Grant {
                    open_id: code.open_id.clone(),
                    scope: code.scope.clone(),
                    expires_at_secs: now + access_ttl,
                },
            );
            inner.refresh_tokens.insert(
                refresh.clone(),
                Grant {
                    open_id: code.open_id.clone(),
                    scope: code.scope.clone(),
                    expires_at_secs: now + refresh_ttl,
                },
            );
            grant_json(
                &code.open_id,
                &code.scope,
                &access,
                access_ttl,
                &refresh,
                refresh_ttl,
            )
        }
        "refresh_token" => {
            inner.stats.refreshes += 1;
            let presented = get("refresh_token").to_string();
            let Some(grant) = inner.refresh_tokens.get(&presented).cloned() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Refresh token is invalid or expired.",
                );
            };
            if grant.expires_at_secs < now {
                inner.refresh_tokens.remove(&presented);
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Refresh token is expired.",
                );
            }
            let access = format!("act.{}", random_token(32));
            inner.issued.push(access.clone());
            inner.access_tokens.insert(
                access.clone(),
                Grant {
                    expires_at_secs: now + access_ttl,
                    ..grant.clone()
                },
            );
            let (refresh, refresh_expires_in) = if inner.config.rotate_refresh_tokens {
                inner.stats.rotations += 1;
                inner.refresh_tokens.remove(&presented);
                let fresh = format!("rft.{}", random_token(32));
                inner.issued.push(fresh.clone());
                inner.refresh_tokens.insert(
                    fresh.clone(),
                    Grant {
                        expires_at_secs: now + refresh_ttl,
                        ..grant.clone()
                    },
                );
                (fresh, refresh_ttl)
            } else {
                (presented, grant.expires_at_secs - now)
            };
            grant_json(
                &grant.open_id,
                &grant.scope,
                &access,
                access_ttl,
                &refresh,
                refresh_expires_in,
            )
        }
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token.",
        ),
    }
}

/// `POST /v2/oauth/revoke/` (form): ends the user's authorization, every token of it.
pub async fn revoke(
    State(state): State<FakeState>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let answer = {
        let mut inner = state.lock();
        match inner.take_fault(Endpoint::Revoke) {
            Some(FaultKind::Hang) => None,
            Some(kind) => fault_response(kind, true),
            None => Some({
                if get("client_key") != inner.config.client_key
                    || get("client_secret") != inner.config.client_secret
                {
                    oauth_error(
                        StatusCode::UNAUTHORIZED,
                        "invalid_client",
                        "Client key or secret is incorrect.",
                    )
                } else if get("token").is_empty() {
                    oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "token is required.",
                    )
                } else {
                    inner.stats.revocations += 1;
                    let token = get("token");
                    let open_id = inner
                        .access_tokens
                        .get(token)
                        .or_else(|| inner.refresh_tokens.get(token))
                        .map(|g| g.open_id.clone());
                    if let Some(open_id) = open_id {
                        inner.access_tokens.retain(|_, g| g.open_id != open_id);
                        inner.refresh_tokens.retain(|_, g| g.open_id != open_id);
                    }
                    Json(serde_json::json!({})).into_response()
                }
            }),
        }
    };
    match answer {
        Some(response) => response,
        None => hang().await,
    }
}
