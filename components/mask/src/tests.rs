//! Whole-stage tests: config checking at `start`, and every rule run through
//! `transform` on small batches (keyed material from the SDK's native
//! stand-in).

use super::*;
use sluice_sdk::{BatchBuilder, ColumnKind, Dialect};

fn table(columns: &[(&str, ColumnKind, &str)]) -> Table {
    Table {
        schema: "public".into(),
        name: "t".into(),
        dialect: Dialect::Postgres,
        columns: columns
            .iter()
            .map(|(name, kind, sql_type)| Column {
                name: (*name).into(),
                sql_type: (*sql_type).into(),
                kind: *kind,
                nullable: *name != "id",
            })
            .collect(),
    }
}

/// A one-column table `v` of `kind`.
fn one(kind: ColumnKind, sql_type: &str) -> Table {
    table(&[("v", kind, sql_type)])
}

fn batch(width: usize, rows: &[&[Option<&str>]]) -> Batch {
    let mut b = BatchBuilder::new(width);
    for row in rows {
        let values: Vec<Option<&[u8]>> = row.iter().map(|v| v.map(str::as_bytes)).collect();
        b.push_row(&values).expect("row");
    }
    b.finish().expect("batch")
}

/// Runs `config` over one column of `values`; returns the masked column.
fn mask_column(t: &Table, config: &str, values: &[Option<&str>]) -> Vec<Option<String>> {
    let rows: Vec<Vec<Option<&str>>> = values.iter().map(|v| vec![*v]).collect();
    let rows: Vec<&[Option<&str>]> = rows.iter().map(Vec::as_slice).collect();
    let out = run(t, config, batch(1, &rows)).expect("mask");
    column(&out, 0)
}

fn run(t: &Table, config: &str, input: Batch) -> Result<Batch, StageError> {
    let (mut stage, columns) = Mask::start(t, config)?;
    assert_eq!(columns, t.columns, "mask keeps the column list");
    let rows = input.rows;
    let out = stage.transform(input)?;
    assert_eq!(out.rows, rows, "mask keeps every row");
    Ok(out)
}

fn column(b: &Batch, i: usize) -> Vec<Option<String>> {
    let v = b.column(i).expect("column");
    v.iter().map(|x| x.map(|x| String::from_utf8(x.to_vec()).expect("utf8"))).collect()
}

fn rule(spec: &str) -> String {
    format!(r#"{{"columns": {{"v": {spec}}}}}"#)
}

fn start_error(t: &Table, config: &str) -> String {
    match Mask::start(t, config) {
        Err(StageError::InvalidConfig(m)) => m,
        Err(other) => panic!("expected invalid-config, got {other:?}"),
        Ok(_) => panic!("expected invalid-config for {config}"),
    }
}

fn text() -> Table {
    one(ColumnKind::Text, "text")
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

#[test]
fn null_and_const_replace_values_and_keep_nulls() {
    let out = mask_column(&text(), &rule(r#""null""#), &[Some("a"), None]);
    assert_eq!(out, vec![None, None]);
    let out = mask_column(&text(), &rule(r#"{"rule": "const", "value": "x"}"#), &[Some("a"), None, Some("")]);
    assert_eq!(out, vec![s("x"), None, s("x")]);
    let int = one(ColumnKind::Integer, "integer");
    assert_eq!(mask_column(&int, &rule(r#"{"rule": "const", "value": 0}"#), &[Some("7")]), vec![s("0")]);
    let m = start_error(&int, &rule(r#"{"rule": "const", "value": "zero"}"#));
    assert!(m.contains("public.t.v") && m.contains("not a valid integer"), "{m}");
}

#[test]
fn null_rule_on_a_not_null_column_is_refused() {
    let t = table(&[("id", ColumnKind::Integer, "integer")]);
    let m = start_error(&t, r#"{"columns": {"id": "null"}}"#);
    assert!(m.contains("public.t.id") && m.contains("NOT NULL"), "{m}");
}

#[test]
fn redact_uses_a_token_or_keeps_first_and_last_chars() {
    let out = mask_column(&text(), &rule(r#""redact""#), &[Some("secret"), None]);
    assert_eq!(out, vec![s("REDACTED"), None]);
    let out = mask_column(&text(), &rule(r#"{"rule": "redact", "token": "[x]"}"#), &[Some("secret")]);
    assert_eq!(out, vec![s("[x]")]);
    let keep = rule(r##"{"rule": "redact", "keep_first": 1, "keep_last": 4, "char": "#"}"##);
    let out = mask_column(&text(), &keep, &[Some("4111-1111-1111-1234"), Some("ab")]);
    assert_eq!(out, vec![s("4##############1234"), s("##")]);
    let out = mask_column(&text(), &rule(r#"{"rule": "redact", "keep_last": 0}"#), &[Some("47 MySakila Drive")]);
    assert_eq!(out, vec![s("*****************")]);
}

#[test]
fn email_is_a_deterministic_address_on_a_reserved_domain() {
    let values = [Some("MARY.SMITH@sakilacustomer.org"), Some("bob@x.io"), Some("MARY.SMITH@sakilacustomer.org"), None];
    let out = mask_column(&text(), &rule(r#""email""#), &values);
    let first = out[0].clone().expect("masked");
    let (local, domain) = first.split_once('@').expect("an address");
    assert_eq!(domain, "example.com");
    assert_eq!(local.len(), 13);
    assert!(local.starts_with('u'));
    assert!(local[1..].bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)), "{local}");
    assert_eq!(out[0], out[2], "same email, same mask");
    assert_ne!(out[0], out[1]);
    assert_eq!(out[3], None);
    assert_eq!(out, mask_column(&text(), &rule(r#""email""#), &values), "deterministic");
    let other = mask_column(&text(), &rule(r#"{"rule": "email", "domain": "elsewhere"}"#), &values);
    assert_ne!(out[0], other[0], "the domain separates");

    let kept = mask_column(&text(), &rule(r#"{"rule": "email", "keep_domain": true}"#), &values);
    let kept = kept[0].clone().expect("masked");
    assert!(kept.ends_with("@sakilacustomer.org") && !kept.contains("MARY"), "{kept}");
}

#[test]
fn email_longer_than_the_varchar_is_refused_at_start() {
    let m = start_error(&one(ColumnKind::Text, "character varying(20)"), &rule(r#""email""#));
    assert!(m.contains("public.t.v") && m.contains("20"), "{m}");
    assert!(Mask::start(&one(ColumnKind::Text, "character varying(50)"), &rule(r#""email""#)).is_ok());
}

#[test]
fn names_come_from_the_dictionaries() {
    let values = [Some("MARY"), Some("PATRICIA"), Some("MARY"), None];
    let firsts = mask_column(&text(), &rule(r#""first_name""#), &values);
    assert!(firsts[..3].iter().all(|n| names::FIRST_NAMES.contains(&n.as_deref().expect("masked"))));
    assert_eq!(firsts[0], firsts[2]);
    assert_eq!(firsts[3], None);
    let lasts = mask_column(&text(), &rule(r#""last_name""#), &values);
    assert!(lasts[..3].iter().all(|n| names::LAST_NAMES.contains(&n.as_deref().expect("masked"))));
    let full = mask_column(&text(), &rule(r#""full_name""#), &values);
    let (f, l) = full[0].as_deref().expect("masked").split_once(' ').expect("two names");
    assert!(names::FIRST_NAMES.contains(&f) && names::LAST_NAMES.contains(&l));
    let many: Vec<String> = (0..300).map(|i| format!("name {i}")).collect();
    let many: Vec<Option<&str>> = many.iter().map(|n| Some(n.as_str())).collect();
    let picked: std::collections::BTreeSet<_> =
        mask_column(&text(), &rule(r#""first_name""#), &many).into_iter().collect();
    assert!(picked.len() > 100, "picks spread over the dictionary: {}", picked.len());
}

#[test]
fn names_are_cut_to_fit_a_short_varchar() {
    let out = mask_column(&one(ColumnKind::Text, "character varying(3)"), &rule(r#""full_name""#), &[Some("x")]);
    assert_eq!(out[0].as_deref().map(str::len), Some(3));
}

fn luhn_valid(number: &str) -> bool {
    let digits: Vec<u8> = number.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
    let (check, payload) = digits.split_last().expect("digits");
    apply::luhn_check_digit(payload) == *check
}

#[test]
fn digits_keep_the_format_and_luhn_makes_valid_card_numbers() {
    let values = [Some("+1 (555) 010-4477"), Some("no digits"), None, Some("+1 (555) 010-4477")];
    let out = mask_column(&text(), &rule(r#""digits""#), &values);
    let phone = out[0].as_deref().expect("masked");
    assert_eq!(phone.len(), 17);
    for (a, b) in phone.bytes().zip(values[0].expect("value").bytes()) {
        assert_eq!(a.is_ascii_digit(), b.is_ascii_digit());
        if !b.is_ascii_digit() {
            assert_eq!(a, b);
        }
    }
    assert_ne!(out[0].as_deref(), values[0]);
    assert_eq!(out[0], out[3]);
    assert_eq!(out[1], s("no digits"));
    assert_eq!(out[2], None);
    let other = mask_column(&text(), &rule(r#"{"rule": "digits", "domain": "d2"}"#), &values);
    assert_ne!(out[0], other[0]);

    let cards: Vec<String> = (0..200).map(|i| format!("4111 1111 1111 {i:04}")).collect();
    let cards: Vec<Option<&str>> = cards.iter().map(|c| Some(c.as_str())).collect();
    let masked = mask_column(&text(), &rule(r#"{"rule": "digits", "luhn": true}"#), &cards);
    for m in &masked {
        let m = m.as_deref().expect("masked");
        assert_eq!(m.len(), 19);
        assert!(luhn_valid(m), "{m}");
    }
    let long = "1".repeat(70);
    let out = mask_column(&text(), &rule(r#""digits""#), &[Some(&long)]);
    assert_eq!(out[0].as_deref().map(str::len), Some(70));
    assert!(out[0].as_deref().expect("masked")[20..].bytes().any(|b| b != b'1'), "later blocks masked too");
}

#[test]
fn hash_writes_hex_or_base32_of_the_requested_length() {
    let values = [Some("a"), Some("b"), None, Some("a")];
    let hex = mask_column(&text(), &rule(r#""hash""#), &values);
    let h = hex[0].as_deref().expect("hashed");
    assert_eq!(h.len(), 64);
    assert!(h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(hex[0], hex[3]);
    assert_ne!(hex[0], hex[1]);
    assert_eq!(hex[2], None);
    let b32 = mask_column(&text(), &rule(r#"{"rule": "hash", "format": "base32", "length": 10}"#), &values);
    assert_eq!(b32[0].as_deref().map(str::len), Some(10));
    let other = mask_column(&text(), &rule(r#"{"rule": "hash", "domain": "x"}"#), &values);
    assert_ne!(hex[0], other[0]);
    let binary = one(ColumnKind::Binary, "bytea");
    assert!(Mask::start(&binary, &rule(r#""hash""#)).is_ok());
}

#[test]
fn ff1_on_an_integer_key_is_a_bijection_within_its_range() {
    let t = table(&[("id", ColumnKind::Integer, "integer"), ("v", ColumnKind::Text, "text")]);
    let config = r#"{"columns": {"id": {"rule": "ff1", "min": 1, "max": 2000}}, "keep": ["v"], "unmapped": "fail"}"#;
    let ids: Vec<String> = (1..=2000).map(|i| i.to_string()).collect();
    let rows: Vec<Vec<Option<&str>>> = ids.iter().map(|i| vec![Some(i.as_str()), Some("x")]).collect();
    let rows: Vec<&[Option<&str>]> = rows.iter().map(Vec::as_slice).collect();
    let out = run(&t, config, batch(2, &rows)).expect("mask");
    let mut masked: Vec<i64> = column(&out, 0).into_iter().map(|v| v.expect("id").parse().expect("int")).collect();
    assert_ne!(masked, (1..=2000).collect::<Vec<_>>());
    masked.sort();
    assert_eq!(masked, (1..=2000).collect::<Vec<_>>());
    assert_eq!(column(&out, 1)[0], s("x"));

    let bad = run(&t, config, batch(2, &[&[Some("2001"), None]]));
    assert!(
        matches!(&bad, Err(StageError::InvalidInput(m)) if m.contains("public.t.id") && m.contains("2001")),
        "{bad:?}"
    );
}

#[test]
fn ff1_rules_are_checked_against_the_column_type() {
    let m = start_error(&text(), &rule(r#"{"rule": "ff1", "min": 1, "max": 9}"#));
    assert!(m.contains("public.t.v") && m.contains("integer"), "{m}");
    let small = one(ColumnKind::Integer, "smallint");
    let m = start_error(&small, &rule(r#"{"rule": "ff1", "min": 1, "max": 99999}"#));
    assert!(m.contains("smallint"), "{m}");
    let m = start_error(&small, &rule(r#""ff1""#));
    assert!(m.contains("min"), "{m}");
    let m = start_error(&small, &rule(r#"{"rule": "ff1", "min": 1}"#));
    assert!(m.contains("both"), "{m}");
    let m = start_error(&small, &rule(r#"{"rule": "ff1", "min": 9, "max": 1}"#));
    assert!(m.contains("above"), "{m}");
}

fn two_columns(kind: ColumnKind, sql_type: &str) -> Table {
    table(&[("id", ColumnKind::Integer, "integer"), ("v", kind, sql_type)])
}

/// Masks `value` in `rows` rows with ids 1..=rows under `spec` and row key `id`.
fn noisy(kind: ColumnKind, sql_type: &str, spec: &str, value: &str, rows: usize) -> Vec<String> {
    let t = two_columns(kind, sql_type);
    let config = format!(r#"{{"columns": {{"v": {spec}}}, "row_key": ["id"]}}"#);
    let ids: Vec<String> = (1..=rows).map(|i| i.to_string()).collect();
    let data: Vec<Vec<Option<&str>>> = ids.iter().map(|i| vec![Some(i.as_str()), Some(value)]).collect();
    let data: Vec<&[Option<&str>]> = data.iter().map(Vec::as_slice).collect();
    let out = run(&t, &config, batch(2, &data)).expect("mask");
    column(&out, 1).into_iter().map(|v| v.expect("not null")).collect()
}

#[test]
fn noise_moves_integers_within_the_bound_and_varies_by_row() {
    let out = noisy(ColumnKind::Integer, "integer", r#"{"rule": "noise", "bound": 5}"#, "100", 500);
    let values: Vec<i64> = out.iter().map(|v| v.parse().expect("integer")).collect();
    assert!(values.iter().all(|v| (95..=105).contains(v)));
    let distinct: std::collections::BTreeSet<_> = values.iter().collect();
    assert_eq!(distinct.len(), 11, "every offset in [-5, 5] shows up across rows");
    assert_eq!(out, noisy(ColumnKind::Integer, "integer", r#"{"rule": "noise", "bound": 5}"#, "100", 500));
    let mean = values.iter().sum::<i64>() as f64 / values.len() as f64;
    assert!((mean - 100.0).abs() < 1.0, "{mean}");
}

#[test]
fn noise_keeps_decimal_scale_and_numeric_precision() {
    let out = noisy(ColumnKind::Decimal, "numeric(5,2)", r#"{"rule": "noise", "bound": 2.5}"#, "998.99", 200);
    for v in &out {
        let (_, frac) = v.split_once('.').expect("scale kept");
        assert_eq!(frac.len(), 2, "{v}");
        let x: f64 = v.parse().expect("number");
        assert!((996.49..=999.99).contains(&x), "{v}");
    }
    assert!(out.iter().any(|v| v == "999.99"), "clamped to numeric(5,2)");
    let nan = noisy(ColumnKind::Decimal, "numeric", r#"{"rule": "noise", "bound": 1}"#, "NaN", 1);
    assert_eq!(nan, vec!["NaN"]);
}

#[test]
fn noise_moves_floats_within_the_bound() {
    let out = noisy(ColumnKind::Float, "double precision", r#"{"rule": "noise", "bound": 0.5}"#, "10", 200);
    assert!(out.iter().all(|v| (9.5..=10.5).contains(&v.parse::<f64>().expect("float"))));
    assert!(out.iter().any(|v| v != "10"));
}

#[test]
fn noise_shifts_dates_by_days_and_timestamps_by_seconds() {
    let dates = noisy(ColumnKind::Date, "date", r#"{"rule": "noise", "bound": "30d"}"#, "2024-03-01", 300);
    for d in &dates {
        assert_eq!(d.len(), 10, "{d}");
        assert!(d.as_str() >= "2024-01-31" && d.as_str() <= "2024-03-31", "{d}");
    }
    assert!(dates.iter().any(|d| d.as_str() < "2024-02-01"));
    let spec = r#"{"rule": "noise", "bound": "3600s"}"#;
    let stamps = noisy(ColumnKind::TimestampTz, "timestamp with time zone", spec, "2006-02-15 23:30:00.5+00", 300);
    for ts in &stamps {
        assert!(ts.ends_with(".5+00"), "{ts}");
        assert!(ts.as_str() >= "2006-02-15 22:30:00" && ts.as_str() <= "2006-02-16 00:30:00.5", "{ts}");
    }
    assert!(stamps.iter().any(|t| t.starts_with("2006-02-16")), "crosses midnight");
    let m = start_error(&one(ColumnKind::Date, "date"), &rule(r#"{"rule": "noise", "bound": "60s"}"#));
    assert!(m.contains("whole days"), "{m}");
    let m = start_error(&one(ColumnKind::Date, "date"), &rule(r#"{"rule": "noise", "bound": 3}"#));
    assert!(m.contains("duration"), "{m}");
    let m = start_error(&one(ColumnKind::Integer, "integer"), &rule(r#"{"rule": "noise", "bound": "3d"}"#));
    assert!(m.contains("numeric bound"), "{m}");
    let m = start_error(&one(ColumnKind::Integer, "integer"), &rule(r#"{"rule": "noise", "bound": 0.5}"#));
    assert!(m.contains("below 1"), "{m}");
}

#[test]
fn json_paths_mask_inside_values_and_leave_the_rest_exactly() {
    let t = one(ColumnKind::Json, "jsonb");
    let config = rule(
        r#"{"rule": "json", "paths": {"$.items[*].email": "email", "$.name": "redact", "$.ssn": "null",
             "$.card": {"rule": "digits", "luhn": true}, "$.missing.deeper": "hash"}}"#,
    );
    let doc = r#"{"name": "Mary", "ssn": "123-45-6789", "big": 123456789012345678901234567890, "z": 1.50,
                  "items": [{"email": "a@b.c"}, {"sku": 7}, {"email": "a@b.c"}], "card": "4111111111111111", "n": null}"#;
    let out = mask_column(&t, &config, &[Some(doc), None, Some("{}")]);
    let v: serde_json::Value = serde_json::from_str(out[0].as_deref().expect("masked")).expect("json");
    assert_eq!(v["name"], "REDACTED");
    assert!(v["ssn"].is_null());
    assert_eq!(v["big"].to_string(), "123456789012345678901234567890");
    assert_eq!(v["z"].to_string(), "1.50");
    let e1 = v["items"][0]["email"].as_str().expect("email");
    assert!(e1.ends_with("@example.com"), "{e1}");
    assert_eq!(v["items"][0]["email"], v["items"][2]["email"]);
    assert_eq!(v["items"][1]["sku"], 7);
    assert!(luhn_valid(v["card"].as_str().expect("card")));
    assert!(v["n"].is_null());
    assert!(v.get("missing").is_none());
    let keys: Vec<&str> = v.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["big", "card", "items", "n", "name", "ssn", "z"], "keys come back sorted");
    assert_eq!(out[1], None);
    assert_eq!(out[2], s("{}"));

    let bad = run(&t, &config, batch(1, &[&[Some("{not json")]]));
    assert!(matches!(bad, Err(StageError::InvalidInput(_))), "{bad:?}");
}

#[test]
fn json_paths_keep_numbers_numeric_under_noise_and_ff1() {
    let t = two_columns(ColumnKind::Json, "json");
    let config = r#"{"columns": {"v": {"rule": "json", "paths": {
        "$.age": {"rule": "noise", "bound": 3}, "$.id": {"rule": "ff1", "min": 1, "max": 9999}}}},
        "row_key": ["id"]}"#;
    let out = run(&t, config, batch(2, &[&[Some("1"), Some(r#"{"age": 40, "id": 17}"#)]])).expect("mask");
    let v: serde_json::Value = serde_json::from_str(column(&out, 1)[0].as_deref().expect("json")).expect("json");
    let age = v["age"].as_i64().expect("age stays a number");
    assert!((37..=43).contains(&age));
    assert!((1..=9999).contains(&v["id"].as_i64().expect("id stays a number")));
}

#[test]
fn json_rule_errors_name_the_path() {
    let t = one(ColumnKind::Json, "jsonb");
    let m = start_error(&t, &rule(r#"{"rule": "json", "paths": {"a.b": "null"}}"#));
    assert!(m.contains("public.t.v") && m.contains('$'), "{m}");
    let m = start_error(&t, &rule(r#"{"rule": "json", "paths": {"$.a": "nope"}}"#));
    assert!(m.contains("$.a") && m.contains("nope"), "{m}");
    let m = start_error(&t, &rule(r#"{"rule": "json", "paths": {"$.a": {"rule": "json", "paths": {"$.b": "null"}}}}"#));
    assert!(m.contains("nested"), "{m}");
    let m = start_error(&text(), &rule(r#"{"rule": "json", "paths": {"$.a": "null"}}"#));
    assert!(m.contains("json"), "{m}");
}

#[test]
fn config_errors_name_the_column_and_the_problem() {
    let t = table(&[("id", ColumnKind::Integer, "integer"), ("email", ColumnKind::Text, "text")]);
    let cases = [
        (r#"{"columns": {"email": "emial"}}"#, vec!["public.t.email", "unknown rule `emial`"]),
        (
            r#"{"columns": {"email": {"rule": "email", "keepdomain": true}}}"#,
            vec!["public.t.email", "`keepdomain`", "keep_domain"],
        ),
        (
            r#"{"columns": {"email": {"rule": "email", "keep_domain": "yes"}}}"#,
            vec!["public.t.email", "`keep_domain`", "true or false"],
        ),
        (r#"{"columns": {"mail": "email"}}"#, vec!["public.t", "no column `mail`", "email"]),
        (r#"{"columns": {"id": "email"}}"#, vec!["public.t.id", "text"]),
        (r#"{"columns": {"email": {"domain": "x"}}}"#, vec!["public.t.email", "`rule`"]),
        (r#"{"columns": {"email": 3}}"#, vec!["public.t.email"]),
        (r#"{"columns": {"email": {"rule": "hash", "format": "hex", "length": 65}}}"#, vec!["length"]),
        (r#"{"columns": {"email": {"rule": "redact", "token": "x", "keep_first": 1}}}"#, vec!["not both"]),
        (r#"{"columns": {"email": {"rule": "redact", "char": "**"}}}"#, vec!["one character"]),
        (r#"{"columns": {"email": {"rule": "const"}}}"#, vec!["`value`"]),
        (r#"{"columns": {"email": "email"}, "keep": ["email"]}"#, vec!["both masked"]),
        (r#"{"columns": {}, "keep": ["nope"]}"#, vec!["no column `nope`"]),
        (r#"{"row_key": ["nope"]}"#, vec!["no column `nope`"]),
        (r#"{"unmapped": "drop"}"#, vec!["unmapped"]),
        (r#"{"colums": {}}"#, vec!["unknown key `colums`"]),
        (r#"[1]"#, vec!["JSON object"]),
        (r#"{"columns": "#, vec!["not valid JSON"]),
    ];
    for (config, needles) in cases {
        let m = start_error(&t, config);
        for needle in needles {
            assert!(m.contains(needle), "{config}: {m:?} lacks {needle:?}");
        }
    }
}

#[test]
fn unmapped_fail_names_every_uncovered_column() {
    let t = table(&[
        ("id", ColumnKind::Integer, "integer"),
        ("email", ColumnKind::Text, "text"),
        ("a", ColumnKind::Text, "text"),
        ("b", ColumnKind::Text, "text"),
    ]);
    let m = start_error(&t, r#"{"columns": {"email": "email"}, "keep": ["id"], "unmapped": "fail"}"#);
    assert!(m.contains("`a`, `b`") && m.contains("public.t"), "{m}");
    let ok = r#"{"columns": {"email": "email"}, "keep": ["id", "a", "b"], "unmapped": "fail"}"#;
    assert!(Mask::start(&t, ok).is_ok());
    assert!(Mask::start(&t, r#"{"columns": {"email": "email"}}"#).is_ok(), "unmapped defaults to keep");
}

#[test]
fn empty_config_masks_nothing() {
    let t = text();
    assert_eq!(mask_column(&t, "", &[Some("a"), None]), vec![s("a"), None]);
    assert_eq!(mask_column(&t, " {} ", &[Some("a")]), vec![s("a")]);
}

#[test]
fn batches_of_the_wrong_width_are_invalid_input() {
    let (mut stage, _) = Mask::start(&text(), &rule(r#""email""#)).expect("start");
    let wide = batch(2, &[&[Some("a"), Some("b")]]);
    assert!(matches!(stage.transform(wide), Err(StageError::InvalidInput(_))));
    let empty = batch(1, &[]);
    assert_eq!(stage.transform(empty.clone()).expect("empty batch"), empty);
}

#[test]
fn unique_preserving_rules_are_ff1_and_full_hash() {
    assert!(unique_preserving("ff1"));
    assert!(unique_preserving("hash"));
    for rule in
        ["null", "const", "redact", "email", "first_name", "last_name", "full_name", "digits", "noise", "json", "x"]
    {
        assert!(!unique_preserving(rule), "{rule}");
    }
    let parsed = |spec: &str| rule::parse(&serde_json::from_str(spec).expect("json"), "t", false).expect("rule").rule;
    assert!(parsed(r#""hash""#).unique_preserving());
    assert!(!parsed(r#"{"rule": "hash", "length": 8}"#).unique_preserving());
    assert!(parsed(r#"{"rule": "ff1", "min": 1, "max": 5}"#).unique_preserving());
    assert!(!parsed(r#""email""#).unique_preserving());
}
