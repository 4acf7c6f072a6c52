//! The command-line contract: bad usage and bad input exit 2, with a message.

use std::fs;

use sluice_tests::{DumpDir, TestDb, run};

#[test]
fn an_unknown_flag_is_bad_usage() {
    run(["--no-such-flag"]).assert_code(2);
    let dir = DumpDir::new();
    run(["dump", TestDb::new().url(), "--out", dir.arg(), "--no-such-flag"]).assert_code(2);
    assert!(!dir.manifest_path().exists());
}

#[test]
fn restore_of_a_directory_that_is_not_a_dump_is_bad_input() {
    let dir = DumpDir::new();
    fs::create_dir_all(dir.path()).expect("mkdir");
    fs::write(dir.path().join("notes.txt"), "not a dump").expect("write");
    let target = TestDb::new();
    run(["restore", dir.arg(), target.url()]).assert_code(2);
    assert_eq!(target.query_i64("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"), 0);
}

#[test]
fn resume_is_refused_as_not_yet_supported() {
    let dir = DumpDir::new();
    run(["dump", TestDb::small().url(), "--out", dir.arg(), "--resume"])
        .assert_code(2)
        .assert_stderr_contains("not yet supported");
    assert!(!dir.manifest_path().exists());
}
