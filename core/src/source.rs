//! Random access to the bytes of a media file. The app reads a `File` with `Blob.slice`, tests
//! read files on disk; both sit behind [`ByteSource`] so the demuxers never hold a whole file.

use std::cell::RefCell;

/// Why bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not read the file: {0}")]
pub struct SourceError(pub String);

/// A file of known length whose byte ranges can be read on demand.
///
/// Futures need not be `Send`: in the browser they wrap JavaScript promises.
#[allow(async_fn_in_trait)]
pub trait ByteSource {
    /// Total length in bytes.
    fn len_bytes(&self) -> u64;

    /// Reads up to `len` bytes starting at `offset`. Fewer bytes come back only at the end of
    /// the file; an offset at or past the end gives an empty buffer.
    async fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, SourceError>;

    /// Reads exactly `len` bytes, or says that the file ends too early.
    async fn read_exact_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, SourceError> {
        let bytes = self.read_at(offset, len).await?;
        if bytes.len() < len {
            return Err(SourceError(format!(
                "the file ends at byte {} but {len} bytes were needed at byte {offset}",
                offset + bytes.len() as u64
            )));
        }
        Ok(bytes)
    }
}

/// An in-memory file (tests, and small synthetic media).
impl ByteSource for [u8] {
    fn len_bytes(&self) -> u64 {
        self.len() as u64
    }

    async fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, SourceError> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.len());
        let end = start.saturating_add(len).min(self.len());
        Ok(self[start..end].to_vec())
    }
}

impl ByteSource for Vec<u8> {
    fn len_bytes(&self) -> u64 {
        self.as_slice().len_bytes()
    }

    async fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, SourceError> {
        self.as_slice().read_at(offset, len).await
    }
}

/// Counts reads so tests can show that opening a file touches only a few bytes of it.
pub struct CountingSource<S> {
    pub inner: S,
    bytes_read: RefCell<u64>,
    reads: RefCell<u64>,
}

impl<S> CountingSource<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            bytes_read: RefCell::new(0),
            reads: RefCell::new(0),
        }
    }

    pub fn bytes_read(&self) -> u64 {
        *self.bytes_read.borrow()
    }

    pub fn reads(&self) -> u64 {
        *self.reads.borrow()
    }
}

impl<S: ByteSource> ByteSource for CountingSource<S> {
    fn len_bytes(&self) -> u64 {
        self.inner.len_bytes()
    }

    async fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, SourceError> {
        let bytes = self.inner.read_at(offset, len).await?;
        *self.bytes_read.borrow_mut() += bytes.len() as u64;
        *self.reads.borrow_mut() += 1;
        Ok(bytes)
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub use native::FileSource;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    #![allow(clippy::disallowed_types)] // native only: the web reads Blobs instead
    use super::{ByteSource, SourceError};
    use std::fs::File;
    use std::os::unix::fs::FileExt;
    use std::path::Path;

    /// A file on disk, read with positioned reads (native tools and tests).
    pub struct FileSource {
        file: File,
        len: u64,
    }

    impl FileSource {
        pub fn open(path: impl AsRef<Path>) -> Result<Self, SourceError> {
            let path = path.as_ref();
            let file =
                File::open(path).map_err(|e| SourceError(format!("{}: {e}", path.display())))?;
            let len = file
                .metadata()
                .map_err(|e| SourceError(format!("{}: {e}", path.display())))?
                .len();
            Ok(Self { file, len })
        }
    }

    impl ByteSource for FileSource {
        fn len_bytes(&self) -> u64 {
            self.len
        }

        async fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, SourceError> {
            let avail = self.len.saturating_sub(offset).min(len as u64) as usize;
            let mut buf = vec![0; avail];
            self.file
                .read_exact_at(&mut buf, offset)
                .map_err(|e| SourceError(e.to_string()))?;
            Ok(buf)
        }
    }
}
