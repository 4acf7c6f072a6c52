//! CSV back to batches, streaming: input pieces may split a row, a value or
//! a doubled quote anywhere; the unfinished row waits in the parser.

use std::mem;

use sluice_sdk::{Batch, BatchBuilder, Dialect, Parser, StageError, Table};

use sluice_sdk::text::binary_columns;

/// Bytes that end a run of plain unquoted data.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b',' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\n' as usize] = true;
    t[b'\r' as usize] = true;
    t
};

/// Streaming CSV parser for one chunk.
pub struct CsvParser {
    binary: Vec<bool>,
    /// SQLite: the storage class each column's values are given (`b` for
    /// binary columns, `t` for the rest: the column's affinity then makes
    /// them what they were). Empty for other engines.
    classes: Vec<u8>,
    names: Vec<String>,
    /// Decoded bytes of the current row's fields, back to back.
    row: Vec<u8>,
    /// End in `row` and NULL flag of each finished field of the current row.
    fields: Vec<(usize, bool)>,
    /// Inside a quoted part of a field.
    in_quotes: bool,
    /// Inside quotes, just after a `"`: either a doubled quote or the end of
    /// the quoted part, decided by the next byte.
    quote_pending: bool,
    /// The current field had a quoted part (so empty means empty, not NULL).
    quoted: bool,
    /// The previous row ended with CR; a following LF belongs to it.
    after_cr: bool,
    /// Whether any byte of the current row has been read.
    in_row: bool,
    /// Whether the header line has been read.
    header_done: bool,
    /// Data rows completed so far in this chunk.
    rows_done: u64,
    /// Set by an unquoted `\.` line (PostgreSQL's end of data).
    ended: bool,
    out: BatchBuilder,
}

impl CsvParser {
    /// A parser for rows of `table`, starting with its header line.
    pub fn new(table: &Table) -> Self {
        let binary = binary_columns(table);
        CsvParser {
            classes: match table.dialect {
                Dialect::Sqlite => binary.iter().map(|&b| if b { b'b' } else { b't' }).collect(),
                Dialect::Postgres | Dialect::Mysql => Vec::new(),
            },
            binary,
            names: table.columns.iter().map(|c| c.name.clone()).collect(),
            row: Vec::new(),
            fields: Vec::new(),
            in_quotes: false,
            quote_pending: false,
            quoted: false,
            after_cr: false,
            in_row: false,
            header_done: false,
            rows_done: 0,
            ended: false,
            out: BatchBuilder::new(table.columns.len()),
        }
    }

    fn where_(&self) -> String {
        if self.header_done { format!("csv row {}", self.rows_done + 1) } else { "csv header".to_string() }
    }

    fn error(&self, what: impl std::fmt::Display) -> StageError {
        StageError::invalid_input(format!("{}: {what}", self.where_()))
    }

    fn end_field(&mut self) {
        let start = self.fields.last().map_or(0, |f| f.0);
        let null = !self.quoted && self.row.len() == start;
        self.fields.push((self.row.len(), null));
        self.quoted = false;
    }

    fn end_row(&mut self) -> Result<(), StageError> {
        if self.fields.is_empty() && !self.quoted && self.row == b"\\." {
            self.ended = true;
            self.reset_row();
            return Ok(());
        }
        self.end_field();
        let width = self.binary.len();
        // A table without columns has empty lines for rows (and header).
        if width == 0 && self.fields.len() == 1 && self.fields[0] == (0, true) {
            self.fields.clear();
        }
        if self.fields.len() != width {
            return Err(self.error(format!("has {} fields, expected {width}", self.fields.len())));
        }
        if !self.header_done {
            self.header_done = true;
            self.reset_row();
            return Ok(());
        }
        sluice_sdk::text::push_text_row_classed(
            &mut self.out,
            &self.row,
            &self.fields,
            &self.binary,
            &self.classes,
            &self.names,
            "csv",
            self.rows_done + 1,
        )?;
        self.rows_done += 1;
        self.reset_row();
        Ok(())
    }

    fn reset_row(&mut self) {
        self.row.clear();
        self.fields.clear();
        self.quoted = false;
        self.in_row = false;
    }

    /// Consumes `input`, completing rows into `self.out`.
    fn feed(&mut self, input: &[u8]) -> Result<(), StageError> {
        let mut i = 0;
        while i < input.len() {
            if self.after_cr {
                self.after_cr = false;
                if input[i] == b'\n' {
                    i += 1;
                    continue;
                }
            }
            if self.ended {
                return Err(StageError::invalid_input("csv data continues after the \\. end marker"));
            }
            self.in_row = true;
            if self.in_quotes {
                if self.quote_pending {
                    self.quote_pending = false;
                    if input[i] == b'"' {
                        self.row.push(b'"');
                        i += 1;
                    } else {
                        // The quoted part ended; this byte is read unquoted.
                        self.in_quotes = false;
                    }
                    continue;
                }
                let start = i;
                while i < input.len() && input[i] != b'"' {
                    i += 1;
                }
                self.row.extend_from_slice(&input[start..i]);
                if i < input.len() {
                    self.quote_pending = true;
                    i += 1;
                }
                continue;
            }
            let start = i;
            while i < input.len() && !SPECIAL[input[i] as usize] {
                i += 1;
            }
            self.row.extend_from_slice(&input[start..i]);
            let Some(&b) = input.get(i) else { break };
            i += 1;
            match b {
                b',' => self.end_field(),
                b'"' => {
                    self.in_quotes = true;
                    self.quoted = true;
                }
                b'\n' => self.end_row()?,
                _ => {
                    self.end_row()?;
                    self.after_cr = true;
                }
            }
        }
        Ok(())
    }

    fn take_batch(&mut self) -> Result<Batch, StageError> {
        mem::replace(&mut self.out, BatchBuilder::new(self.binary.len())).finish()
    }
}

impl Parser for CsvParser {
    fn start(table: &Table, _config: &str) -> Result<Self, StageError> {
        Ok(CsvParser::new(table))
    }

    fn parse(&mut self, input: &[u8]) -> Result<Batch, StageError> {
        self.feed(input)?;
        self.take_batch()
    }

    fn end(mut self) -> Result<Batch, StageError> {
        if self.in_quotes && !self.quote_pending {
            return Err(self.error("file ends inside a quoted value"));
        }
        let marker = self.fields.is_empty() && !self.quoted && self.row == b"\\.";
        if self.in_row && !marker {
            return Err(self.error("file ends inside the row (no final newline)"));
        }
        self.take_batch()
    }
}
