//! The contract of a store: the [`Store`] and [`Part`] traits every kind of
//! location implements, and the names they take.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

/// What a committed object holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Its key.
    pub key: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Hex SHA-256 of the contents.
    pub sha256: String,
}

impl Written {
    /// What `bytes` make under `key`.
    pub fn of(key: &str, bytes: &[u8]) -> Self {
        Written { key: key.to_owned(), bytes: bytes.len() as u64, sha256: hex::encode(Sha256::digest(bytes)) }
    }
}

/// A place a dump is written to and read from.
///
/// The contract every implementation keeps:
/// - a part made by [`Store::create`] is invisible to [`Store::open`],
///   [`Store::get`], [`Store::exists`] and [`Store::list`] until it is
///   committed, and a part dropped without [`Part::commit`] leaves nothing
///   that looks whole (a directory keeps at most a `*.partial` file);
/// - committing a part replaces any object of the same key at once, so a
///   reader sees the old bytes or the new ones, never a mixture;
/// - [`Store::location`] names the place for messages and never holds a
///   secret.
///
/// The methods are synchronous: their callers run on blocking threads next
/// to the stages. An implementation over an async client bridges inside
/// (a bounded channel per part), so the data is never copied twice.
pub trait Store: Send + Sync {
    /// The location as the user wrote it, for messages.
    fn location(&self) -> String;

    /// Refuses a location that already holds anything, so an old dump is
    /// never mixed with a new one; creates nothing.
    fn check_empty(&self) -> io::Result<()>;

    /// Checks that a dump may write and remove objects here, before any
    /// database work (object stores: a probe object written and removed);
    /// leaves the location as it was.
    fn check_access(&self) -> io::Result<()> {
        Ok(())
    }

    /// Prepares an empty location for a new dump (checked as
    /// [`Store::check_empty`] does).
    fn begin_dump(&self) -> io::Result<()>;

    /// Undoes [`Store::begin_dump`] after a dump that failed before any
    /// object was committed: removes what it created, never what was there
    /// before, so the rerun finds the location as it was.
    fn abandon_dump(&self) -> io::Result<()>;

    /// Bytes still free where the objects go, when the location can say
    /// (for disk-full messages).
    fn free_bytes(&self) -> Option<u64> {
        None
    }

    /// Removes what parts of an earlier process left uncommitted (a killed
    /// dump's `*.partial` files); returns their names.
    fn remove_partials(&self) -> io::Result<Vec<String>>;

    /// Starts the object `key`; nothing is visible under it until commit.
    fn create(&self, key: &str) -> io::Result<Box<dyn Part>>;

    /// Reads the object `key` from its start.
    fn open(&self, key: &str) -> io::Result<Box<dyn Read + Send>>;

    /// Whether the object `key` exists (committed).
    fn exists(&self, key: &str) -> io::Result<bool>;

    /// The keys of every committed object under `prefix`, sorted.
    fn list(&self, prefix: &str) -> io::Result<Vec<String>>;

    /// Removes the object `key`; removing a missing object is not an error.
    fn delete(&self, key: &str) -> io::Result<()>;

    /// Writes a small object whole and atomically (schema scripts, the
    /// manifest last); returns its size and digest.
    fn put(&self, key: &str, bytes: &[u8]) -> io::Result<Written> {
        let mut part = self.create(key)?;
        part.write_all(bytes)?;
        part.commit()?;
        Ok(Written::of(key, bytes))
    }

    /// Writes a small object whole and atomically, only if no object `key`
    /// exists (the manifest: two dumps into one location can never replace
    /// each other's); an existing one is an `AlreadyExists` error.
    fn put_new(&self, key: &str, bytes: &[u8]) -> io::Result<Written> {
        if self.exists(key)? {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{}/{key} already exists", self.location()),
            ));
        }
        self.put(key, bytes)
    }

    /// Requests to the storage that failed transiently and were retried
    /// (object stores), for the summary.
    fn retried_requests(&self) -> u64 {
        0
    }

    /// The whole object `key`, or None when there is none.
    fn get(&self, key: &str) -> io::Result<Option<Vec<u8>>> {
        let mut reader = match self.open(key) {
            Ok(reader) => reader,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes)?;
        Ok(Some(bytes))
    }
}

/// An object being written. Dropping it without [`Part::commit`] abandons
/// it: nothing under its key changes.
pub trait Part: Write + Send {
    /// Makes the object whole and visible under its key (flushed and, for a
    /// directory, synced and renamed).
    fn commit(self: Box<Self>) -> io::Result<()>;
}

/// Checks that a key is a relative name made of plain components, so a
/// manifest's file names can never point outside its location.
pub fn check_key(key: &str) -> io::Result<()> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key.split('/').any(|part| part.is_empty() || part == "." || part == "..")
        || key.contains('\\');
    if bad {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("'{key}' is not a valid object name")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_leave_the_location() {
        for key in ["../x", "/etc/passwd", "data/../../x", "", "a//b", "./a", "a\\b"] {
            assert!(check_key(key).is_err(), "{key}");
        }
        check_key("data/public.film.00000.copy.zst").expect("plain key");
    }
}
