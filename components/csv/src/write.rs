//! Batches to CSV.

use sluice_sdk::{Batch, StageError, Table, bytea};

/// Which columns hold raw bytes (written as bytea hex text).
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | 0x0b | 0x0c)
}

/// Whether a non-NULL value must be quoted to read back as itself.
fn needs_quotes(value: &[u8]) -> bool {
    match (value.first(), value.last()) {
        (Some(&first), Some(&last)) => {
            is_blank(first)
                || is_blank(last)
                || value == b"\\."
                || value.iter().any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
        }
        // Empty: quoted, because unquoted empty is NULL.
        _ => true,
    }
}

/// Appends one non-NULL field.
pub(crate) fn write_field(value: &[u8], out: &mut Vec<u8>) {
    if !needs_quotes(value) {
        out.extend_from_slice(value);
        return;
    }
    out.push(b'"');
    let mut run = 0;
    for (i, &b) in value.iter().enumerate() {
        if b == b'"' {
            out.extend_from_slice(&value[run..=i]);
            out.push(b'"');
            run = i + 1;
        }
    }
    out.extend_from_slice(&value[run..]);
    out.push(b'"');
}

/// The header line: column names, quoted when needed.
pub fn header_line(table: &Table) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, column) in table.columns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_field(column.name.as_bytes(), &mut out);
    }
    out.push(b'\n');
    out
}

/// Appends the CSV lines of every row of `batch` to `out`; `binary[i]` says
/// whether column `i` holds raw bytes.
pub fn format_batch(binary: &[bool], batch: &Batch, out: &mut Vec<u8>) -> Result<(), StageError> {
    let view = batch.view()?.expect_columns(binary.len())?;
    let columns = view.columns();
    let bytes: usize = columns.iter().map(|c| c.data().len()).sum();
    out.reserve(bytes + bytes / 8 + view.rows() * (binary.len() + 1) * 3);
    for row in 0..view.rows() {
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match column.value(row) {
                None => {}
                // `\x` and hex digits never need quotes.
                Some(raw) if binary[i] => bytea::encode_hex(raw, out),
                Some(text) => write_field(text, out),
            }
        }
        out.push(b'\n');
    }
    Ok(())
}
