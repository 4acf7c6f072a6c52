//! Whole-stage tests: filters evaluated on small batches, and the keyed
//! sample (from the SDK's native stand-in for the host).

use super::*;
use sluice_sdk::{BatchBuilder, ColumnKind, Dialect};

fn table(name: &str, columns: &[(&str, ColumnKind)]) -> Table {
    Table {
        schema: "public".into(),
        name: name.into(),
        dialect: Dialect::Postgres,
        columns: columns
            .iter()
            .map(|(n, kind)| Column { name: (*n).into(), sql_type: String::new(), kind: *kind, nullable: true })
            .collect(),
    }
}

fn payment() -> Table {
    table(
        "payment",
        &[
            ("payment_id", ColumnKind::Integer),
            ("customer_id", ColumnKind::Integer),
            ("amount", ColumnKind::Decimal),
            ("note", ColumnKind::Text),
            ("paid", ColumnKind::Date),
            ("active", ColumnKind::Boolean),
            ("ratio", ColumnKind::Float),
        ],
    )
}

/// Rows of `payment`: id, customer, amount, note, paid, active, ratio.
fn payments() -> Batch {
    let rows: [[Option<&str>; 7]; 6] = [
        [Some("1"), Some("10"), Some("4.99"), Some("it's"), Some("2024-01-31"), Some("t"), Some("0.5")],
        [Some("2"), Some("11"), Some("5.00"), Some("b"), Some("2024-02-01"), Some("f"), Some("NaN")],
        [Some("3"), None, Some("5.01"), None, Some("2023-12-31"), None, Some("1e+20")],
        [Some("4"), Some("12"), Some("10"), Some("B"), None, Some("t"), Some("-0.25")],
        [Some("5"), Some("9"), None, Some("a"), Some("2024-01-01"), Some("f"), None],
        [
            Some("6"),
            Some("10"),
            Some("123456789012345678901234567890.5"),
            Some(""),
            Some("2024-06-30"),
            Some("t"),
            Some("3"),
        ],
    ];
    let mut b = BatchBuilder::new(7);
    for row in rows {
        let values: Vec<Option<&[u8]>> = row.iter().map(|v| v.map(str::as_bytes)).collect();
        b.push_row(&values).expect("row");
    }
    b.finish().expect("batch")
}

/// The `payment_id`s of the rows `filter` keeps.
fn kept(filter: &str) -> Vec<u32> {
    let config = serde_json::json!({ "filter": filter }).to_string();
    let (mut stage, columns) = Filter::start(&payment(), &config).unwrap_or_else(|e| panic!("{filter}: {e:?}"));
    assert_eq!(columns, payment().columns);
    let out = stage.transform(payments()).expect("transform");
    let ids = out.column(0).expect("ids");
    ids.iter().map(|v| std::str::from_utf8(v.expect("id")).expect("utf8").parse().expect("int")).collect()
}

fn config_error(t: &Table, config: &str) -> String {
    match Filter::start(t, config) {
        Err(StageError::InvalidConfig(m)) => m,
        Err(other) => panic!("{config}: expected invalid-config, got {other:?}"),
        Ok(_) => panic!("{config}: expected invalid-config"),
    }
}

#[test]
fn numbers_compare_numerically_and_exactly() {
    assert_eq!(kept("amount > 5"), vec![3, 4, 6]);
    assert_eq!(kept("amount >= 5"), vec![2, 3, 4, 6]);
    assert_eq!(kept("amount = 5"), vec![2]);
    assert_eq!(kept("amount < 5.001"), vec![1, 2]);
    assert_eq!(kept("customer_id > 9.5"), vec![1, 2, 4, 6]);
    assert_eq!(kept("amount > 123456789012345678901234567890.4"), vec![6]);
    assert_eq!(kept("amount > '5'"), vec![3, 4, 6]);
    assert_eq!(kept("ratio > 1"), vec![2, 3, 6], "NaN sorts above numbers");
    assert_eq!(kept("ratio <= 0.5"), vec![1, 4]);
}

#[test]
fn precedence_is_not_then_and_then_or() {
    assert_eq!(kept("payment_id = 1 or payment_id = 2 and amount > 100"), vec![1]);
    assert_eq!(kept("(payment_id = 1 or payment_id = 2) and amount > 4"), vec![1, 2]);
    assert_eq!(kept("not payment_id = 1 and payment_id < 3"), vec![2]);
    assert_eq!(kept("NOT (payment_id = 1 AND payment_id < 3)"), vec![2, 3, 4, 5, 6]);
}

#[test]
fn null_is_unknown_and_unknown_rows_are_dropped() {
    assert_eq!(kept("customer_id is null"), vec![3]);
    assert_eq!(kept("customer_id is not null"), vec![1, 2, 4, 5, 6]);
    assert_eq!(kept("customer_id > 0"), vec![1, 2, 4, 5, 6]);
    assert_eq!(kept("not customer_id > 0"), Vec::<u32>::new());
    assert_eq!(kept("customer_id > 0 or true"), vec![1, 2, 3, 4, 5, 6], "unknown or true");
    assert_eq!(kept("not (customer_id > 0 and false)"), vec![1, 2, 3, 4, 5, 6], "unknown and false");
    assert_eq!(kept("amount > 5 and customer_id is not null"), vec![4, 6]);
}

#[test]
fn in_lists_match_by_the_columns_type() {
    assert_eq!(kept("customer_id in (10, 12)"), vec![1, 4, 6]);
    assert_eq!(kept("customer_id not in (10, 12)"), vec![2, 5], "NULL is neither in nor not in");
    assert_eq!(kept("amount in (5, 10.0)"), vec![2, 4]);
    assert_eq!(kept("note in ('a', 'it''s')"), vec![1, 5]);
}

#[test]
fn text_dates_and_booleans_compare_as_canonical_text() {
    assert_eq!(kept("note = 'it''s'"), vec![1]);
    assert_eq!(kept("note < 'a'"), vec![4, 6], "byte order: 'B' and '' sort before 'a'");
    assert_eq!(kept("paid >= date '2024-01-31'"), vec![1, 2, 6]);
    assert_eq!(kept("paid < '2024-01-02'"), vec![3, 5]);
    assert_eq!(kept("active"), vec![1, 4, 6]);
    assert_eq!(kept("not active"), vec![2, 5]);
    assert_eq!(kept("active = false"), vec![2, 5]);
    assert_eq!(kept("active = 't' and \"payment_id\" > 1"), vec![4, 6]);
    assert_eq!(kept("PAYMENT_ID = 2"), vec![2], "bare names fold to lower case");
}

#[test]
fn constant_conditions_fold() {
    assert_eq!(kept("1 = 1"), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(kept("'a' > 'b'"), Vec::<u32>::new());
    assert_eq!(kept("false or payment_id = 6"), vec![6]);
}

#[test]
fn unknown_columns_and_mismatched_literals_are_config_errors() {
    let t = payment();
    for (filter, needle) in [
        ("amout > 5", "no column `amout` in public.payment (at column 1)"),
        ("\"Amount\" > 5", "no column `Amount`"),
        ("amount > 'abc'", "'abc' at column 10 cannot be compared with `amount`, which is a number"),
        ("note = 5", "which is text: quote the value"),
        ("active = 3", "boolean"),
        ("paid > date '2024-1-1'", "is not YYYY-MM-DD"),
        ("note", "column `note` at column 1 is not boolean"),
        ("5", "5 at column 1 is not a condition"),
        ("amount = note", "cannot compare column `amount` with column `note`"),
        ("amount >", "filter: expected a value after '>', found the end of the filter at column 9"),
    ] {
        let config = serde_json::json!({ "filter": filter }).to_string();
        let m = config_error(&t, &config);
        assert!(m.contains(needle), "{filter}: {m}");
    }
}

#[test]
fn config_keys_are_checked() {
    let t = payment();
    assert!(config_error(&t, r#"{"filtre": "x"}"#).contains("unknown key `filtre`"));
    assert!(config_error(&t, r#"{"sample": 1.5}"#).contains("`sample`"));
    assert!(config_error(&t, r#"{"sample": "half"}"#).contains("`sample`"));
    assert!(config_error(&t, r#"{"sample": 0.5, "row_key": ["nope"]}"#).contains("no column `nope`"));
    assert!(config_error(&t, r#"{"filter": 3}"#).contains("`filter` must be a string"));
    assert!(config_error(&t, "[]").contains("JSON object"));
    let (mut stage, _) = Filter::start(&t, "").expect("empty config keeps everything");
    assert_eq!(stage.transform(payments()).expect("transform"), payments());
}

/// A table `name` with one integer column `col` holding 1..=n.
fn numbered(name: &str, col: &str, n: u32) -> (Table, Batch) {
    let t = table(name, &[(col, ColumnKind::Integer)]);
    let mut b = BatchBuilder::new(1);
    for i in 1..=n {
        b.push_row(&[Some(i.to_string().as_bytes())]).expect("row");
    }
    (t, b.finish().expect("batch"))
}

fn sample_ids(t: &Table, batch: Batch, config: &str) -> Vec<String> {
    let (mut stage, _) = Filter::start(t, config).expect("start");
    let out = stage.transform(batch).expect("transform");
    out.column(0).expect("column").iter().map(|v| String::from_utf8(v.expect("id").to_vec()).expect("utf8")).collect()
}

#[test]
fn sample_keeps_a_deterministic_fraction() {
    let (t, rows) = numbered("payment", "payment_id", 10_000);
    let config = r#"{"sample": 0.25, "row_key": ["payment_id"]}"#;
    let first = sample_ids(&t, rows.clone(), config);
    let fraction = first.len() as f64 / 10_000.0;
    assert!((0.235..=0.265).contains(&fraction), "{fraction}");
    assert_eq!(first, sample_ids(&t, rows.clone(), config), "same key, same sample");
    let other = sample_ids(&t, rows.clone(), r#"{"sample": 0.25, "row_key": ["payment_id"], "domain": "other"}"#);
    assert_ne!(first, other, "the domain changes the sample");
    assert!(sample_ids(&t, rows.clone(), r#"{"sample": 0}"#).is_empty());
    assert_eq!(sample_ids(&t, rows, r#"{"sample": 1}"#).len(), 10_000);
}

#[test]
fn a_child_reproduces_its_parents_sample_by_hashing_its_foreign_key() {
    let (parent, parents) = numbered("customer", "customer_id", 2000);
    let kept_parents = sample_ids(&parent, parents, r#"{"sample": 0.3, "row_key": ["customer_id"]}"#);
    // Children reference parents 1..=2000 (each three times).
    let child = table("payment", &[("customer_id", ColumnKind::Integer)]);
    let mut b = BatchBuilder::new(1);
    for i in 0..6000u32 {
        b.push_row(&[Some((i % 2000 + 1).to_string().as_bytes())]).expect("row");
    }
    let config = r#"{"sample": 0.3, "row_key": ["customer_id"], "domain": "sample:public.customer"}"#;
    let kept_children = sample_ids(&child, b.finish().expect("batch"), config);
    assert_eq!(kept_children.len(), kept_parents.len() * 3);
    let parents: std::collections::BTreeSet<_> = kept_parents.into_iter().collect();
    assert!(kept_children.iter().all(|c| parents.contains(c)));
}

#[test]
fn filter_and_sample_both_apply() {
    let (t, rows) = numbered("payment", "payment_id", 4000);
    let config = r#"{"filter": "payment_id <= 2000", "sample": 0.5, "row_key": ["payment_id"]}"#;
    let ids = sample_ids(&t, rows.clone(), config);
    assert!(ids.iter().all(|i| i.parse::<u32>().expect("int") <= 2000));
    let sampled = sample_ids(&t, rows, r#"{"sample": 0.5, "row_key": ["payment_id"]}"#);
    let expected: Vec<String> = sampled.into_iter().filter(|i| i.parse::<u32>().expect("int") <= 2000).collect();
    assert_eq!(ids, expected, "the sample of a row does not depend on the filter");
}

#[test]
fn batches_of_the_wrong_width_are_invalid_input() {
    let (mut stage, _) = Filter::start(&payment(), r#"{"filter": "amount > 5"}"#).expect("start");
    let (_, narrow) = numbered("x", "a", 3);
    assert!(matches!(stage.transform(narrow), Err(StageError::InvalidInput(_))));
}
