//! `sluice restore`: loads only into an empty database unless told `--clean`,
//! and brings sequences back to where they stood.

use sluice_tests::{TestDb, assert_same_database, dump, restore_into};

/// A target that is not empty: the same tables with other rows, and one more.
fn non_empty_target() -> TestDb {
    let target = TestDb::small();
    target.exec(
        "DELETE FROM books WHERE id > 100; UPDATE authors SET name = 'changed'; \
                 CREATE TABLE leftover (x int); INSERT INTO leftover VALUES (1)",
    );
    target
}

#[test]
fn restore_refuses_a_non_empty_target_without_clean() {
    let dir = dump(&TestDb::small(), &[]);
    let target = non_empty_target();
    let out = restore_into(&dir, &target, &[]);
    out.assert_code(2).assert_stderr_contains("--clean");
    let says_non_empty = out.stderr.contains("non-empty") || out.stderr.contains("not empty");
    assert!(says_non_empty, "the refusal does not say the target is non-empty\n{out}");
    assert_eq!(target.query_i64("SELECT count(*) FROM books"), 100, "a refused restore changed the target");
}

#[test]
fn restore_with_clean_replaces_a_non_empty_target() {
    let src = TestDb::small();
    let dir = dump(&src, &[]);
    let target = non_empty_target();
    restore_into(&dir, &target, &["--clean", "-j", "2"]).assert_success();
    assert_same_database(&src, &target);
}

#[test]
fn restore_sets_sequences_to_their_dumped_values() {
    let src = TestDb::small();
    src.exec("CREATE SEQUENCE fresh START 10; SELECT setval('fresh', 77, false)");
    let dir = dump(&src, &[]);
    let target = TestDb::new();
    restore_into(&dir, &target, &[]).assert_success();
    for seq in ["authors_id_seq", "fresh"] {
        let next = format!("SELECT nextval('{seq}')");
        assert_eq!(target.query_i64(&next), src.query_i64(&next), "nextval of {seq}");
    }
    assert_eq!(target.query_i64("SELECT nextval('fresh')"), 78);
}

#[test]
fn restore_refuses_a_chunk_whose_bytes_differ_from_the_manifest_and_loads_none_of_it() {
    let src = TestDb::small();
    let dir = dump(&src, &["--compress", "none"]);
    let file = dir.chunk_file("public", "books", 0);
    // Still valid COPY text, so only the checksum can tell: "title 1 " → "title 7 ".
    let text = std::fs::read_to_string(&file).expect("chunk");
    let tampered = text.replacen("title 1 with", "title 7 with", 1);
    assert_ne!(tampered, text, "the tampering found nothing to change");
    std::fs::write(&file, tampered).expect("tamper");
    let target = TestDb::new();
    let out = restore_into(&dir, &target, &["-j", "1"]);
    out.assert_code(1).assert_stderr_contains("public.books.00000.copy does not match its size and SHA-256");
    assert_eq!(target.query_i64("SELECT count(*) FROM books"), 0, "rows of a tampered file were loaded");
}
