//! Reelsmith's pure core: everything that can run without a browser. It builds and tests
//! natively with `cargo test`, and compiles unchanged to wasm32 for the app and the worker.
//! The browser edges (Blob reads, WebCodecs, workers) live in `app/` and `worker/` and reach
//! this crate through small traits such as [`source::ByteSource`].

pub mod captions;
pub mod chunk;
pub mod clips;
pub mod demux;
pub mod device_speed;
pub mod edit;
pub mod embed;
pub mod export;
pub mod guides;
pub mod language;
pub mod local_data;
pub mod media;
pub mod mp4;
pub mod mux;
pub mod pixels;
pub mod playback;
pub mod projects;
pub mod protocol;
pub mod publish_api;
pub mod resample;
pub mod source;
pub mod subtitles;
pub mod timeline;
pub mod topics;
pub mod transcript;
pub mod webm;

pub use demux::Demuxer;
pub use media::{MediaError, MediaInfo};
pub use source::ByteSource;
