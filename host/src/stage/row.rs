//! Driver for the `row-transform` world: start per chunk, transform per batch.

use wasmtime::Store;

use super::bindings::row::{RowTransform, RowTransformPre};
use super::bindings::types;
use super::component::ComponentRef;
use super::error::{StageError, reported, trap};
use super::sandbox::Runtime;
use super::sandbox::StoreData;
use crate::batch::Batch;

/// One worker's instance of a row-transform component.
pub struct RowInstance {
    store: Store<StoreData>,
    bindings: RowTransform,
    label: String,
    output_columns: usize,
}

impl RowInstance {
    pub(crate) fn new(runtime: &Runtime, component: &ComponentRef) -> Result<Self, StageError> {
        let loaded = runtime.load(component)?;
        let pre = RowTransformPre::new(loaded.pre.clone()).map_err(|e| StageError::Load {
            component: component.label(),
            reason: format!("it does not implement {}: {e}", component.world.wit_name()),
        })?;
        let mut store = runtime.store();
        let bindings = pre.instantiate(&mut store).map_err(|e| trap(&component.label(), e))?;
        Ok(RowInstance { store, bindings, label: component.label(), output_columns: 0 })
    }

    /// Starts a chunk; returns the columns `transform` will return.
    pub fn start(
        &mut self,
        runtime: &Runtime,
        table: &types::Table,
        config: &str,
    ) -> Result<Vec<types::Column>, StageError> {
        runtime.arm(&mut self.store);
        let columns = self
            .bindings
            .sluice_pipeline_row_transformer()
            .call_start(&mut self.store, table, config)
            .map_err(|e| trap(&self.label, e))?
            .map_err(|e| reported(&self.label, e))?;
        // A name the database gave is the database's; only the ones the
        // component made up are checked.
        let mut invented =
            columns.iter().filter(|c| !table.columns.iter().any(|t| t.name == c.name && t.sql_type == c.sql_type));
        if let Some(reason) = invented.find_map(column_fault) {
            return Err(StageError::Malformed { component: self.label.clone(), reason });
        }
        self.output_columns = columns.len();
        Ok(columns)
    }

    /// Transforms one batch and checks the result's shape.
    pub fn transform(&mut self, runtime: &Runtime, input: Batch) -> Result<Batch, StageError> {
        runtime.arm(&mut self.store);
        let input_rows = input.rows;
        let input_bytes = input.data_bytes();
        let output = self
            .bindings
            .sluice_pipeline_row_transformer()
            .call_transform(&mut self.store, &to_wit(input))
            .map_err(|e| trap(&self.label, e))?
            .map_err(|e| reported(&self.label, e))?;
        let output = from_wit(output);
        let malformed = |reason: String| StageError::Malformed { component: self.label.clone(), reason };
        if output.rows > input_rows {
            return Err(malformed(format!(
                "{} rows returned for {input_rows} rows in (a row stage may only drop rows)",
                output.rows
            )));
        }
        output.validate(self.output_columns).map_err(malformed)?;
        runtime.check_output(&self.label, input_bytes, output.data_bytes())?;
        Ok(output)
    }
}

/// The most bytes of a column name or SQL type a row transform may return.
const COLUMN_TEXT_MAX: usize = 256;

/// Why a column a row transform returned cannot be used, if it cannot: its
/// name and SQL type reach the manifest, file headers and messages, so they
/// must be non-empty (the name), short and free of control characters.
fn column_fault(column: &types::Column) -> Option<String> {
    let fault = |what: &str, text: &str| {
        if text.len() > COLUMN_TEXT_MAX {
            Some(format!("a column {what} of {} bytes (at most {COLUMN_TEXT_MAX})", text.len()))
        } else if text.chars().any(char::is_control) {
            Some(format!("a column {what} with control characters: {}", super::error::guest_text(text)))
        } else {
            None
        }
    };
    if column.name.is_empty() {
        return Some("a column with an empty name".to_owned());
    }
    fault("name", &column.name).or_else(|| fault("SQL type", &column.sql_type))
}

/// Moves a host batch into the WIT shape (no copy of the buffers).
pub fn to_wit(batch: Batch) -> types::Batch {
    types::Batch {
        rows: batch.rows,
        columns: batch
            .columns
            .into_iter()
            .map(|c| types::ColumnData { data: c.data, offsets: c.offsets, nulls: c.nulls, types: c.types })
            .collect(),
    }
}

/// Moves a WIT batch into the host shape (no copy of the buffers).
pub fn from_wit(batch: types::Batch) -> Batch {
    Batch {
        rows: batch.rows,
        columns: batch
            .columns
            .into_iter()
            .map(|c| crate::batch::ColumnData { data: c.data, offsets: c.offsets, nulls: c.nulls, types: c.types })
            .collect(),
    }
}

/// The WIT description of a table.
pub fn wit_table(table: &crate::catalog::Table, dialect: types::Dialect) -> types::Table {
    types::Table {
        schema: table.schema.clone(),
        name: table.name.clone(),
        dialect,
        columns: table.columns.iter().map(wit_column).collect(),
    }
}

fn wit_column(column: &crate::catalog::Column) -> types::Column {
    use crate::catalog::ColumnKind as K;
    use types::ColumnKind as W;
    types::Column {
        name: column.name.clone(),
        sql_type: column.sql_type.clone(),
        nullable: column.nullable,
        kind: match column.kind {
            K::Boolean => W::Boolean,
            K::Integer => W::Integer,
            K::Float => W::Float,
            K::Decimal => W::Decimal,
            K::Text => W::Text,
            K::Binary => W::Binary,
            K::Date => W::Date,
            K::Time => W::Time,
            K::Timestamp => W::Timestamp,
            K::TimestampTz => W::TimestampTz,
            K::Interval => W::Interval,
            K::Uuid => W::Uuid,
            K::Json => W::Json,
            K::Array => W::Array,
            K::Other => W::Other,
        },
    }
}

/// The host description of a column a row stage announced.
pub fn host_column(column: types::Column) -> crate::catalog::Column {
    use crate::catalog::ColumnKind as K;
    use types::ColumnKind as W;
    crate::catalog::Column {
        name: column.name,
        sql_type: column.sql_type,
        nullable: column.nullable,
        kind: match column.kind {
            W::Boolean => K::Boolean,
            W::Integer => K::Integer,
            W::Float => K::Float,
            W::Decimal => K::Decimal,
            W::Text => K::Text,
            W::Binary => K::Binary,
            W::Date => K::Date,
            W::Time => K::Time,
            W::Timestamp => K::Timestamp,
            W::TimestampTz => K::TimestampTz,
            W::Interval => K::Interval,
            W::Uuid => K::Uuid,
            W::Json => K::Json,
            W::Array => K::Array,
            W::Other => K::Other,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, sql_type: &str) -> types::Column {
        types::Column { name: name.into(), sql_type: sql_type.into(), kind: types::ColumnKind::Text, nullable: true }
    }

    #[test]
    fn returned_columns_with_control_characters_or_no_name_are_refused() {
        assert_eq!(column_fault(&column("email", "text")), None);
        assert_eq!(column_fault(&column("prénom \"x\"", "character varying(20)")), None);
        let fault = column_fault(&column("a\x1b[2J", "text")).expect("escape");
        assert_eq!(fault, "a column name with control characters: \"a\\x1b[2J\"");
        assert!(column_fault(&column("", "text")).is_some());
        assert!(column_fault(&column("x", &"t".repeat(300))).expect("long").contains("300 bytes"));
    }
}
