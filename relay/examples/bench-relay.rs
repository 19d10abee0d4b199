//! Load on the relay (scripts/bench-relay.sh starts the relay and the fake TikTok, then this):
//! `--sessions` browsers each connect TikTok (the whole OAuth round trip), start an inbox
//! publish and upload `--bytes` of generated video. Every upload sends its first half and
//! then waits until all of them have, so the relay holds all the sessions' uploads open at
//! once (its memory and open sockets are read from /proc then); then all are released
//! together. Reports p50/p99 latency per step and the relay's memory, and checks with the
//! fake that every upload arrived byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a failure should stop it loudly

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use futures::Stream;
use reqwest::{header, redirect, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::{watch, Notify};

const PIECE_BYTES: usize = 64 * 1024;
const FTYP: &[u8] = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2";

struct Args {
    relay: String,
    fake: String,
    sessions: usize,
    bytes: u64,
    relay_pid: Option<u32>,
}

fn args() -> Args {
    let mut map = HashMap::new();
    let mut it = std::env::args().skip(1);
    while let Some(key) = it.next() {
        map.insert(
            key.trim_start_matches("--").to_string(),
            it.next().unwrap_or_default(),
        );
    }
    Args {
        relay: map
            .remove("relay")
            .expect("--relay URL")
            .trim_end_matches('/')
            .into(),
        fake: map
            .remove("fake")
            .expect("--fake URL")
            .trim_end_matches('/')
            .into(),
        sessions: map.get("sessions").map_or(500, |v| v.parse().unwrap()),
        bytes: map.get("bytes").map_or(1 << 20, |v| v.parse().unwrap()),
        relay_pid: map.get("relay-pid").map(|v| v.parse().unwrap()),
    }
}

/// `VmRSS` and `VmHWM` (peak) of a process, in MiB, its open file descriptors and threads.
fn memory(pid: Option<u32>) -> Option<(f64, f64, usize, usize)> {
    let pid = pid?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    let threads = status
        .lines()
        .find(|l| l.starts_with("Threads:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|t| t.parse().ok())?;
    Some((field("VmRSS:")?, field("VmHWM:")?, fds, threads))
}

fn percentiles(name: &str, mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |p: usize| samples[(samples.len() * p).div_ceil(100).saturating_sub(1)];
    format!(
        "{name:<28} n={:<5} p50 {:>8.1} ms   p99 {:>8.1} ms   max {:>8.1} ms",
        samples.len(),
        at(50).as_secs_f64() * 1e3,
        at(99).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    )
}

/// Generated video bytes (an `ftyp` box, then xorshift), hashed as they are sent. After the
/// first half it reports in and waits for the release.
struct Upload {
    state: u64,
    sent: u64,
    len: u64,
    hasher: Arc<Mutex<Sha256>>,
    held: Arc<AtomicUsize>,
    sessions: usize,
    all_held: Arc<Notify>,
    release: Option<Pin<Box<dyn std::future::Future<Output = ()> + Send>>>,
    waiting: bool,
}

impl Stream for Upload {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.waiting {
            if let Some(release) = this.release.as_mut() {
                if release.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
            }
            this.waiting = false;
            this.release = None;
        }
        if this.sent >= this.len {
            return Poll::Ready(None);
        }
        let half = this.len / 2;
        if this.release.is_some() && this.sent >= half {
            if this.held.fetch_add(1, Ordering::SeqCst) + 1 == this.sessions {
                this.all_held.notify_one();
            }
            this.waiting = true;
            return self.poll_next(cx);
        }
        let limit = if this.release.is_some() {
            half
        } else {
            this.len
        };
        let n = (limit - this.sent).min(PIECE_BYTES as u64) as usize;
        let mut piece = Vec::with_capacity(n);
        while piece.len() < n {
            let at = this.sent as usize + piece.len();
            if at < FTYP.len() {
                piece.push(FTYP[at]);
                continue;
            }
            this.state ^= this.state << 13;
            this.state ^= this.state >> 7;
            this.state ^= this.state << 17;
            let take = (n - piece.len()).min(8);
            piece.extend_from_slice(&this.state.to_le_bytes()[..take]);
        }
        this.sent += n as u64;
        this.hasher.lock().unwrap().update(&piece);
        Poll::Ready(Some(Ok(Bytes::from(piece))))
    }
}

struct Session {
    client: reqwest::Client,
    publish_id: String,
    upload_path: String,
}

async fn connect(relay: &str) -> (reqwest::Client, Duration) {
    let mut headers = header::HeaderMap::new();
    headers.insert(header::ORIGIN, relay.parse().unwrap());
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .default_headers(headers)
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let started = Instant::now();
    let mut url = format!("{relay}/api/connect");
    for _ in 0..3 {
        let response = client.get(&url).send().await.unwrap();
        let location = response.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_string();
        url = if location.starts_with('/') {
            format!("{relay}{location}")
        } else {
            location
        };
    }
    assert!(url.ends_with("tiktok=connected"), "{url}");
    (client, started.elapsed())
}

#[tokio::main]
async fn main() {
    let args = args();
    let n = args.sessions;
    println!(
        "relay {}  sessions {n}  upload {} bytes each",
        args.relay, args.bytes
    );
    if let Some((rss, _, fds, threads)) = memory(args.relay_pid) {
        println!("relay at rest: RSS {rss:.1} MiB, {fds} open files, {threads} threads");
    }

    // 1. Connect every session (OAuth through the fake), 100 at a time like a busy morning.
    let gate = Arc::new(tokio::sync::Semaphore::new(100));
    let connects: Vec<_> = (0..n)
        .map(|_| {
            let (relay, gate) = (args.relay.clone(), gate.clone());
            tokio::spawn(async move {
                let _permit = gate.acquire().await.unwrap();
                connect(&relay).await
            })
        })
        .collect();
    let mut clients = Vec::new();
    let mut connect_times = Vec::new();
    for c in connects {
        let (client, took) = c.await.unwrap();
        clients.push(client);
        connect_times.push(took);
    }

    // 2. Start a publish in each, all at once.
    let inits: Vec<_> = clients
        .into_iter()
        .map(|client| {
            let relay = args.relay.clone();
            let bytes = args.bytes;
            tokio::spawn(async move {
                let started = Instant::now();
                let response = client
                    .post(format!("{relay}/api/publish"))
                    .json(&json!({ "mode": "inbox", "video_size_bytes": bytes, "content_type": "video/mp4" }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                let body: Value = response.json().await.unwrap();
                let took = started.elapsed();
                let session = Session {
                    client,
                    publish_id: body["publish_id"].as_str().unwrap().into(),
                    upload_path: body["upload_path"].as_str().unwrap().into(),
                };
                (session, took)
            })
        })
        .collect();
    let mut sessions = Vec::new();
    let mut init_times = Vec::new();
    for i in inits {
        let (s, took) = i.await.unwrap();
        sessions.push(s);
        init_times.push(took);
    }

    // 3. Upload in all of them at once; hold every upload at its halfway point.
    let held = Arc::new(AtomicUsize::new(0));
    let all_held = Arc::new(Notify::new());
    let (release_tx, release_rx) = watch::channel(None::<Instant>);
    let hashes = Arc::new(Mutex::new(HashMap::new()));
    let uploads: Vec<_> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let hasher = Arc::new(Mutex::new(Sha256::new()));
            let mut rx = release_rx.clone();
            let body = Upload {
                state: (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
                sent: 0,
                len: args.bytes,
                hasher: hasher.clone(),
                held: held.clone(),
                sessions: n,
                all_held: all_held.clone(),
                release: Some(Box::pin(async move {
                    let _ = rx.wait_for(|r| r.is_some()).await;
                })),
                waiting: false,
            };
            let request = s
                .client
                .put(format!("{}{}", args.relay, s.upload_path))
                .header(header::CONTENT_TYPE, "video/mp4")
                .header(header::CONTENT_LENGTH, args.bytes)
                .body(reqwest::Body::wrap_stream(body));
            let (id, hashes, release_rx) =
                (s.publish_id.clone(), hashes.clone(), release_rx.clone());
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let done = Instant::now();
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                assert_eq!(status, StatusCode::OK, "{text}");
                let digest = hasher.lock().unwrap().clone().finalize();
                hashes.lock().unwrap().insert(
                    id,
                    digest
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>(),
                );
                let released = (*release_rx.borrow()).unwrap_or(done);
                done.saturating_duration_since(released)
            })
        })
        .collect();
    all_held.notified().await;
    // Let the relay take in and forward what it was sent before looking at it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let holding = memory(args.relay_pid);
    let released_at = Instant::now();
    release_tx.send(Some(released_at)).unwrap();
    let mut upload_times = Vec::new();
    for u in uploads {
        upload_times.push(u.await.unwrap());
    }
    let upload_wall = released_at.elapsed();

    // 4. Status until done, every session at once.
    let polls: Vec<_> = sessions
        .iter()
        .map(|s| {
            let (client, relay, id) = (s.client.clone(), args.relay.clone(), s.publish_id.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                loop {
                    let started = Instant::now();
                    let response = client
                        .get(format!("{relay}/api/publish/{id}/status"))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), StatusCode::OK);
                    let body: Value = response.json().await.unwrap();
                    times.push(started.elapsed());
                    if body["done"] == true {
                        assert_eq!(body["status"], "SEND_TO_USER_INBOX");
                        return times;
                    }
                }
            })
        })
        .collect();
    let mut status_times = Vec::new();
    for p in polls {
        status_times.extend(p.await.unwrap());
    }

    // 5. Every upload arrived byte for byte.
    let received: Vec<Value> = reqwest::get(format!("{}/fake/publishes", args.fake))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hashes = hashes.lock().unwrap();
    let mut matched = 0;
    for r in &received {
        if let Some(sent) = r["publish_id"].as_str().and_then(|id| hashes.get(id)) {
            assert_eq!(
                r["sha256"].as_str(),
                Some(sent.as_str()),
                "{}",
                r["publish_id"]
            );
            matched += 1;
        }
    }
    assert_eq!(matched, n, "every upload reached the fake intact");

    println!(
        "{}",
        percentiles("connect (OAuth round trip)", connect_times)
    );
    println!("{}", percentiles("publish init", init_times));
    println!("{}", percentiles("upload, after release", upload_times));
    println!("{}", percentiles("status", status_times));
    let total = args.bytes as f64 * n as f64 / (1 << 20) as f64;
    println!(
        "uploads: {total:.0} MiB in {:.2} s after release ({:.0} MiB/s through the relay)",
        upload_wall.as_secs_f64(),
        total / upload_wall.as_secs_f64()
    );
    if let Some((rss, _, fds, threads)) = holding {
        println!(
            "relay holding {n} uploads open: RSS {rss:.1} MiB, {fds} open files, {threads} threads"
        );
    }
    if let Some((rss, peak, _, _)) = memory(args.relay_pid) {
        println!("relay after: RSS {rss:.1} MiB, peak RSS {peak:.1} MiB");
    }
    println!("all {matched} uploads verified by SHA-256 at the fake");
}
