//! Format and parse tests for the SQL formatter, run natively.

use super::*;
use sluice_sdk::{BatchBuilder, Column, ColumnBuilder, ColumnKind, Parser};

/// A value and its storage class (`None`: the batch carries no classes).
type Cell = (Option<Vec<u8>>, Option<u8>);
type Row = Vec<Cell>;

fn table_named(dialect: Dialect, name: &str, columns: &[(&str, &str, ColumnKind)]) -> Table {
    Table {
        schema: "main".into(),
        name: name.into(),
        dialect,
        columns: columns
            .iter()
            .map(|&(name, sql_type, kind)| Column {
                name: name.into(),
                sql_type: sql_type.into(),
                kind,
                nullable: true,
            })
            .collect(),
    }
}

fn table(dialect: Dialect, kinds: &[ColumnKind]) -> Table {
    let names: Vec<String> = (0..kinds.len()).map(|i| format!("c{i}")).collect();
    let columns: Vec<(&str, &str, ColumnKind)> = names.iter().zip(kinds).map(|(n, &k)| (n.as_str(), "", k)).collect();
    table_named(dialect, "t", &columns)
}

/// Untyped value.
fn v(s: &[u8]) -> Cell {
    (Some(s.to_vec()), None)
}

/// Value of class `class`.
fn tv(class: u8, s: &[u8]) -> Cell {
    (Some(s.to_vec()), Some(class))
}

/// Untyped NULL.
fn null() -> Cell {
    (None, None)
}

/// NULL in a typed (SQLite) batch.
fn tnull() -> Cell {
    (None, Some(b'n'))
}

fn batch(width: usize, rows: &[Row]) -> Batch {
    let mut columns: Vec<ColumnBuilder> = (0..width).map(|_| ColumnBuilder::new()).collect();
    for row in rows {
        assert_eq!(row.len(), width, "test row width");
        for (column, (value, class)) in columns.iter_mut().zip(row) {
            column.push_like(value.as_deref(), *class);
        }
    }
    if width == 0 {
        let mut b = BatchBuilder::new(0);
        rows.iter().for_each(|_| b.push_row(&[]).expect("row"));
        return b.finish().expect("batch");
    }
    Batch { rows: rows.len() as u32, columns: columns.into_iter().map(ColumnBuilder::finish).collect() }
}

fn rows_of(batch: &Batch) -> Vec<Row> {
    let view = batch.view().expect("valid batch");
    (0..view.rows())
        .map(|r| view.columns().iter().map(|c| (c.value(r).map(<[u8]>::to_vec), c.value_type(r))).collect())
        .collect()
}

/// Formats each slice of `batches` as one batch.
fn format_batches(table: &Table, config: &str, batches: &[&[Row]]) -> Vec<u8> {
    let (mut f, mut out) = SqlText::header(table, config).expect("header");
    for rows in batches {
        out.extend(f.format(&batch(table.columns.len(), rows)).expect("format"));
    }
    out.extend(f.trailer().expect("trailer"));
    out
}

fn format_all(table: &Table, rows: &[Row]) -> Vec<u8> {
    // Two batches, to check batches simply follow each other.
    let mid = rows.len() / 2;
    format_batches(table, "", &[&rows[..mid], &rows[mid..]])
}

/// Parses `pieces` fed one after another.
fn parse_split<'a>(table: &Table, pieces: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<Row>, StageError> {
    let mut p = SqlParser::start(table, "")?;
    let mut rows = Vec::new();
    for piece in pieces {
        rows.extend(rows_of(&p.parse(piece)?));
    }
    rows.extend(rows_of(&p.end()?));
    Ok(rows)
}

fn parse_pieces(table: &Table, bytes: &[u8], piece: usize) -> Result<Vec<Row>, StageError> {
    parse_split(table, bytes.chunks(piece.max(1)))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf8 output")
}

/// The statements of a file whose values hold no `;\nINSERT`.
fn statements(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..bytes.len() {
        if bytes[i..].starts_with(b";\nINSERT INTO ") {
            out.push(&bytes[start..i + 2]);
            start = i + 2;
        }
    }
    if start < bytes.len() {
        out.push(&bytes[start..]);
    }
    out
}

fn expect_invalid_input(result: Result<Vec<Row>, StageError>, needle: &str) {
    match result {
        Err(StageError::InvalidInput(m)) => assert!(m.contains(needle), "{m:?} lacks {needle:?}"),
        other => panic!("expected invalid-input containing {needle:?}, got {other:?}"),
    }
}

fn expect_invalid_config<T: std::fmt::Debug>(result: Result<T, StageError>, config: &str) {
    assert!(matches!(result, Err(StageError::InvalidConfig(_))), "{config:?}: {result:?}");
}

fn sqlite_people() -> Table {
    table_named(
        Dialect::Sqlite,
        "peo\"ple",
        &[
            ("id", "INTEGER", ColumnKind::Integer),
            ("name", "TEXT", ColumnKind::Text),
            ("score", "REAL", ColumnKind::Float),
            ("da\"ta", "", ColumnKind::Binary),
        ],
    )
}

fn mysql_people() -> Table {
    table_named(
        Dialect::Mysql,
        "peo`ple",
        &[
            ("id", "bigint", ColumnKind::Integer),
            ("name", "varchar(20)", ColumnKind::Text),
            ("price", "decimal(10,2)", ColumnKind::Decimal),
            ("flags", "bit(8)", ColumnKind::Other),
            ("photo", "blob", ColumnKind::Binary),
            ("born", "date", ColumnKind::Date),
        ],
    )
}

#[test]
fn sqlite_statements_list_columns_and_write_each_class_as_sqlite_reads_it() {
    let rows = vec![
        vec![tv(b'i', b"1"), tv(b't', b"Ada"), tv(b'r', b"5"), tv(b'b', b"\x00\xff")],
        vec![tv(b'i', b"-2"), tnull(), tv(b'r', b"inf"), tv(b't', b"it's\n")],
        vec![tv(b't', b"3"), tv(b't', b"nul\0"), tv(b'r', b"-inf"), tv(b'i', b"7")],
        vec![tv(b'r', b"0.5"), tv(b'b', b""), tv(b'r', b"1e300"), tv(b't', b"\xff")],
    ];
    let out = format_all(&sqlite_people(), &rows);
    let expected = "INSERT INTO \"peo\"\"ple\" (\"id\",\"name\",\"score\",\"da\"\"ta\") VALUES\n\
                    (1,'Ada',5.0,X'00ff'),\n\
                    (-2,NULL,9e999,'it''s\n');\n\
                    INSERT INTO \"peo\"\"ple\" (\"id\",\"name\",\"score\",\"da\"\"ta\") VALUES\n\
                    ('3',CAST(X'6e756c00' AS TEXT),-9e999,7),\n\
                    (0.5,X'',1e300,CAST(X'ff' AS TEXT));\n";
    assert_eq!(text(&out), expected);
}

#[test]
fn mysql_statements_escape_strings_and_write_numbers_bits_and_blobs_bare() {
    let rows = vec![
        vec![v(b"1"), v(b"O'Brien \\ \"q\""), v(b"12.50"), v(b"5"), v(b"\x00\x1a"), v(b"2024-01-31")],
        vec![v(b"-9223372036854775808"), v(b"nul\0 lf\n cr\r ctrl-z\x1a tab\t"), null(), v(b"0"), v(b""), null()],
        vec![v(b"18446744073709551615"), v(b""), v(b"not a number"), null(), null(), v(b"bad \xff utf8")],
    ];
    let out = format_all(&mysql_people(), &rows);
    let expected = "INSERT INTO `peo``ple` (`id`,`name`,`price`,`flags`,`photo`,`born`) VALUES\n\
                    (1,'O\\'Brien \\\\ \"q\"',12.50,5,X'001a','2024-01-31');\n\
                    INSERT INTO `peo``ple` (`id`,`name`,`price`,`flags`,`photo`,`born`) VALUES\n\
                    (-9223372036854775808,'nul\\0 lf\\n cr\\r ctrl-z\\Z tab\t',NULL,0,X'',NULL),\n\
                    (18446744073709551615,'','not a number',NULL,NULL,X'62616420ff2075746638');\n";
    assert_eq!(text(&out), expected);
    let parsed = parse_pieces(&mysql_people(), &out, 1).expect("parse");
    assert_eq!(parsed, rows);
}

#[test]
fn header_and_trailer_are_empty_and_the_extension_is_sql() {
    let t = sqlite_people();
    let (f, header) = SqlText::header(&t, "").expect("header");
    assert!(header.is_empty());
    assert!(f.trailer().expect("trailer").is_empty());
    assert_eq!(SqlText::EXTENSION, "sql");
}

/// Every single byte and all 256 together, as text and as blob, plus the
/// characters each dialect treats specially.
fn every_byte_rows(text_class: Option<u8>, blob_class: Option<u8>) -> Vec<Row> {
    let all: Vec<u8> = (0..=255).collect();
    let cell = |class: Option<u8>, s: &[u8]| (Some(s.to_vec()), class);
    let mut rows: Vec<Row> = (0..=255u8).map(|b| vec![cell(text_class, &[b]), cell(blob_class, &[b])]).collect();
    for special in [
        &all[..],
        b"",
        b"''",
        b"'",
        b"\\",
        b"\\'",
        b"\\\\'\\",
        b"\r\n",
        b"a\nb\rc",
        b"\0",
        b"\0\0'\0",
        b"\xc3\x28",
        b"\xff\xfe",
        "żółć 🦀".as_bytes(),
        b"NULL",
        b"X''",
        b"CAST(X'00' AS TEXT)",
        b"1,2),\n(3",
        b"');\nINSERT",
    ] {
        rows.push(vec![cell(text_class, special), cell(blob_class, special)]);
    }
    rows.push(vec![(None, text_class.map(|_| b'n')), cell(blob_class, b"")]);
    rows.push(vec![cell(text_class, b""), (None, blob_class.map(|_| b'n'))]);
    rows
}

#[test]
fn sqlite_round_trip_keeps_every_byte_value_in_text_and_blob() {
    let t = table(Dialect::Sqlite, &[ColumnKind::Text, ColumnKind::Binary]);
    let rows = every_byte_rows(Some(b't'), Some(b'b'));
    let bytes = format_all(&t, &rows);
    assert_eq!(parse_pieces(&t, &bytes, bytes.len()).expect("parse"), rows);
    assert_eq!(parse_pieces(&t, &bytes, 7).expect("parse"), rows);
}

#[test]
fn sqlite_untyped_columns_read_back_with_the_classes_they_were_written_as() {
    let t = table(Dialect::Sqlite, &[ColumnKind::Text, ColumnKind::Binary]);
    let rows = every_byte_rows(None, None);
    let expected = every_byte_rows(Some(b't'), Some(b'b'));
    assert_eq!(parse_pieces(&t, &format_all(&t, &rows), 5).expect("parse"), expected);
}

fn postgres_people() -> Table {
    let mut t = table_named(
        Dialect::Postgres,
        "peo\"ple",
        &[
            ("id", "bigint", ColumnKind::Integer),
            ("name", "text", ColumnKind::Text),
            ("price", "numeric", ColumnKind::Decimal),
            ("score", "double precision", ColumnKind::Float),
            ("photo", "bytea", ColumnKind::Binary),
            ("ok", "boolean", ColumnKind::Boolean),
        ],
    );
    t.schema = "my schema".into();
    t
}

#[test]
fn postgres_statements_name_the_schema_and_quote_what_a_bare_literal_would_change() {
    let rows = vec![
        vec![v(b"1"), v(b"O'Brien"), v(b"12.50"), v(b"-0"), v(b"\x00\xff"), v(b"t")],
        vec![v(b"-9223372036854775808"), v(b"back\\slash ' lf\n"), v(b"NaN"), v(b"-Infinity"), v(b""), null()],
        vec![null(), v(b""), v(b"-0.000"), v(b"1e-300"), null(), v(b"f")],
    ];
    // The batch holds bytea as raw bytes.
    let out = format_all(&postgres_people(), &rows);
    let expected = "INSERT INTO \"my schema\".\"peo\"\"ple\" (\"id\",\"name\",\"price\",\"score\",\"photo\",\"ok\") OVERRIDING SYSTEM VALUE VALUES\n\
                    (1,'O''Brien',12.50,'-0',E'\\\\x00ff','t');\n\
                    INSERT INTO \"my schema\".\"peo\"\"ple\" (\"id\",\"name\",\"price\",\"score\",\"photo\",\"ok\") OVERRIDING SYSTEM VALUE VALUES\n\
                    (-9223372036854775808,E'back\\\\slash '' lf\n','NaN','-Infinity',E'\\\\x',NULL),\n\
                    (NULL,'','-0.000',1e-300,NULL,'f');\n";
    assert_eq!(text(&out), expected);
    assert_eq!(parse_pieces(&postgres_people(), &out, 1).expect("parse"), rows);
}

#[test]
fn postgres_round_trip_keeps_every_byte_value_in_text_and_bytea() {
    let t = table(Dialect::Postgres, &[ColumnKind::Text, ColumnKind::Binary]);
    // PostgreSQL text holds no NUL.
    let rows: Vec<Row> = every_byte_rows(None, None)
        .into_iter()
        .map(|mut row| {
            if let (Some(text), _) = &mut row[0] {
                text.retain(|&b| b != 0);
            }
            row
        })
        .collect();
    let bytes = format_all(&t, &rows);
    assert_eq!(parse_pieces(&t, &bytes, bytes.len()).expect("parse"), rows);
    assert_eq!(parse_pieces(&t, &bytes, 3).expect("parse"), rows);
}

#[test]
fn postgres_parse_rejects_what_it_never_writes() {
    let t = table(Dialect::Postgres, &[ColumnKind::Text]);
    let prefix = "INSERT INTO \"main\".\"t\" (\"c0\") OVERRIDING SYSTEM VALUE VALUES\n";
    expect_invalid_input(parse_split(&t, [format!("{prefix}(X'00');\n").as_bytes()]), "expected a value");
    expect_invalid_input(parse_split(&t, [format!("{prefix}(E'\\n');\n").as_bytes()]), "after a backslash");
    let bytea = table(Dialect::Postgres, &[ColumnKind::Binary]);
    expect_invalid_input(parse_split(&bytea, [format!("{prefix}(E'\\\\xfg');\n").as_bytes()]), "");
}

#[test]
fn mysql_round_trip_keeps_every_byte_value_in_text_and_blob() {
    let t = table(Dialect::Mysql, &[ColumnKind::Text, ColumnKind::Binary]);
    let rows = every_byte_rows(None, None);
    let bytes = format_all(&t, &rows);
    assert_eq!(parse_pieces(&t, &bytes, bytes.len()).expect("parse"), rows);
    assert_eq!(parse_pieces(&t, &bytes, 3).expect("parse"), rows);
}

#[test]
fn mysql_round_trip_keeps_numbers_bits_dates_and_nulls() {
    let t = mysql_people();
    let rows = vec![
        vec![v(b"9223372036854775807"), v(b"x"), v(b"-0.01"), v(b"255"), v(b"\xff"), v(b"1999-12-31")],
        vec![v(b"0"), null(), v(b"1e300"), v(b"0"), null(), v(b"")],
        vec![null(), v(b"12"), v(b"12.0"), null(), v(b"\\"), v(b"0000-00-00")],
    ];
    assert_eq!(parse_pieces(&t, &format_all(&t, &rows), 2).expect("parse"), rows);
}

#[test]
fn sqlite_integers_round_trip_at_the_i64_limits() {
    let t = table(Dialect::Sqlite, &[ColumnKind::Integer]);
    let rows: Vec<Row> = ["-9223372036854775808", "9223372036854775807", "0", "-1", "42"]
        .iter()
        .map(|n| vec![tv(b'i', n.as_bytes())])
        .collect();
    let bytes = format_all(&t, &rows);
    assert!(text(&bytes).contains("\n(-9223372036854775808),\n(9223372036854775807)"), "{}", text(&bytes));
    assert_eq!(parse_pieces(&t, &bytes, 1).expect("parse"), rows);
}

#[test]
fn sqlite_reals_stay_real_and_read_back_as_printed_shortest() {
    let t = table(Dialect::Sqlite, &[ColumnKind::Float]);
    // (value given, literal written, value read back)
    let cases: [(&str, &str, &str); 12] = [
        ("inf", "9e999", "inf"),
        ("-inf", "-9e999", "-inf"),
        ("1e300", "1e300", "1e300"),
        ("5", "5.0", "5"),
        ("5.0", "5.0", "5"),
        ("-0", "-0.0", "-0"),
        ("-0.0", "-0.0", "-0"),
        ("0.1", "0.1", "0.1"),
        ("1e-7", "1e-7", "1e-7"),
        ("1.5E+10", "1.5E+10", "1.5E+10"),
        ("100000000000000000000", "100000000000000000000.0", "100000000000000000000"),
        ("-2.50", "-2.50", "-2.50"),
    ];
    let rows: Vec<Row> = cases.iter().map(|(given, _, _)| vec![tv(b'r', given.as_bytes())]).collect();
    let bytes = format_batches(&t, "", &[&rows]);
    let written: Vec<String> = cases.iter().map(|(_, w, _)| format!("({w})")).collect();
    assert_eq!(text(&bytes), format!("INSERT INTO \"t\" (\"c0\") VALUES\n{};\n", written.join(",\n")));
    let back: Vec<Row> = cases.iter().map(|(_, _, r)| vec![tv(b'r', r.as_bytes())]).collect();
    assert_eq!(parse_pieces(&t, &bytes, 3).expect("parse"), back);
}

#[test]
fn sqlite_column_may_mix_every_class() {
    let t = table(Dialect::Sqlite, &[ColumnKind::Integer]);
    let rows = vec![
        vec![tv(b'i', b"1")],
        vec![tv(b'r', b"1.5")],
        vec![tv(b't', b"12")],
        vec![tv(b't', b"")],
        vec![tv(b'b', b"12")],
        vec![tv(b'b', b"")],
        vec![tnull()],
        vec![tv(b't', b"\0")],
        vec![tv(b'r', b"-inf")],
    ];
    let bytes = format_all(&t, &rows);
    assert_eq!(parse_pieces(&t, &bytes, 1).expect("parse"), rows);
}

#[test]
fn sqlite_values_with_a_class_their_text_cannot_have_are_written_as_text() {
    let t = table(Dialect::Sqlite, &[ColumnKind::Integer]);
    // E.g. a masked integer column whose values became hex digests.
    let rows = vec![vec![tv(b'i', b"a1b2")], vec![tv(b'i', b"1.5")], vec![tv(b'r', b"NaN")], vec![tv(b'i', b"")]];
    let bytes = format_batches(&t, "", &[&rows]);
    assert_eq!(text(&bytes), "INSERT INTO \"t\" (\"c0\") VALUES\n('a1b2'),\n('1.5'),\n('NaN'),\n('');\n");
    let unknown = batch(1, &[vec![tv(b'x', b"1")]]);
    let (mut f, _) = SqlText::header(&t, "").expect("header");
    assert!(matches!(f.format(&unknown), Err(StageError::InvalidInput(_))));
}

#[test]
fn sqlite_untyped_numeric_columns_write_numbers_bare_and_anything_else_quoted() {
    let t = table(Dialect::Sqlite, &[ColumnKind::Decimal, ColumnKind::Text, ColumnKind::Date]);
    let rows = vec![
        vec![v(b"12.50"), v(b"12"), v(b"2024-01-31")],
        vec![v(b"1e5"), v(b"it's"), null()],
        vec![v(b"NaN"), v(b""), v(b"7")],
        vec![v(b"-3"), null(), v(b"1.5")],
    ];
    let bytes = format_batches(&t, "", &[&rows]);
    assert_eq!(
        text(&bytes),
        "INSERT INTO \"t\" (\"c0\",\"c1\",\"c2\") VALUES\n\
         (12.50,'12','2024-01-31'),\n\
         (1e5,'it''s',NULL),\n\
         ('NaN','','7'),\n\
         (-3,NULL,'1.5');\n"
    );
    let back = parse_pieces(&t, &bytes, 4).expect("parse");
    let classes: Vec<Vec<Option<u8>>> = back.iter().map(|r| r.iter().map(|c| c.1).collect()).collect();
    let expected: Vec<Vec<Option<u8>>> =
        ["rtt", "rtn", "ttt", "int"].iter().map(|s| s.bytes().map(Some).collect()).collect();
    assert_eq!(classes, expected);
}

#[test]
fn sqlite_batches_carry_classes_on_every_column_and_mysql_batches_none() {
    let sqlite = table(Dialect::Sqlite, &[ColumnKind::Text, ColumnKind::Integer]);
    let mut p = SqlParser::start(&sqlite, "").expect("start");
    let b = p.parse(b"INSERT INTO \"t\" (\"c0\",\"c1\") VALUES\n(NULL,NULL),\n('a',1);\n").expect("parse");
    assert!(b.columns.iter().all(|c| c.types.len() == 2), "{b:?}");
    assert_eq!(b.columns[0].types, b"nt");
    let mysql = table(Dialect::Mysql, &[ColumnKind::Text, ColumnKind::Integer]);
    let mut p = SqlParser::start(&mysql, "").expect("start");
    let b = p.parse(b"INSERT INTO `t` (`c0`,`c1`) VALUES\n(NULL,NULL),\n('a',1);\n").expect("parse");
    assert!(b.columns.iter().all(|c| c.types.is_empty()), "{b:?}");
}

#[test]
fn batches_of_zero_one_and_many_rows() {
    let t = table(Dialect::Sqlite, &[ColumnKind::Integer, ColumnKind::Text]);
    let (mut f, _) = SqlText::header(&t, "").expect("header");
    assert!(f.format(&batch(2, &[])).expect("format").is_empty());
    assert!(f.format(&Batch::empty(2)).expect("format").is_empty());
    let one = f.format(&batch(2, &[vec![tv(b'i', b"1"), tv(b't', b"a")]])).expect("format");
    assert_eq!(text(&one), "INSERT INTO \"t\" (\"c0\",\"c1\") VALUES\n(1,'a');\n");
    let many: Vec<Row> = (0..2500).map(|i| vec![tv(b'i', i.to_string().as_bytes()), tnull()]).collect();
    let bytes = format_batches(&t, "", &[&[], &many[..1], &many[1..], &[]]);
    // 1 row alone, then 2499 rows by the default 1000 per statement.
    assert_eq!(text(&bytes).matches("INSERT INTO").count(), 4);
    assert_eq!(parse_pieces(&t, &bytes, 4096).expect("parse"), many);
    assert_eq!(parse_pieces(&t, b"", 1).expect("parse"), Vec::<Row>::new());
}

#[test]
fn rows_limit_splits_statements() {
    let t = table(Dialect::Mysql, &[ColumnKind::Integer]);
    let rows: Vec<Row> = (1..=5).map(|i| vec![v(i.to_string().as_bytes())]).collect();
    let bytes = format_batches(&t, "rows=2", &[&rows]);
    let expected = "INSERT INTO `t` (`c0`) VALUES\n(1),\n(2);\n\
                    INSERT INTO `t` (`c0`) VALUES\n(3),\n(4);\n\
                    INSERT INTO `t` (`c0`) VALUES\n(5);\n";
    assert_eq!(text(&bytes), expected);
    let single = format_batches(&t, "rows=1", &[&rows[..2]]);
    assert_eq!(text(&single), "INSERT INTO `t` (`c0`) VALUES\n(1);\nINSERT INTO `t` (`c0`) VALUES\n(2);\n");
    assert_eq!(parse_pieces(&t, &bytes, 1).expect("parse"), rows);
}

#[test]
fn bytes_limit_fills_statements_as_far_as_it_allows() {
    let t = table(Dialect::Sqlite, &[ColumnKind::Text]);
    let rows: Vec<Row> = (0..30).map(|i| vec![tv(b't', "x".repeat(i * 7 % 23).as_bytes())]).collect();
    let prefix = b"INSERT INTO \"t\" (\"c0\") VALUES\n".len();
    for limit in 1..400 {
        let bytes = format_batches(&t, &format!("bytes={limit}"), &[&rows]);
        let stmts = statements(&bytes);
        let counts: Vec<usize> = stmts.iter().map(|s| s.iter().filter(|&&b| b == b'\n').count() - 1).collect();
        assert_eq!(counts.iter().sum::<usize>(), rows.len(), "limit={limit}");
        for (k, stmt) in stmts.iter().enumerate() {
            assert!(stmt.len() <= limit || counts[k] == 1, "limit={limit}: {}", text(stmt));
            // The next statement's first row would not have fitted here.
            if let Some(next) = stmts.get(k + 1) {
                let first_row = next[prefix..].iter().position(|&b| b == b'\n').expect("row line") - 1;
                assert!(stmt.len() + 2 + first_row > limit, "limit={limit}: {} then {}", text(stmt), text(next));
            }
        }
        assert_eq!(parse_pieces(&t, &bytes, 64).expect("parse"), rows, "limit={limit}");
    }
    // A single row longer than the limit still goes out, alone.
    let long = vec![vec![tv(b't', b"short")], vec![tv(b't', &[b'y'; 100])], vec![tv(b't', b"short")]];
    let bytes = format_batches(&t, "bytes=60", &[&long]);
    assert_eq!(statements(&bytes).len(), 3);
}

#[test]
fn both_limits_apply_together() {
    let t = table(Dialect::Sqlite, &[ColumnKind::Integer]);
    let rows: Vec<Row> = (0..10).map(|_| vec![tv(b'i', b"1")]).collect();
    // Each statement: 31-byte prefix, `(1)` rows joined by `,\n`, `;\n`.
    let by_bytes = format_batches(&t, "rows=4, bytes=45", &[&rows]);
    assert_eq!(text(&by_bytes).matches("INSERT").count(), 4, "{}", text(&by_bytes));
    let by_rows = format_batches(&t, "bytes=1000 rows=4", &[&rows]);
    assert_eq!(text(&by_rows).matches("INSERT").count(), 3);
}

#[test]
fn file_parsed_and_formatted_again_is_the_same_file() {
    let sqlite = table(Dialect::Sqlite, &[ColumnKind::Float, ColumnKind::Text]);
    let mixed: Vec<Row> = [b"5", &b"-0"[..], b"inf", b"1e300", b"5.0", b"2.50", b"100"]
        .iter()
        .enumerate()
        .map(|(i, r)| vec![tv(if i == 6 { b'i' } else { b'r' }, r), tv(b't', b"a'\0\xff")])
        .collect();
    let mysql = mysql_people();
    let people = vec![
        vec![v(b"1"), v(b"a'b\\c\0"), v(b"1.50"), v(b"3"), v(b"\x00"), v(b"2024-01-31")],
        vec![null(), v(b"\xff"), v(b"x"), null(), v(b""), null()],
    ];
    for (t, rows, config) in [
        (&sqlite, &mixed, "rows=3"),
        (&sqlite, &every_byte_rows(None, None).iter().map(|r| vec![r[1].clone(), r[0].clone()]).collect(), ""),
        (&mysql, &people, "bytes=10"),
    ] {
        let file = format_batches(t, config, &[&rows[..1], &rows[1..]]);
        for stmt in statements(&file) {
            let mut p = SqlParser::start(t, config).expect("start");
            let mut parsed = p.parse(stmt).expect("parse");
            assert_eq!(p.end().expect("end").rows, 0);
            let (mut f, _) = SqlText::header(t, config).expect("header");
            // Values and classes as parsed, re-validated through a builder.
            parsed = batch(t.columns.len(), &rows_of(&parsed));
            assert_eq!(text(&f.format(&parsed).expect("format")), text(stmt));
        }
    }
}

#[test]
fn parse_survives_a_split_at_every_byte() {
    let sqlite = table(Dialect::Sqlite, &[ColumnKind::Integer, ColumnKind::Text, ColumnKind::Binary]);
    let sqlite_rows = vec![
        vec![tv(b'i', b"-12"), tv(b't', b"it's\r\n"), tv(b'b', b"\x00\xab")],
        vec![tv(b'r', b"inf"), tv(b't', b"\0\xff"), tnull()],
        vec![tv(b'r', b"2.5"), tnull(), tv(b'b', b"")],
        vec![tv(b'r', b"7"), tv(b't', b""), tv(b't', b"x")],
    ];
    let mysql = table(Dialect::Mysql, &[ColumnKind::Integer, ColumnKind::Text, ColumnKind::Binary]);
    let mysql_rows = vec![
        vec![v(b"-12"), v(b"it's \\ \0\n\r\x1a"), v(b"\x00\xab")],
        vec![null(), v(b"\xff"), null()],
        vec![v(b"1.5e3"), v(b""), v(b"")],
    ];
    for (t, rows) in [(&sqlite, &sqlite_rows), (&mysql, &mysql_rows)] {
        let bytes = format_batches(t, "rows=2", &[rows]);
        let expected = parse_pieces(t, &bytes, bytes.len()).expect("parse whole");
        for at in 0..=bytes.len() {
            let (a, b) = bytes.split_at(at);
            assert_eq!(parse_split(t, [a, b]).expect("parse"), expected, "split at {at}");
        }
        assert_eq!(parse_pieces(t, &bytes, 1).expect("parse"), expected);
    }
    // What comes back is what went in, but for the real 7 (its `.0`).
    let mut sqlite_back = sqlite_rows.clone();
    sqlite_back[3][0] = tv(b'r', b"7");
    let bytes = format_batches(&sqlite, "", &[&sqlite_rows]);
    assert_eq!(parse_pieces(&sqlite, &bytes, 1).expect("parse"), sqlite_back);
}

#[test]
fn parse_returns_rows_as_soon_as_they_are_complete() {
    let t = table(Dialect::Sqlite, &[ColumnKind::Integer]);
    let mut p = SqlParser::start(&t, "").expect("start");
    assert_eq!(p.parse(b"INSERT INTO \"t\" (\"c0\") VALUES\n(1)").expect("parse").rows, 1);
    assert_eq!(p.parse(b",\n(2").expect("parse").rows, 0);
    assert_eq!(p.parse(b"3),\n(4);").expect("parse").rows, 2);
    assert!(p.parse(b"\n").expect("parse").rows == 0);
    assert_eq!(p.end().expect("end").rows, 0);
}

#[test]
fn parse_end_rejects_input_cut_inside_a_statement() {
    let t = table(Dialect::Sqlite, &[ColumnKind::Integer, ColumnKind::Text]);
    let rows = vec![vec![tv(b'i', b"1"), tv(b't', b"a")], vec![tv(b'b', b"\x01"), tv(b't', b"\0")]];
    let bytes = format_batches(&t, "rows=1", &[&rows]);
    for at in 0..=bytes.len() {
        let cut = &bytes[..at];
        let boundary = at == 0 || cut.ends_with(b";\n");
        match parse_pieces(&t, cut, 5) {
            Ok(parsed) => assert!(boundary, "cut at {at} parsed as {parsed:?}"),
            Err(StageError::InvalidInput(m)) => {
                assert!(!boundary, "cut at {at}: {m}");
                assert!(m.contains(&format!("ends at byte {at}")), "{m}");
            }
            Err(e) => panic!("cut at {at}: {e:?}"),
        }
    }
}

#[test]
fn parse_rejects_malformed_input_naming_the_byte_and_what_was_expected() {
    let sqlite = table(Dialect::Sqlite, &[ColumnKind::Integer, ColumnKind::Text]);
    let s = "INSERT INTO \"t\" (\"c0\",\"c1\") VALUES\n";
    let n = s.len();
    let cases: Vec<(String, String)> = vec![
        ("INSERT INTO \"u\"".to_string(), "byte 13: expected \"INSERT INTO".to_string()),
        ("insert".to_string(), "byte 0: expected".to_string()),
        (format!("{s}1,2);\n"), format!("byte {n}: expected `(`")),
        (format!("{s}(1,'a'),\n(1,'b')\n"), format!("byte {}: expected `,` or `;`", n + 16)),
        (format!("{s}(1,'a');INSERT"), format!("byte {}: expected a newline", n + 8)),
        (format!("{s}(1,'a', 2);\n"), format!("byte {}: expected `)`: the table has 2 columns", n + 6)),
        (format!("{s}(1);\n"), format!("byte {}: expected `,`: the row has 1 of 2 values", n + 2)),
        (format!("{s}(null,'a');\n"), format!("byte {}: expected a value", n + 1)),
        (format!("{s}(NUL,'a');\n"), format!("byte {}: expected `NULL`", n + 4)),
        (format!("{s}(1.2.3,'a');\n"), format!("byte {}: `1.2.3` is not a number", n + 6)),
        (format!("{s}(12x,'a');\n"), format!("byte {}: expected `,` or `)` after a value", n + 3)),
        (format!("{s}(1,X'abc');\n"), format!("byte {}: expected a hex digit", n + 8)),
        (format!("{s}(1,X'zz');\n"), format!("byte {}: expected a hex digit", n + 5)),
        (format!("{s}(1,CAST(X'00' AS BLOB));\n"), format!("byte {}: expected ` AS TEXT)`", n + 17)),
        (format!("{s}(1,'a' );\n"), format!("byte {}: expected `,` or `)`", n + 6)),
        (format!("{s}(1,'a');\n;"), format!("byte {}: expected", n + 9)),
    ];
    for (input, needle) in &cases {
        expect_invalid_input(parse_pieces(&sqlite, input.as_bytes(), 1), needle);
        expect_invalid_input(parse_pieces(&sqlite, input.as_bytes(), input.len()), needle);
    }
    let mysql = table(Dialect::Mysql, &[ColumnKind::Text]);
    let m = "INSERT INTO `t` (`c0`) VALUES\n";
    let n = m.len();
    for (input, needle) in [
        (format!("{m}('a\\q');\n"), format!("byte {}: expected one of", n + 4)),
        (format!("{m}(CAST(X'00' AS TEXT));\n"), format!("byte {}: expected a value", n + 1)),
        (format!("{m}(\"a\");\n"), format!("byte {}: expected a value", n + 1)),
        (s.to_string(), "byte 12: expected \"INSERT INTO `t`".to_string()),
    ] {
        expect_invalid_input(parse_pieces(&mysql, input.as_bytes(), 2), &needle);
    }
}

#[test]
fn bad_config_is_invalid_config() {
    let t = table(Dialect::Sqlite, &[ColumnKind::Integer]);
    for config in
        ["rows=0", "bytes=0", "rows=-1", "rows=1.5", "bytes=1MiB", "rows", "rows=", "size=10", "rows=5;bytes=9"]
    {
        expect_invalid_config(SqlText::header(&t, config).map(|_| ()), config);
        expect_invalid_config(SqlParser::start(&t, config).map(|_| ()), config);
    }
    for config in ["", " ", "rows=5", "rows=5,bytes=100", "bytes=100  rows=5", ",rows=5,\n"] {
        assert!(SqlText::header(&t, config).is_ok(), "{config:?}");
        assert!(SqlParser::start(&t, config).is_ok(), "{config:?}");
    }
    assert_eq!(Limits::parse("bytes=100 rows=5").expect("config"), Limits { rows: 5, bytes: 100 });
    assert_eq!(Limits::parse("").expect("config"), Limits { rows: 1000, bytes: 1 << 20 });
}

#[test]
fn format_rejects_a_batch_of_the_wrong_width() {
    let t = table(Dialect::Mysql, &[ColumnKind::Integer, ColumnKind::Text]);
    let (mut f, _) = SqlText::header(&t, "").expect("header");
    assert!(matches!(f.format(&batch(1, &[vec![v(b"1")]])), Err(StageError::InvalidInput(_))));
}

#[test]
fn table_without_columns_round_trips_its_row_count() {
    let t = table(Dialect::Mysql, &[]);
    let bytes = format_batches(&t, "", &[&[vec![], vec![]]]);
    assert_eq!(text(&bytes), "INSERT INTO `t` () VALUES\n(),\n();\n");
    assert_eq!(parse_pieces(&t, &bytes, 1).expect("parse").len(), 2);
}
