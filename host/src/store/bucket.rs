//! The bucket store: objects under a prefix of an object store (S3 and the
//! servers that speak its API, through the `object_store` crate), the same
//! keys and layout as a dump directory.
//!
//! The [`Store`] methods are synchronous; the object store's futures run on
//! a small runtime of the store's own ([`Io`]), and the caller's thread
//! waits for them. So a stage thread that writes a chunk blocks while its
//! parts are in flight (back-pressure into the pipeline), and the dump's
//! own runtime is never the one the network runs on.
//!
//! A chunk is uploaded while it is produced: bytes fill one part buffer;
//! a full buffer becomes a part of a multipart upload, at most
//! [`PARTS_IN_FLIGHT`] at a time per object; an object that never fills a
//! part is one PUT. Nothing is staged on disk. Every multipart upload is
//! recorded under [`UPLOADS_PREFIX`] until it is completed or aborted, so
//! the uploads of a killed run can be aborted later
//! ([`Store::remove_partials`], run by `dump --resume` and `sluice gc`).

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{MultipartId, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use super::contract::{Part, Store, Written, check_key};

/// Parts of one object being uploaded at once, besides the one filling.
pub const PARTS_IN_FLIGHT: usize = 2;
/// Where the records of unfinished multipart uploads live.
pub const UPLOADS_PREFIX: &str = "uploads/";
/// Tries of one part, counting the first (each try is itself retried by
/// the client on connection errors and 5xx answers).
const PART_TRIES: u32 = 3;

/// The object store's half of a bucket store: what the client reaches.
pub struct Bucket {
    /// The objects.
    pub objects: Arc<dyn ObjectStore>,
    /// The same store's multipart API (upload ids made visible).
    pub multipart: Arc<dyn MultipartStore>,
    /// The location as the user wrote it (`s3://bucket/prefix`).
    pub location: String,
    /// The bucket, for messages.
    pub bucket: String,
    /// The prefix inside the bucket, without slashes at either end.
    pub prefix: String,
    /// Requests that failed in a way the client retries, counted by the
    /// HTTP layer.
    pub retried: Arc<AtomicU64>,
    /// Why a request failed, given the bucket: one line (the store's own
    /// error codes, never a credential) and, when the store's code says
    /// more than the client's error type, the kind it amounts to.
    pub explain: fn(&object_store::Error, &str) -> (Option<io::ErrorKind>, String),
}

/// A prefix of a bucket.
pub struct BucketStore {
    shared: Arc<Shared>,
}

struct Shared {
    bucket: Bucket,
    io: Io,
    part_size: usize,
    /// Part buffers whose upload is done, for the next parts: a dump keeps
    /// reusing a few buffers instead of mapping fresh ones (fewer page
    /// faults; the allocator does not fragment into more resident memory).
    spare: std::sync::Mutex<Vec<Vec<u8>>>,
}

/// Spare part buffers kept at most.
const SPARE_BUFFERS: usize = 6;
/// Below this an object's buffer just grows; above, it takes a spare.
const SMALL_OBJECT: usize = 64 << 10;

impl BucketStore {
    /// The store over `bucket`, uploading in parts of `part_size` bytes.
    pub fn new(bucket: Bucket, part_size: usize) -> io::Result<Self> {
        Ok(BucketStore { shared: Arc::new(Shared { bucket, io: Io::new()?, part_size, spare: Default::default() }) })
    }
}

impl Shared {
    fn take_spare(&self) -> Option<Vec<u8>> {
        self.spare.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    /// Keeps the buffer of a sent payload once nobody else holds it.
    fn keep_spare(&self, payload: PutPayload) {
        let Ok(buffer) = Bytes::from(payload).try_into_mut() else { return };
        let mut buffer = Vec::from(buffer);
        if buffer.capacity() != self.part_size {
            return;
        }
        buffer.clear();
        let mut spare = self.spare.lock().unwrap_or_else(|p| p.into_inner());
        if spare.len() < SPARE_BUFFERS {
            spare.push(buffer);
        }
    }

    /// The prefix as a path; None for the bucket's root.
    fn root(&self) -> io::Result<Option<Path>> {
        match self.bucket.prefix.as_str() {
            "" => Ok(None),
            prefix => Path::parse(prefix).map(Some).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e)),
        }
    }

    fn path(&self, key: &str) -> io::Result<Path> {
        check_key(key)?;
        let full = if self.bucket.prefix.is_empty() { key.to_owned() } else { format!("{}/{key}", self.bucket.prefix) };
        Path::parse(&full).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("'{key}' is not a valid object name: {e}"))
        })
    }

    /// The key of an object path under the prefix.
    fn key_of<'a>(&self, path: &'a Path) -> Option<&'a str> {
        let path = path.as_ref();
        if self.bucket.prefix.is_empty() {
            return Some(path);
        }
        path.strip_prefix(self.bucket.prefix.as_str())?.strip_prefix('/')
    }

    /// Every key under `dir` (a key prefix ending at a `/`, or all).
    fn keys(&self, dir: &str) -> io::Result<Vec<String>> {
        let root = match dir.trim_end_matches('/') {
            "" => self.root()?,
            dir => Some(self.path(dir)?),
        };
        let objects = self.bucket.objects.clone();
        let metas = self
            .io
            .wait(async move { objects.list(root.as_ref()).try_collect::<Vec<_>>().await })
            .and_then(|r| r.map_err(|e| self.failure("list", dir, e)))?;
        Ok(metas.iter().filter_map(|m| self.key_of(&m.location)).map(str::to_owned).collect())
    }

    /// One line for a failed request: what, where, and why, with no
    /// request text (a signature's inputs) and no credential.
    fn failure(&self, what: &str, key: &str, error: object_store::Error) -> io::Error {
        let kind = match &error {
            object_store::Error::NotFound { .. } => io::ErrorKind::NotFound,
            object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
                io::ErrorKind::PermissionDenied
            }
            object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. } => {
                io::ErrorKind::AlreadyExists
            }
            _ => io::ErrorKind::Other,
        };
        let place =
            if key.is_empty() { self.bucket.location.clone() } else { format!("{}/{key}", self.bucket.location) };
        // The client wraps some answers (a refused LIST) as generic errors:
        // the server's code says what they are.
        let (coded, why) = (self.bucket.explain)(&error, &self.bucket.bucket);
        io::Error::new(coded.unwrap_or(kind), format!("cannot {what} {place}: {why}"))
    }

    fn delete(&self, key: &str) -> io::Result<()> {
        let path = self.path(key)?;
        let objects = self.bucket.objects.clone();
        match self.io.wait(async move { objects.delete(&path).await })? {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.failure("delete", key, e)),
        }
    }

    /// A new object `key`, written as `mode` says.
    fn part(self: &Arc<Self>, key: &str, mode: PutMode) -> io::Result<BucketPart> {
        Ok(BucketPart {
            shared: self.clone(),
            key: key.to_owned(),
            path: self.path(key)?,
            buffer: Vec::new(),
            upload: None,
            mode,
            done: false,
        })
    }

    fn record_key(key: &str) -> String {
        format!("{UPLOADS_PREFIX}{}.json", key.replace('/', "~"))
    }
}

impl Store for BucketStore {
    fn location(&self) -> String {
        self.shared.bucket.location.clone()
    }

    fn check_empty(&self) -> io::Result<()> {
        let shared = &self.shared;
        let root = shared.root()?;
        let objects = shared.bucket.objects.clone();
        let first = shared
            .io
            .wait(async move { objects.list(root.as_ref()).next().await.transpose() })
            .and_then(|r| r.map_err(|e| shared.failure("list", "", e)))?;
        if first.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is not empty: dump into a new or empty prefix", shared.bucket.location),
            ));
        }
        Ok(())
    }

    fn check_access(&self) -> io::Result<()> {
        let probe = format!("{UPLOADS_PREFIX}access-check");
        put_whole(&self.shared, &probe, Bytes::from_static(b"sluice"), PutMode::Overwrite)?;
        self.delete(&probe)
    }

    fn begin_dump(&self) -> io::Result<()> {
        // A prefix needs no folders: its objects make it.
        self.check_empty()
    }

    fn abandon_dump(&self) -> io::Result<()> {
        Ok(())
    }

    fn remove_partials(&self) -> io::Result<Vec<String>> {
        let shared = &self.shared;
        let mut aborted = Vec::new();
        for record_key in shared.keys(UPLOADS_PREFIX)? {
            if !record_key.ends_with(".json") {
                // The access probe of a run killed between its two requests.
                self.delete(&record_key)?;
                aborted.push(record_key);
                continue;
            }
            let Some(bytes) = self.get(&record_key)? else { continue };
            let record: UploadRecord = serde_json::from_slice(&bytes).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("{record_key} is not an upload record: {e}"))
            })?;
            let path = shared.path(&record.key)?;
            let multipart = shared.bucket.multipart.clone();
            let id = record.upload_id.clone();
            match shared.io.wait(async move { multipart.abort_multipart(&path, &id).await })? {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(shared.failure("abort the upload of", &record.key, e)),
            }
            self.delete(&record_key)?;
            aborted.push(format!("{} (upload {})", record.key, record.upload_id));
        }
        Ok(aborted)
    }

    fn create(&self, key: &str) -> io::Result<Box<dyn Part>> {
        Ok(Box::new(self.shared.part(key, PutMode::Overwrite)?))
    }

    fn open(&self, key: &str) -> io::Result<Box<dyn Read + Send>> {
        let shared = &self.shared;
        let path = shared.path(key)?;
        let objects = shared.bucket.objects.clone();
        let got =
            shared.io.wait(async move { objects.get(&path).await })?.map_err(|e| shared.failure("read", key, e))?;
        // The body streams through a small queue: a reader holds at most a
        // few of the client's buffers, whatever the object's size.
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        shared.io.spawn(async move {
            let mut body = got.into_stream();
            while let Some(piece) = body.next().await {
                let last = piece.is_err();
                if tx.send(piece).await.is_err() || last {
                    break;
                }
            }
        });
        Ok(Box::new(BucketReader {
            rx,
            current: Bytes::new(),
            place: format!("{}/{key}", shared.bucket.location),
            bucket: shared.bucket.bucket.clone(),
            explain: shared.bucket.explain,
        }))
    }

    fn exists(&self, key: &str) -> io::Result<bool> {
        let shared = &self.shared;
        let path = shared.path(key)?;
        let objects = shared.bucket.objects.clone();
        match shared.io.wait(async move { objects.head(&path).await })? {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(shared.failure("look up", key, e)),
        }
    }

    fn list(&self, prefix: &str) -> io::Result<Vec<String>> {
        let dir = prefix.rfind('/').map_or("", |end| &prefix[..=end]);
        let mut keys = self.shared.keys(dir)?;
        keys.retain(|k| k.starts_with(prefix));
        keys.sort();
        Ok(keys)
    }

    fn delete(&self, key: &str) -> io::Result<()> {
        self.shared.delete(key)
    }

    fn put_new(&self, key: &str, bytes: &[u8]) -> io::Result<Written> {
        let mut part = self.shared.part(key, PutMode::Create)?;
        part.buffer.extend_from_slice(bytes);
        Box::new(part).commit()?;
        Ok(Written::of(key, bytes))
    }

    fn retried_requests(&self) -> u64 {
        self.shared.bucket.retried.load(Ordering::Relaxed)
    }
}

/// What `uploads/<key>.json` holds while the object `key` is uploaded in
/// parts.
#[derive(Serialize, Deserialize)]
struct UploadRecord {
    key: String,
    upload_id: String,
}

/// A multipart upload under way.
struct Upload {
    id: MultipartId,
    record: String,
    /// Parts done, in order.
    done: Vec<PartId>,
    /// Parts sent and not yet answered, oldest first.
    in_flight: VecDeque<JoinHandle<object_store::Result<PartId>>>,
}

/// An object being uploaded.
struct BucketPart {
    shared: Arc<Shared>,
    key: String,
    path: Path,
    /// The part filling now.
    buffer: Vec<u8>,
    upload: Option<Upload>,
    mode: PutMode,
    done: bool,
}

impl BucketPart {
    /// Sends the buffer as the next part; waits while too many are in
    /// flight.
    fn send_part(&mut self) -> io::Result<()> {
        let shared = self.shared.clone();
        if self.upload.is_none() {
            let multipart = shared.bucket.multipart.clone();
            let path = self.path.clone();
            let id = shared
                .io
                .wait(async move { multipart.create_multipart(&path).await })?
                .map_err(|e| shared.failure("start the upload of", &self.key, e))?;
            let record = Shared::record_key(&self.key);
            let text = serde_json::to_vec(&UploadRecord { key: self.key.clone(), upload_id: id.clone() })?;
            let upload = Upload { id, record: record.clone(), done: Vec::new(), in_flight: VecDeque::new() };
            // Set before the record is written: a failure from here on
            // aborts the upload when the part is dropped.
            self.upload = Some(upload);
            put_whole(&shared, &record, Bytes::from(text), PutMode::Overwrite)?;
        }
        let upload = self.upload.as_mut().expect("started above");
        let index = upload.done.len() + upload.in_flight.len();
        let data = PutPayload::from(Bytes::from(std::mem::take(&mut self.buffer)));
        let (multipart, path, id) = (shared.bucket.multipart.clone(), self.path.clone(), upload.id.clone());
        let keeper = shared.clone();
        upload.in_flight.push_back(shared.io.spawn(async move {
            let mut tries = 1;
            loop {
                match multipart.put_part(&path, &id, index, data.clone()).await {
                    Err(e) if tries < PART_TRIES && transient(&e) => tries += 1,
                    answer => {
                        keeper.keep_spare(data);
                        return answer;
                    }
                }
            }
        }));
        while self.upload.as_ref().is_some_and(|u| u.in_flight.len() > PARTS_IN_FLIGHT) {
            self.finish_oldest()?;
        }
        Ok(())
    }

    fn finish_oldest(&mut self) -> io::Result<()> {
        let upload = self.upload.as_mut().expect("an upload");
        let Some(oldest) = upload.in_flight.pop_front() else { return Ok(()) };
        let part = Io::join(oldest)?.map_err(|e| self.shared.failure("upload a part of", &self.key, e))?;
        upload.done.push(part);
        Ok(())
    }
}

/// Errors a fresh try of a part may get past (not a refusal by the server).
fn transient(error: &object_store::Error) -> bool {
    !matches!(
        error,
        object_store::Error::NotFound { .. }
            | object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. }
            | object_store::Error::Precondition { .. }
            | object_store::Error::AlreadyExists { .. }
            | object_store::Error::NotSupported { .. }
            | object_store::Error::NotImplemented { .. }
    )
}

fn put_whole(shared: &Shared, key: &str, bytes: Bytes, mode: PutMode) -> io::Result<()> {
    let path = shared.path(key)?;
    let objects = shared.bucket.objects.clone();
    let options = PutOptions { mode: mode.clone(), ..PutOptions::default() };
    let payload = PutPayload::from(bytes);
    let sent = payload.clone();
    let answer = shared.io.wait(async move { objects.put_opts(&path, sent, options).await })?;
    shared.keep_spare(payload);
    match answer {
        Ok(_) => Ok(()),
        Err(object_store::Error::AlreadyExists { .. }) if matches!(mode, PutMode::Create) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{}/{key} already exists: another dump finished into this prefix", shared.bucket.location),
        )),
        Err(e) => Err(shared.failure("write", key, e)),
    }
}

impl Write for BucketPart {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let part_size = self.shared.part_size;
        let n = buf.len().min(part_size - self.buffer.len());
        if self.buffer.capacity() - self.buffer.len() < n
            && self.buffer.len() + n > SMALL_OBJECT
            && let Some(mut spare) = self.shared.take_spare()
        {
            spare.extend_from_slice(&self.buffer);
            self.buffer = spare;
        }
        if self.buffer.capacity() - self.buffer.len() < n {
            // Grow to the part size and no further: a small object stays
            // small, a part never reallocates past its size.
            let want = (self.buffer.len() + n).max(self.buffer.capacity() * 2).min(part_size);
            self.buffer.reserve_exact(want - self.buffer.len());
        }
        self.buffer.extend_from_slice(&buf[..n]);
        if self.buffer.len() == part_size {
            self.send_part()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Part for BucketPart {
    fn commit(mut self: Box<Self>) -> io::Result<()> {
        let shared = self.shared.clone();
        if self.upload.is_none() {
            let bytes = Bytes::from(std::mem::take(&mut self.buffer));
            put_whole(&shared, &self.key, bytes, self.mode.clone())?;
            self.done = true;
            return Ok(());
        }
        if !self.buffer.is_empty() {
            self.send_part()?;
        }
        while self.upload.as_ref().is_some_and(|u| !u.in_flight.is_empty()) {
            self.finish_oldest()?;
        }
        let upload = self.upload.as_mut().expect("an upload");
        let (multipart, path, id, parts) =
            (shared.bucket.multipart.clone(), self.path.clone(), upload.id.clone(), std::mem::take(&mut upload.done));
        shared
            .io
            .wait(async move { multipart.complete_multipart(&path, &id, parts).await })?
            .map_err(|e| shared.failure("complete the upload of", &self.key, e))?;
        self.done = true;
        let record = upload.record.clone();
        // The object is whole: a record left by a failed delete only makes
        // `gc` try an abort the server no longer knows.
        let _ = shared.delete(&record);
        Ok(())
    }
}

impl Drop for BucketPart {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let Some(upload) = self.upload.take() else { return };
        for part in &upload.in_flight {
            part.abort();
        }
        let (multipart, path, id) = (self.shared.bucket.multipart.clone(), self.path.clone(), upload.id.clone());
        let aborted = self.shared.io.wait(async move { multipart.abort_multipart(&path, &id).await });
        if matches!(aborted, Ok(Ok(()))) {
            let _ = self.shared.delete(&upload.record);
        }
        // Otherwise the record stays, for `dump --resume` or `sluice gc`.
    }
}

/// An object's body as it arrives.
struct BucketReader {
    rx: tokio::sync::mpsc::Receiver<object_store::Result<Bytes>>,
    current: Bytes,
    place: String,
    bucket: String,
    explain: fn(&object_store::Error, &str) -> (Option<io::ErrorKind>, String),
}

impl Read for BucketReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match futures_executor::block_on(self.rx.recv()) {
                None => return Ok(0),
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(e)) => {
                    let (_, why) = (self.explain)(&e, &self.bucket);
                    return Err(io::Error::other(format!("cannot read {}: {why}", self.place)));
                }
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        bytes::Buf::advance(&mut self.current, n);
        Ok(n)
    }
}

/// The store's own runtime: its two threads run every request, so the
/// synchronous methods can wait from any thread, the dump's async ones
/// included, without starving the network.
struct Io(Option<Runtime>);

impl Io {
    fn new() -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sluice-io")
            .enable_all()
            .build()?;
        Ok(Io(Some(runtime)))
    }

    fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.as_ref().expect("running until dropped").spawn(future)
    }

    /// Runs `future` on the store's runtime and waits for it.
    fn wait<F>(&self, future: F) -> io::Result<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Self::join(self.spawn(future))
    }

    /// Waits for a task of the store's runtime.
    fn join<T>(task: JoinHandle<T>) -> io::Result<T> {
        futures_executor::block_on(task).map_err(|e| match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => io::Error::other(format!("storage request cancelled: {e}")),
        })
    }
}

impl Drop for Io {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            // Dropping a runtime blocks, which an async caller may not do.
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;

    use super::*;

    fn store(part_size: usize) -> (BucketStore, Arc<InMemory>) {
        let memory = Arc::new(InMemory::new());
        let bucket = Bucket {
            objects: memory.clone(),
            multipart: memory.clone(),
            location: "s3://b/p".to_owned(),
            bucket: "b".to_owned(),
            prefix: "p".to_owned(),
            retried: Arc::default(),
            explain: |error, _| (None, error.to_string()),
        };
        (BucketStore::new(bucket, part_size).expect("runtime"), memory)
    }

    #[test]
    fn an_object_in_parts_is_invisible_until_committed_and_its_record_goes() {
        let (store, _) = store(1024);
        store.begin_dump().expect("empty");
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut part = crate::store::Hashed::new("data/t.copy", store.create("data/t.copy").expect("create"));
        part.write_all(&data).expect("write");
        assert!(!store.exists("data/t.copy").expect("exists"), "not visible before commit");
        assert_eq!(store.list(UPLOADS_PREFIX).expect("list").len(), 1, "the upload is recorded");
        let written = part.commit().expect("commit");
        assert_eq!(written.bytes, 10_000);
        assert_eq!(store.get("data/t.copy").expect("get"), Some(data));
        assert!(store.list(UPLOADS_PREFIX).expect("list").is_empty(), "the record is gone");
        assert_eq!(store.list("data/").expect("list"), vec!["data/t.copy".to_owned()]);
        assert!(store.check_empty().is_err(), "a prefix with objects is not empty");
    }

    #[test]
    fn a_dropped_part_leaves_nothing_and_a_manifest_is_never_replaced() {
        let (store, _) = store(1024);
        let mut part = store.create("data/t.copy").expect("create");
        part.write_all(&[7; 5000]).expect("write");
        drop(part);
        assert!(store.list("").expect("list").is_empty(), "no object, no record");
        store.put_new("manifest.json", b"{}").expect("first");
        let refused = store.put_new("manifest.json", b"{\"x\":1}").expect_err("second").to_string();
        assert!(refused.contains("already exists"), "{refused}");
        assert_eq!(store.get("manifest.json").expect("get"), Some(b"{}".to_vec()));
    }

    #[test]
    fn the_uploads_of_a_killed_run_are_aborted_by_remove_partials() {
        let (store, memory) = store(1024);
        let mut part = store.create("data/t.copy").expect("create");
        part.write_all(&[1; 3000]).expect("write");
        // A killed process runs no destructor.
        std::mem::forget(part);
        let again = BucketStore { shared: store.shared.clone() };
        let aborted = again.remove_partials().expect("gc");
        assert_eq!(aborted.len(), 1, "{aborted:?}");
        assert!(aborted[0].starts_with("data/t.copy"), "{aborted:?}");
        assert!(store.list("").expect("list").is_empty());
        drop(memory);
    }

    #[test]
    fn keys_list_relative_to_the_prefix() {
        let (store, memory) = store(1024);
        store.put("journal/1.json", b"1").expect("put");
        store.put("journal/2.json", b"2").expect("put");
        store.put("plan.json", b"p").expect("put");
        futures_executor::block_on(memory.put(&Path::from("other/x"), PutPayload::from_static(b"x"))).expect("put");
        assert_eq!(store.list("journal/").expect("list"), vec!["journal/1.json", "journal/2.json"]);
        assert_eq!(store.list("").expect("list").len(), 3, "objects outside the prefix are not the dump's");
        assert!(store.exists("plan.json").expect("exists") && !store.exists("nope").expect("exists"));
        store.delete("plan.json").expect("delete");
        store.delete("plan.json").expect("deleting a missing object is fine");
        let mut read = String::new();
        store.open("journal/2.json").expect("open").read_to_string(&mut read).expect("read");
        assert_eq!(read, "2");
        assert_eq!(store.open("nope").err().expect("missing").kind(), io::ErrorKind::NotFound);
    }
}
