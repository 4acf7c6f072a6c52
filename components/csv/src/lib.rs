//! `csv`: CSV that PostgreSQL loads with
//! `COPY t (cols) FROM STDIN WITH (FORMAT csv, HEADER true)`, faithfully.
//!
//! Writing: a header line with the column names, then one line per row
//! ending in `\n`, fields separated by `,`. NULL is an empty unquoted field;
//! a value is quoted with `"` (inner `"` doubled) when it is empty, contains
//! `,` `"` CR or LF, starts or ends with whitespace, or is `\.`. Binary
//! columns (raw bytes in the batch) are written as bytea hex text, `\x4142`.
//!
//! Parsing is streaming RFC 4180 read the way PostgreSQL reads it: an
//! unquoted empty field is NULL and a quoted one the empty string, quoted and
//! unquoted parts of a field may alternate, `\r\n` line ends are accepted, the
//! header line is checked for its field count and skipped.
//!
//! The config is ignored.

mod read;
mod write;

use sluice_sdk::{Batch, Formatter, StageError, Table};

pub use read::CsvParser;
pub use write::{format_batch, header_line};

/// Writing side: remembers which columns are binary.
pub struct CsvText {
    binary: Vec<bool>,
}

impl Formatter for CsvText {
    const EXTENSION: &'static str = "csv";
    type Parser = CsvParser;

    fn header(table: &Table, _config: &str) -> Result<(Self, Vec<u8>), StageError> {
        Ok((CsvText { binary: sluice_sdk::text::binary_columns(table) }, header_line(table)))
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

sluice_sdk::export_formatter!(CsvText);

#[cfg(test)]
mod tests;
