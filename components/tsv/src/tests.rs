//! Format and parse tests for the LOAD DATA text formatter, run natively.

use super::*;
use sluice_sdk::{BatchBuilder, Column, ColumnKind, Dialect, Parser};

type Row = Vec<Option<Vec<u8>>>;

fn table(width: usize) -> Table {
    Table {
        schema: "db".into(),
        name: "t".into(),
        dialect: Dialect::Mysql,
        columns: (0..width)
            .map(|i| Column {
                name: format!("c{i}"),
                sql_type: "blob".into(),
                kind: ColumnKind::Binary,
                nullable: true,
            })
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

fn format_all(width: usize, rows: &[Row]) -> Vec<u8> {
    let t = table(width);
    let (mut f, mut out) = Tsv::header(&t, "").expect("header");
    let mid = rows.len() / 2;
    out.extend(f.format(&batch(width, &rows[..mid])).expect("format"));
    out.extend(f.format(&batch(width, &rows[mid..])).expect("format"));
    out.extend(f.trailer().expect("trailer"));
    out
}

fn parse_pieces(width: usize, bytes: &[u8], piece: usize) -> Result<Vec<Row>, StageError> {
    let mut p = TsvParser::start(&table(width), "")?;
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

#[test]
fn values_are_escaped_as_load_data_reads_them() {
    let rows = vec![
        vec![v(b"1"), v(b"tab\there\\ lf\n cr\r nul\0 \x1a \xff"), None],
        vec![None, v(b""), v(b"\\N")],
        vec![v(b"N"), v(b"'\""), v(b"  trailing  ")],
    ];
    let out = format_all(3, &rows);
    let expected: &[u8] = b"1\ttab\\there\\\\ lf\\n cr\\r nul\\0 \x1a \xff\t\\N\n\
                            \\N\t\t\\\\N\n\
                            N\t'\"\t  trailing  \n";
    assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(expected));
    assert_eq!(out, expected);
    for piece in [1, 2, 3, out.len()] {
        assert_eq!(parse_pieces(3, &out, piece).expect("parse"), rows, "pieces of {piece}");
    }
}

#[test]
fn every_byte_value_round_trips() {
    let all: Vec<u8> = (0..=255).collect();
    let mut rows: Vec<Row> = (0..=255u8).map(|b| vec![v(&[b]), v(&[b, b])]).collect();
    rows.push(vec![v(&all), None]);
    rows.push(vec![v(b"\\"), v(b"\\\\N\\")]);
    let out = format_all(2, &rows);
    for piece in [1, 7, out.len()] {
        assert_eq!(parse_pieces(2, &out, piece).expect("parse"), rows, "pieces of {piece}");
    }
}

#[test]
fn other_load_data_escapes_read_as_mysql_reads_them() {
    let rows = parse_pieces(1, b"\\b\\Z\\x\\'\n", 1).expect("parse");
    assert_eq!(rows, vec![vec![v(b"\x08\x1ax'")]]);
}

#[test]
fn tables_without_columns_and_empty_chunks() {
    let rows: Vec<Row> = vec![vec![], vec![], vec![]];
    let out = format_all(0, &rows);
    assert_eq!(out, b"\n\n\n");
    assert_eq!(parse_pieces(0, &out, 1).expect("parse").len(), 3);
    assert!(format_all(2, &[]).is_empty());
    assert!(parse_pieces(2, b"", 1).expect("parse").is_empty());
    assert_eq!(parse_pieces(1, b"\n", 1).expect("parse"), vec![vec![v(b"")]]);
}

#[test]
fn malformed_input_is_invalid_input() {
    for (width, bad) in
        [(2, &b"1\n"[..]), (1, b"1\t2\n"), (1, b"\\Nx\n"), (1, b"\\N\\t\n"), (1, b"1"), (1, b"abc\\"), (0, b"x\n")]
    {
        match parse_pieces(width, bad, 1) {
            Err(StageError::InvalidInput(_)) => {}
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bad)),
        }
    }
}

#[test]
fn the_extension_is_tsv_and_there_is_no_header_or_trailer() {
    assert_eq!(Tsv::EXTENSION, "tsv");
    let (f, header) = Tsv::header(&table(1), "").expect("header");
    assert!(header.is_empty());
    assert!(f.trailer().expect("trailer").is_empty());
}
