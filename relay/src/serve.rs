//! Accepting connections: HTTP/1.1 through hyper with each connection's read buffer capped
//! (hyper's default lets it grow to ~400 KiB, and a relay holding hundreds of uploads open
//! would keep one per upload), and a graceful shutdown that lets requests in flight finish.

use std::future::Future;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// Per-connection read buffer cap.
pub const READ_BUF_BYTES: usize = 64 * 1024;

/// Serves `router` on `listener` until `shutdown` completes, then waits for open requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: keep serving the connections we have.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let connection = hyper::server::conn::http1::Builder::new()
            .max_buf_size(READ_BUF_BYTES)
            .timer(TokioTimer::new())
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that goes away mid-request is not the relay's error.
            let _ = connection.await;
        });
    }
    graceful.shutdown().await;
    Ok(())
}
