//! Several relay instances over one database, as a deployment behind a load balancer runs
//! them: a browser connects through one instance and publishes through another, a broken-off
//! upload resumes on the other instance, a refresh racing across instances happens once, and
//! the per-session budget is shared. Each scenario runs on a SQLite file and on PostgreSQL (a
//! throwaway cluster started here from Debian's `postgresql`, which scripts/setup.sh installs).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;

use common::{Harness, Options, Video, MIB};
use reelsmith_relay::config::Clock;
use reqwest::StatusCode;
use sqlx::Connection;

const MB: u64 = 1_000_000;

async fn two_instances(
    database_url: Option<String>,
    fake: Box<dyn FnOnce(&mut reelsmith_relay::fake::FakeConfig)>,
) -> Harness {
    Harness::start_with(Options {
        instances: 2,
        database_url,
        fake,
        relay: Box::new(|c| {
            c.preferred_chunk_bytes = 5 * MIB;
            c.chunk_stall_timeout = Duration::from_millis(500);
        }),
    })
    .await
}

async fn connect_on_one_publish_on_the_other(database_url: Option<String>) {
    let h = two_instances(database_url, Box::new(|_| {})).await;
    let mut on_a = h.browser(0);
    assert_eq!(on_a.connect("/").await, "/?tiktok=connected");
    let mut on_b = h.on(&on_a, 1);
    let session = on_b.session().await;
    assert_eq!(session.json["connected"], true, "{:?}", session.json);

    let video = Video::new(30, 12 * MB);
    let init = on_b.inbox(&video).await;
    assert_eq!(init.status, StatusCode::OK, "{:?}", init.json);
    let id = init.json["publish_id"].as_str().unwrap().to_string();
    let path = init.json["upload_path"].as_str().unwrap().to_string();
    // Broken off on A in the second chunk, finished on B without re-sending the first.
    let broken = on_a
        .upload_body(
            &path,
            video.len_bytes,
            reqwest::Body::wrap_stream(video.broken_stream(7 * MB)),
        )
        .await;
    assert_ne!(broken.status, StatusCode::OK);
    let mut finished = None;
    // Until instance A has noticed the break and let go of the upload.
    for _ in 0..500 {
        let answer = on_b.upload(&path, &video).await;
        if answer.status != StatusCode::CONFLICT {
            finished = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(finished.unwrap().status, StatusCode::OK);
    let (_, done) = on_a.poll_until_done(&id).await;
    assert_eq!(done.json["status"], "SEND_TO_USER_INBOX");
    let report = h.fake.state.publish(&id).unwrap();
    assert_eq!(report.sha256.as_deref(), Some(video.sha256().as_str()));
    assert_eq!(
        report.content_ranges.len(),
        2,
        "{:?}",
        report.content_ranges
    );

    assert_eq!(on_b.disconnect().await.json["revoked_at_tiktok"], true);
    assert_eq!(on_a.session().await.json["connected"], false);
}

async fn a_refresh_racing_across_instances_happens_once(database_url: Option<String>) {
    let h = two_instances(database_url, Box::new(|c| c.access_expires_in_secs = 60)).await;
    let mut browser = h.browser(0);
    browser.connect("/").await;
    h.fake
        .state
        .update_config(|c| c.access_expires_in_secs = 86_400);
    let calls: Vec<_> = (0..10)
        .map(|i| {
            let client = browser.client.clone();
            let url = format!("{}/api/session", h.relays[i % 2].url);
            tokio::spawn(async move { client.get(url).send().await.unwrap().status() })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(h.fake.state.stats().refreshes, 1);
}

async fn the_budget_is_shared_by_the_instances(database_url: Option<String>) {
    // One still clock for both instances: the budget does not refill while the test runs.
    let clock = Clock::manual(Arc::new(AtomicI64::new(1_000_000_000)));
    let h = Harness::start_with(Options {
        instances: 2,
        database_url,
        fake: Box::new(|c| c.pending_share_limit = 100),
        relay: Box::new(move |c| c.clock = clock.clone()),
    })
    .await;
    let mut a = h.browser(0);
    a.connect("/").await;
    let mut b = h.on(&a, 1);
    let video = Video::new(31, 1000);
    for i in 0..6 {
        let browser = if i % 2 == 0 { &mut a } else { &mut b };
        assert_eq!(browser.inbox(&video).await.status, StatusCode::OK);
    }
    assert_eq!(b.inbox(&video).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.inbox(&video).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(h.fake.state.stats().inits, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_connect_on_one_publish_on_the_other() {
    connect_on_one_publish_on_the_other(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_refresh_racing_across_instances_happens_once() {
    a_refresh_racing_across_instances_happens_once(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_budget_is_shared_by_the_instances() {
    the_budget_is_shared_by_the_instances(None).await;
}

/// A PostgreSQL cluster in a temporary folder, reached over a Unix socket there, stopped on drop.
struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    as_postgres_user: bool,
}

impl Postgres {
    fn bin_dir() -> Option<PathBuf> {
        let on_path = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .find(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
        });
        // Debian keeps the server programs out of PATH.
        on_path.or_else(|| {
            let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                .ok()?
                .flatten()
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("initdb").exists())
                .collect();
            found.sort();
            found.pop()
        })
    }

    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres_user {
            // initdb refuses to run as root.
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let output = command.args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{program} failed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn start() -> Option<Postgres> {
        let Some(bin) = Self::bin_dir() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "PostgreSQL is not installed: scripts/setup.sh installs Debian's postgresql"
            );
            eprintln!("PostgreSQL is not installed (scripts/setup.sh installs it); PostgreSQL scenarios not run");
            return None;
        };
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let dir = tempfile::Builder::new()
            .prefix("pg")
            .tempdir_in("/tmp")
            .unwrap();
        if is_root {
            let status = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let pg = Postgres {
            bin,
            dir,
            as_postgres_user: is_root,
        };
        let data = pg.dir.path().join("data");
        let data = data.to_str().unwrap();
        pg.run(
            "initdb",
            &[
                "-D",
                data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        let options = format!("-k {} -c listen_addresses= -F", pg.dir.path().display());
        let log = pg.dir.path().join("log");
        pg.run(
            "pg_ctl",
            &[
                "-D",
                data,
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        Some(pg)
    }

    fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@localhost/{database}?host={}",
            self.dir.path().display()
        )
    }

    /// A fresh database for one scenario.
    async fn database(&self, name: &str) -> String {
        sqlx::any::install_default_drivers();
        let mut admin = sqlx::AnyConnection::connect(&self.url("postgres"))
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        self.url(name)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data();
        let path: &Path = &data;
        let pg_ctl = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            c
        } else {
            Command::new(&pg_ctl)
        };
        let _ = command
            .arg("-D")
            .arg(path)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_scenarios() {
    let Some(pg) = Postgres::start() else {
        return;
    };
    connect_on_one_publish_on_the_other(Some(pg.database("flow").await)).await;
    a_refresh_racing_across_instances_happens_once(Some(pg.database("refresh").await)).await;
    the_budget_is_shared_by_the_instances(Some(pg.database("budget").await)).await;
    // The tokens are sealed in PostgreSQL too.
    let url = pg.database("sealed").await;
    let h = two_instances(Some(url.clone()), Box::new(|_| {})).await;
    let mut browser = h.browser(0);
    browser.connect("/").await;
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT access_token, refresh_token FROM connections")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    for secret in h.fake.state.issued_secrets() {
        assert!(!rows[0].0.contains(&secret) && !rows[0].1.contains(&secret));
    }
    assert!(rows[0].0.starts_with("v1."));
}
