//! Batches to `INSERT` statements, appended to one buffer without a
//! per-value allocation.

use sluice_sdk::{Batch, ColumnKind, ColumnView, StageError, Table};

use crate::literal::{is_integer, is_negative_zero, is_number, push_hex, statement_prefix};
use crate::{Engine, Limits};

/// How a value without a storage class of its own is written.
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
const MYSQL_ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'\\' as usize] = b'\\';
    t[b'\'' as usize] = b'\'';
    t[0] = b'0';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[0x1a] = b'Z';
    t
};

/// Writes the rows of one table as statements; see the crate docs.
pub struct SqlWriter {
    engine: Engine,
    limits: Limits,
    /// `INSERT INTO … VALUES` and a newline.
    prefix: Vec<u8>,
    styles: Vec<Style>,
}

impl SqlWriter {
    /// A writer for rows of `table` in `engine`'s dialect.
    pub fn new(table: &Table, engine: Engine, limits: Limits) -> Self {
        let styles = table
            .columns
            .iter()
            .map(|c| match c.kind {
                ColumnKind::Integer | ColumnKind::Float | ColumnKind::Decimal => Style::Number,
                ColumnKind::Binary => Style::Blob,
                // MySQL hands `bit(n)` values over as decimal integers, which
                // a bit column only takes bare (a string would be its bytes).
                _ if engine == Engine::Mysql && c.sql_type.to_ascii_lowercase().starts_with("bit") => Style::Number,
                _ => Style::Text,
            })
            .collect();
        SqlWriter { engine, limits, prefix: statement_prefix(engine, table), styles }
    }

    /// Appends the statements holding every row of `batch` to `out`.
    pub fn format(&self, batch: &Batch, out: &mut Vec<u8>) -> Result<(), StageError> {
        let view = batch.view()?.expect_columns(self.styles.len())?;
        let columns = view.columns();
        let rows = view.rows();
        if rows == 0 {
            return Ok(());
        }
        out.reserve(self.estimate(columns, rows));
        // Start of the open statement in `out`, and its rows so far.
        let mut start = 0;
        let mut open = 0;
        for row in 0..rows {
            if open == self.limits.rows {
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
            for (i, column) in columns.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                self.write_value(column, row, i, out)?;
            }
            out.push(b')');
            match separator {
                // Too long with this row (and the `;` and newline that end
                // it): end the statement before the row and open a new one.
                // `,\n` and `;\n` are the same length, so only the row moves.
                Some(at) if out.len() + 2 - start > self.limits.bytes => {
                    out[at] = b';';
                    start = at + 2;
                    out.splice(start..start, self.prefix.iter().copied());
                    open = 1;
                }
                _ => open += 1,
            }
        }
        out.extend_from_slice(b";\n");
        Ok(())
    }

    /// Roughly the output size, so `out` is allocated once in most batches.
    fn estimate(&self, columns: &[ColumnView<'_>], rows: usize) -> usize {
        let values: usize = columns
            .iter()
            .zip(&self.styles)
            .map(|(c, &style)| match style {
                Style::Blob => c.data().len() * 2,
                Style::Number | Style::Text => c.data().len() + c.data().len() / 16,
            } + rows * 4)
            .sum();
        let statements = rows / self.limits.rows + 1;
        values + rows * 4 + statements * (self.prefix.len() + 2)
    }

    fn write_value(
        &self,
        column: &ColumnView<'_>,
        row: usize,
        index: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), StageError> {
        let Some(value) = column.value(row) else {
            out.extend_from_slice(b"NULL");
            return Ok(());
        };
        match self.engine {
            Engine::Sqlite => match column.value_type(row) {
                None => match self.styles[index] {
                    Style::Number if is_number(value) => out.extend_from_slice(value),
                    Style::Blob => push_blob(value, out),
                    Style::Number | Style::Text => push_sqlite_text(value, out),
                },
                Some(b'i') if is_integer(value) => out.extend_from_slice(value),
                Some(b'r') => push_sqlite_real(value, out),
                Some(b'b') => push_blob(value, out),
                Some(b'i' | b't') => push_sqlite_text(value, out),
                // `n` only labels NULL rows; one with a value is still NULL.
                Some(b'n') => out.extend_from_slice(b"NULL"),
                Some(other) => {
                    return Err(StageError::invalid_input(format!(
                        "row {row}, column {index}: unknown value type {:?}",
                        char::from(other)
                    )));
                }
            },
            // MySQL values take their column's kind; classes are not used.
            Engine::Mysql => match self.styles[index] {
                Style::Number if is_number(value) => out.extend_from_slice(value),
                Style::Blob => push_blob(value, out),
                Style::Number | Style::Text => push_mysql_text(value, out),
            },
            Engine::Postgres => match self.styles[index] {
                Style::Number if is_number(value) && !is_negative_zero(value) => out.extend_from_slice(value),
                Style::Blob => push_pg_bytea(value, out),
                Style::Number | Style::Text => push_pg_text(value, out),
            },
        }
        Ok(())
    }
}

/// `X'<hex>'`.
fn push_blob(raw: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"X'");
    push_hex(raw, out);
    out.push(b'\'');
}

/// A SQLite REAL: bare, kept REAL by a `.0` when it looks integral.
fn push_sqlite_real(text: &[u8], out: &mut Vec<u8>) {
    match text {
        // Beyond f64's range, so SQLite reads them back as infinities.
        b"inf" => out.extend_from_slice(b"9e999"),
        b"-inf" => out.extend_from_slice(b"-9e999"),
        _ if is_number(text) => {
            out.extend_from_slice(text);
            if !text.iter().any(|b| matches!(b, b'.' | b'e' | b'E')) {
                out.extend_from_slice(b".0");
            }
        }
        _ => push_sqlite_text(text, out),
    }
}

/// Length of the leading run of `text` without a byte `special` flags.
/// Whole 16-byte blocks are tested branch-free first, which the compiler
/// turns into a few wide compares, so plain text is copied in long runs.
#[inline(always)]
fn plain_run(text: &[u8], special: impl Fn(u8) -> bool) -> usize {
    let mut i = 0;
    while let Some(block) = text.get(i..i + 16) {
        if block.iter().fold(false, |any, &b| any | special(b)) {
            break;
        }
        i += 16;
    }
    while i < text.len() && !special(text[i]) {
        i += 1;
    }
    i
}

/// A SQLite TEXT: `'…'` with `'` doubled, or `CAST(X'<hex>' AS TEXT)` when
/// the bytes are not UTF-8 or hold a NUL (which a quoted literal would cut).
fn push_sqlite_text(text: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    if std::str::from_utf8(text).is_ok() {
        out.push(b'\'');
        let mut rest = text;
        loop {
            let n = plain_run(rest, |b| (b == b'\'') | (b == 0));
            out.extend_from_slice(&rest[..n]);
            match rest[n..].split_first() {
                None => {
                    out.push(b'\'');
                    return;
                }
                Some((b'\'', tail)) => {
                    out.extend_from_slice(b"''");
                    rest = tail;
                }
                // A NUL: no quoted literal can hold it.
                Some(_) => break,
            }
        }
        out.truncate(start);
    }
    out.extend_from_slice(b"CAST(X'");
    push_hex(text, out);
    out.extend_from_slice(b"' AS TEXT)");
}

/// A MySQL string: `'…'` with backslash escapes, or `X'<hex>'` when the
/// bytes are not UTF-8 (the connection's character set would reject them).
fn push_mysql_text(text: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.push(b'\'');
    let mut rest = text;
    // Until the first non-ASCII byte the text is known to be UTF-8; there
    // the rest is checked once (no separate pass over every value).
    let mut checked = false;
    loop {
        // Every escaped byte is `\\`, `'` or at most 0x1a; other control
        // bytes land in the slow path too and are copied as they are.
        let n = if checked {
            plain_run(rest, |b| (b == b'\\') | (b == b'\'') | (b <= 0x1a))
        } else {
            plain_run(rest, |b| (b == b'\\') | (b == b'\'') | (b <= 0x1a) | (b >= 0x80))
        };
        out.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        let Some((&b, tail)) = rest.split_first() else { break };
        if b >= 0x80 && !checked {
            if std::str::from_utf8(rest).is_err() {
                out.truncate(start);
                push_blob(text, out);
                return;
            }
            checked = true;
            continue;
        }
        match MYSQL_ESCAPE[b as usize] {
            0 => out.push(b),
            e => out.extend_from_slice(&[b'\\', e]),
        }
        rest = tail;
    }
    out.push(b'\'');
}

/// A PostgreSQL string: `'…'` with `'` doubled, or `E'…'` with `\\`
/// doubled as well when it holds a backslash (so it reads the same whatever
/// `standard_conforming_strings` is).
fn push_pg_text(text: &[u8], out: &mut Vec<u8>) {
    let backslash = text.contains(&b'\\');
    if backslash {
        out.push(b'E');
    }
    out.push(b'\'');
    let mut rest = text;
    loop {
        let n = plain_run(rest, |b| (b == b'\'') | (b == b'\\'));
        out.extend_from_slice(&rest[..n]);
        let Some((&b, tail)) = rest[n..].split_first() else { break };
        out.extend_from_slice(&[b, b]);
        rest = tail;
    }
    out.push(b'\'');
}

/// A PostgreSQL `bytea` from its raw bytes: `E'\\x<hex>'`.
fn push_pg_bytea(raw: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"E'\\\\x");
    push_hex(raw, out);
    out.push(b'\'');
}
