//! The publish flow against the fake TikTok over loopback, as the editor drives it: connect
//! (PKCE + state through TikTok's page and back), session status, init, upload, status until
//! done, disconnect; and the OAuth edges: a refused sign-in, a callback from another browser,
//! refresh before expiry and on `access_token_invalid`, rotated refresh tokens, a refresh
//! token TikTok no longer takes, revocation. Real SQLite files in temporary folders.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use common::{publish_to_inbox, session_hash, Harness, Options, Video, MIB};
use reelsmith_relay::fake::{Authorize, Endpoint, Fault, FaultKind};
use reqwest::{header, StatusCode, Url};
use serde_json::json;

#[tokio::test]
async fn connect_publish_to_inbox_and_disconnect() {
    let h = Harness::start().await;
    let mut browser = h.browser(0);

    let before = browser.session().await;
    assert_eq!(
        before.json,
        json!({ "configured": true, "connected": false })
    );

    // connect: the relay sends the browser to TikTok with PKCE S256 and a state.
    let start = browser
        .api_get("/api/connect?return_to=%2F%3Fproject%3D1")
        .await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    let cookie = start.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http on 127.0.0.1 cannot keep a Secure cookie"
    );
    let planted = session_hash(&start.headers);
    let authorize = Url::parse(&start.location()).unwrap();
    assert!(authorize
        .as_str()
        .starts_with(&format!("{}v2/auth/authorize/", h.fake.base_url)));
    let query: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(query["client_key"], "reelsmith-demo");
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["code_challenge"].len(), 43);
    assert_eq!(
        query["redirect_uri"],
        format!("{}/api/callback", h.relay().url)
    );
    assert!(query["scope"].contains("video.upload") && query["scope"].contains("video.publish"));
    assert!(query["state"].len() >= 43);

    // TikTok's page approves and sends the browser back; the relay exchanges the code.
    let back = browser.get(authorize.as_str()).await;
    assert_eq!(back.status, StatusCode::FOUND);
    let callback = browser.get(&back.location()).await;
    assert_eq!(callback.location(), "/?project=1&tiktok=connected");
    // A new session id once signed in: one planted before the sign-in is worth nothing.
    let session = session_hash(&callback.headers);
    assert_ne!(session, planted);
    assert!(h
        .store()
        .await
        .connection(&planted)
        .await
        .unwrap()
        .is_none());
    assert_eq!(h.fake.state.stats().code_exchanges, 1);

    let status = browser.session().await;
    assert_eq!(status.status, StatusCode::OK);
    assert_eq!(status.json["connected"], true);
    assert_eq!(status.json["creator"]["nickname"], "Demo Creator");
    assert_eq!(status.json["inbox_allowed"], true);
    assert_eq!(status.json["direct_allowed"], true);
    assert_eq!(status.json["max_video_post_duration_secs"], 600);
    assert_eq!(
        status.json["privacy_level_options"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // publish: init, upload, status until the draft is in the inbox.
    let video = Video::new(1, 3 * MIB + 17);
    let init = browser.inbox(&video).await;
    assert_eq!(init.status, StatusCode::OK, "{:?}", init.json);
    let publish_id = init.json["publish_id"].as_str().unwrap().to_string();
    assert_eq!(init.json["total_chunk_count"], 1);
    assert_eq!(init.json["chunk_size_bytes"], video.len_bytes);
    assert_eq!(
        init.json["upload_path"],
        format!("/api/upload/{publish_id}")
    );
    let upload = browser
        .upload(init.json["upload_path"].as_str().unwrap(), &video)
        .await;
    assert_eq!(upload.status, StatusCode::OK, "{:?}", upload.json);
    assert_eq!(upload.json["uploaded_bytes"], video.len_bytes);
    let (seen, done) = browser.poll_until_done(&publish_id).await;
    assert_eq!(seen, ["PROCESSING_UPLOAD", "SEND_TO_USER_INBOX"]);
    assert_eq!(done.json["done"], true);

    // Exactly the file arrived.
    let received = h.fake.state.publish(&publish_id).unwrap();
    assert_eq!(received.sha256.as_deref(), Some(video.sha256().as_str()));
    assert_eq!(
        h.fake.state.publish_bytes(&publish_id).unwrap(),
        video.bytes()
    );
    assert_eq!(
        received.content_ranges,
        [format!(
            "bytes 0-{}/{}",
            video.len_bytes - 1,
            video.len_bytes
        )]
    );
    assert_eq!(received.content_type.as_deref(), Some("video/mp4"));

    // A second PUT of a finished upload is refused.
    let again = browser
        .upload(init.json["upload_path"].as_str().unwrap(), &video)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.error_code(), "already_uploaded");

    // Tokens never reached the browser, and are not in the database file in the clear.
    let secrets = h.fake.state.issued_secrets();
    assert!(secrets.len() >= 3);
    let seen_by_browser = browser.transcript.join("\n");
    let db = std::fs::read(h.dir.path().join("relay.db")).unwrap();
    let wal = std::fs::read(h.dir.path().join("relay.db-wal")).unwrap_or_default();
    for secret in secrets
        .iter()
        .filter(|s| s.starts_with("act.") || s.starts_with("rft."))
    {
        assert!(!seen_by_browser.contains(secret.as_str()));
        for file in [&db, &wal] {
            assert!(
                !file.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "a token is stored in the clear"
            );
        }
    }

    // disconnect: revoked at TikTok, the row gone, the cookie cleared.
    let store = h.store().await;
    assert!(store.connection(&session).await.unwrap().is_some());
    let token = store
        .connection(&session)
        .await
        .unwrap()
        .unwrap()
        .access_token;
    assert!(h.fake.state.access_token_works(&token));
    let bye = browser.disconnect().await;
    assert_eq!(bye.status, StatusCode::OK);
    assert_eq!(
        bye.json,
        json!({ "connected": false, "revoked_at_tiktok": true })
    );
    assert!(bye.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert!(store.connection(&session).await.unwrap().is_none());
    assert!(!h.fake.state.access_token_works(&token));
    assert_eq!(h.fake.state.live_access_tokens(), 0);
    assert_eq!(h.fake.state.stats().revocations, 1);
    assert!(store.upload(&session, &publish_id).await.unwrap().is_none());
}

#[tokio::test]
async fn direct_post_with_title_privacy_and_toggles() {
    let h = Harness::start().await;
    let mut browser = h.browser(0);
    assert_eq!(browser.connect("/").await, "/?tiktok=connected");
    let video = Video::new(2, MIB);
    let init = browser
        .init(json!({
            "mode": "direct", "video_size_bytes": video.len_bytes, "content_type": "video/mp4",
            "title": "A clip #test", "privacy_level": "PUBLIC_TO_EVERYONE",
            "disable_comment": true, "disable_duet": false, "disable_stitch": true,
            "video_cover_timestamp_ms": 500
        }))
        .await;
    assert_eq!(init.status, StatusCode::OK, "{:?}", init.json);
    let publish_id = init.json["publish_id"].as_str().unwrap().to_string();
    assert!(publish_id.starts_with("v_pub_file~"));
    let upload = browser
        .upload(init.json["upload_path"].as_str().unwrap(), &video)
        .await;
    assert_eq!(upload.status, StatusCode::OK);
    let (_, done) = browser.poll_until_done(&publish_id).await;
    assert_eq!(done.json["status"], "PUBLISH_COMPLETE");
    assert_eq!(done.json["post_ids"].as_array().unwrap().len(), 1);
    let received = h.fake.state.publish(&publish_id).unwrap();
    assert_eq!(received.mode, "direct");
    assert_eq!(received.title.as_deref(), Some("A clip #test"));
    assert_eq!(
        received.privacy_level.as_deref(),
        Some("PUBLIC_TO_EVERYONE")
    );
    assert_eq!(received.disable_comment, Some(true));
    assert_eq!(received.sha256.as_deref(), Some(video.sha256().as_str()));
}

#[tokio::test]
async fn tiktoks_refusals_come_back_in_the_users_words() {
    let h = Harness::start_with(Options {
        fake: Box::new(|c| {
            c.privacy_level_options = vec!["SELF_ONLY".into()];
            c.pending_share_limit = 1;
        }),
        ..Options::default()
    })
    .await;
    let mut browser = h.browser(0);
    browser.connect("/").await;
    let direct = |level: &str| json!({ "mode": "direct", "video_size_bytes": 1000, "content_type": "video/mp4", "privacy_level": level });
    // Not among the creator's options.
    let refused = browser.init(direct("PUBLIC_TO_EVERYONE")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.json["error"]["tiktok_code"], "invalid_param");
    // Unaudited apps may only post privately.
    h.fake.state.update_config(|c| {
        c.unaudited = true;
        c.privacy_level_options.push("FOLLOWER_OF_CREATOR".into());
    });
    let refused = browser.init(direct("FOLLOWER_OF_CREATOR")).await;
    assert_eq!(
        refused.json["error"]["tiktok_code"],
        "unaudited_client_can_only_post_to_private_accounts"
    );
    assert!(refused.json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("SELF_ONLY"));
    // Too many drafts waiting in the inbox.
    let video = Video::new(3, 1000);
    assert_eq!(browser.inbox(&video).await.status, StatusCode::OK);
    let refused = browser.inbox(&video).await;
    assert_eq!(
        refused.json["error"]["tiktok_code"],
        "spam_risk_too_many_pending_share"
    );
    assert!(refused.json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("TikTok app"));
    // The relay's own checks, before TikTok is asked.
    for (body, needle) in [
        (
            json!({ "mode": "direct", "video_size_bytes": 1000, "content_type": "video/mp4" }),
            "privacy_level",
        ),
        (
            json!({ "mode": "inbox", "video_size_bytes": 1000, "content_type": "video/avi" }),
            "content_type",
        ),
        (
            json!({ "mode": "inbox", "video_size_bytes": 0, "content_type": "video/mp4" }),
            "empty",
        ),
        (
            json!({ "mode": "inbox", "video_size_bytes": 4_000_000_001u64, "content_type": "video/mp4" }),
            "at most",
        ),
        (
            json!({ "mode": "draft", "video_size_bytes": 1000, "content_type": "video/mp4" }),
            "mode",
        ),
        (
            json!({ "mode": "direct", "video_size_bytes": 1000, "content_type": "video/mp4",
                 "privacy_level": "SELF_ONLY", "title": "x".repeat(2201) }),
            "2200",
        ),
    ] {
        let answer = browser.init(body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{needle}");
        assert!(
            answer.json["error"]["message"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{:?}",
            answer.json
        );
    }
    assert_eq!(
        h.fake.state.stats().inits,
        4,
        "bad requests never reach TikTok"
    );
}

#[tokio::test]
async fn a_refused_sign_in_comes_back_as_denied() {
    let h = Harness::start_with(Options {
        fake: Box::new(|c| c.authorize = Authorize::Deny),
        ..Options::default()
    })
    .await;
    let mut browser = h.browser(0);
    assert_eq!(browser.connect("/?p=2").await, "/?p=2&tiktok=denied");
    assert_eq!(browser.session().await.json["connected"], false);
    assert_eq!(h.fake.state.stats().code_exchanges, 0);
}

#[tokio::test]
async fn a_callback_in_another_browser_is_refused() {
    let h = Harness::start().await;
    let mut victim = h.browser(0);
    let mut attacker = h.browser(0);
    // The attacker signs in to TikTok and gets a code for their account and their state...
    let start = attacker.api_get("/api/connect").await;
    let back = attacker.get(&start.location()).await;
    // ...and lures the victim to the callback: the state belongs to another session.
    let lured = victim.get(&back.location()).await;
    assert!(
        lured.location().starts_with("/?tiktok=error&reason="),
        "{}",
        lured.location()
    );
    assert_eq!(victim.session().await.json["connected"], false);
    // A victim with a session of their own is refused too.
    victim.api_get("/api/connect").await;
    let lured = victim.get(&back.location()).await;
    assert!(lured.location().contains("tiktok=error"));
    assert_eq!(victim.session().await.json["connected"], false);
    assert_eq!(
        h.fake.state.stats().code_exchanges,
        0,
        "a foreign code is never exchanged"
    );
    // A state is good once: the attacker's own callback still works, a replay does not.
    assert_eq!(
        attacker.get(&back.location()).await.location(),
        "/?tiktok=connected"
    );
    assert!(attacker
        .get(&back.location())
        .await
        .location()
        .contains("tiktok=error"));
    // A return_to off this origin is not followed.
    let mut other = h.browser(0);
    assert_eq!(
        other.connect("https://evil.example/").await,
        "/?tiktok=connected"
    );
}

#[tokio::test]
async fn the_fake_checks_the_pkce_verifier_and_the_redirect_uri() {
    let h = Harness::start().await;
    let mut browser = h.browser(0);
    let start = browser.api_get("/api/connect").await;
    let back = browser.get(&start.location()).await;
    let code = Url::parse(&back.location())
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let token = |verifier: &str, redirect: &str| {
        let form = [
            ("client_key", "reelsmith-demo"),
            ("client_secret", "reelsmith-demo-secret"),
            ("code", code.as_str()),
            ("grant_type", "authorization_code"),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        reqwest::Client::new()
            .post(format!("{}v2/oauth/token/", h.fake.base_url))
            .form(&form)
            .send()
    };
    let wrong = token(
        "a-verifier-that-does-not-match-the-challenge-at-all",
        &format!("{}/api/callback", h.relay().url),
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    // The code was burnt by that attempt: the relay's own exchange now fails, clearly.
    let callback = browser.get(&back.location()).await;
    assert!(
        callback.location().contains("tiktok=error"),
        "{}",
        callback.location()
    );
    // An unregistered redirect URI never gets a code.
    let page = reqwest::Client::new()
        .get(start.location().replace("%2Fapi%2Fcallback", "%2Fother"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn tokens_are_refreshed_before_they_expire_and_the_rotated_one_kept() {
    let h = Harness::start_with(Options {
        // Tokens that live a minute, inside the relay's 5-minute refresh margin.
        fake: Box::new(|c| c.access_expires_in_secs = 60),
        ..Options::default()
    })
    .await;
    let mut browser = h.browser(0);
    let session = browser.connect_with_session().await;
    let store = h.store().await;
    let first = store.connection(&session).await.unwrap().unwrap();

    assert_eq!(browser.session().await.json["connected"], true);
    let stats = h.fake.state.stats();
    assert_eq!((stats.refreshes, stats.rotations), (1, 1));
    let second = store.connection(&session).await.unwrap().unwrap();
    assert_eq!(second.token_version, first.token_version + 1);
    assert_ne!(second.access_token, first.access_token);
    // The rotated refresh token is the one stored, and the only one TikTok still takes.
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(
        h.fake.state.live_refresh_tokens(),
        vec![second.refresh_token.clone()]
    );

    // Each later use refreshes again from the stored (rotated) token, and keeps working.
    let video = Video::new(4, 200_000);
    publish_to_inbox(&mut browser, &video).await;
    assert!(h.fake.state.stats().refreshes >= 3);
    let latest = store.connection(&session).await.unwrap().unwrap();
    assert_eq!(
        h.fake.state.live_refresh_tokens(),
        vec![latest.refresh_token]
    );
}

#[tokio::test]
async fn refresh_without_rotation_keeps_the_refresh_token() {
    let h = Harness::start_with(Options {
        fake: Box::new(|c| {
            c.access_expires_in_secs = 60;
            c.rotate_refresh_tokens = false;
        }),
        ..Options::default()
    })
    .await;
    let mut browser = h.browser(0);
    let session = browser.connect_with_session().await;
    let store = h.store().await;
    let first = store.connection(&session).await.unwrap().unwrap();
    assert_eq!(browser.session().await.json["connected"], true);
    let second = store.connection(&session).await.unwrap().unwrap();
    assert_eq!(h.fake.state.stats().rotations, 0);
    assert_eq!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
}

#[tokio::test]
async fn an_access_token_tiktok_refuses_is_refreshed_and_the_call_repeated() {
    let h = Harness::start().await;
    let mut browser = h.browser(0);
    browser.connect("/").await;
    // TikTok considers every token expired; the relay still thinks it has 24 h.
    h.fake.state.expire_access_tokens();
    let video = Video::new(5, 100_000);
    let init = browser.inbox(&video).await;
    assert_eq!(init.status, StatusCode::OK, "{:?}", init.json);
    assert_eq!(h.fake.state.stats().refreshes, 1);
    // The same through an injected `access_token_invalid` on status.
    let upload = browser
        .upload(init.json["upload_path"].as_str().unwrap(), &video)
        .await;
    assert_eq!(upload.status, StatusCode::OK);
    h.fake.state.add_fault(Fault::new(
        Endpoint::Status,
        FaultKind::AccessTokenInvalid,
        1,
    ));
    let status = browser
        .status(init.json["publish_id"].as_str().unwrap())
        .await;
    assert_eq!(status.status, StatusCode::OK, "{:?}", status.json);
    assert_eq!(h.fake.state.stats().refreshes, 2);
    assert!(h.fake.state.pending_faults().is_empty());
}

#[tokio::test]
async fn concurrent_requests_refresh_once() {
    let h = Harness::start_with(Options {
        fake: Box::new(|c| c.access_expires_in_secs = 60),
        ..Options::default()
    })
    .await;
    let mut browser = h.browser(0);
    browser.connect("/").await;
    // The first refresh gives a long-lived token: every request after it has no reason to
    // refresh, and every request racing with it must wait for it rather than refresh again.
    h.fake
        .state
        .update_config(|c| c.access_expires_in_secs = 86_400);
    let client = browser.client.clone();
    let url = format!("{}/api/session", h.relay().url);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move { client.get(url).send().await.unwrap().status() })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), StatusCode::OK);
    }
    // With rotation, a second refresh from the same token would have been refused: the
    // lease let one request refresh and the others use its result.
    let stats = h.fake.state.stats();
    assert_eq!(stats.refreshes, 1, "{stats:?}");
    assert_eq!(stats.creator_info_calls, 8);
}

#[tokio::test]
async fn a_refresh_token_tiktok_no_longer_takes_disconnects_with_a_clear_message() {
    let h = Harness::start().await;
    let mut browser = h.browser(0);
    let session = browser.connect_with_session().await;
    // The user removed the app in TikTok.
    h.fake.state.revoke_everything();
    let answer = browser.session().await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "not_connected");
    assert!(answer.json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("connect TikTok again"));
    assert!(h
        .store()
        .await
        .connection(&session)
        .await
        .unwrap()
        .is_none());
    assert_eq!(browser.session().await.json["connected"], false);
    // Connecting again works.
    assert_eq!(browser.connect("/").await, "/?tiktok=connected");
    assert_eq!(browser.session().await.json["connected"], true);
}

#[tokio::test]
async fn disconnect_deletes_the_tokens_even_when_tiktok_cannot_revoke() {
    let h = Harness::start().await;
    let mut browser = h.browser(0);
    let session = browser.connect_with_session().await;
    h.fake
        .state
        .add_fault(Fault::new(Endpoint::Revoke, FaultKind::ServerError, 2));
    let bye = browser.disconnect().await;
    assert_eq!(bye.status, StatusCode::OK);
    assert_eq!(
        bye.json,
        json!({ "connected": false, "revoked_at_tiktok": false })
    );
    assert!(h
        .store()
        .await
        .connection(&session)
        .await
        .unwrap()
        .is_none());
    // One failure is retried: revocation then goes through.
    let mut again = h.browser(0);
    let session = again.connect_with_session().await;
    h.fake
        .state
        .add_fault(Fault::new(Endpoint::Revoke, FaultKind::ServerError, 1));
    assert_eq!(again.disconnect().await.json["revoked_at_tiktok"], true);
    assert!(h
        .store()
        .await
        .connection(&session)
        .await
        .unwrap()
        .is_none());
}
