//! Batches to LOAD DATA text.

use sluice_sdk::{Batch, StageError};

/// For each byte, the letter of its escape, or 0 to copy it.
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'\\' as usize] = b'\\';
    t[b'\t' as usize] = b't';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[0] = b'0';
    t
};

/// Length of the leading run of `text` without a byte to escape. Whole
/// 16-byte blocks are tested branch-free first (the compiler makes a few
/// wide compares of it), so plain text is copied in long runs.
#[inline(always)]
fn plain_run(text: &[u8]) -> usize {
    let mut i = 0;
    while let Some(block) = text.get(i..i + 16) {
        if block.iter().fold(false, |any, &b| any | (ESCAPE[b as usize] != 0)) {
            break;
        }
        i += 16;
    }
    while i < text.len() && ESCAPE[text[i] as usize] == 0 {
        i += 1;
    }
    i
}

/// Appends one non-NULL value, escaped.
fn write_value(mut value: &[u8], out: &mut Vec<u8>) {
    loop {
        let n = plain_run(value);
        out.extend_from_slice(&value[..n]);
        let Some((&b, rest)) = value[n..].split_first() else { return };
        out.extend_from_slice(&[b'\\', ESCAPE[b as usize]]);
        value = rest;
    }
}

/// Appends the lines of every row of `batch` (of `width` columns) to `out`.
pub fn format_batch(width: usize, batch: &Batch, out: &mut Vec<u8>) -> Result<(), StageError> {
    let view = batch.view()?.expect_columns(width)?;
    let columns = view.columns();
    let bytes: usize = columns.iter().map(|c| c.data().len()).sum();
    out.reserve(bytes + bytes / 16 + view.rows() * (width + 1) * 2);
    for row in 0..view.rows() {
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            match column.value(row) {
                None => out.extend_from_slice(b"\\N"),
                Some(value) => write_value(value, out),
            }
        }
        out.push(b'\n');
    }
    Ok(())
}
