//! Shared by the relay's integration tests: a fake TikTok and one or more relay instances on
//! loopback ports over one database, a browser-like client (cookie jar, `Origin` on every
//! request, redirects followed by hand so each hop can be checked), and generated "videos":
//! deterministic bytes that start like an MP4, streamed without being held in memory.
#![allow(dead_code)] // each test file uses part of it

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Bytes;
use futures::Stream;
use reelsmith_relay::config::PublishConfig;
use reelsmith_relay::crypto::TokenCipher;
use reelsmith_relay::fake::{self, FakeConfig, FakeTikTok};
use reelsmith_relay::{app, AppState, Publisher};
use reqwest::{header, StatusCode, Url};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const MIB: u64 = 1 << 20;

/// One relay instance.
pub struct Relay {
    pub url: String,
    pub publisher: Arc<Publisher>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub struct Harness {
    pub fake: FakeTikTok,
    pub relays: Vec<Relay>,
    pub database_url: String,
    pub cipher: TokenCipher,
    pub dir: tempfile::TempDir,
}

/// Options for [`Harness::start_with`].
pub struct Options {
    pub instances: usize,
    /// `None`: a SQLite file in the harness's temporary folder.
    pub database_url: Option<String>,
    pub fake: Box<dyn FnOnce(&mut FakeConfig)>,
    pub relay: Box<dyn Fn(&mut PublishConfig)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            instances: 1,
            database_url: None,
            fake: Box::new(|_| {}),
            relay: Box::new(|_| {}),
        }
    }
}

impl Harness {
    pub async fn start() -> Harness {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let dist = dir.path().join("dist");
        std::fs::create_dir(&dist).unwrap();
        std::fs::write(dist.join("index.html"), "<html>editor</html>").unwrap();
        let database_url = options
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}/relay.db", dir.path().display()));
        let mut listeners = Vec::new();
        for _ in 0..options.instances {
            listeners.push(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
        }
        let origins: Vec<String> = listeners
            .iter()
            .map(|l| format!("http://{}", l.local_addr().unwrap()))
            .collect();
        // TikTok allows a fixed set of redirect URIs: every instance sends the first one.
        let redirect = Url::parse(&format!("{}/api/callback", origins[0])).unwrap();
        let mut fake_config = FakeConfig {
            redirect_uris: vec![redirect.to_string()],
            ..FakeConfig::default()
        };
        (options.fake)(&mut fake_config);
        let fake = fake::start(fake_config, "127.0.0.1:0").await.unwrap();
        let cipher = TokenCipher::random();
        let mut relays = Vec::new();
        for listener in listeners {
            let mut config = PublishConfig::new(
                fake.tiktok_config(redirect.clone()),
                &database_url,
                cipher.clone(),
            );
            config.allowed_origins = origins.clone();
            config.spool_dir = dir.path().to_path_buf();
            (options.relay)(&mut config);
            let publisher = Publisher::start(config).await.unwrap();
            let state = AppState::load(&dist).unwrap().with_publishing(publisher);
            let publisher = state.publishing.clone().unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let task = tokio::spawn(async move {
                reelsmith_relay::serve::serve(listener, app(state), std::future::pending())
                    .await
                    .unwrap();
            });
            relays.push(Relay {
                url,
                publisher,
                task,
            });
        }
        Harness {
            fake,
            relays,
            database_url,
            cipher,
            dir,
        }
    }

    pub fn relay(&self) -> &Relay {
        &self.relays[0]
    }

    /// A browser with an empty cookie jar, on instance `i`'s origin.
    pub fn browser(&self, i: usize) -> Browser {
        let origin = self.relays[i].url.clone();
        let mut headers = header::HeaderMap::new();
        headers.insert(header::ORIGIN, origin.parse().unwrap());
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap();
        Browser {
            client,
            origin,
            transcript: Vec::new(),
        }
    }

    /// The same browser (cookies) talking to instance `i`.
    pub fn on(&self, browser: &Browser, i: usize) -> Browser {
        Browser {
            client: browser.client.clone(),
            origin: self.relays[i].url.clone(),
            transcript: Vec::new(),
        }
    }

    pub async fn store(&self) -> reelsmith_relay::store::Store {
        reelsmith_relay::store::Store::connect(&self.database_url, self.cipher.clone())
            .await
            .unwrap()
    }
}

/// A browser's view of the relay. Every response body and header it saw is kept in
/// `transcript`, so tests can check that no token ever reached it.
pub struct Browser {
    pub client: reqwest::Client,
    pub origin: String,
    pub transcript: Vec<String>,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub json: Value,
}

impl Answer {
    pub fn location(&self) -> String {
        self.headers[header::LOCATION].to_str().unwrap().to_string()
    }

    pub fn error_code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
}

impl Browser {
    async fn record(&mut self, response: reqwest::Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        self.transcript.push(format!("{headers:?}\n{text}"));
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            json,
        }
    }

    pub async fn get(&mut self, url: &str) -> Answer {
        let response = self.client.get(url).send().await.unwrap();
        self.record(response).await
    }

    pub async fn api_get(&mut self, path: &str) -> Answer {
        let url = format!("{}{path}", self.origin);
        self.get(&url).await
    }

    pub async fn api_post(&mut self, path: &str, body: Value) -> Answer {
        let url = format!("{}{path}", self.origin);
        let response = self.client.post(url).json(&body).send().await.unwrap();
        self.record(response).await
    }

    /// Connects TikTok the way a browser would: /api/connect → TikTok's page → /api/callback
    /// → back to the editor. Returns where it ended.
    pub async fn connect(&mut self, return_to: &str) -> String {
        let start = self
            .api_get(&format!("/api/connect?return_to={}", urlencode(return_to)))
            .await;
        assert_eq!(start.status, StatusCode::SEE_OTHER, "{:?}", start.json);
        let authorize = self.get(&start.location()).await;
        assert_eq!(authorize.status, StatusCode::FOUND);
        let callback = self.get(&authorize.location()).await;
        assert_eq!(callback.status, StatusCode::SEE_OTHER);
        callback.location()
    }

    /// Like `connect`, returning the session as the relay stores it (SHA-256 of the cookie).
    pub async fn connect_with_session(&mut self) -> String {
        let start = self.api_get("/api/connect").await;
        let back = self.get(&start.location()).await;
        let done = self.get(&back.location()).await;
        assert_eq!(done.location(), "/?tiktok=connected");
        session_hash(&done.headers)
    }

    pub async fn session(&mut self) -> Answer {
        self.api_get("/api/session").await
    }

    pub async fn init(&mut self, body: Value) -> Answer {
        self.api_post("/api/publish", body).await
    }

    pub async fn inbox(&mut self, video: &Video) -> Answer {
        self.init(serde_json::json!({
            "mode": "inbox", "video_size_bytes": video.len_bytes, "content_type": "video/mp4"
        }))
        .await
    }

    /// PUTs a generated video to the upload path.
    pub async fn upload(&mut self, upload_path: &str, video: &Video) -> Answer {
        self.upload_body(
            upload_path,
            video.len_bytes,
            reqwest::Body::wrap_stream(video.stream()),
        )
        .await
    }

    pub async fn upload_body(
        &mut self,
        upload_path: &str,
        len_bytes: u64,
        body: reqwest::Body,
    ) -> Answer {
        let url = format!("{}{upload_path}", self.origin);
        let response = self
            .client
            .put(url)
            .header(header::CONTENT_TYPE, "video/mp4")
            .header(header::CONTENT_LENGTH, len_bytes)
            .body(body)
            .send()
            .await;
        match response {
            Ok(response) => self.record(response).await,
            Err(e) => Answer {
                status: StatusCode::from_u16(599).unwrap(),
                headers: header::HeaderMap::new(),
                json: serde_json::json!({ "client_error": e.to_string() }),
            },
        }
    }

    pub async fn status(&mut self, publish_id: &str) -> Answer {
        self.api_get(&format!("/api/publish/{publish_id}/status"))
            .await
    }

    /// Polls status until done (the fake moves on with each poll; no clock involved).
    pub async fn poll_until_done(&mut self, publish_id: &str) -> (Vec<String>, Answer) {
        let mut seen = Vec::new();
        for _ in 0..10 {
            let answer = self.status(publish_id).await;
            assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json);
            seen.push(answer.json["status"].as_str().unwrap().to_string());
            if answer.json["done"] == true {
                return (seen, answer);
            }
        }
        panic!("status never finished: {seen:?}");
    }

    pub async fn disconnect(&mut self) -> Answer {
        self.api_post("/api/disconnect", serde_json::json!({}))
            .await
    }
}

/// The session cookie set by an answer, hashed as the relay stores it.
pub fn session_hash(headers: &header::HeaderMap) -> String {
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("reelsmith_session=")
        .unwrap();
    reelsmith_relay::crypto::sha256_hex(value)
}

pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A generated video: an MP4 `ftyp` box, then xorshift bytes from `seed`.
#[derive(Clone, Copy, Debug)]
pub struct Video {
    pub seed: u64,
    pub len_bytes: u64,
}

const FTYP: &[u8] = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2";
const BLOCK_BYTES: usize = 256 * 1024;

impl Video {
    pub fn new(seed: u64, len_bytes: u64) -> Self {
        Video { seed, len_bytes }
    }

    pub fn stream(&self) -> VideoStream {
        VideoStream {
            state: self.seed | 1,
            position: 0,
            len_bytes: self.len_bytes,
            fail_at: None,
        }
    }

    /// Like `stream`, but the body breaks off with an error after `at_bytes`.
    pub fn broken_stream(&self, at_bytes: u64) -> VideoStream {
        VideoStream {
            fail_at: Some(at_bytes),
            ..self.stream()
        }
    }

    /// Hex SHA-256 of the whole video, generated again piece by piece.
    pub fn sha256(&self) -> String {
        let mut stream = self.stream();
        let mut hasher = Sha256::new();
        while let Some(block) = stream.next_block() {
            hasher.update(&block);
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// All of it (small videos only).
    pub fn bytes(&self) -> Vec<u8> {
        let mut stream = self.stream();
        let mut all = Vec::new();
        while let Some(block) = stream.next_block() {
            all.extend_from_slice(&block);
        }
        all
    }
}

pub struct VideoStream {
    state: u64,
    position: u64,
    len_bytes: u64,
    fail_at: Option<u64>,
}

impl VideoStream {
    fn next_block(&mut self) -> Option<Bytes> {
        let end = self.fail_at.unwrap_or(self.len_bytes).min(self.len_bytes);
        if self.position >= end {
            return None;
        }
        let n = (end - self.position).min(BLOCK_BYTES as u64) as usize;
        let mut block = Vec::with_capacity(n);
        while block.len() < n {
            let at = self.position as usize + block.len();
            if at < FTYP.len() {
                block.push(FTYP[at]);
                continue;
            }
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            let word = self.state.to_le_bytes();
            let take = (n - block.len()).min(8);
            block.extend_from_slice(&word[..take]);
        }
        self.position += n as u64;
        Some(Bytes::from(block))
    }
}

impl Stream for VideoStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.next_block() {
            Some(block) => Poll::Ready(Some(Ok(block))),
            None if self.fail_at.is_some_and(|at| at < self.len_bytes) => {
                self.fail_at = None;
                self.position = self.len_bytes;
                Poll::Ready(Some(Err(std::io::Error::other("the browser went away"))))
            }
            None => Poll::Ready(None),
        }
    }
}

/// Connects, starts an inbox publish for `video`, uploads it, polls to the end; returns the
/// publish id.
pub async fn publish_to_inbox(browser: &mut Browser, video: &Video) -> String {
    let init = browser.inbox(video).await;
    assert_eq!(init.status, StatusCode::OK, "{:?}", init.json);
    let publish_id = init.json["publish_id"].as_str().unwrap().to_string();
    let upload = browser
        .upload(init.json["upload_path"].as_str().unwrap(), video)
        .await;
    assert_eq!(upload.status, StatusCode::OK, "{:?}", upload.json);
    let (_, done) = browser.poll_until_done(&publish_id).await;
    assert_eq!(done.json["status"], "SEND_TO_USER_INBOX");
    publish_id
}
