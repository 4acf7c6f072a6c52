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
    let mut start = 0;
    for (i, &(end, null)) in fields.iter().enumerate() {
        let value = &row[start..end];
        start = end;
        let column = out.column_mut(i);
        if null {
            column.push_null();
        } else if binary[i] {
            column.push_with(|buf| bytea::decode(value, buf)).map_err(|e| {
                StageError::invalid_input(format!("{format} row {row_number}, column {}: {}", names[i], e.message()))
            })?;
        } else {
            column.push_value(value);
        }
    }
    if fields.is_empty() {
        out.push_row(&[])?;
    }
    Ok(())
}
