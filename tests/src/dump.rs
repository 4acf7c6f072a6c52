//! Dump directories in tests: where they go, the dump → restore → compare
//! round trip, and reading the manifest.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use crate::cli::{RunOutput, run};
use crate::compare::assert_same_database;
use crate::db::{TestDb, workspace_root};

/// A place for one dump: `target/test-tmp/<random>/dump`, not created (sluice
/// creates it); everything is removed when this value goes out of scope.
pub struct DumpDir {
    _tmp: TempDir,
    path: PathBuf,
}

impl DumpDir {
    pub fn new() -> Self {
        let parent = workspace_root().join("target").join("test-tmp");
        fs::create_dir_all(&parent).expect("create target/test-tmp");
        let tmp = tempfile::Builder::new().prefix("sluice-").tempdir_in(&parent).expect("create a temporary directory");
        let path = tmp.path().join("dump");
        DumpDir { _tmp: tmp, path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path as a command-line argument.
    pub fn arg(&self) -> &str {
        self.path.to_str().expect("temporary paths are UTF-8")
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.path.join("manifest.json")
    }

    /// `manifest.json` as text.
    #[track_caller]
    pub fn manifest_text(&self) -> String {
        fs::read_to_string(self.manifest_path())
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", self.manifest_path().display()))
    }

    /// `manifest.json` parsed.
    #[track_caller]
    pub fn manifest(&self) -> Value {
        serde_json::from_str(&self.manifest_text()).expect("manifest.json is JSON")
    }

    /// The file of chunk `index` of `schema.name`, as a path.
    #[track_caller]
    pub fn chunk_file(&self, schema: &str, name: &str, index: usize) -> PathBuf {
        let manifest = self.manifest();
        let chunks = chunks_of(table_entry(&manifest, schema, name));
        let chunk = chunks.get(index).unwrap_or_else(|| panic!("{schema}.{name} has no chunk {index}"));
        chunk_path(&self.path, chunk["file"].as_str().expect("chunk file is a string"))
    }
}

impl Default for DumpDir {
    fn default() -> Self {
        Self::new()
    }
}

/// `sluice dump <db> --out <new dir> ARGS…`, which must succeed.
#[track_caller]
pub fn dump(db: &TestDb, args: &[&str]) -> DumpDir {
    let dir = DumpDir::new();
    let mut full = vec!["dump", db.url(), "--out", dir.arg()];
    full.extend_from_slice(args);
    run(&full).assert_success();
    assert!(dir.manifest_path().is_file(), "a successful dump wrote no manifest.json");
    dir
}

/// `sluice restore <dir> <target> ARGS…`; the caller checks the outcome.
pub fn restore_into(dir: &DumpDir, target: &TestDb, args: &[&str]) -> RunOutput {
    let mut full = vec!["restore", dir.arg(), target.url()];
    full.extend_from_slice(args);
    run(&full)
}

/// The oracle: dump `src` with `dump_args`, check the dump with `sluice
/// verify`, restore it with `restore_args` into a fresh empty database, and
/// assert that database is the same as `src`. Returns the dump for more checks.
#[track_caller]
pub fn round_trip(src: &TestDb, dump_args: &[&str], restore_args: &[&str]) -> DumpDir {
    let dir = dump(src, dump_args);
    run(["verify", dir.arg()]).assert_success();
    let target = TestDb::new();
    restore_into(&dir, &target, restore_args).assert_success();
    assert_same_database(src, &target);
    dir
}

/// The manifest's entry for table `schema.name`.
#[track_caller]
pub fn table_entry<'a>(manifest: &'a Value, schema: &str, name: &str) -> &'a Value {
    manifest["tables"]
        .as_array()
        .expect("manifest has a tables array")
        .iter()
        .find(|t| t["schema"] == schema && t["name"] == name)
        .unwrap_or_else(|| panic!("manifest has no table {schema}.{name}"))
}

/// A table entry's chunks.
#[track_caller]
pub fn chunks_of(table: &Value) -> &Vec<Value> {
    table["chunks"].as_array().expect("table entry has a chunks array")
}

/// Every stage the manifest records: the top-level `stages` list and each
/// table's own `stages` chain, whichever the manifest has.
pub fn all_stages(manifest: &Value) -> Vec<&Value> {
    let top = manifest["stages"].as_array().into_iter().flatten();
    let per_table =
        manifest["tables"].as_array().into_iter().flatten().flat_map(|t| t["stages"].as_array().into_iter().flatten());
    top.chain(per_table).collect()
}

/// Where a manifest's chunk `file` is: relative to the dump directory, or
/// (if it is a bare name) inside `data/`.
pub fn chunk_path(dir: &Path, file: &str) -> PathBuf {
    let direct = dir.join(file);
    if direct.exists() || file.contains('/') { direct } else { dir.join("data").join(file) }
}

/// Hex SHA-256 of a file.
#[track_caller]
pub fn sha256_file(path: &Path) -> String {
    let mut file = fs::File::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).expect("read chunk file");
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    hex::encode(hasher.finalize())
}

/// 64 lowercase hex digits.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
