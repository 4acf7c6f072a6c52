//! The example's behaviour, run natively: defaults, config, and bad config
//! as `invalid-config` rather than a trap.

use super::*;
use sluice_sdk::{BatchBuilder, Dialect};

fn people() -> Table {
    let column = |name: &str, kind| Column { name: name.into(), sql_type: "text".into(), kind, nullable: true };
    Table {
        schema: "public".into(),
        name: "people".into(),
        dialect: Dialect::Postgres,
        columns: vec![
            column("id", ColumnKind::Integer),
            column("name", ColumnKind::Text),
            column("email", ColumnKind::Text),
        ],
    }
}

fn batch(rows: &[[Option<&str>; 3]]) -> Batch {
    let mut b = BatchBuilder::new(3);
    for row in rows {
        b.push_row(&row.map(|v| v.map(str::as_bytes))).expect("row");
    }
    b.finish().expect("batch")
}

fn run(config: &str, rows: &[[Option<&str>; 3]]) -> Result<Batch, StageError> {
    let (mut stage, columns) = Upper::start(&people(), config)?;
    assert_eq!(columns, people().columns);
    stage.transform(batch(rows))
}

#[test]
fn empty_config_upper_cases_every_text_column_and_drops_nothing() {
    let out = run("", &[[Some("1"), Some("ada"), None], [Some("2"), Some("zoë"), Some("z@x")]]).expect("run");
    assert_eq!(out, batch(&[[Some("1"), Some("ADA"), None], [Some("2"), Some("ZOË"), Some("Z@X")]]));
}

#[test]
fn config_names_the_column_to_upper_case_and_the_one_whose_nulls_drop() {
    let config = r#"{"upper": "name", "drop_null": "email"}"#;
    let out = run(config, &[[Some("1"), Some("ada"), None], [Some("2"), None, Some("b@x")]]).expect("run");
    assert_eq!(out, batch(&[[Some("2"), None, Some("b@x")]]));
}

#[test]
fn unknown_columns_and_keys_are_invalid_config_naming_them() {
    for (config, named) in [
        (r#"{"upper": "nope"}"#, "nope"),
        (r#"{"drop_null": "gone"}"#, "gone"),
        (r#"{"lower": "name"}"#, "lower"),
        ("not json", ""),
    ] {
        match Upper::start(&people(), config) {
            Err(StageError::InvalidConfig(message)) => assert!(message.contains(named), "{message}"),
            Err(other) => panic!("{config}: expected invalid-config, got {other:?}"),
            Ok(_) => panic!("{config}: expected invalid-config, got a stage"),
        }
    }
}
