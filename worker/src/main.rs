fn main() {
    #[cfg(target_arch = "wasm32")]
    reelsmith_worker::start();
}
