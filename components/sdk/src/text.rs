//! Helpers shared by text formatters (`copy`, `csv`, your own): which
//! columns hold raw bytes, and moving one parsed row into a batch.

use crate::builder::BatchBuilder;
use crate::bytea;
use crate::{ColumnKind, StageError, Table};

/// For each column, whether it is `binary` (raw bytes in the batch, bytea
/// hex text in the file).
pub fn binary_columns(table: &Table) -> Vec<bool> {
    table.columns.iter().map(|c| c.kind == ColumnKind::Binary).collect()
}

/// Pushes one parsed row into `out`. `row` holds the row's unescaped field
/// values back to back; `fields[i]` is (end offset of field `i` in `row`,
/// whether it is NULL). Binary columns are decoded from bytea text; a bad
/// one is `invalid-input` naming the format, the row number and the column.
pub fn push_text_row(
    out: &mut BatchBuilder,
    row: &[u8],
    fields: &[(usize, bool)],
    binary: &[bool],
    names: &[String],
    format: &str,
    row_number: u64,
) -> Result<(), StageError> {
    push_text_row_classed(out, row, fields, binary, &[], names, format, row_number)
}

/// [`push_text_row`], giving each value of column `i` the storage class
/// `classes[i]` (`t`, `b`; see `types.wit`) when `classes` is not empty.
#[allow(clippy::too_many_arguments)]
pub fn push_text_row_classed(
    out: &mut BatchBuilder,
    row: &[u8],
    fields: &[(usize, bool)],
    binary: &[bool],
    classes: &[u8],
    names: &[String],
    format: &str,
    row_number: u64,
) -> Result<(), StageError> {
    let mut start = 0;
    for (i, &(end, null)) in fields.iter().enumerate() {
        let value = &row[start..end];
        start = end;
        let bad = |e: StageError| {
            StageError::invalid_input(format!("{format} row {row_number}, column {}: {}", names[i], e.message()))
        };
        let column = out.column_mut(i);
        match (null, binary[i], classes.get(i)) {
            (true, _, Some(&class)) => column.push_typed(None, class),
            (true, _, None) => column.push_null(),
            // Decoded straight into the column's buffer.
            (false, true, None) => column.push_with(|buf| bytea::decode(value, buf)).map_err(bad)?,
            (false, true, Some(&class)) => {
                let mut raw = Vec::with_capacity(value.len() / 2);
                bytea::decode(value, &mut raw).map_err(bad)?;
                column.push_typed(Some(&raw), class);
            }
            (false, false, Some(&class)) => column.push_typed(Some(value), class),
            (false, false, None) => column.push_value(value),
        }
    }
    if fields.is_empty() {
        out.push_row(&[])?;
    }
    Ok(())
}
