//! The round-trip oracle: two databases are the same when `pg_dump
//! --schema-only` of both is identical, every table holds the same rows
//! (count and MD5 of the ordered row texts), every sequence stands at the
//! same value, and every large object has the same OID, owner, ACL, comment
//! and contents (length and MD5).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::{Command, Stdio};

use crate::db::{TestDb, psql_command};

/// Lines of context shown around the first schema difference.
const CONTEXT: usize = 3;
/// Most lines shown from each side of a schema difference.
const MAX_DIFF_LINES: usize = 40;

/// `pg_dump --schema-only` of the database (owners and privileges kept),
/// without the lines that differ between two dumps of identical databases:
/// the `\restrict KEY` / `\unrestrict KEY` pair that pg_dump 15.14+ wraps
/// around its output with a random key, and the version banner.
#[track_caller]
pub fn schema_dump(db: &TestDb) -> String {
    let output = Command::new("pg_dump")
        .args(["--schema-only", "-d", db.url()])
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run pg_dump: {e}"));
    assert!(
        output.status.success(),
        "pg_dump --schema-only of {} failed ({}):\n{}",
        db.name(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("pg_dump writes UTF-8 here");
    text.lines()
        .filter(|line| {
            !(line.starts_with("\\restrict ")
                || line.starts_with("\\unrestrict ")
                || line.starts_with("-- Dumped from database version")
                || line.starts_with("-- Dumped by pg_dump version"))
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

/// `"schema"."table"` → (rows, MD5 of the rows' text forms in sorted order,
/// joined by newlines), for every ordinary table with rows of its own:
/// partitions and inheritance children count separately (`FROM ONLY`);
/// partitioned parents (no rows of their own), views and materialized views
/// are left out.
#[track_caller]
pub fn table_checksums(db: &TestDb) -> BTreeMap<String, (i64, String)> {
    let tables: Vec<String> = serde_json::from_str(&psql_command(
        db.url(),
        "SELECT coalesce(json_agg(format('%I.%I', n.nspname, c.relname) ORDER BY n.nspname, c.relname), '[]') \
         FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'r' \
           AND n.nspname <> 'information_schema' \
           AND n.nspname NOT LIKE 'pg\\_%'",
    ))
    .expect("table list is JSON");
    if tables.is_empty() {
        return BTreeMap::new();
    }
    let per_table: Vec<String> = tables
        .iter()
        .map(|qualified| {
            format!(
                "SELECT '{}'::text AS name, count(*) AS n, \
                 md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS md5 \
                 FROM ONLY {qualified} AS t",
                qualified.replace('\'', "''")
            )
        })
        .collect();
    let sql =
        format!("SELECT json_object_agg(name, json_build_array(n, md5)) FROM ({}) AS x", per_table.join(" UNION ALL "));
    let sums: BTreeMap<String, (i64, String)> =
        serde_json::from_str(&psql_command(db.url(), &sql)).expect("checksums are JSON");
    sums
}

/// `"schema"."sequence"` → its last value (`None` before the first
/// `nextval`, or after `setval(…, false)`).
#[track_caller]
pub fn sequence_values(db: &TestDb) -> BTreeMap<String, Option<i64>> {
    serde_json::from_str(&psql_command(
        db.url(),
        "SELECT coalesce(json_object_agg(format('%I.%I', schemaname, sequencename), last_value), '{}') \
         FROM pg_sequences",
    ))
    .expect("sequence values are JSON")
}

/// OID → `[owner, ACL, comment, length, MD5 of the contents]` of every
/// large object. pg_dump's schema dump lists the objects with their owner,
/// ACL and comment, but never their contents: this is what compares those.
#[track_caller]
pub fn large_objects(db: &TestDb) -> BTreeMap<String, serde_json::Value> {
    serde_json::from_str(&psql_command(
        db.url(),
        "SELECT coalesce(json_object_agg(m.oid::text, json_build_array(pg_get_userbyid(m.lomowner), m.lomacl::text, \
                obj_description(m.oid, 'pg_largeobject'), length(lo_get(m.oid)), md5(lo_get(m.oid)))), '{}') \
         FROM pg_largeobject_metadata AS m",
    ))
    .expect("large objects are JSON")
}

/// Panics, saying every difference it found, unless `a` and `b` have the
/// same schema, the same rows in every table, the same sequence values and
/// the same large objects.
#[track_caller]
pub fn assert_same_database(a: &TestDb, b: &TestDb) {
    let mut report = String::new();
    let (schema_a, schema_b) = (schema_dump(a), schema_dump(b));
    if schema_a != schema_b {
        let _ = writeln!(report, "schemas differ (pg_dump --schema-only):\n{}", line_diff(&schema_a, &schema_b));
    }
    diff_maps(&mut report, "table (rows, md5)", &table_checksums(a), &table_checksums(b));
    diff_maps(&mut report, "sequence last_value", &sequence_values(a), &sequence_values(b));
    diff_maps(&mut report, "large object [owner, acl, comment, length, md5]", &large_objects(a), &large_objects(b));
    assert!(report.is_empty(), "databases {} (left) and {} (right) differ:\n{report}", a.name(), b.name());
}

fn diff_maps<V: PartialEq + std::fmt::Debug>(
    report: &mut String,
    what: &str,
    a: &BTreeMap<String, V>,
    b: &BTreeMap<String, V>,
) {
    for (key, left) in a {
        match b.get(key) {
            None => {
                let _ = writeln!(report, "{what} {key}: only in left ({left:?})");
            }
            Some(right) if right != left => {
                let _ = writeln!(report, "{what} {key}: left {left:?}, right {right:?}");
            }
            Some(_) => {}
        }
    }
    for (key, right) in b {
        if !a.contains_key(key) {
            let _ = writeln!(report, "{what} {key}: only in right ({right:?})");
        }
    }
}

/// The differing middle of two texts with a few lines of context, `-` for
/// the left side and `+` for the right: enough to see what changed without
/// a diff library.
fn line_diff(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let start = prefix.saturating_sub(CONTEXT);
    let mut out = format!("@@ line {} @@\n", prefix + 1);
    for line in &a[start..prefix] {
        let _ = writeln!(out, "  {line}");
    }
    for (sign, side) in [('-', &a), ('+', &b)] {
        let changed = &side[prefix..side.len() - suffix];
        for line in changed.iter().take(MAX_DIFF_LINES) {
            let _ = writeln!(out, "{sign} {line}");
        }
        if changed.len() > MAX_DIFF_LINES {
            let _ = writeln!(out, "{sign} … {} more lines", changed.len() - MAX_DIFF_LINES);
        }
    }
    let end = (a.len() - suffix + CONTEXT).min(a.len());
    for line in &a[a.len() - suffix..end] {
        let _ = writeln!(out, "  {line}");
    }
    out
}

/// Panics, showing the first differing lines, unless `source` and
/// `restored` (two dumps of `what`) are the same text.
#[track_caller]
pub(crate) fn assert_same_text(what: &str, source: &str, restored: &str) {
    if source == restored {
        return;
    }
    let clip = |line: &str| line.chars().take(200).collect::<String>();
    let diff: Vec<String> = source
        .lines()
        .zip(restored.lines())
        .filter(|(x, y)| x != y)
        .take(5)
        .map(|(x, y)| format!("  source:   {}\n  restored: {}", clip(x), clip(y)))
        .collect();
    panic!(
        "{what} differs ({} vs {} lines), first differences:\n{}",
        source.lines().count(),
        restored.lines().count(),
        diff.join("\n")
    );
}

#[cfg(test)]
mod tests {
    use super::line_diff;

    #[test]
    fn line_diff_shows_the_changed_lines_with_context() {
        let diff = line_diff("a\nb\nc\nd\n", "a\nb\nX\nd\n");
        assert!(diff.contains("- c\n+ X\n"), "{diff}");
        assert!(diff.contains("  b\n") && diff.contains("  d\n"), "{diff}");
    }

    #[test]
    fn line_diff_handles_an_added_tail() {
        let diff = line_diff("a\n", "a\nb\n");
        assert!(diff.contains("+ b"), "{diff}");
    }
}
