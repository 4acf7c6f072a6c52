//! The harness's own oracle: identical databases compare equal, and every
//! kind of difference it claims to catch makes `assert_same_database` fail.

use std::panic::{AssertUnwindSafe, catch_unwind};

use sluice_tests::{DumpDir, TestDb, assert_same_database, run, table_checksums};

/// The message `assert_same_database(a, b)` panics with; panics if it does not.
fn difference(a: &TestDb, b: &TestDb) -> String {
    let payload = catch_unwind(AssertUnwindSafe(|| assert_same_database(a, b)))
        .expect_err("the databases differ, but assert_same_database found them equal");
    payload.downcast_ref::<String>().cloned().unwrap_or_else(|| "<non-string panic>".to_owned())
}

#[test]
fn two_loads_of_pagila_compare_equal() {
    assert_same_database(&TestDb::pagila(), &TestDb::pagila());
}

#[test]
fn two_loads_of_the_types_fixture_compare_equal() {
    assert_same_database(&TestDb::types(), &TestDb::types());
}

#[test]
fn a_changed_row_makes_databases_differ() {
    let (a, b) = (TestDb::small(), TestDb::small());
    b.exec("UPDATE books SET title = title || '!' WHERE id = 4242");
    let report = difference(&a, &b);
    assert!(report.contains("public.books:") && !report.contains("schemas differ"), "{report}");
}

#[test]
fn a_missing_duplicate_row_makes_databases_differ() {
    let (a, b) = (TestDb::types(), TestDb::types());
    b.exec("DELETE FROM no_pk_dupes WHERE ctid = (SELECT min(ctid) FROM no_pk_dupes WHERE a = 1)");
    assert!(difference(&a, &b).contains("public.no_pk_dupes: left (7,"));
}

#[test]
fn a_missing_index_makes_databases_differ() {
    let (a, b) = (TestDb::small(), TestDb::small());
    b.exec("DROP INDEX books_author_id_idx");
    let report = difference(&a, &b);
    assert!(report.contains("- CREATE INDEX books_author_id_idx"), "{report}");
}

#[test]
fn a_moved_sequence_makes_databases_differ() {
    let (a, b) = (TestDb::small(), TestDb::small());
    b.exec("SELECT nextval('authors_id_seq')");
    let report = difference(&a, &b);
    assert!(report.contains("public.authors_id_seq: left Some(500), right Some(501)"), "{report}");
}

#[test]
fn checksums_cover_partitions_children_and_quoted_names_but_not_partitioned_parents() {
    let db = TestDb::types();
    let sums = table_checksums(&db);
    for table in [
        "public.all_types",
        "public.measurements_2023",
        r#""Odd Schema"."measurements 2025""#,
        r#""Odd Schema"."Weird ""Table"".Name""#,
        r#""Odd Schema"."All Types""#,
        "public.cars",
    ] {
        assert!(sums.contains_key(table), "no checksum for {table}: {:?}", sums.keys());
    }
    assert!(!sums.contains_key("public.measurements"), "partitioned parent has no rows of its own");
    assert_eq!(sums["public.vehicles"].0, 2, "the inheritance parent counts only its own rows");
    assert_eq!(sums["public.big_rows"].0, 200_000);
}

#[test]
fn large_objects_restored_without_their_contents_make_databases_differ() {
    let a = TestDb::new();
    a.exec("SELECT lo_from_bytea(626262, 'contents'); SELECT lo_from_bytea(626263, 'more')");
    let dir = DumpDir::new();
    run(["dump", a.url(), "--out", dir.arg(), "--large-objects", "empty"]).assert_success();
    let b = TestDb::new();
    run(["restore", dir.arg(), b.url()]).assert_success();
    let report = difference(&a, &b);
    assert!(report.contains("large object [owner, acl, comment, length, md5] 626262: left"), "{report}");
    assert!(!report.contains("schemas differ"), "the objects themselves came back: {report}");
    b.exec("SELECT lo_put(626262, 0, 'contents'); SELECT lo_put(626263, 0, 'more')");
    assert_same_database(&a, &b);
    b.exec("SELECT lo_put(626263, 0, 'x')");
    assert!(difference(&a, &b).contains("626263"));
}
