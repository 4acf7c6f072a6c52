//! The host's MySQL `INSERT` writer: the bytes the `sql` component writes in
//! its MySQL dialect with its default limits, without a trip into wasm per
//! batch (on two cores the formatter in wasm was a quarter of a dump's
//! CPU). `--stages wasm` runs the component instead, and a test checks the
//! two write the same files.
//!
//! It mirrors `components/sql/src/write.rs` rather than sharing it: that
//! crate is built for wasm32-wasip2 against the guest SDK's batch types in
//! the components' own workspace, which the host does not link.

use crate::batch::{Batch, ColumnData};
use crate::catalog::{Column, ColumnKind};

/// Rows per statement, as the component's default `rows=`.
const STATEMENT_ROWS: usize = 1000;
/// Bytes per statement (from `INSERT` to `;` and newline), as its `bytes=`.
const STATEMENT_BYTES: usize = 1 << 20;

/// How a value is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    /// Bare when it is a numeric literal, else as text.
    Number,
    /// `X'<hex>'`.
    Blob,
    /// A string literal.
    Text,
}

/// For each byte, the letter of its MySQL backslash escape, or 0 to copy it.
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'\\' as usize] = b'\\';
    t[b'\'' as usize] = b'\'';
    t[0] = b'0';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[0x1a] = b'Z';
    t
};

/// Writes a table's rows as multi-row INSERT statements.
pub struct InsertWriter {
    /// `INSERT INTO `t` (…) VALUES` and a newline.
    prefix: Vec<u8>,
    styles: Vec<Style>,
}

impl InsertWriter {
    /// A writer for rows of `columns` of table `name`.
    pub fn new(name: &str, columns: &[Column]) -> Self {
        let mut prefix = b"INSERT INTO ".to_vec();
        push_name(name, &mut prefix);
        prefix.extend_from_slice(b" (");
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                prefix.push(b',');
            }
            push_name(&column.name, &mut prefix);
        }
        prefix.extend_from_slice(b") VALUES\n");
        let styles = columns
            .iter()
            .map(|c| match c.kind {
                ColumnKind::Integer | ColumnKind::Float | ColumnKind::Decimal => Style::Number,
                ColumnKind::Binary => Style::Blob,
                // BIT values arrive as decimal integers, taken back only bare.
                _ if c.sql_type.to_ascii_lowercase().starts_with("bit") => Style::Number,
                _ => Style::Text,
            })
            .collect();
        InsertWriter { prefix, styles }
    }

    /// Appends the statements holding every row of `batch` to `out`.
    pub fn format(&self, batch: &Batch, out: &mut Vec<u8>) {
        let rows = batch.rows as usize;
        if rows == 0 {
            return;
        }
        out.reserve(batch.data_bytes() + batch.data_bytes() / 8 + rows * 4);
        // Start of the open statement in `out`, and its rows so far.
        let mut start = 0;
        let mut open = 0;
        for row in 0..rows {
            if open == STATEMENT_ROWS {
                out.extend_from_slice(b";\n");
                open = 0;
            }
            let separator = if open == 0 {
                start = out.len();
                out.extend_from_slice(&self.prefix);
                None
            } else {
                out.extend_from_slice(b",\n");
                Some(out.len() - 2)
            };
            out.push(b'(');
            for (i, column) in batch.columns.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                self.write_value(column, row, i, out);
            }
            out.push(b')');
            match separator {
                // Too long with this row (and the `;` and newline that end
                // it): end the statement before the row and open a new one.
                Some(at) if out.len() + 2 - start > STATEMENT_BYTES => {
                    out[at] = b';';
                    start = at + 2;
                    out.splice(start..start, self.prefix.iter().copied());
                    open = 1;
                }
                _ => open += 1,
            }
        }
        out.extend_from_slice(b";\n");
    }

    fn write_value(&self, column: &ColumnData, row: usize, index: usize, out: &mut Vec<u8>) {
        let Some(value) = column.value(row) else {
            out.extend_from_slice(b"NULL");
            return;
        };
        match self.styles[index] {
            Style::Number if is_number(value) => out.extend_from_slice(value),
            Style::Blob => push_blob(value, out),
            Style::Number | Style::Text => push_text(value, out),
        }
    }
}

/// `` `name` `` with inner backquotes doubled.
fn push_name(name: &str, out: &mut Vec<u8>) {
    out.push(b'`');
    for &b in name.as_bytes() {
        out.push(b);
        if b == b'`' {
            out.push(b'`');
        }
    }
    out.push(b'`');
}

/// `X'<hex>'`, upper-case `X` and lower-case digits.
fn push_blob(raw: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"X'");
    let start = out.len();
    out.resize(start + raw.len() * 2, 0);
    hex::encode_to_slice(raw, &mut out[start..]).expect("two digits per byte");
    out.push(b'\'');
}

/// A string: `'…'` with backslash escapes, or `X'<hex>'` when the bytes
/// are not UTF-8 (the connection's character set would reject them).
fn push_text(text: &[u8], out: &mut Vec<u8>) {
    if std::str::from_utf8(text).is_err() {
        push_blob(text, out);
        return;
    }
    out.push(b'\'');
    let mut rest = text;
    loop {
        let n = plain_run(rest);
        out.extend_from_slice(&rest[..n]);
        let Some((&b, tail)) = rest[n..].split_first() else { break };
        match ESCAPE[b as usize] {
            0 => out.push(b),
            e => out.extend_from_slice(&[b'\\', e]),
        }
        rest = tail;
    }
    out.push(b'\'');
}

/// Length of the leading run of `text` without a byte that may need an
/// escape (`\`, `'`, or a byte up to 0x1a).
fn plain_run(text: &[u8]) -> usize {
    super::sql_text::plain_run(text, |b| (b == b'\\') | (b == b'\'') | (b <= 0x1a))
}

/// Whether `text` is a SQL numeric literal: `-`? digits, `.` digits, and an
/// exponent, with at least one mantissa digit.
fn is_number(text: &[u8]) -> bool {
    let digits = |t: &[u8]| t.iter().take_while(|b| b.is_ascii_digit()).count();
    let text = text.strip_prefix(b"-").unwrap_or(text);
    let whole = digits(text);
    let mut rest = &text[whole..];
    let mut mantissa = whole;
    if let Some(after) = rest.strip_prefix(b".") {
        let fraction = digits(after);
        mantissa += fraction;
        rest = &after[fraction..];
    }
    if mantissa == 0 {
        return false;
    }
    match rest.split_first() {
        None => true,
        Some((b'e' | b'E', exponent)) => {
            let exponent = exponent.strip_prefix(b"+").or_else(|| exponent.strip_prefix(b"-")).unwrap_or(exponent);
            !exponent.is_empty() && digits(exponent) == exponent.len()
        }
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, kind: ColumnKind, sql_type: &str) -> Column {
        Column { name: name.into(), sql_type: sql_type.into(), kind, nullable: true }
    }

    #[test]
    fn values_are_written_as_the_sql_component_writes_them() {
        let columns = [
            column("id", ColumnKind::Integer, "int"),
            column("t`x", ColumnKind::Text, "varchar(9)"),
            column("b", ColumnKind::Binary, "blob"),
            column("f", ColumnKind::Text, "bit(8)"),
            column("n", ColumnKind::Decimal, "decimal(4,1)"),
        ];
        let rows: [[Option<&[u8]>; 5]; 2] = [
            [Some(b"1"), Some(b"it's \\ \n\r\0\x1a\t ok"), Some(b"\x00\xff"), Some(b"5"), Some(b"-1.5e3")],
            [None, Some(b"\xff"), Some(b"\xff\xfe"), None, None],
        ];
        let mut batch = Batch::with_columns(5);
        for row in rows {
            for (column, value) in batch.columns.iter_mut().zip(row) {
                column.push(value);
            }
        }
        batch.rows = 2;
        let batch = batch.sealed();
        let mut out = Vec::new();
        InsertWriter::new("t", &columns).format(&batch, &mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "INSERT INTO `t` (`id`,`t``x`,`b`,`f`,`n`) VALUES\n\
             (1,'it\\'s \\\\ \\n\\r\\0\\Z\t ok',X'00ff',5,-1.5e3),\n\
             (NULL,X'ff',X'fffe',NULL,NULL);\n"
        );
    }

    #[test]
    fn statements_end_at_the_row_and_byte_limits() {
        let columns = [column("v", ColumnKind::Text, "text")];
        let mut batch = Batch::with_columns(1);
        let big = vec![b'x'; 300_000];
        for _ in 0..8 {
            batch.columns[0].push(Some(&big));
        }
        for _ in 0..2500 {
            batch.columns[0].push(Some(b"y"));
        }
        batch.rows = 2508;
        let mut out = Vec::new();
        InsertWriter::new("t", &columns).format(&batch, &mut out);
        let statements: Vec<&[u8]> = out.split_inclusive(|&b| b == b';').filter(|s| s.contains(&b'(')).collect();
        assert!(statements.iter().all(|s| s.len() <= STATEMENT_BYTES), "every statement within 1 MiB");
        let rows: Vec<usize> = statements.iter().map(|s| s.iter().filter(|&&b| b == b'(').count() - 1).collect();
        assert!(rows.iter().all(|&r| r <= STATEMENT_ROWS), "{rows:?}");
        assert_eq!(rows.iter().sum::<usize>(), 2508);
    }
}
