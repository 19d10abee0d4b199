//! The fake TikTok on its own, over HTTP, as a client that breaks TikTok's rules would meet
//! it: chunk PUTs with the wrong type, range, size, order or body length; init with
//! source_info outside the chunk rules; bad bearer tokens and missing scopes; TikTok's
//! per-token rate limits; the error envelopes. The relay never sends these, so only a direct
//! test shows the fake would catch a relay that did.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

use reelsmith_relay::crypto::pkce_pair;
use reelsmith_relay::fake::{self, FakeConfig, FakeTikTok};
use reqwest::{header, StatusCode, Url};
use serde_json::{json, Value};

const REDIRECT: &str = "http://127.0.0.1:1/api/callback";

struct Client {
    fake: FakeTikTok,
    http: reqwest::Client,
    token: String,
}

/// A fake and an access token for a user who granted every scope (or `scope`).
async fn signed_in(scope: &str, config: FakeConfig) -> Client {
    let fake = fake::start(
        FakeConfig {
            redirect_uris: vec![REDIRECT.into()],
            ..config
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (verifier, challenge) = pkce_pair();
    let mut authorize = fake.base_url.join("v2/auth/authorize/").unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("client_key", "reelsmith-demo")
        .append_pair("scope", scope)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("state", "s")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let back = http.get(authorize).send().await.unwrap();
    assert_eq!(back.status(), StatusCode::FOUND);
    let location = Url::parse(back.headers()[header::LOCATION].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let grant: Value = http
        .post(fake.base_url.join("v2/oauth/token/").unwrap())
        .form(&[
            ("client_key", "reelsmith-demo"),
            ("client_secret", "reelsmith-demo-secret"),
            ("code", &code),
            ("grant_type", "authorization_code"),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(grant["scope"], scope);
    assert_eq!(grant["token_type"], "Bearer");
    Client {
        token: grant["access_token"].as_str().unwrap().into(),
        fake,
        http,
    }
}

impl Client {
    async fn api(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.api_as(&self.token, path, body).await
    }

    async fn api_as(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.fake.base_url.join(path).unwrap())
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    async fn init(&self, size: u64, chunk: u64, count: u64) -> (StatusCode, Value) {
        self.api(
            "v2/post/publish/inbox/video/init/",
            json!({ "source_info": { "source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk, "total_chunk_count": count } }),
        )
        .await
    }

    async fn put(
        &self,
        url: &str,
        content_type: &str,
        range: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let response = self
            .http
            .put(url)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CONTENT_RANGE, range)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn chunk_puts_follow_tiktoks_rules() {
    let c = signed_in(
        "user.info.basic,video.upload,video.publish",
        FakeConfig::default(),
    )
    .await;
    const CHUNK: u64 = 5 << 20;
    let size = 2 * CHUNK + 100;
    let (status, body) = c.init(size, CHUNK, 2).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(code(&body), "ok");
    let url = body["data"]["upload_url"].as_str().unwrap().to_string();
    let id = body["data"]["publish_id"].as_str().unwrap().to_string();
    let mut video = vec![7u8; size as usize];
    video[..8].copy_from_slice(b"\0\0\0\x18ftyp");
    let first = video[..CHUNK as usize].to_vec();
    let last = video[CHUNK as usize..].to_vec();
    let first_range = format!("bytes 0-{}/{size}", CHUNK - 1);
    let last_range = format!("bytes {CHUNK}-{}/{size}", size - 1);

    for (content_type, range, body, why) in [
        ("video/avi", first_range.clone(), first.clone(), "type"),
        (
            "video/mp4",
            format!("bytes 0-{}", CHUNK - 1),
            first.clone(),
            "range syntax",
        ),
        (
            "video/mp4",
            format!("bytes 0-{}/{}", CHUNK - 1, size + 1),
            first.clone(),
            "total",
        ),
        (
            "video/mp4",
            format!("bytes 1-{CHUNK}/{size}"),
            first.clone(),
            "boundary",
        ),
        (
            "video/mp4",
            format!("bytes 0-{}/{size}", CHUNK - 2),
            first[1..].to_vec(),
            "chunk size",
        ),
        ("video/mp4", last_range.clone(), last.clone(), "order"),
    ] {
        let (status, body) = c.put(&url, content_type, &range, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {body}");
        assert_eq!(code(&body), "invalid_file_upload", "{why}");
    }
    // The last chunk sent as if it were the size of a middle one.
    let (status, _) = c
        .put(
            &url,
            "video/mp4",
            &first_range,
            last[..CHUNK as usize].to_vec(),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::PARTIAL_CONTENT,
        "a right-sized first chunk is taken whatever its bytes"
    );
    // Sending the same chunk again (its answer lost) replaces it.
    let (status, _) = c.put(&url, "video/mp4", &first_range, first.clone()).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    // Content-Type may not change between chunks.
    let (status, body) = c.put(&url, "video/webm", &last_range, last.clone()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_file_upload")
    );
    let (status, _) = c.put(&url, "video/mp4", &last_range, last.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let report = c.fake.state.publish(&id).unwrap();
    let expected: String =
        sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&video))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
    assert_eq!(report.sha256.as_deref(), Some(expected.as_str()));
    assert_eq!(c.fake.state.publish_bytes(&id).unwrap(), video);
    // An unknown upload URL.
    let (status, _) = c
        .put(
            &format!("{}video/?upload_token=nope", c.fake.base_url),
            "video/mp4",
            &first_range,
            first,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_body_shorter_than_its_range_is_refused() {
    let c = signed_in("video.upload", FakeConfig::default()).await;
    let (_, body) = c.init(1000, 1000, 1).await;
    let url = body["data"]["upload_url"].as_str().unwrap().to_string();
    // Content-Length (from the body) says 999 while the range says 1000.
    let (status, body) = c
        .put(&url, "video/mp4", "bytes 0-999/1000", vec![0; 999])
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_file_upload")
    );
}

#[tokio::test]
async fn init_checks_source_info_and_post_info() {
    // Refused inits count against the budget as at TikTok: lift it for this test.
    let config = FakeConfig {
        init_per_min: 100,
        ..FakeConfig::default()
    };
    let c = signed_in("user.info.basic,video.upload,video.publish", config).await;
    for (size, chunk, count) in [
        (1000, 500, 2),                   // under 5 MB: one chunk of its size
        (50_000_000, 4_000_000, 12),      // chunk under 5 MB
        (50_000_000, 10_000_000, 4),      // count is not floor(size / chunk)
        (100_000_000, 70_000_000, 1),     // chunk over 64 MB
        (100_000_000, 60_000_000, 1),     // over 64 MB in one chunk
        (4_000_000_001, 10_000_000, 400), // over 4 GB
    ] {
        let (status, body) = c.init(size, chunk, count).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "invalid_param"),
            "{size} {chunk} {count}"
        );
    }
    let (status, _) = c.init(50_000_123, 10_000_000, 5).await;
    assert_eq!(status, StatusCode::OK, "TikTok's own example");
    let (status, body) = c
        .api(
            "v2/post/publish/inbox/video/init/",
            json!({ "source_info": { "source": "PULL_FROM_URL", "video_url": "https://example.com/v.mp4" } }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "url_ownership_unverified")
    );
    let source = json!({ "source": "FILE_UPLOAD", "video_size": 1000, "chunk_size": 1000, "total_chunk_count": 1 });
    let (status, body) = c
        .api(
            "v2/post/publish/video/init/",
            json!({ "post_info": { "title": "t" }, "source_info": source }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_param"),
        "privacy_level is required"
    );
    let (status, body) = c
        .api(
            "v2/post/publish/video/init/",
            json!({ "post_info": { "title": "t", "privacy_level": "SELF_ONLY" }, "source_info": source }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["data"]["publish_id"].as_str().unwrap().len() <= 64);
    assert!(body["data"]["upload_url"].as_str().unwrap().len() <= 256);
}

#[tokio::test]
async fn tokens_are_checked_for_validity_and_scope() {
    let c = signed_in("user.info.basic,video.upload", FakeConfig::default()).await;
    let (status, body) = c
        .api_as("act.nope", "v2/post/publish/creator_info/query/", json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "access_token_invalid")
    );
    assert_eq!(
        body["error"]["log_id"].as_str().map(str::is_empty),
        Some(false)
    );
    let (status, body) = c
        .api("v2/post/publish/creator_info/query/", json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "scope_not_authorized")
    );
    let (status, body) = c
        .api(
            "v2/post/publish/video/init/",
            json!({ "post_info": { "privacy_level": "SELF_ONLY" }, "source_info": { "source": "FILE_UPLOAD", "video_size": 10, "chunk_size": 10, "total_chunk_count": 1 } }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "scope_not_authorized")
    );
    // Status belongs to the user who made the publish.
    let (_, made) = c.init(10, 10, 1).await;
    let id = made["data"]["publish_id"].as_str().unwrap();
    let other = signed_in("video.upload", FakeConfig::default()).await;
    let (status, _) = other
        .api("v2/post/publish/status/fetch/", json!({ "publish_id": id }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn rate_limits_are_per_token_per_minute() {
    let config = FakeConfig {
        pending_share_limit: 100,
        ..FakeConfig::default()
    };
    let c = signed_in("user.info.basic,video.upload,video.publish", config).await;
    for _ in 0..20 {
        assert_eq!(
            c.api("v2/post/publish/creator_info/query/", json!({}))
                .await
                .0,
            StatusCode::OK
        );
    }
    let (status, body) = c
        .api("v2/post/publish/creator_info/query/", json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded")
    );
    // Inbox and direct init share six a minute.
    for _ in 0..6 {
        assert_eq!(c.init(10, 10, 1).await.0, StatusCode::OK);
    }
    assert_eq!(c.init(10, 10, 1).await.0, StatusCode::TOO_MANY_REQUESTS);
    // Another user's token has its own budget.
    let other = signed_in("video.publish", FakeConfig::default()).await;
    assert_eq!(
        other
            .api("v2/post/publish/creator_info/query/", json!({}))
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_oauth_endpoints_refuse_wrong_clients_and_grants() {
    let c = signed_in("video.upload", FakeConfig::default()).await;
    let token = |form: Vec<(&str, &str)>| {
        c.http
            .post(c.fake.base_url.join("v2/oauth/token/").unwrap())
            .form(&form)
            .send()
    };
    let wrong_secret = token(vec![
        ("client_key", "reelsmith-demo"),
        ("client_secret", "x"),
        ("grant_type", "refresh_token"),
        ("refresh_token", "r"),
    ])
    .await
    .unwrap();
    assert_eq!(wrong_secret.status(), StatusCode::UNAUTHORIZED);
    let body: Value = wrong_secret.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(body["error_description"].is_string() && body["log_id"].is_string());
    let unknown = token(vec![
        ("client_key", "reelsmith-demo"),
        ("client_secret", "reelsmith-demo-secret"),
        ("grant_type", "refresh_token"),
        ("refresh_token", "rft.nope"),
    ])
    .await
    .unwrap();
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let grant = token(vec![
        ("client_key", "reelsmith-demo"),
        ("client_secret", "reelsmith-demo-secret"),
        ("grant_type", "password"),
    ])
    .await
    .unwrap();
    let body: Value = grant.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
    // The authorize page: an unknown client and a missing PKCE challenge.
    let page = c
        .http
        .get(format!(
            "{}v2/auth/authorize/?client_key=other&redirect_uri={REDIRECT}",
            c.fake.base_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    let no_pkce = c
        .http
        .get(format!(
            "{}v2/auth/authorize/?client_key=reelsmith-demo&response_type=code&scope=video.upload&state=s&redirect_uri={}",
            c.fake.base_url,
            common_encode(REDIRECT)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(no_pkce.status(), StatusCode::FOUND);
    assert!(no_pkce.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .contains("error=invalid_request"));
    // Revoking ends every token of the authorization.
    assert!(c.fake.state.access_token_works(&c.token));
    let revoked = c
        .http
        .post(c.fake.base_url.join("v2/oauth/revoke/").unwrap())
        .form(&[
            ("client_key", "reelsmith-demo"),
            ("client_secret", "reelsmith-demo-secret"),
            ("token", c.token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(revoked.json::<Value>().await.unwrap(), json!({}));
    assert!(!c.fake.state.access_token_works(&c.token));
    assert!(c.fake.state.live_refresh_tokens().is_empty());
}

fn common_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
