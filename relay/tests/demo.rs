//! The relay binary in demo mode (`REELSMITH_TIKTOK_FAKE=1`), as scripts and the end-to-end
//! test start it: both addresses on stdout, a publish through the relay, and the fake's
//! `/fake/…` endpoints reporting exactly the bytes sent. Also: without credentials the binary
//! serves the editor and says publishing is not configured.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::{Browser, Video};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

struct Running {
    child: Child,
    relay: String,
    fake: Option<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dist: &std::path::Path, env: &[(&str, &str)]) -> Running {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reelsmith-relay"));
    command
        .env("REELSMITH_ADDR", "127.0.0.1:0")
        .env("REELSMITH_DIST", dist)
        .env("REELSMITH_MODELS", dist.join("no-models"))
        .env_remove("REELSMITH_TIKTOK_CLIENT_KEY")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut fake = None;
    let relay = loop {
        let line = lines
            .next()
            .expect("the relay exited before saying where it runs")
            .unwrap();
        if let Some(url) = line.strip_prefix("Fake TikTok (demo) at ") {
            fake = Some(url.trim_end_matches('/').to_string());
        }
        if let Some(at) = line.find("running at ") {
            break line[at + "running at ".len()..]
                .trim_end_matches('/')
                .to_string();
        }
    };
    Running { child, relay, fake }
}

fn dist() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<html>editor</html>").unwrap();
    dir
}

fn new_browser(origin: &str) -> Browser {
    let mut headers = header::HeaderMap::new();
    headers.insert(header::ORIGIN, origin.parse().unwrap());
    Browser {
        client: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap(),
        origin: origin.to_string(),
        transcript: Vec::new(),
    }
}

#[tokio::test]
async fn demo_mode_publishes_to_the_fake_it_starts() {
    let dist = dist();
    let running = start(dist.path(), &[("REELSMITH_TIKTOK_FAKE", "1")]);
    let fake = running
        .fake
        .clone()
        .expect("the fake's address is printed first");
    let mut browser = new_browser(&running.relay);
    assert_eq!(browser.api_get("/").await.status, StatusCode::OK);
    assert_eq!(browser.connect("/").await, "/?tiktok=connected");
    let session = browser.session().await;
    assert_eq!(session.json["creator"]["nickname"], "Demo Creator");

    let video = Video::new(40, 2_500_000);
    let init = browser
        .init(json!({ "mode": "inbox", "video_size_bytes": video.len_bytes, "content_type": "video/mp4" }))
        .await;
    let id = init.json["publish_id"].as_str().unwrap().to_string();
    let upload = browser
        .upload(init.json["upload_path"].as_str().unwrap(), &video)
        .await;
    assert_eq!(upload.status, StatusCode::OK, "{:?}", upload.json);
    let (_, done) = browser.poll_until_done(&id).await;
    assert_eq!(done.json["status"], "SEND_TO_USER_INBOX");

    let client = reqwest::Client::new();
    let all: Vec<Value> = client
        .get(format!("{fake}/fake/publishes"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["publish_id"], id);
    assert_eq!(all[0]["sha256"], video.sha256());
    assert_eq!(all[0]["status"], "SEND_TO_USER_INBOX");
    let bytes = client
        .get(format!("{fake}/fake/publishes/{id}/bytes"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), video.bytes().as_slice());

    // Steering the fake over HTTP: the next sign-in is refused.
    let control = client
        .post(format!("{fake}/fake/control"))
        .json(&json!({ "authorize": "deny" }))
        .send()
        .await
        .unwrap();
    assert_eq!(control.status(), StatusCode::OK);
    let mut other = new_browser(&running.relay);
    assert_eq!(other.connect("/").await, "/?tiktok=denied");
    let stats: Value = client
        .get(format!("{fake}/fake/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["code_exchanges"], 1);
}

#[tokio::test]
async fn without_credentials_publishing_is_not_configured() {
    let dist = dist();
    let running = start(dist.path(), &[]);
    assert!(running.fake.is_none());
    let mut browser = new_browser(&running.relay);
    assert_eq!(browser.api_get("/").await.status, StatusCode::OK);
    let session = browser.session().await;
    assert_eq!(
        session.json,
        json!({ "configured": false, "connected": false })
    );
    let connect = browser.api_get("/api/connect").await;
    assert_eq!(connect.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(connect.error_code(), "publishing_not_configured");
}
