//! `tsv`: the tab-separated text that MySQL/MariaDB `LOAD DATA INFILE` reads
//! with its defaults (`FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES
//! TERMINATED BY '\n'`), as mydumper's and `SELECT … INTO OUTFILE`'s files.
//!
//! Writing: no header or trailer; one line per row ending in `\n`, fields
//! separated by a tab. NULL is `\N`; every other value is its bytes (raw
//! bytes for binary columns, the server's text for the rest) with `\` as
//! `\\`, tab as `\t`, newline as `\n`, carriage return as `\r` and NUL as
//! `\0`; nothing else is escaped, so bytes that are not UTF-8 pass as they
//! are (the loader reads the file `CHARACTER SET binary`). A table without
//! columns writes an empty line per row. The host's native writer for
//! MySQL dumps writes the same bytes (a test compares them).
//!
//! Parsing reads LOAD DATA's escapes back: `\0 \b \n \r \t \Z \\` and `\`
//! before any other byte stands for that byte; `\N` alone in a field is
//! NULL. A field count other than the table's, `\N` inside a longer value,
//! or a file that ends inside a row is `invalid-input`.
//!
//! The config is ignored.

mod read;
mod write;

use sluice_sdk::{Batch, Formatter, StageError, Table};

pub use read::TsvParser;
pub use write::format_batch;

/// The writing side of one chunk.
pub struct Tsv {
    width: usize,
}

impl Formatter for Tsv {
    const EXTENSION: &'static str = "tsv";
    type Parser = TsvParser;

    fn header(table: &Table, _config: &str) -> Result<(Self, Vec<u8>), StageError> {
        Ok((Tsv { width: table.columns.len() }, Vec::new()))
    }

    fn format(&mut self, input: &Batch) -> Result<Vec<u8>, StageError> {
        let mut out = Vec::new();
        format_batch(self.width, input, &mut out)?;
        Ok(out)
    }

    fn trailer(self) -> Result<Vec<u8>, StageError> {
        Ok(Vec::new())
    }
}

sluice_sdk::export_formatter!(Tsv);

#[cfg(test)]
mod tests;
