//! Forwarding an upload: the browser's request body, read as it arrives, becomes TikTok's chunk
//! PUTs in order. Each chunk streams straight through to TikTok and is also written to a spool
//! file (unlinked at creation, reused chunk after chunk), so a chunk that TikTok fails with a
//! 5xx or never answers can be re-sent without asking the browser for it again. Memory per
//! upload is a few body frames whatever the file size; disk is one chunk.
//!
//! A PUT is watched for progress, not timed as a whole: it fails when TikTok has read nothing
//! of its body and not answered for `chunk_stall_timeout`, however long a healthy chunk takes.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use futures::{Stream, StreamExt};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::io::ReaderStream;

use crate::chunks::{Chunk, ChunkPlan};
use crate::error::AppError;
use crate::tiktok::{TikTok, TikTokError};

const SPOOL_BUF_BYTES: usize = 64 * 1024;

/// What the forwarder needs to know about the upload.
pub struct Target<'a> {
    pub tiktok: &'a TikTok,
    pub upload_url: &'a str,
    pub content_type: &'a str,
    pub plan: ChunkPlan,
    /// Chunks TikTok already has (from an earlier, interrupted attempt): their bytes are read
    /// from the body and dropped.
    pub chunks_done: u64,
    pub spool_dir: &'a std::path::Path,
    pub stall_timeout: Duration,
    pub attempts: u32,
}

/// The browser's body, cut into pieces no longer than asked for.
pub struct Incoming {
    stream: axum::body::BodyDataStream,
    leftover: Bytes,
    received_bytes: u64,
    expected_bytes: u64,
    ended: bool,
}

/// After an error, the rest of a body up to this size is read and dropped before answering:
/// a browser still sending when the answer comes often reports a reset connection instead of
/// the answer. A longer rest is not worth the wait; the connection is closed.
const DRAIN_MAX_BYTES: u64 = 64 << 20;

impl Incoming {
    pub fn new(body: Body, expected_bytes: u64) -> Self {
        Incoming {
            stream: body.into_data_stream(),
            leftover: Bytes::new(),
            received_bytes: 0,
            expected_bytes,
            ended: false,
        }
    }

    async fn next_piece(&mut self, max_bytes: u64) -> Result<Bytes, AppError> {
        if self.leftover.is_empty() {
            match self.stream.next().await {
                Some(Ok(bytes)) => self.leftover = bytes,
                Some(Err(_)) | None => {
                    self.ended = true;
                    return Err(AppError::UploadIncomplete {
                        received_bytes: self.received_bytes,
                        expected_bytes: self.expected_bytes,
                    });
                }
            }
        }
        let take = usize::try_from(max_bytes)
            .unwrap_or(usize::MAX)
            .min(self.leftover.len());
        let piece = self.leftover.split_to(take);
        self.received_bytes += piece.len() as u64;
        Ok(piece)
    }

    /// Reads and drops what is left of the body, if that is not much, so the answer that
    /// follows reaches the browser. Gives up when the browser sends nothing for `idle`.
    pub async fn drain(mut self, idle: Duration) {
        if self.ended || self.expected_bytes.saturating_sub(self.received_bytes) > DRAIN_MAX_BYTES {
            return;
        }
        let mut drained_bytes = 0u64;
        while let Ok(Some(Ok(bytes))) = tokio::time::timeout(idle, self.stream.next()).await {
            drained_bytes += bytes.len() as u64;
            if drained_bytes > DRAIN_MAX_BYTES {
                return;
            }
        }
    }
}

/// Counts the bytes the HTTP client has taken from a body: the PUT's progress.
struct Counted<S> {
    inner: S,
    progress: Arc<AtomicU64>,
}

impl<S> Stream for Counted<S>
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Unpin,
{
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(bytes))) = &polled {
            self.progress
                .fetch_add(bytes.len() as u64 + 1, Ordering::Relaxed);
        }
        polled
    }
}

struct ReceiverStream(mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl Stream for ReceiverStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

type Put = JoinHandle<Result<(), TikTokError>>;

fn spawn_put<S>(target: &Target<'_>, chunk: Chunk, body: S, progress: Arc<AtomicU64>) -> Put
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Unpin + Send + Sync + 'static,
{
    let tiktok = target.tiktok.clone();
    let url = target.upload_url.to_string();
    let content_type = target.content_type.to_string();
    let body = reqwest::Body::wrap_stream(Counted {
        inner: body,
        progress,
    });
    tokio::spawn(async move { tiktok.put_chunk(&url, &content_type, chunk, body).await })
}

/// Waits for a PUT while it makes progress; a PUT that stalls is aborted.
async fn finish_put(
    mut put: Put,
    progress: &AtomicU64,
    stall_timeout: Duration,
) -> Result<(), TikTokError> {
    let mut seen = progress.load(Ordering::Relaxed);
    loop {
        tokio::select! {
            joined = &mut put => {
                return joined.unwrap_or_else(|e| Err(TikTokError::Unavailable {
                    reason: format!("the chunk upload stopped: {e}"),
                }));
            }
            _ = tokio::time::sleep(stall_timeout) => {
                let now = progress.load(Ordering::Relaxed);
                if now == seen {
                    put.abort();
                    return Err(TikTokError::Unavailable {
                        reason: "TikTok stopped answering during the upload".into(),
                    });
                }
                seen = now;
            }
        }
    }
}

/// Sends the body to TikTok chunk by chunk. `on_chunk(n)` is called (and awaited) each time
/// TikTok has confirmed the first `n` chunks.
pub async fn forward<F, Fut>(
    target: Target<'_>,
    incoming: &mut Incoming,
    mut on_chunk: F,
) -> Result<(), AppError>
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = Result<(), AppError>>,
{
    let mut spool = tokio::fs::File::from_std(tempfile::tempfile_in(target.spool_dir)?);
    // tokio copies each write into a buffer the file keeps; cap it, or every held upload
    // keeps one as large as the largest body frame hyper handed over.
    spool.set_max_buf_size(SPOOL_BUF_BYTES);
    for chunk in target.plan.chunks() {
        if chunk.index < target.chunks_done {
            let mut remaining = chunk.len_bytes;
            while remaining > 0 {
                remaining -= incoming.next_piece(remaining).await?.len() as u64;
            }
            continue;
        }
        spool.set_len(0).await?;
        spool.rewind().await?;
        send_chunk(&target, chunk, incoming, &mut spool).await?;
        on_chunk(chunk.index + 1).await?;
    }
    Ok(())
}

/// One chunk: streamed through while spooled, then re-sent from the spool if that failed in a
/// way that may succeed on a second try.
async fn send_chunk(
    target: &Target<'_>,
    chunk: Chunk,
    incoming: &mut Incoming,
    spool: &mut tokio::fs::File,
) -> Result<(), AppError> {
    let progress = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::channel(8);
    let put = spawn_put(target, chunk, ReceiverStream(rx), progress.clone());
    let mut through = Some(tx);
    let mut remaining = chunk.len_bytes;
    while remaining > 0 {
        let piece = match incoming.next_piece(remaining).await {
            Ok(piece) => piece,
            Err(e) => {
                put.abort();
                return Err(e);
            }
        };
        remaining -= piece.len() as u64;
        spool.write_all(&piece).await?;
        if let Some(tx) = &through {
            let sent = tokio::time::timeout(target.stall_timeout, tx.send(Ok(piece))).await;
            if !matches!(sent, Ok(Ok(()))) {
                // The PUT ended early or stopped reading: keep spooling for the re-send.
                through = None;
            }
        }
    }
    spool.flush().await?;
    drop(through);
    let mut result = finish_put(put, &progress, target.stall_timeout).await;
    let mut attempt = 1;
    while let Err(TikTokError::Unavailable { reason }) = &result {
        if attempt >= target.attempts {
            break;
        }
        tracing::warn!(chunk = chunk.index + 1, attempt, %reason, "re-sending a chunk");
        // A short pause, growing, so a struggling TikTok is not hammered.
        tokio::time::sleep(Duration::from_millis(200 << attempt.min(5))).await;
        attempt += 1;
        spool.rewind().await?;
        let reader = tokio::io::AsyncReadExt::take(spool.try_clone().await?, chunk.len_bytes);
        let progress = Arc::new(AtomicU64::new(0));
        let put = spawn_put(target, chunk, ReaderStream::new(reader), progress.clone());
        result = finish_put(put, &progress, target.stall_timeout).await;
    }
    result.map_err(|e| match e {
        TikTokError::Unavailable { reason } => AppError::TikTokUnavailable {
            message: format!(
                "{reason} (chunk {} of {}). Try again: the upload continues where it stopped.",
                chunk.index + 1,
                target.plan.total_chunk_count
            ),
            retryable: true,
        },
        rejected => AppError::from_tiktok(rejected, false),
    })
}
