//! `copy`: PostgreSQL `COPY ... TO STDOUT` text format, byte for byte.
//!
//! Writing: no header or trailer (not even the `\.` end marker), fields
//! separated by a tab, rows ended by `\n`, NULL as `\N`; backslash, newline,
//! carriage return, tab, backspace, form feed and vertical tab are escaped
//! (`\\ \n \r \t \b \f \v`), every other byte is written as is. Binary
//! columns (raw bytes in the batch) are written as bytea hex text, `\x4142`,
//! which the escaping turns into `\\x4142` in the file.
//!
//! Parsing is the inverse, streaming, and as lenient as PostgreSQL's
//! `COPY FROM`: it also accepts `\NNN` octal and `\xHH` hex escapes, `\c` for
//! any other `c`, `\r\n` line ends and a final `\.` line.
//!
//! The config is ignored.

mod read;
mod write;

use sluice_sdk::{Batch, Formatter, StageError, Table};

pub use read::CopyParser;
pub use write::format_batch;

/// Writing side: remembers which columns are binary.
pub struct CopyText {
    binary: Vec<bool>,
}

impl Formatter for CopyText {
    const EXTENSION: &'static str = "copy";
    type Parser = CopyParser;

    fn header(table: &Table, _config: &str) -> Result<(Self, Vec<u8>), StageError> {
        Ok((CopyText { binary: sluice_sdk::text::binary_columns(table) }, Vec::new()))
    }

    fn format(&mut self, input: &Batch) -> Result<Vec<u8>, StageError> {
        let mut out = Vec::new();
        format_batch(&self.binary, input, &mut out)?;
        Ok(out)
    }

    fn trailer(self) -> Result<Vec<u8>, StageError> {
        Ok(Vec::new())
    }
}

sluice_sdk::export_formatter!(CopyText);

#[cfg(test)]
mod tests;
