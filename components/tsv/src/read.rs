//! LOAD DATA text back to batches, streaming: input pieces may split a row,
//! a value or an escape anywhere; the unfinished row waits in the parser.

use std::mem;

use sluice_sdk::{Batch, BatchBuilder, Parser, StageError, Table};

/// Streaming parser for one chunk.
pub struct TsvParser {
    width: usize,
    /// Decoded bytes of the current row's fields, back to back.
    row: Vec<u8>,
    /// End in `row` and NULL flag of each finished field of the current row.
    fields: Vec<(usize, bool)>,
    /// Just after a `\`.
    escape: bool,
    /// The current field so far is `\N`.
    null: bool,
    /// Whether any byte of the current row has been read.
    in_row: bool,
    /// Rows completed so far in this chunk.
    rows_done: u64,
    out: BatchBuilder,
}

impl TsvParser {
    /// A parser for rows of `table`.
    pub fn new(table: &Table) -> Self {
        let width = table.columns.len();
        TsvParser {
            width,
            row: Vec::new(),
            fields: Vec::new(),
            escape: false,
            null: false,
            in_row: false,
            rows_done: 0,
            out: BatchBuilder::new(width),
        }
    }

    fn error(&self, what: impl std::fmt::Display) -> StageError {
        StageError::invalid_input(format!("tsv row {}: {what}", self.rows_done + 1))
    }

    fn field_start(&self) -> usize {
        self.fields.last().map_or(0, |f| f.0)
    }

    fn end_field(&mut self) {
        self.fields.push((self.row.len(), mem::take(&mut self.null)));
    }

    fn end_row(&mut self) -> Result<(), StageError> {
        // A table without columns has an empty line for each row.
        if self.width > 0 || !self.fields.is_empty() || !self.row.is_empty() || self.null {
            self.end_field();
        }
        if self.fields.len() != self.width {
            return Err(self.error(format!("has {} fields, expected {}", self.fields.len(), self.width)));
        }
        if self.width == 0 {
            self.out.push_row(&[])?;
        }
        let mut start = 0;
        for (i, &(end, null)) in self.fields.iter().enumerate() {
            self.out.column_mut(i).push((!null).then(|| &self.row[start..end]));
            start = end;
        }
        self.rows_done += 1;
        self.row.clear();
        self.fields.clear();
        self.in_row = false;
        Ok(())
    }

    /// Consumes `input`, completing rows into `self.out`.
    fn feed(&mut self, input: &[u8]) -> Result<(), StageError> {
        let mut i = 0;
        while i < input.len() {
            self.in_row = true;
            if self.escape {
                self.escape = false;
                let b = input[i];
                i += 1;
                if b == b'N' && self.row.len() == self.field_start() && !self.null {
                    self.null = true;
                    continue;
                }
                if self.null {
                    return Err(self.error("\\N is followed by more of the value"));
                }
                self.row.push(match b {
                    b'0' => 0,
                    b'b' => 0x08,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'Z' => 0x1a,
                    other => other,
                });
                continue;
            }
            let start = i;
            while i < input.len() && !matches!(input[i], b'\t' | b'\n' | b'\\') {
                i += 1;
            }
            if self.null && i > start {
                return Err(self.error("\\N is followed by more of the value"));
            }
            self.row.extend_from_slice(&input[start..i]);
            let Some(&b) = input.get(i) else { break };
            i += 1;
            match b {
                b'\t' => self.end_field(),
                b'\n' => self.end_row()?,
                _ => self.escape = true,
            }
        }
        Ok(())
    }

    fn take_batch(&mut self) -> Result<Batch, StageError> {
        mem::replace(&mut self.out, BatchBuilder::new(self.width)).finish()
    }
}

impl Parser for TsvParser {
    fn start(table: &Table, _config: &str) -> Result<Self, StageError> {
        Ok(TsvParser::new(table))
    }

    fn parse(&mut self, input: &[u8]) -> Result<Batch, StageError> {
        self.feed(input)?;
        self.take_batch()
    }

    fn end(mut self) -> Result<Batch, StageError> {
        if self.in_row {
            return Err(self.error("the file ends inside the row (no final newline)"));
        }
        self.take_batch()
    }
}
