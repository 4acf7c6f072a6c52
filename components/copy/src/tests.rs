//! Format and parse tests for the COPY text formatter, run natively.

use super::*;
use sluice_sdk::{BatchBuilder, Column, ColumnKind, Dialect, Parser};

type Row = Vec<Option<Vec<u8>>>;

fn table(kinds: &[ColumnKind]) -> Table {
    Table {
        schema: "public".into(),
        name: "t".into(),
        dialect: Dialect::Postgres,
        columns: kinds
            .iter()
            .enumerate()
            .map(|(i, &kind)| Column { name: format!("c{i}"), sql_type: "text".into(), kind, nullable: true })
            .collect(),
    }
}

fn batch(width: usize, rows: &[Row]) -> Batch {
    let mut b = BatchBuilder::new(width);
    for row in rows {
        let values: Vec<Option<&[u8]>> = row.iter().map(|v| v.as_deref()).collect();
        b.push_row(&values).expect("row width");
    }
    b.finish().expect("batch")
}

fn rows_of(batch: &Batch) -> Vec<Row> {
    let view = batch.view().expect("valid batch");
    (0..view.rows()).map(|r| view.columns().iter().map(|c| c.value(r).map(<[u8]>::to_vec)).collect()).collect()
}

fn format_all(table: &Table, rows: &[Row]) -> Vec<u8> {
    let (mut f, mut out) = CopyText::header(table, "").expect("header");
    // Two batches, to check batches simply concatenate.
    let mid = rows.len() / 2;
    out.extend(f.format(&batch(table.columns.len(), &rows[..mid])).expect("format"));
    out.extend(f.format(&batch(table.columns.len(), &rows[mid..])).expect("format"));
    out.extend(f.trailer().expect("trailer"));
    out
}

/// Parses `bytes` fed in pieces of `piece` bytes.
fn parse_pieces(table: &Table, bytes: &[u8], piece: usize) -> Result<Vec<Row>, StageError> {
    let mut p = CopyParser::start(table, "")?;
    let mut rows = Vec::new();
    for chunk in bytes.chunks(piece.max(1)) {
        rows.extend(rows_of(&p.parse(chunk)?));
    }
    rows.extend(rows_of(&p.end()?));
    Ok(rows)
}

fn v(s: &[u8]) -> Option<Vec<u8>> {
    Some(s.to_vec())
}

fn tricky_rows() -> Vec<Row> {
    vec![
        vec![v(b"plain"), v(b"\x00\x01binary\xff")],
        vec![v(b"tab\there"), None],
        vec![v(b"line\nbreak\r\nand cr\r"), v(b"")],
        vec![v(b"back\\slash \\N \\. \\x41"), v(b"\\")],
        vec![v(b"\x08\x0c\x0b controls \x07\x1b"), v(b"\t\n")],
        vec![v("Unicode: żółć 日本語 🦀".as_bytes()), v(b"x")],
        vec![v(b""), v(b"")],
        vec![None, None],
        vec![v(b"\\N"), v(b"N")],
        vec![v(b"\\."), v(b".")],
        vec![v(b"ends with backslash\\"), v(b"\\\\")],
    ]
}

#[test]
fn format_writes_postgres_copy_text() {
    let t = table(&[ColumnKind::Text, ColumnKind::Integer, ColumnKind::Binary]);
    let rows = vec![
        vec![v(b"a\tb\nc\rd\\e\x08\x0c\x0bf"), v(b"1"), v(b"AB")],
        vec![None, v(b""), v(b"\x00\xff")],
        vec![v("é".as_bytes()), None, None],
        vec![v(b""), v(b"-2"), v(b"")],
    ];
    let out = format_all(&t, &rows);
    let expected = "a\\tb\\nc\\rd\\\\e\\b\\f\\vf\t1\t\\\\x4142\n\
                    \\N\t\t\\\\x00ff\n\
                    é\t\\N\t\\N\n\
                    \t-2\t\\\\x\n";
    assert_eq!(String::from_utf8(out).expect("utf8"), expected);
}

#[test]
fn header_and_trailer_are_empty() {
    let t = table(&[ColumnKind::Text]);
    let (f, header) = CopyText::header(&t, "").expect("header");
    assert!(header.is_empty());
    assert!(f.trailer().expect("trailer").is_empty());
    assert_eq!(CopyText::EXTENSION, "copy");
}

#[test]
fn round_trip_survives_any_split() {
    let t = table(&[ColumnKind::Text, ColumnKind::Text]);
    let rows = tricky_rows();
    let bytes = format_all(&t, &rows);
    for piece in [1, 2, 3, 5, 7, 64, bytes.len()] {
        assert_eq!(parse_pieces(&t, &bytes, piece).expect("parse"), rows, "piece={piece}");
    }
}

#[test]
fn binary_column_round_trips_all_byte_values() {
    let t = table(&[ColumnKind::Binary, ColumnKind::Text]);
    let all: Vec<u8> = (0..=255).collect();
    let rows: Vec<Row> = vec![vec![Some(all.clone()), Some(all.clone())], vec![v(b""), None], vec![None, v(b"")]]
        .into_iter()
        .chain((0..=255u8).map(|b| vec![v(&[b]), v(&[b])]))
        .collect();
    let bytes = format_all(&t, &rows);
    assert!(bytes.starts_with(b"\\\\x000102"));
    assert_eq!(parse_pieces(&t, &bytes, 1).expect("parse"), rows);
    assert_eq!(parse_pieces(&t, &bytes, 4096).expect("parse"), rows);
}

#[test]
fn parse_accepts_postgres_escapes() {
    let t = table(&[ColumnKind::Text, ColumnKind::Binary]);
    // Octal (1 to 3 digits, then a non-digit), hex (1 or 2 digits), `\x` with
    // no digits, `\c` for other characters, backslash before a raw newline,
    // `\r\n` line ends and the `\.` end line.
    let input = b"\\101\\7z\\1010\\x41\\x4g\\xg\\q\\\n\t\\\\x41\r\n\\N\t\\\\x4142\n\\.\n";
    for piece in [1, 2, 3, input.len()] {
        let rows = parse_pieces(&t, input, piece).expect("parse");
        assert_eq!(rows, vec![vec![v(b"A\x07zA0A\x04gxgq\n"), v(b"A")], vec![None, v(b"\x41\x42")]], "piece={piece}");
    }
}

#[test]
fn parse_accepts_end_marker_without_newline() {
    let t = table(&[ColumnKind::Text]);
    assert_eq!(parse_pieces(&t, b"a\n\\.", 1).expect("parse"), vec![vec![v(b"a")]]);
}

#[test]
fn parse_rejects_data_after_end_marker() {
    let t = table(&[ColumnKind::Text]);
    assert!(matches!(parse_pieces(&t, b"a\n\\.\nb\n", 3), Err(StageError::InvalidInput(_))));
}

#[test]
fn parse_rejects_wrong_field_count_naming_the_row() {
    let t = table(&[ColumnKind::Text, ColumnKind::Text]);
    for input in [&b"a\tb\nc\td\ne\n"[..], b"a\tb\nc\td\ne\tf\tg\n"] {
        match parse_pieces(&t, input, 2) {
            Err(StageError::InvalidInput(m)) => assert!(m.contains("row 3"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn parse_end_rejects_a_partial_row() {
    let t = table(&[ColumnKind::Text]);
    for input in [&b"a\nb"[..], b"a\\", b"a\n\r", b"a\nb\\"] {
        assert!(matches!(parse_pieces(&t, input, 1), Err(StageError::InvalidInput(_))), "{input:?}");
    }
}

#[test]
fn parse_rejects_bad_hex_in_binary_column() {
    let t = table(&[ColumnKind::Binary]);
    for input in [&b"\\\\x4\n"[..], b"\\\\xzz\n"] {
        match parse_pieces(&t, input, 1) {
            Err(StageError::InvalidInput(m)) => assert!(m.contains("column c0"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn parse_rejects_literal_carriage_return() {
    let t = table(&[ColumnKind::Text]);
    assert!(matches!(parse_pieces(&t, b"a\rb\n", 1), Err(StageError::InvalidInput(_))));
}

#[test]
fn table_without_columns_has_empty_lines() {
    let t = table(&[]);
    let (mut f, _) = CopyText::header(&t, "").expect("header");
    let mut b = BatchBuilder::new(0);
    b.push_row(&[]).expect("row");
    b.push_row(&[]).expect("row");
    let out = f.format(&b.finish().expect("batch")).expect("format");
    assert_eq!(out, b"\n\n");
    let mut p = CopyParser::start(&t, "").expect("start");
    assert_eq!(p.parse(&out).expect("parse").rows, 2);
    assert!(p.parse(b"x\n").is_err());
}

#[test]
fn format_rejects_batch_of_wrong_width() {
    let t = table(&[ColumnKind::Text, ColumnKind::Text]);
    let (mut f, _) = CopyText::header(&t, "").expect("header");
    assert!(matches!(f.format(&batch(1, &[vec![v(b"a")]])), Err(StageError::InvalidInput(_))));
}

#[test]
fn parse_output_batches_are_valid_and_hold_only_complete_rows() {
    let t = table(&[ColumnKind::Text]);
    let mut p = CopyParser::start(&t, "").expect("start");
    let first = p.parse(b"a\nb").expect("parse");
    assert_eq!(rows_of(&first), vec![vec![v(b"a")]]);
    let second = p.parse(b"c\n").expect("parse");
    assert_eq!(rows_of(&second), vec![vec![v(b"bc")]]);
    assert_eq!(p.end().expect("end").rows, 0);
}

/// The rows of `testdata/pg15.sql`, as a batch holds them.
fn pg15_rows() -> Vec<Row> {
    let controls: Vec<u8> = (1u8..=31).chain([127]).collect();
    let all: Vec<u8> = (0..=255).collect();
    vec![
        vec![v(b"1"), v(b"tab\there"), v(b"\x00\x01\xff")],
        vec![v(b"2"), v(b"nl\ncr\rbs\\bk\x08ff\x0cvt\x0b"), v(b"")],
        vec![v(b"3"), None, None],
        vec![v(b"4"), v(b""), v(b"\\\"")],
        vec![v(b"5"), v("Unicode żółć 🦀".as_bytes()), v(b"A")],
        vec![v(b"6"), v(b"\\N"), None],
        vec![v(b"7"), v(b"\\."), None],
        vec![v(b"8"), v(b" lead"), None],
        vec![v(b"9"), v(b"a,\"b\""), None],
        vec![v(b"10"), Some(controls), Some(all)],
    ]
}

/// `testdata/pg15.copy` is what PostgreSQL 15.18 wrote for
/// `COPY (<pg15.sql>) TO STDOUT`.
#[test]
fn output_is_byte_identical_to_postgres_and_parses_back() {
    let t = table(&[ColumnKind::Integer, ColumnKind::Text, ColumnKind::Binary]);
    let postgres = include_bytes!("../testdata/pg15.copy");
    assert_eq!(String::from_utf8_lossy(&format_all(&t, &pg15_rows())), String::from_utf8_lossy(postgres));
    assert_eq!(parse_pieces(&t, postgres, 1).expect("parse"), pg15_rows());
}
