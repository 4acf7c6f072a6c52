//! The directory store: an object is a file under the dump directory.
//! Bytes go to `<name>.partial` and the file is renamed to its final name
//! only once whole and synced, so a file without `.partial` is always
//! complete; an abandoned part removes its `.partial` file.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::contract::{Part, Store, Written, check_key};
use super::naming;

/// A dump directory.
pub struct DirStore {
    root: PathBuf,
    location: String,
    /// What [`Store::begin_dump`] created, deepest last.
    created: Mutex<Vec<PathBuf>>,
}

impl DirStore {
    /// The directory `location` (created by [`Store::begin_dump`]).
    pub fn new(location: &str) -> Self {
        DirStore { root: PathBuf::from(location), location: location.to_owned(), created: Mutex::default() }
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    fn context(&self, what: &str, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("cannot {what} {}: {e}", self.location))
    }
}

impl Store for DirStore {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn check_empty(&self) -> io::Result<()> {
        if self.root.exists() {
            let mut entries = fs::read_dir(&self.root).map_err(|e| self.context("read output directory", e))?;
            if entries.next().is_some() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("output directory {} is not empty: dump into a new or empty directory", self.location),
                ));
            }
        }
        Ok(())
    }

    fn begin_dump(&self) -> io::Result<()> {
        self.check_empty()?;
        let mut created = self.created.lock().unwrap_or_else(|p| p.into_inner());
        let mut missing: Vec<PathBuf> = self
            .root
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
            .map(Path::to_path_buf)
            .collect();
        missing.reverse();
        created.extend(missing);
        for sub in [naming::DATA_PREFIX, "schema/"] {
            let dir = self.root.join(sub.trim_end_matches('/'));
            fs::create_dir_all(&dir)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", dir.display())))?;
            created.push(dir);
        }
        Ok(())
    }

    fn abandon_dump(&self) -> io::Result<()> {
        if !self.list("")?.is_empty() {
            return Ok(());
        }
        let mut created = self.created.lock().unwrap_or_else(|p| p.into_inner());
        // Only directories this run made, and only while empty: anything a
        // user put there meanwhile stays.
        while let Some(dir) = created.pop() {
            let _ = fs::remove_dir(&dir);
        }
        Ok(())
    }

    fn free_bytes(&self) -> Option<u64> {
        let stat = rustix::fs::statvfs(&self.root).ok()?;
        Some(stat.f_bavail.saturating_mul(stat.f_frsize))
    }

    fn remove_partials(&self) -> io::Result<Vec<String>> {
        let mut keys = Vec::new();
        if self.root.is_dir() {
            walk(&self.root, "", &mut keys)?;
        }
        keys.retain(|k| k.ends_with(".partial"));
        for key in &keys {
            fs::remove_file(self.root.join(key))?;
        }
        Ok(keys)
    }

    fn create(&self, key: &str) -> io::Result<Box<dyn Part>> {
        let target = self.path(key)?;
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        let mut partial = target.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let file = File::create(&partial)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", partial.display())))?;
        let top_level = !key.contains('/');
        Ok(Box::new(FilePart { out: Some(BufWriter::with_capacity(1 << 20, file)), partial, target, top_level }))
    }

    fn open(&self, key: &str) -> io::Result<Box<dyn Read + Send>> {
        let path = self.path(key)?;
        let file =
            File::open(&path).map_err(|e| io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display())))?;
        Ok(Box::new(BufReader::with_capacity(1 << 20, file)))
    }

    fn exists(&self, key: &str) -> io::Result<bool> {
        Ok(self.path(key)?.is_file())
    }

    fn list(&self, prefix: &str) -> io::Result<Vec<String>> {
        let mut keys = Vec::new();
        if self.root.is_dir() {
            walk(&self.root, "", &mut keys)?;
        }
        keys.retain(|k| k.starts_with(prefix) && !k.ends_with(".partial"));
        keys.sort();
        Ok(keys)
    }

    fn put_new(&self, key: &str, bytes: &[u8]) -> io::Result<Written> {
        let target = self.path(key)?;
        let staged = format!("{key}.new.partial");
        let written = self.put(&staged, bytes)?;
        // A hard link never replaces its target: the no-clobber rename. A
        // file system without hard links gets a check, then the rename.
        let staged = self.root.join(&staged);
        let committed = match fs::hard_link(&staged, &target) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists && !target.exists() => fs::rename(&staged, &target),
            linked => linked,
        };
        let _ = fs::remove_file(&staged);
        match committed {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(io::Error::new(e.kind(), format!("{} already exists", target.display())));
            }
            Err(e) => return Err(io::Error::new(e.kind(), format!("cannot commit {}: {e}", target.display()))),
        }
        if let Some(parent) = target.parent() {
            File::open(parent)?.sync_all()?;
        }
        Ok(Written { key: key.to_owned(), ..written })
    }

    fn delete(&self, key: &str) -> io::Result<()> {
        let path = self.path(key)?;
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        // A key's folders are only its prefix: one left empty goes too
        // (the journal's, once the dump is complete).
        let mut dir = path.parent();
        while let Some(d) = dir.filter(|d| *d != self.root && d.starts_with(&self.root)) {
            if fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
        Ok(())
    }
}

fn walk(dir: &Path, prefix: &str, keys: &mut Vec<String>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() {
            walk(&entry.path(), &format!("{prefix}{name}/"), keys)?;
        } else {
            keys.push(format!("{prefix}{name}"));
        }
    }
    Ok(())
}

/// A file being written as `<name>.partial`.
struct FilePart {
    out: Option<BufWriter<File>>,
    partial: PathBuf,
    target: PathBuf,
    /// A top-level object (`plan.json`, `manifest.json`): its directory is
    /// synced after the rename.
    top_level: bool,
}

impl Write for FilePart {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.as_mut().expect("open until commit").write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.as_mut().expect("open until commit").flush()
    }
}

impl Part for FilePart {
    fn commit(mut self: Box<Self>) -> io::Result<()> {
        let out = self.out.take().expect("committed once");
        let whole = out.into_inner().map_err(|e| e.into_error()).and_then(|file| {
            file.sync_all()?;
            drop(file);
            fs::rename(&self.partial, &self.target)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot commit {}: {e}", self.target.display())))
        });
        if let Err(e) = whole {
            // The last bytes did not reach the disk (a full one, say): what
            // is there is not a whole object.
            let _ = fs::remove_file(&self.partial);
            return Err(e);
        }
        // A rename is durable once its directory is synced. Only the
        // top-level objects (plan.json, manifest.json) need it: a chunk file
        // or journal record lost to a power cut is found missing by the
        // resume's checks and dumped again, and syncing their directories
        // cost about 8% of a dump (one sync per chunk and per record).
        if self.top_level
            && let Some(parent) = self.target.parent()
        {
            File::open(parent)?.sync_all()?;
        }
        Ok(())
    }
}

impl Drop for FilePart {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            // Abandoned: what was written is not a whole object.
            let _ = fs::remove_file(&self.partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::hash::Hashed;

    #[test]
    fn an_object_is_partial_until_committed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = DirStore::new(dir.path().to_str().expect("utf-8"));
        store.begin_dump().expect("begin");
        let mut part = Hashed::new("data/t.copy", store.create("data/t.copy").expect("create"));
        part.write_all(b"hello").expect("write");
        part.flush().expect("flush");
        assert!(!store.exists("data/t.copy").expect("exists"));
        assert!(dir.path().join("data/t.copy.partial").exists());
        assert!(store.list("data/").expect("list").is_empty());
        let written = part.commit().expect("commit");
        assert!(store.exists("data/t.copy").expect("exists") && !dir.path().join("data/t.copy.partial").exists());
        assert_eq!((written.bytes, written.key.as_str()), (5, "data/t.copy"));
        assert_eq!(store.get("data/t.copy").expect("get"), Some(b"hello".to_vec()));
        assert_eq!(store.list("data/").expect("list"), vec!["data/t.copy".to_owned()]);
    }

    #[test]
    fn an_abandoned_dump_removes_only_what_it_created() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fresh = dir.path().join("a/b");
        let store = DirStore::new(fresh.to_str().expect("utf-8"));
        store.begin_dump().expect("begin");
        assert!(fresh.join("data").is_dir());
        store.abandon_dump().expect("abandon");
        assert!(!dir.path().join("a").exists(), "the folders the dump made are gone");

        let existing = dir.path().join("empty");
        fs::create_dir(&existing).expect("mkdir");
        let store = DirStore::new(existing.to_str().expect("utf-8"));
        store.begin_dump().expect("begin");
        store.put("schema/pre-data.sql", b"--").expect("put");
        store.abandon_dump().expect("abandon");
        assert!(existing.join("schema/pre-data.sql").is_file(), "a dump with committed objects is kept");
        store.delete("schema/pre-data.sql").expect("delete");
        store.abandon_dump().expect("abandon");
        assert!(existing.is_dir() && !existing.join("data").exists(), "the folder that was there stays, empty");
    }

    #[test]
    fn a_manifest_is_never_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = DirStore::new(dir.path().to_str().expect("utf-8"));
        store.put_new("manifest.json", b"first").expect("first");
        let refused = store.put_new("manifest.json", b"second").expect_err("second");
        assert_eq!(refused.kind(), io::ErrorKind::AlreadyExists, "{refused}");
        assert_eq!(store.get("manifest.json").expect("get"), Some(b"first".to_vec()));
        assert_eq!(store.list("").expect("list"), vec!["manifest.json".to_owned()], "nothing staged is left");
    }

    #[test]
    fn an_abandoned_part_leaves_nothing_and_a_used_directory_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = DirStore::new(dir.path().to_str().expect("utf-8"));
        store.begin_dump().expect("begin");
        let mut part = store.create("data/t.copy").expect("create");
        part.write_all(b"half").expect("write");
        drop(part);
        assert!(!dir.path().join("data/t.copy.partial").exists());
        let refused = store.begin_dump().expect_err("not empty").to_string();
        assert!(refused.contains("is not empty"), "{refused}");
    }
}
