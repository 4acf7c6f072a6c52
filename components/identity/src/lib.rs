//! `identity`: the row transform that changes nothing. It returns the
//! table's columns from `start` and every batch as it came, which makes it
//! the baseline for measuring the cost of a component boundary and the
//! smallest example of a row stage.

use sluice_sdk::{Batch, Column, RowTransform, StageError, Table};

/// Stateless: every batch goes back out untouched.
pub struct Identity;

impl RowTransform for Identity {
    fn start(table: &Table, _config: &str) -> Result<(Self, Vec<Column>), StageError> {
        Ok((Identity, table.columns.clone()))
    }

    fn transform(&mut self, input: Batch) -> Result<Batch, StageError> {
        Ok(input)
    }
}

sluice_sdk::export_row_transform!(Identity);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::{BatchBuilder, ColumnKind, Dialect};

    #[test]
    fn identity_returns_columns_and_batches_unchanged() {
        let table = Table {
            schema: "public".into(),
            name: "t".into(),
            dialect: Dialect::Postgres,
            columns: vec![Column { name: "a".into(), sql_type: "text".into(), kind: ColumnKind::Text, nullable: true }],
        };
        let (mut stage, columns) = Identity::start(&table, "").expect("start");
        assert_eq!(columns, table.columns);
        let mut b = BatchBuilder::new(1);
        b.push_row(&[Some(b"x")]).expect("row");
        b.push_row(&[None]).expect("row");
        let batch = b.finish().expect("batch");
        assert_eq!(stage.transform(batch.clone()).expect("transform"), batch);
    }
}
