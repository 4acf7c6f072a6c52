//! Format and parse tests for the JSON Lines formatter, run natively.

use super::*;
use sluice_sdk::{BatchBuilder, Column, ColumnKind, Dialect, Parser};

/// A value and its SQLite storage class (`0` for none).
type Row = Vec<(Option<Vec<u8>>, u8)>;

fn table(dialect: Dialect, kinds: &[ColumnKind]) -> Table {
    Table {
        schema: "public".into(),
        name: "t".into(),
        dialect,
        columns: kinds
            .iter()
            .enumerate()
            .map(|(i, &kind)| Column { name: format!("c\"{i}é"), sql_type: "x".into(), kind, nullable: true })
            .collect(),
    }
}

fn batch(width: usize, rows: &[Row]) -> Batch {
    let mut b = BatchBuilder::new(width);
    for row in rows {
        for (i, (value, class)) in row.iter().enumerate() {
            match class {
                0 => b.column_mut(i).push(value.as_deref()),
                &c => b.column_mut(i).push_typed(value.as_deref(), c),
            }
        }
    }
    b.finish().expect("batch")
}

fn rows_of(batch: &Batch) -> Vec<Row> {
    let view = batch.view().expect("valid batch");
    (0..view.rows())
        .map(|r| {
            view.columns()
                .iter()
                .map(|c| (c.value(r).map(<[u8]>::to_vec), c.value_type(r).filter(|&t| t != b'n').unwrap_or(0)))
                .collect()
        })
        .collect()
}

fn format_all(table: &Table, rows: &[Row]) -> Vec<u8> {
    let (mut f, mut out) = Jsonl::header(table, "").expect("header");
    let mid = rows.len() / 2;
    out.extend(f.format(&batch(table.columns.len(), &rows[..mid])).expect("format"));
    out.extend(f.format(&batch(table.columns.len(), &rows[mid..])).expect("format"));
    out.extend(f.trailer().expect("trailer"));
    out
}

fn parse_pieces(table: &Table, bytes: &[u8], piece: usize) -> Result<Vec<Row>, StageError> {
    let mut p = JsonlParser::start(table, "")?;
    let mut rows = Vec::new();
    for chunk in bytes.chunks(piece.max(1)) {
        rows.extend(rows_of(&p.parse(chunk)?));
    }
    rows.extend(rows_of(&p.end()?));
    Ok(rows)
}

fn v(s: &[u8]) -> (Option<Vec<u8>>, u8) {
    (Some(s.to_vec()), 0)
}

fn typed(s: &[u8], class: u8) -> (Option<Vec<u8>>, u8) {
    (Some(s.to_vec()), class)
}

const NULL: (Option<Vec<u8>>, u8) = (None, 0);

/// Checks `rows` survive a format + parse, fed in every piece size up to 40
/// and whole; returns the file.
fn round_trip(table: &Table, rows: &[Row]) -> Vec<u8> {
    let file = format_all(table, rows);
    for piece in (1..40).chain([file.len()]) {
        assert_eq!(parse_pieces(table, &file, piece).expect("parses"), rows, "piece {piece}\n{}", show(&file));
    }
    file
}

fn show(file: &[u8]) -> String {
    String::from_utf8_lossy(file).into_owned()
}

fn postgres_kinds() -> Vec<ColumnKind> {
    use ColumnKind::*;
    vec![Boolean, Integer, Float, Decimal, Text, Binary, Json, Timestamp]
}

#[test]
fn postgres_values_come_back_exactly_and_read_as_typed_json() {
    let t = table(Dialect::Postgres, &postgres_kinds());
    let all_bytes: Vec<u8> = (0..=255).collect();
    let rows: Vec<Row> = vec![
        vec![
            v(b"t"),
            v(b"42"),
            v(b"1.5"),
            v(b"12345678901234567890.000001"),
            v(b"a\"b\\c\n\r\t\x01\x7f \xc3\xa9"),
            v(&all_bytes),
            v(b"{\"a\": [1, 2.5e3, null], \"a\": true}"),
            v(b"2024-01-31 10:00:00+00"),
        ],
        vec![
            v(b"f"),
            v(b"-9007199254740992"),
            v(b"NaN"),
            v(b"NaN"),
            v(b""),
            v(b""),
            v(b"\"just a string\""),
            v(b"infinity"),
        ],
        vec![
            NULL,
            v(b"9223372036854775807"),
            v(b"-Infinity"),
            v(b"-0"),
            v(b"  trailing  "),
            v(b"\x00"),
            v(b"null"),
            v(b"-infinity"),
        ],
        vec![NULL, v(b"-0"), v(b"-0"), NULL, v(b"\\N"), NULL, v(b" [1]"), v(b"4713-01-01 BC")],
        vec![NULL, NULL, v(b"1e+30"), v(b"0"), NULL, NULL, v(b"{\n\"multi\": \"line\"}"), NULL],
        vec![NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL],
    ];
    let file = round_trip(&t, &rows);
    let lines: Vec<&str> = std::str::from_utf8(&file).expect("UTF-8").lines().collect();
    assert_eq!(lines.len(), rows.len());
    assert!(
        lines[0].starts_with(
            "{\"c\\\"0é\":true,\"c\\\"1é\":42,\"c\\\"2é\":1.5,\"c\\\"3é\":\"12345678901234567890.000001\""
        ),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(",\"c\\\"6é\":{\"a\": [1, 2.5e3, null], \"a\": true},"), "json embedded: {}", lines[0]);
    assert!(lines[1].contains(":-9007199254740992,") && lines[1].contains(":\"NaN\","), "{}", lines[1]);
    assert!(lines[1].contains(",\"c\\\"5é\":{\"base64\":\"\"},"), "{}", lines[1]);
    assert!(lines[1].contains(",\"c\\\"6é\":\"\\\"just a string\\\"\","), "a json string is a string: {}", lines[1]);
    assert!(lines[2].contains(":\"9223372036854775807\","), "beyond 2^53 is a string: {}", lines[2]);
    assert!(lines[2].contains(",\"c\\\"6é\":\"null\","), "json null is not SQL NULL: {}", lines[2]);
    assert!(lines[3].contains(":\"-0\",\"c\\\"2é\":-0,"), "integer -0 stays text, float -0 a number: {}", lines[3]);
    assert!(lines[4].contains(":\"{\\n\\\"multi\\\": \\\"line\\\"}\""), "a json line break is a string: {}", lines[4]);
    assert_eq!(
        lines[5],
        "{\"c\\\"0é\":null,\"c\\\"1é\":null,\"c\\\"2é\":null,\"c\\\"3é\":null,\"c\\\"4é\":null,\"c\\\"5é\":null,\"c\\\"6é\":null,\"c\\\"7é\":null}"
    );
}

#[test]
fn mysql_text_that_is_not_utf8_is_tagged() {
    let t = table(Dialect::Mysql, &[ColumnKind::Text, ColumnKind::Binary, ColumnKind::Integer]);
    let rows: Vec<Row> = vec![vec![v(b"caf\xe9\x00"), v(b"\xff\x00"), v(b"18446744073709551615")]];
    let file = round_trip(&t, &rows);
    assert_eq!(
        show(&file),
        "{\"c\\\"0é\":{\"text_base64\":\"Y2Fm6QA=\"},\"c\\\"1é\":{\"base64\":\"/wA=\"},\"c\\\"2é\":\"18446744073709551615\"}\n"
    );
}

#[test]
fn sqlite_storage_classes_survive_in_any_column() {
    use ColumnKind::*;
    let t = table(Dialect::Sqlite, &[Integer, Float, Text, Binary]);
    let rows: Vec<Row> = vec![
        vec![typed(b"1", b'i'), typed(b"1.0", b'r'), typed(b"x", b't'), typed(b"\x00\x01", b'b')],
        vec![typed(b"text in an integer column", b't'), typed(b"1", b'r'), typed(b"42", b'i'), typed(b"4.5", b'r')],
        vec![typed(b"-9223372036854775808", b'i'), typed(b"inf", b'r'), typed(b"-inf", b'r'), typed(b"12", b't')],
        vec![typed(b"\xc3", b't'), typed(b"1e-300", b'r'), (None, 0), typed(b"", b'b')],
    ];
    // Untyped NULLs parse back as typed `n`: compare what the parser gives.
    let file = format_all(&t, &rows);
    let text = show(&file);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "{\"c\\\"0é\":1,\"c\\\"1é\":1.0,\"c\\\"2é\":\"x\",\"c\\\"3é\":{\"base64\":\"AAE=\"}}");
    assert_eq!(
        lines[1],
        "{\"c\\\"0é\":\"text in an integer column\",\"c\\\"1é\":{\"real\":\"1\"},\"c\\\"2é\":42,\"c\\\"3é\":4.5}"
    );
    assert!(
        lines[2].starts_with("{\"c\\\"0é\":{\"integer\":\"-9223372036854775808\"},\"c\\\"1é\":{\"real\":\"inf\"}"),
        "{}",
        lines[2]
    );
    assert!(lines[3].starts_with("{\"c\\\"0é\":{\"text_base64\":\"ww==\"}"), "{}", lines[3]);
    for piece in [1, 7, file.len()] {
        assert_eq!(parse_pieces(&t, &file, piece).expect("parses"), rows, "piece {piece}");
    }
}

#[test]
fn a_table_without_columns_keeps_its_rows() {
    let t = table(Dialect::Postgres, &[]);
    let mut p = JsonlParser::start(&t, "").expect("start");
    let batch = p.parse(b"{}\n{}\n{}").expect("parse");
    assert_eq!(batch.rows, 2);
    assert!(p.end().is_err(), "a row without its line break is an unfinished file");
    let (f, head) = Jsonl::header(&t, "").expect("header");
    assert!(head.is_empty());
    let mut out = Vec::new();
    f.encoder.batch(&Batch { rows: 2, columns: vec![] }, &mut out).expect("format");
    assert_eq!(out, b"{}\n{}\n");
}

#[test]
fn bad_input_is_refused_with_the_line_and_column() {
    let t = table(Dialect::Postgres, &[ColumnKind::Integer, ColumnKind::Binary]);
    let cases: [(&[u8], &str); 7] = [
        (b"[1,2]\n", "line 1: a row is a JSON object"),
        (b"{\"c\\\"0\xc3\xa9\":1}\n", "line 1: expected ',' before key"),
        (b"{\"c\\\"0\xc3\xa9\":1,\"other\":null}\n", "expected key \"c\"1é\", found \"other\""),
        (b"{\"c\\\"0\xc3\xa9\":1,\"c\\\"1\xc3\xa9\":\"AAE=\"}\n", "column c\"1é: bytes are written as"),
        (b"{\"c\\\"0\xc3\xa9\":1,\"c\\\"1\xc3\xa9\":{\"base64\":\"!!\"}}\n", "bad base64"),
        (b"{\"c\\\"0\xc3\xa9\":tru,\"c\\\"1\xc3\xa9\":null}\n", "column c\"0é: not a JSON value"),
        (b"{\"c\\\"0\xc3\xa9\":1,\"c\\\"1\xc3\xa9\":null} x\n", "expected the row to end after its 2 columns"),
    ];
    for (input, expected) in cases {
        let error = parse_pieces(&t, input, 1000).expect_err("bad input").message().to_owned();
        assert!(error.contains(expected), "{error:?} should contain {expected:?}");
    }
}

#[test]
fn json_helpers_follow_the_grammar() {
    use crate::json::*;
    for good in ["0", "-0", "1.5", "1e5", "1E+5", "-2.5e-3", "123"] {
        assert!(is_number(good.as_bytes()), "{good}");
    }
    for bad in ["01", "1.", ".5", "+1", "NaN", "Infinity", "1e", "-", ""] {
        assert!(!is_number(bad.as_bytes()), "{bad}");
    }
    assert!(is_safe_integer(b"9007199254740992") && is_safe_integer(b"-9007199254740992"));
    assert!(!is_safe_integer(b"9007199254740993") && !is_safe_integer(b"-0") && !is_safe_integer(b"007"));
    let mut out = Vec::new();
    assert!(decode_string(b"\"\\ud83d\\ude00 \\u00e9\\/\"", &mut out).is_some());
    assert_eq!(out, "😀 é/".as_bytes());
    assert!(decode_string(b"\"\\ud83d\"", &mut Vec::new()).is_none(), "a lone surrogate is not text");
    let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
    assert_eq!(value_end(deep.as_bytes(), 0, MAX_DEPTH), None);
    let t = table(Dialect::Postgres, &[ColumnKind::Json]);
    round_trip(&t, &[vec![v(deep.as_bytes())], vec![v(b"{\"bad\": }")]]);
}

/// The word-at-a-time string writer against a byte-at-a-time reference, for
/// every ASCII byte at every offset of a block and of the tail.
#[test]
fn strings_escape_exactly_the_bytes_json_requires_at_any_offset() {
    fn reference(text: &str) -> Vec<u8> {
        let mut out = vec![b'"'];
        for &b in text.as_bytes() {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                0..=0x1f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
                _ => out.push(b),
            }
        }
        out.push(b'"');
        out
    }
    for b in 0..=0x7fu8 {
        for at in 0..20 {
            let mut text = "a".repeat(at);
            text.push(char::from(b));
            text.push_str("bcdéfgh\u{1f980}");
            let mut out = Vec::new();
            crate::json::write_string(&text, &mut out);
            assert_eq!(out, reference(&text), "byte {b:#x} at {at}");
        }
    }
}

#[test]
fn text_is_checked_for_utf8_wherever_its_first_non_ascii_byte_is() {
    for at in 0..20 {
        let mut bytes = "a\"".repeat(at).into_bytes();
        let mut good = bytes.clone();
        good.extend_from_slice("xyz plain ascii é\u{1f980}\n".as_bytes());
        let mut out = Vec::new();
        assert!(crate::json::write_utf8(&good, &mut out), "{at}");
        let mut expected = Vec::new();
        crate::json::write_string(std::str::from_utf8(&good).expect("utf-8"), &mut expected);
        assert_eq!(out, expected);
        bytes.extend_from_slice(b"\xc3\x28 rest");
        let mut out = b"kept".to_vec();
        assert!(!crate::json::write_utf8(&bytes, &mut out), "{at}");
        assert_eq!(out, b"kept");
    }
}
