//! Masking and filtering on pagila: keyed, deterministic, foreign-key safe,
//! fail-closed. The key comes from the environment and must never show up.

use std::collections::BTreeSet;
use std::ffi::OsStr;

use sluice_tests::{DumpDir, TestDb, chunks_of, restore_into, run_with_env, table_checksums, table_entry};

const KEY: &str = "test-masking-key-0123456789abcdef";
const OTHER_KEY: &str = "another-masking-key-fedcba9876543210";

const PAGILA_MASKS: &str = r#"
[[table]]
match = "public.customer"
mask = { email = "email", first_name = "first_name", last_name = "last_name", customer_id = { rule = "ff1", min = 1, max = 999999 } }

[[table]]
match = "public.staff"
mask = { email = "email", first_name = "first_name", last_name = "last_name", password = "null", picture = "null" }

[[table]]
match = "public.address"
mask = { phone = { rule = "digits" }, address = { rule = "redact", keep_last = 0 } }

# pagila's last payment partition has no foreign keys: declare the one that
# matters so its customer ids are masked like the key they reference.
[[fk]]
table = "public.payment_p2022_07"
columns = ["customer_id"]
references = "public.customer"
ref_columns = ["customer_id"]
"#;

/// `sluice dump` with `config` and the masking key `key` (None: unset).
fn masked_dump(db: &TestDb, config: &str, key: Option<&str>, extra: &[&str]) -> (DumpDir, sluice_tests::RunOutput) {
    let dir = DumpDir::new();
    let config_path = dir.path().with_extension("toml");
    std::fs::write(&config_path, config).expect("write config");
    let mut args =
        vec!["dump", db.url(), "--out", dir.arg(), "-j", "2", "--config", config_path.to_str().expect("utf-8")];
    args.extend_from_slice(extra);
    let env: Vec<(&str, &OsStr)> = key.map(|k| ("SLUICE_MASK_KEY", OsStr::new(k))).into_iter().collect();
    let out = run_with_env(&args, &env);
    (dir, out)
}

fn values(db: &TestDb, sql: &str) -> BTreeSet<String> {
    db.query(sql).lines().map(str::to_owned).collect()
}

#[test]
fn masked_pagila_restores_with_every_foreign_key_and_no_original_personal_value() {
    let src = TestDb::pagila();
    let (dir, out) = masked_dump(&src, PAGILA_MASKS, Some(KEY), &[]);
    out.assert_success();
    let target = TestDb::new();
    restore_into(&dir, &target, &["-j", "2"]).assert_success();

    for (table, column) in [("customer", "email"), ("staff", "email"), ("address", "phone")] {
        let before =
            values(&src, &format!("SELECT {column} FROM {table} WHERE {column} IS NOT NULL AND {column} <> ''"));
        let after = values(&target, &format!("SELECT {column} FROM {table}"));
        let leaked: Vec<_> = before.intersection(&after).collect();
        assert!(leaked.is_empty(), "original {table}.{column} values survived masking: {leaked:?}");
    }
    let names = "SELECT first_name || ' ' || last_name FROM customer";
    let kept = values(&src, names).intersection(&values(&target, names)).count();
    assert!(kept * 20 < 599, "{kept} of 599 customer names kept");
    assert_eq!(target.query_i64(r"SELECT count(*) FROM address WHERE address !~ '^\**$'"), 0, "address not redacted");
    assert_eq!(target.query_i64("SELECT count(*) FROM staff WHERE password IS NOT NULL"), 0);

    // Every foreign key was recreated by post-data, so it holds; check the
    // masked key's joins anyway, and that no table lost rows.
    assert_eq!(target.query_i64("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated"), 0);
    assert_eq!(
        target.query_i64("SELECT count(*) FROM pg_constraint WHERE contype = 'f'"),
        src.query_i64("SELECT count(*) FROM pg_constraint WHERE contype = 'f'")
    );
    assert_eq!(target.query_i64("SELECT count(*) FROM rental r JOIN customer c USING (customer_id)"), 16044);
    assert_eq!(target.query_i64("SELECT count(*) FROM payment p JOIN customer c USING (customer_id)"), 16049);
    assert_ne!(
        target.query("SELECT string_agg(customer_id::text, ',' ORDER BY customer_id) FROM customer"),
        src.query("SELECT string_agg(customer_id::text, ',' ORDER BY customer_id) FROM customer"),
        "ff1 left customer ids unchanged"
    );
    for table in ["customer", "rental", "payment", "address", "staff", "film"] {
        let count = format!("SELECT count(*) FROM {table}");
        assert_eq!(target.query_i64(&count), src.query_i64(&count), "{table} row count");
    }

    let manifest = dir.manifest();
    let customer = table_entry(&manifest, "public", "customer");
    assert_eq!(customer["masked"]["email"], "email");
    assert_eq!(
        table_entry(&manifest, "public", "rental")["masked"]["customer_id"],
        "ff1",
        "the FK inherits the key's rule"
    );
    assert!(!dir.manifest_text().contains(KEY), "the key reached the manifest");
    assert!(!out.stderr.contains(KEY) && !out.stdout.contains(KEY), "the key reached the output");
}

/// Masking runs before formatting: a masked dump restores to the same rows
/// whichever format carried them.
#[test]
fn masked_rows_are_the_same_in_every_format() {
    let src = TestDb::pagila();
    let restored = |format: &str| {
        let (dir, out) = masked_dump(&src, PAGILA_MASKS, Some(KEY), &["--format", format]);
        out.assert_success();
        let target = TestDb::new();
        restore_into(&dir, &target, &["-j", "2"]).assert_success();
        table_checksums(&target)
    };
    let copy = restored("copy");
    assert_ne!(copy, table_checksums(&src), "masking changed nothing");
    for format in ["csv", "sql", "jsonl"] {
        assert!(restored(format) == copy, "--format {format} restored other rows than --format copy");
    }
}

#[test]
fn dumps_with_the_same_key_are_byte_identical_and_another_key_changes_them() {
    let src = TestDb::pagila();
    let digests = |dir: &DumpDir| -> Vec<String> {
        let manifest = dir.manifest();
        let entry = table_entry(&manifest, "public", "customer");
        chunks_of(entry).iter().map(|c| c["sha256"].as_str().expect("sha256").to_owned()).collect()
    };
    let (first, out) = masked_dump(&src, PAGILA_MASKS, Some(KEY), &["--include", "public.customer"]);
    out.assert_success();
    let (second, out) = masked_dump(&src, PAGILA_MASKS, Some(KEY), &["--include", "public.customer"]);
    out.assert_success();
    let (other, out) = masked_dump(&src, PAGILA_MASKS, Some(OTHER_KEY), &["--include", "public.customer"]);
    out.assert_success();
    assert_eq!(digests(&first), digests(&second), "the same key gave different data files");
    assert_ne!(digests(&first), digests(&other), "a different key gave the same data files");
}

#[test]
fn masking_without_a_key_is_bad_input_before_any_data_is_read() {
    let src = TestDb::pagila();
    let (dir, out) = masked_dump(&src, PAGILA_MASKS, None, &[]);
    out.assert_code(2).assert_stderr_contains("SLUICE_MASK_KEY");
    assert!(!dir.manifest_path().exists());
}

#[test]
fn unknown_rules_and_columns_are_bad_input_naming_table_and_column() {
    let src = TestDb::pagila();
    let (_, out) =
        masked_dump(&src, "[[table]]\nmatch = 'public.customer'\nmask = { email = 'emale' }\n", Some(KEY), &[]);
    out.assert_code(2).assert_stderr_contains("public.customer column email: unknown rule 'emale'");
    let (_, out) =
        masked_dump(&src, "[[table]]\nmatch = 'public.customer'\nmask = { emial = 'email' }\n", Some(KEY), &[]);
    out.assert_code(2).assert_stderr_contains("public.customer has no column 'emial'");
    let bad_param = "[[table]]\nmatch = 'public.customer'\nmask = { email = { rule = 'email', colour = 'blue' } }\n";
    let (dir, out) = masked_dump(&src, bad_param, Some(KEY), &[]);
    out.assert_code(2).assert_stderr_contains("public.customer");
    assert!(!dir.manifest_path().exists());
}

#[test]
fn unmapped_fail_stops_the_dump_when_a_new_column_appears() {
    let src = TestDb::new();
    src.exec("CREATE TABLE people (id int PRIMARY KEY, email text); INSERT INTO people VALUES (1, 'a@b.c'), (2, NULL)");
    let config =
        "[mask]\nunmapped = 'fail'\n[[table]]\nmatch = 'public.people'\nmask = { email = 'email' }\nkeep = ['id']\n";
    masked_dump(&src, config, Some(KEY), &[]).1.assert_success();
    src.exec("ALTER TABLE people ADD COLUMN phone text");
    let (dir, out) = masked_dump(&src, config, Some(KEY), &[]);
    out.assert_code(2).assert_stderr_contains("public.people has unmapped columns").assert_stderr_contains("phone");
    assert!(!dir.manifest_path().exists());
}

#[test]
fn a_filter_keeps_exactly_the_matching_rows() {
    let src = TestDb::pagila();
    let config = "[[table]]\nmatch = 'public.payment_p2022_0*'\nfilter = 'amount > 5 and customer_id is not null'\n";
    let (dir, out) = masked_dump(&src, config, None, &[]);
    out.assert_success();
    let target = TestDb::new();
    restore_into(&dir, &target, &["-j", "2"]).assert_success();
    assert_eq!(target.query_i64("SELECT count(*) FROM payment WHERE amount <= 5"), 0);
    assert_eq!(
        target.query_i64("SELECT count(*) FROM payment"),
        src.query_i64("SELECT count(*) FROM payment WHERE amount > 5")
    );
    assert_eq!(target.query_i64("SELECT count(*) FROM rental"), 16044, "unfiltered tables keep every row");
}

#[test]
fn a_sample_is_deterministic_and_close_to_its_fraction() {
    let src = TestDb::pagila();
    let config = "[[table]]\nmatch = 'public.film_actor'\nsample = 0.25\n";
    let rows = |dir: &DumpDir| table_entry(&dir.manifest(), "public", "film_actor")["rows"].as_i64().expect("rows");
    let (first, out) = masked_dump(&src, config, Some(KEY), &[]);
    out.assert_success();
    let (second, _) = masked_dump(&src, config, Some(KEY), &[]);
    assert_eq!(rows(&first), rows(&second));
    let fraction = rows(&first) as f64 / 5462.0;
    assert!((0.2..0.3).contains(&fraction), "sampled {fraction} of film_actor");
}
