//! The export worker's entry point (trunk builds it as a worker with a loader shim).

fn main() {
    #[cfg(target_arch = "wasm32")]
    reelsmith_app::export::worker_start();
}
