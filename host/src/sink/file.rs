//! The file sink: bytes go to `<name>.partial`, are hashed and counted on
//! the way, and the file is renamed to its final name only once whole and
//! synced. A file without `.partial` is always complete.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// What a committed file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Final path.
    pub path: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
    /// Hex SHA-256 of the contents.
    pub sha256: String,
}

/// A file being written.
pub struct FileSink {
    out: BufWriter<File>,
    partial: PathBuf,
    target: PathBuf,
    hasher: Sha256,
    bytes: u64,
}

impl FileSink {
    /// Starts `path` as `path.partial`.
    pub fn create(path: &Path) -> io::Result<Self> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let out = BufWriter::with_capacity(1 << 20, File::create(&partial)?);
        Ok(FileSink { out, partial, target: path.to_owned(), hasher: Sha256::new(), bytes: 0 })
    }

    /// Flushes, syncs and renames the file to its final name.
    pub fn commit(self) -> io::Result<Written> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.partial, &self.target)?;
        Ok(Written { path: self.target, bytes: self.bytes, sha256: hex::encode(self.hasher.finalize()) })
    }
}

impl Write for FileSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Writes a small file atomically: `path.partial`, sync, rename.
pub fn write_atomically(path: &Path, contents: &[u8]) -> io::Result<Written> {
    let mut sink = FileSink::create(path)?;
    sink.write_all(contents)?;
    sink.commit()
}

/// Hashes what passes through a reader, so a file is checked against its
/// manifest digest in the same pass that loads it.
pub struct HashingReader<R> {
    inner: R,
    seen: std::rc::Rc<std::cell::RefCell<(Sha256, u64)>>,
}

/// The running digest of a [`HashingReader`], readable after the reader
/// moved into a decoder.
#[derive(Clone)]
pub struct ReadDigest(std::rc::Rc<std::cell::RefCell<(Sha256, u64)>>);

impl ReadDigest {
    /// (bytes read, hex SHA-256) so far.
    pub fn finish(&self) -> (u64, String) {
        let state = self.0.borrow();
        (state.1, hex::encode(state.0.clone().finalize()))
    }
}

impl<R: std::io::Read> HashingReader<R> {
    /// Wraps `inner`; the digest handle stays with the caller.
    pub fn new(inner: R) -> (Self, ReadDigest) {
        let seen = std::rc::Rc::new(std::cell::RefCell::new((Sha256::new(), 0)));
        (HashingReader { inner, seen: seen.clone() }, ReadDigest(seen))
    }
}

impl<R: std::io::Read> std::io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut state = self.seen.borrow_mut();
        state.0.update(&buf[..n]);
        state.1 += n as u64;
        Ok(n)
    }
}

/// Streams a file through SHA-256; returns (bytes, hex digest).
pub fn hash_file(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let bytes = io::copy(&mut file, &mut hasher)?;
    Ok((bytes, hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_partial_until_committed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.copy");
        let mut sink = FileSink::create(&path).expect("create");
        sink.write_all(b"hello").expect("write");
        assert!(!path.exists());
        assert!(dir.path().join("t.copy.partial").exists());
        let written = sink.commit().expect("commit");
        assert!(path.exists() && !dir.path().join("t.copy.partial").exists());
        assert_eq!(written.bytes, 5);
        assert_eq!(hash_file(&path).expect("hash"), (5, written.sha256));
    }
}
