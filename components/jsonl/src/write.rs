//! Batches to JSON Lines.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sluice_sdk::{Batch, ColumnKind, Dialect, StageError, Table};

use crate::json::{self, MAX_DEPTH};

/// How one column's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `true`/`false` for `t`/`f` (PostgreSQL booleans).
    Boolean,
    /// A number when JSON holds it exactly, else a string.
    Integer,
    /// A number when the text is one, else a string (`NaN`, `Infinity`).
    Float,
    /// Always a string (exact decimals).
    Decimal,
    /// `{"base64":…}`.
    Bytes,
    /// Embedded when it reads back byte for byte, else a string.
    Json,
    /// A string (`{"text_base64":…}` when not UTF-8).
    Text,
    /// SQLite: by each value's storage class.
    Dynamic,
}

impl Shape {
    /// The shapes of `table`'s columns.
    pub fn of(table: &Table) -> Vec<Shape> {
        table
            .columns
            .iter()
            .map(|c| match (table.dialect, c.kind) {
                (Dialect::Sqlite, _) => Shape::Dynamic,
                (_, ColumnKind::Boolean) => Shape::Boolean,
                (_, ColumnKind::Integer) => Shape::Integer,
                (_, ColumnKind::Float) => Shape::Float,
                (_, ColumnKind::Decimal) => Shape::Decimal,
                (_, ColumnKind::Binary) => Shape::Bytes,
                (_, ColumnKind::Json) => Shape::Json,
                _ => Shape::Text,
            })
            .collect()
    }

    /// The SQLite storage class a column's untyped values have.
    pub fn class_of(kind: ColumnKind) -> u8 {
        match kind {
            ColumnKind::Integer | ColumnKind::Boolean => b'i',
            ColumnKind::Float => b'r',
            ColumnKind::Binary => b'b',
            _ => b't',
        }
    }
}

/// Writes one chunk's rows.
pub struct Encoder {
    /// `"name":` of each column, with the `{` or `,` before it.
    keys: Vec<Vec<u8>>,
    shapes: Vec<Shape>,
    kinds: Vec<ColumnKind>,
}

impl Encoder {
    /// An encoder for rows of `table`.
    pub fn new(table: &Table) -> Self {
        let keys = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut key = vec![if i == 0 { b'{' } else { b',' }];
                json::write_string(&c.name, &mut key);
                key.push(b':');
                key
            })
            .collect();
        Encoder { keys, shapes: Shape::of(table), kinds: table.columns.iter().map(|c| c.kind).collect() }
    }

    /// Appends one line per row of `batch` to `out`.
    pub fn batch(&self, batch: &Batch, out: &mut Vec<u8>) -> Result<(), StageError> {
        let view = batch.view()?.expect_columns(self.keys.len())?;
        let columns = view.columns();
        let bytes: usize = columns.iter().map(|c| c.data().len()).sum();
        let keys: usize = self.keys.iter().map(Vec::len).sum();
        out.reserve(bytes + bytes / 4 + view.rows() * (keys + 2));
        for row in 0..view.rows() {
            if self.keys.is_empty() {
                out.push(b'{');
            }
            for (i, column) in columns.iter().enumerate() {
                out.extend_from_slice(&self.keys[i]);
                match column.value(row) {
                    None => out.extend_from_slice(b"null"),
                    Some(value) => {
                        let class = match self.shapes[i] {
                            Shape::Dynamic => Some(column.value_type(row).unwrap_or(Shape::class_of(self.kinds[i]))),
                            _ => None,
                        };
                        write_value(self.shapes[i], class, value, out);
                    }
                }
            }
            out.extend_from_slice(b"}\n");
        }
        Ok(())
    }
}

/// Appends one non-NULL value.
fn write_value(shape: Shape, class: Option<u8>, value: &[u8], out: &mut Vec<u8>) {
    match (shape, class) {
        (Shape::Dynamic, Some(b'i')) if json::is_safe_integer(value) => out.extend_from_slice(value),
        (Shape::Dynamic, Some(b'i')) => tagged("integer", value, out),
        (Shape::Dynamic, Some(b'r'))
            if json::is_number(value) && value.iter().any(|b| matches!(b, b'.' | b'e' | b'E')) =>
        {
            out.extend_from_slice(value);
        }
        (Shape::Dynamic, Some(b'r')) => tagged("real", value, out),
        (Shape::Dynamic, Some(b'b')) | (Shape::Bytes, _) => base64("base64", value, out),
        (Shape::Boolean, _) if value == b"t" => out.extend_from_slice(b"true"),
        (Shape::Boolean, _) if value == b"f" => out.extend_from_slice(b"false"),
        (Shape::Integer, _) if json::is_safe_integer(value) => out.extend_from_slice(value),
        (Shape::Float, _) if json::is_number(value) => out.extend_from_slice(value),
        (Shape::Json, _) if embeddable(value) => out.extend_from_slice(value),
        _ => text(value, out),
    }
}

/// Whether a json column's text is embedded as it is: valid JSON that reads
/// back as the same bytes and not as something else (a string would read
/// back as its content, `null` as SQL NULL, a line break would end the row).
fn embeddable(value: &[u8]) -> bool {
    !matches!(value.first(), None | Some(b'"' | b' ' | b'\t' | b'\n' | b'\r'))
        && value != b"null"
        && !value.iter().any(|&b| b == b'\n' || b == b'\r')
        && json::value_end(value, 0, MAX_DEPTH) == Some(value.len())
}

/// A string, or `{"text_base64":…}` for bytes that are not UTF-8.
fn text(value: &[u8], out: &mut Vec<u8>) {
    if !json::write_utf8(value, out) {
        base64("text_base64", value, out);
    }
}

/// `{"<tag>":"<value>"}`, for values whose text needs no escaping.
fn tagged(tag: &str, value: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(b"\":");
    text(value, out);
    out.push(b'}');
}

fn base64(tag: &str, value: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(b"\":\"");
    let start = out.len();
    out.resize(start + value.len().div_ceil(3) * 4, 0);
    let written = STANDARD.encode_slice(value, &mut out[start..]).expect("4 bytes for every 3 fit");
    out.truncate(start + written);
    out.extend_from_slice(b"\"}");
}
