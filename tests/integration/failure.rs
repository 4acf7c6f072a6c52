//! Interrupted and failing dumps: whatever happens, a directory is never left
//! looking like a complete dump (no manifest.json).

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use sluice_tests::{DumpDir, TestDb, run, sluice_command};

/// Longest wait for a dump to start writing data; only a hung dump hits it.
const START_LIMIT: Duration = Duration::from_secs(120);

fn has_partial_file(data: &Path) -> bool {
    fs::read_dir(data)
        .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().ends_with(".partial")))
        .unwrap_or(false)
}

#[test]
fn a_dump_killed_while_writing_data_leaves_no_manifest() {
    let db = TestDb::new();
    db.exec(
        "CREATE TABLE filler AS SELECT i AS id, md5(i::text) AS a, md5((-i)::text) AS b \
             FROM generate_series(1, 400000) AS i",
    );
    let dir = DumpDir::new();
    let mut child = sluice_command([
        "dump",
        db.url(),
        "--out",
        dir.arg(),
        "-j",
        "1",
        "--chunk-size",
        "256KiB",
        "--compress",
        "none",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("start sluice dump");
    // Poll for the state we want to interrupt (a chunk being written) rather
    // than sleeping for a guessed time: the kill happens only once a
    // `*.partial` exists, however slow the machine. The bound only turns a
    // hang into a failure, and a dump that finished first fails the test.
    let deadline = Instant::now() + START_LIMIT;
    while !has_partial_file(&dir.path().join("data")) {
        if let Some(status) = child.try_wait().expect("poll sluice") {
            panic!("dump exited ({status}) before any *.partial file appeared under data/");
        }
        assert!(Instant::now() < deadline, "no *.partial file under data/ within {START_LIMIT:?}");
        thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("SIGKILL sluice");
    child.wait().expect("reap sluice");
    assert!(!dir.manifest_path().exists(), "a killed dump left a manifest.json");
    run(["verify", dir.arg()]).assert_code(2);
}

#[test]
fn a_dump_with_a_missing_transform_component_is_bad_input_naming_the_path() {
    let dir = DumpDir::new();
    run(["dump", TestDb::small().url(), "--out", dir.arg(), "--transform", "public.*=/nonexistent.wasm"])
        .assert_code(2)
        .assert_stderr_contains("/nonexistent.wasm");
    assert!(!dir.manifest_path().exists());
}

#[test]
fn a_dump_of_a_missing_database_fails_and_leaves_no_manifest() {
    let db = TestDb::new();
    let missing = db.url().replace(db.name(), "sluice_no_such_database");
    let dir = DumpDir::new();
    run(["dump", &missing, "--out", dir.arg()]).assert_code(1);
    assert!(!dir.manifest_path().exists());
}
