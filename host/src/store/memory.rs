//! An in-memory store, for tests of the orchestration without a disk.

use std::collections::BTreeMap;
use std::io::{self, Cursor, Read, Write};
use std::sync::{Arc, Mutex};

use super::contract::{Part, Store, check_key};

/// Objects in a map; parts appear only when committed.
#[derive(Default, Clone)]
pub struct MemoryStore {
    objects: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    /// Parts started and not yet committed or dropped.
    open_parts: Arc<Mutex<usize>>,
}

impl MemoryStore {
    /// How many parts are being written now.
    pub fn open_parts(&self) -> usize {
        *self.open_parts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces an object's bytes, as a damaged medium would.
    pub fn corrupt(&self, key: &str, bytes: &[u8]) {
        self.objects.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_owned(), bytes.to_vec());
    }
}

impl Store for MemoryStore {
    fn location(&self) -> String {
        "memory".to_owned()
    }

    fn check_empty(&self) -> io::Result<()> {
        self.begin_dump()
    }

    fn abandon_dump(&self) -> io::Result<()> {
        Ok(())
    }

    fn remove_partials(&self) -> io::Result<Vec<String>> {
        // Parts live in memory: none outlives its process.
        Ok(Vec::new())
    }

    fn begin_dump(&self) -> io::Result<()> {
        if self.objects.lock().unwrap_or_else(|p| p.into_inner()).is_empty() {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::AlreadyExists, "output location memory is not empty"))
        }
    }

    fn create(&self, key: &str) -> io::Result<Box<dyn Part>> {
        check_key(key)?;
        *self.open_parts.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        Ok(Box::new(MemoryPart { store: self.clone(), key: key.to_owned(), bytes: Vec::new() }))
    }

    fn open(&self, key: &str) -> io::Result<Box<dyn Read + Send>> {
        match self.objects.lock().unwrap_or_else(|p| p.into_inner()).get(key) {
            Some(bytes) => Ok(Box::new(Cursor::new(bytes.clone()))),
            None => Err(io::Error::new(io::ErrorKind::NotFound, format!("{key} not found"))),
        }
    }

    fn exists(&self, key: &str) -> io::Result<bool> {
        Ok(self.objects.lock().unwrap_or_else(|p| p.into_inner()).contains_key(key))
    }

    fn list(&self, prefix: &str) -> io::Result<Vec<String>> {
        let objects = self.objects.lock().unwrap_or_else(|p| p.into_inner());
        Ok(objects.keys().filter(|k| k.starts_with(prefix)).cloned().collect())
    }

    fn delete(&self, key: &str) -> io::Result<()> {
        self.objects.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        Ok(())
    }
}

struct MemoryPart {
    store: MemoryStore,
    key: String,
    bytes: Vec<u8>,
}

impl Write for MemoryPart {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Part for MemoryPart {
    fn commit(mut self: Box<Self>) -> io::Result<()> {
        let bytes = std::mem::take(&mut self.bytes);
        self.store.objects.lock().unwrap_or_else(|p| p.into_inner()).insert(self.key.clone(), bytes);
        Ok(())
    }
}

impl Drop for MemoryPart {
    fn drop(&mut self) {
        *self.store.open_parts.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
    }
}
