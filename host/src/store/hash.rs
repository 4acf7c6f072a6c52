//! Checksums around any store: SHA-256 and size of every object, taken as
//! it is written and checked as it is read, in the same pass as the work.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::rc::Rc;

use sha2::{Digest, Sha256};

use super::contract::{Part, Store, Written};

/// A part that hashes and counts what is written to it.
pub struct Hashed {
    key: String,
    part: Box<dyn Part>,
    hasher: Sha256,
    bytes: u64,
}

impl Hashed {
    /// Wraps `part`, the object `key`.
    pub fn new(key: &str, part: Box<dyn Part>) -> Self {
        Hashed { key: key.to_owned(), part, hasher: Sha256::new(), bytes: 0 }
    }

    /// Commits the part; returns what it holds.
    pub fn commit(self) -> io::Result<Written> {
        self.part.commit()?;
        Ok(Written { key: self.key, bytes: self.bytes, sha256: hex::encode(self.hasher.finalize()) })
    }
}

impl Write for Hashed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.part.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.part.flush()
    }
}

/// Hashes what passes through a reader, so an object is checked against
/// its manifest digest in the same pass that loads it.
pub struct HashingReader<R> {
    inner: R,
    seen: Rc<RefCell<(Sha256, u64)>>,
}

/// The running digest of a [`HashingReader`], readable after the reader
/// moved into a decoder.
#[derive(Clone)]
pub struct ReadDigest(Rc<RefCell<(Sha256, u64)>>);

impl ReadDigest {
    /// (bytes read, hex SHA-256) so far.
    pub fn finish(&self) -> (u64, String) {
        let state = self.0.borrow();
        (state.1, hex::encode(state.0.clone().finalize()))
    }
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`; the digest handle stays with the caller.
    pub fn new(inner: R) -> (Self, ReadDigest) {
        let seen = Rc::new(RefCell::new((Sha256::new(), 0)));
        (HashingReader { inner, seen: seen.clone() }, ReadDigest(seen))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut state = self.seen.borrow_mut();
        state.0.update(&buf[..n]);
        state.1 += n as u64;
        Ok(n)
    }
}

/// Streams a reader through SHA-256; returns (bytes, hex digest).
pub fn hash_reader(mut reader: impl Read) -> io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let bytes = io::copy(&mut reader, &mut hasher)?;
    Ok((bytes, hex::encode(hasher.finalize())))
}

/// Compares what was read of `key` (bytes, hex SHA-256) with what the
/// manifest says; the problem in one line when they differ.
pub fn compare(key: &str, (n, digest): (u64, String), bytes: u64, sha256: &str) -> Result<(), String> {
    if n != bytes {
        Err(format!("{key}: {n} bytes, manifest says {bytes}"))
    } else if digest != sha256 {
        Err(format!("{key}: SHA-256 {digest} does not match the manifest"))
    } else {
        Ok(())
    }
}

/// Reads the object `key` whole and checks it: missing, unreadable or
/// different, in one line.
pub fn check_object(store: &dyn Store, key: &str, bytes: u64, sha256: &str) -> Result<(), String> {
    match store.open(key) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(format!("{key}: missing")),
        Err(e) => Err(format!("{key}: cannot be read: {e}")),
        Ok(reader) => match hash_reader(reader) {
            Err(e) => Err(format!("{key}: cannot be read: {e}")),
            Ok(seen) => compare(key, seen, bytes, sha256),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    #[test]
    fn objects_are_checked_for_presence_size_and_digest() {
        let store = MemoryStore::default();
        let written = store.put("schema/pre-data.sql", b"CREATE TABLE t ();\n").expect("put");
        assert_eq!(written.bytes, 19);
        check_object(&store, "schema/pre-data.sql", written.bytes, &written.sha256).expect("whole");
        let wrong = check_object(&store, "schema/pre-data.sql", 19, &"0".repeat(64)).expect_err("digest");
        assert!(wrong.contains("does not match"), "{wrong}");
        assert!(check_object(&store, "schema/pre-data.sql", 3, &written.sha256).expect_err("size").contains("3"));
        assert_eq!(
            check_object(&store, "schema/post-data.sql", 0, "").expect_err("missing"),
            "schema/post-data.sql: missing"
        );
    }
}
