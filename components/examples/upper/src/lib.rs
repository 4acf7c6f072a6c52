//! `upper`: upper-cases text columns and drops rows with a NULL in a chosen
//! column. Config: `{"upper": "first_name", "drop_null": "email"}`, both
//! optional; by default every text column is upper-cased and no row dropped.

use std::collections::BTreeMap;

use sluice_sdk::{Batch, Column, ColumnBuilder, ColumnKind, RowTransform, StageError, Table};

/// Column positions, found once per chunk by `start`.
pub struct Upper {
    upper: Vec<usize>,
    drop_null: Option<usize>,
}

impl RowTransform for Upper {
    fn start(table: &Table, config: &str) -> Result<(Self, Vec<Column>), StageError> {
        // BTreeMap, not HashMap: HashMap::new() seeds itself from random bytes, which trap here.
        let mut keys: BTreeMap<String, String> = match config.trim() {
            "" => BTreeMap::new(),
            json => serde_json::from_str(json).map_err(|e| StageError::invalid_config(e.to_string()))?,
        };
        let find = |name: String| {
            let message = || format!("no column `{name}` in {}", table.qualified_name());
            table.column_index(&name).ok_or_else(|| StageError::invalid_config(message()))
        };
        let upper = match keys.remove("upper") {
            Some(name) => vec![find(name)?],
            None => (0..table.columns.len()).filter(|&i| table.columns[i].kind == ColumnKind::Text).collect(),
        };
        let drop_null = keys.remove("drop_null").map(find).transpose()?;
        if let Some(unknown) = keys.keys().next() {
            return Err(StageError::invalid_config(format!("unknown key `{unknown}`")));
        }
        Ok((Upper { upper, drop_null }, table.columns.clone()))
    }

    fn transform(&mut self, mut input: Batch) -> Result<Batch, StageError> {
        for &i in &self.upper {
            let values = input.column(i)?;
            let mut out = ColumnBuilder::with_capacity(values.len(), values.data().len());
            for row in 0..values.len() {
                match values.str(row)? {
                    Some(text) => out.push_str(&text.to_uppercase()),
                    None => out.push_null(),
                }
            }
            input.columns[i] = out.finish();
        }
        let Some(i) = self.drop_null else { return Ok(input) };
        let keep: Vec<bool> = input.column(i)?.iter().map(|value| value.is_some()).collect();
        input.select_rows(&keep)
    }
}

sluice_sdk::export_row_transform!(Upper);

#[cfg(test)]
mod tests;
