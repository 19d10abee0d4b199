//! The relay's logs over a whole publish (with a refresh and a re-sent chunk) name what
//! happened and never carry a token, an authorization code or an upload URL. A test binary of
//! its own: tracing's per-thread subscriber must not race other tests' first log calls.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod common;

use common::{publish_to_inbox, Harness, Options, Video};
use reelsmith_relay::fake::{Endpoint, Fault, FaultKind};

#[tokio::test]
async fn logs_carry_no_tokens_codes_or_upload_urls() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("reelsmith_relay=trace")
        .with_writer(move || writer.clone())
        .finish();
    // The test runtime has one thread: the relay's tasks run under this subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = Harness::start_with(Options {
        fake: Box::new(|c| c.access_expires_in_secs = 60),
        ..Options::default()
    })
    .await;
    let mut browser = h.browser(0);
    browser.connect("/").await;
    h.fake
        .state
        .add_fault(Fault::new(Endpoint::Chunk, FaultKind::ServerError, 1));
    publish_to_inbox(&mut browser, &Video::new(6, 300_000)).await;
    browser.disconnect().await;

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    for expected in [
        "authorization started",
        "connected",
        "access token refreshed",
        "publish started",
        "re-sending a chunk",
        "upload complete",
        "disconnected",
    ] {
        assert!(logs.contains(expected), "missing {expected:?} in\n{logs}");
    }
    let secrets = h.fake.state.issued_secrets();
    assert!(secrets.len() >= 5);
    for secret in secrets {
        assert!(!logs.contains(&secret), "a secret reached the logs");
    }
    assert!(!logs.contains("upload_token"));
}
