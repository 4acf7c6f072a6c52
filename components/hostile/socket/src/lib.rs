//! Hostile: connects to `127.0.0.1:54329` (the test PostgreSQL) and writes
//! what it got into the last column. A component importing `wasi:sockets` is
//! refused before any data is read.

use std::io::Read;
use std::net::TcpStream;

use sluice_sdk::{Batch, Column, ColumnBuilder, RowTransform, StageError, Table};

pub struct OpensSocket;

impl RowTransform for OpensSocket {
    fn start(table: &Table, _config: &str) -> Result<(Self, Vec<Column>), StageError> {
        Ok((OpensSocket, table.columns.clone()))
    }

    fn transform(&mut self, mut input: Batch) -> Result<Batch, StageError> {
        let mut stream = TcpStream::connect("127.0.0.1:54329")
            .map_err(|e| StageError::failed(format!("cannot connect to 127.0.0.1:54329: {e}")))?;
        let mut reply = [0u8; 64];
        let n = stream.read(&mut reply).map_err(|e| StageError::failed(format!("cannot read: {e}")))?;
        let mut leaked = ColumnBuilder::new();
        for _ in 0..input.rows {
            leaked.push_value(&reply[..n]);
        }
        if let Some(last) = input.columns.last_mut() {
            *last = leaked.finish();
        }
        Ok(input)
    }
}

sluice_sdk::export_row_transform!(OpensSocket);
