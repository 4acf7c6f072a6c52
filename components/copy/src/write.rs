//! Batches to COPY text.

use sluice_sdk::{Batch, StageError, bytea};

/// Which columns hold raw bytes (written as bytea hex text).
/// For each byte, the letter of its backslash escape, or 0 to copy it as is.
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'\\' as usize] = b'\\';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t[0x0b] = b'v';
    t
};

/// Appends `value` escaped for COPY text.
pub(crate) fn escape_into(value: &[u8], out: &mut Vec<u8>) {
    let mut run = 0;
    for (i, &b) in value.iter().enumerate() {
        let e = ESCAPE[b as usize];
        if e != 0 {
            out.extend_from_slice(&value[run..i]);
            out.extend_from_slice(&[b'\\', e]);
            run = i + 1;
        }
    }
    out.extend_from_slice(&value[run..]);
}

/// Appends the COPY text of every row of `batch` to `out`; `binary[i]` says
/// whether column `i` holds raw bytes. The batch must have one column per
/// entry of `binary`.
pub fn format_batch(binary: &[bool], batch: &Batch, out: &mut Vec<u8>) -> Result<(), StageError> {
    let view = batch.view()?.expect_columns(binary.len())?;
    let columns = view.columns();
    let bytes: usize = columns.iter().map(|c| c.data().len()).sum();
    out.reserve(bytes + bytes / 8 + view.rows() * (binary.len() + 1) * 2);
    for row in 0..view.rows() {
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            match column.value(row) {
                None => out.extend_from_slice(b"\\N"),
                Some(raw) if binary[i] => {
                    // The hex text `\x..` escaped: only its backslash changes.
                    out.push(b'\\');
                    bytea::encode_hex(raw, out);
                }
                Some(text) => escape_into(text, out),
            }
        }
        out.push(b'\n');
    }
    Ok(())
}
