//! `sluice verify DIR`: checks every chunk against the manifest without a
//! database; a damaged or missing file fails it and is named.

use std::fs;

use sluice_tests::{DumpDir, TestDb, dump, run};

/// The file name a message should mention for a chunk path.
fn file_name(path: &std::path::Path) -> String {
    path.file_name().expect("chunk has a file name").to_string_lossy().into_owned()
}

#[test]
fn a_complete_dump_verifies() {
    let dir = dump(&TestDb::small(), &[]);
    run(["verify", dir.arg()]).assert_success();
}

#[test]
fn a_flipped_byte_in_a_chunk_fails_verify_naming_the_file() {
    let dir = dump(&TestDb::small(), &[]);
    let chunk = dir.chunk_file("public", "books", 0);
    let mut bytes = fs::read(&chunk).expect("read chunk");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&chunk, bytes).expect("write chunk");
    run(["verify", dir.arg()]).assert_code(1).assert_stderr_contains(&file_name(&chunk));
}

#[test]
fn a_deleted_chunk_fails_verify_naming_the_file() {
    let dir = dump(&TestDb::small(), &[]);
    let chunk = dir.chunk_file("public", "books", 0);
    fs::remove_file(&chunk).expect("delete chunk");
    run(["verify", dir.arg()]).assert_code(1).assert_stderr_contains(&file_name(&chunk));
}

#[test]
fn a_directory_without_manifest_is_bad_input_for_verify() {
    let dir = DumpDir::new();
    fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    fs::write(dir.path().join("data").join("public.t.0.copy"), "1\n").expect("write");
    run(["verify", dir.arg()]).assert_code(2);
}
