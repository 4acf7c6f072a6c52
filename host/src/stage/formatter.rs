//! Driver for the `formatter` world: header, format per batch, trailer; and
//! the parse direction for restore and verify.

use wasmtime::Store;

use super::bindings::fmt::{Formatter, FormatterPre};
use super::bindings::types;
use super::component::ComponentRef;
use super::error::{StageError, reported, trap};
use super::row::{from_wit, to_wit};
use super::sandbox::Runtime;
use super::sandbox::StoreData;
use crate::batch::Batch;

/// One worker's instance of a formatter component.
pub struct FormatterInstance {
    store: Store<StoreData>,
    bindings: Formatter,
    label: String,
    columns: usize,
    /// Bytes fed to `parse` and batch bytes returned since `parse_start`:
    /// a parser may hold a partial row across calls, so its output limit
    /// is checked on the running totals, not per call.
    parsed_in: usize,
    parsed_out: usize,
}

macro_rules! call {
    ($self:ident, $runtime:ident, $method:ident $(, $arg:expr)*) => {{
        $runtime.arm(&mut $self.store);
        $self
            .bindings
            .sluice_pipeline_batch_formatter()
            .$method(&mut $self.store $(, $arg)*)
            .map_err(|e| trap(&$self.label, e))?
            .map_err(|e| reported(&$self.label, e))
    }};
}

impl FormatterInstance {
    pub(crate) fn new(runtime: &Runtime, component: &ComponentRef) -> Result<Self, StageError> {
        let loaded = runtime.load(component)?;
        let pre = FormatterPre::new(loaded.pre.clone()).map_err(|e| StageError::Load {
            component: component.label(),
            reason: format!("it does not implement {}: {e}", component.world.wit_name()),
        })?;
        let mut store = runtime.store();
        let bindings = pre.instantiate(&mut store).map_err(|e| trap(&component.label(), e))?;
        Ok(FormatterInstance { store, bindings, label: component.label(), columns: 0, parsed_in: 0, parsed_out: 0 })
    }

    /// Starts a chunk and returns the file's opening bytes.
    pub fn header(&mut self, runtime: &Runtime, table: &types::Table, config: &str) -> Result<Vec<u8>, StageError> {
        self.columns = table.columns.len();
        call!(self, runtime, call_header, table, config)
    }

    /// Encodes one batch.
    pub fn format(&mut self, runtime: &Runtime, batch: Batch) -> Result<Vec<u8>, StageError> {
        let input = batch.data_bytes();
        let bytes = call!(self, runtime, call_format, &to_wit(batch))?;
        runtime.check_output(&self.label, input, bytes.len())?;
        Ok(bytes)
    }

    /// Ends the chunk and returns the closing bytes.
    pub fn trailer(&mut self, runtime: &Runtime) -> Result<Vec<u8>, StageError> {
        call!(self, runtime, call_trailer)
    }

    /// Starts parsing a chunk of `table`.
    pub fn parse_start(&mut self, runtime: &Runtime, table: &types::Table, config: &str) -> Result<(), StageError> {
        self.columns = table.columns.len();
        (self.parsed_in, self.parsed_out) = (0, 0);
        call!(self, runtime, call_parse_start, table, config)
    }

    /// Parses the next piece of a file into complete rows.
    pub fn parse(&mut self, runtime: &Runtime, input: &[u8]) -> Result<Batch, StageError> {
        let batch = call!(self, runtime, call_parse, input)?;
        let batch = self.checked(from_wit(batch))?;
        self.parsed_in += input.len();
        self.parsed_out += batch.data_bytes();
        runtime.check_output(&self.label, self.parsed_in, self.parsed_out)?;
        Ok(batch)
    }

    /// Ends parsing; returns the remaining rows.
    pub fn parse_end(&mut self, runtime: &Runtime) -> Result<Batch, StageError> {
        let batch = call!(self, runtime, call_parse_end)?;
        let batch = self.checked(from_wit(batch))?;
        self.parsed_out += batch.data_bytes();
        runtime.check_output(&self.label, self.parsed_in, self.parsed_out)?;
        Ok(batch)
    }

    fn checked(&self, batch: Batch) -> Result<Batch, StageError> {
        batch
            .validate(self.columns)
            .map_err(|reason| StageError::Malformed { component: self.label.clone(), reason })?;
        Ok(batch)
    }
}
