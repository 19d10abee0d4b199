fn main() {
    reelsmith_app::start();
}
