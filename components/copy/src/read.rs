//! COPY text back to batches, streaming: input pieces may split a row, a
//! value or an escape anywhere; the unfinished row waits in the parser.

use std::mem;

use sluice_sdk::{Batch, BatchBuilder, Parser, StageError, Table, bytea};

use sluice_sdk::text::binary_columns;

/// Bytes that end a run of plain data: backslash, tab, newline, CR.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'\\' as usize] = true;
    t[b'\t' as usize] = true;
    t[b'\n' as usize] = true;
    t[b'\r' as usize] = true;
    t
};

/// Where the parser is inside the current field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Plain bytes.
    Plain,
    /// Just after a backslash.
    Backslash,
    /// Inside `\NNN`: `digits` (1 or 2) octal digits read so far.
    Octal { digits: u8, value: u16 },
    /// Inside `\xHH`: `digits` (0 or 1) hex digits read so far.
    Hex { digits: u8, value: u8 },
    /// Just after a raw carriage return, which must start a `\r\n` line end.
    Cr,
}

/// Streaming COPY text parser for one chunk.
pub struct CopyParser {
    binary: Vec<bool>,
    names: Vec<String>,
    /// Decoded bytes of the current row's fields, back to back.
    row: Vec<u8>,
    /// End in `row` and NULL flag of each finished field of the current row.
    fields: Vec<(usize, bool)>,
    /// First two raw bytes of the current field, to spot `\N` and `\.`.
    raw: [u8; 2],
    /// Raw bytes in the current field, counting stops at 3.
    raw_len: u8,
    state: State,
    /// Whether any byte of the current row has been read.
    in_row: bool,
    /// Rows completed so far in this chunk.
    rows_done: u64,
    /// Set by the `\.` end-of-data line; nothing may follow it.
    ended: bool,
    out: BatchBuilder,
}

impl CopyParser {
    /// A parser for rows of `table`.
    pub fn new(table: &Table) -> Self {
        CopyParser {
            binary: binary_columns(table),
            names: table.columns.iter().map(|c| c.name.clone()).collect(),
            row: Vec::new(),
            fields: Vec::new(),
            raw: [0; 2],
            raw_len: 0,
            state: State::Plain,
            in_row: false,
            rows_done: 0,
            ended: false,
            out: BatchBuilder::new(table.columns.len()),
        }
    }

    fn row_error(&self, what: impl std::fmt::Display) -> StageError {
        StageError::invalid_input(format!("copy row {}: {what}", self.rows_done + 1))
    }

    fn note_raw(&mut self, b: u8) {
        if self.raw_len < 2 {
            self.raw[self.raw_len as usize] = b;
        }
        self.raw_len = self.raw_len.saturating_add(1).min(3);
    }

    fn note_raw_run(&mut self, run: &[u8]) {
        for &b in run.iter().take(2) {
            self.note_raw(b);
        }
        if run.len() > 2 {
            self.raw_len = 3;
        }
    }

    fn raw_is(&self, text: &[u8; 2]) -> bool {
        self.raw_len == 2 && &self.raw == text
    }

    /// Whether the current, unfinished row is the `\.` end-of-data line.
    fn at_end_marker(&self) -> bool {
        self.fields.is_empty() && self.raw_is(b"\\.")
    }

    fn end_field(&mut self) {
        let start = self.fields.last().map_or(0, |f| f.0);
        let null = self.raw_is(b"\\N");
        if null {
            self.row.truncate(start);
        }
        self.fields.push((self.row.len(), null));
        self.raw_len = 0;
    }

    /// Ends the current row at a line end.
    fn end_row(&mut self) -> Result<(), StageError> {
        if self.at_end_marker() {
            self.ended = true;
            self.reset_row();
            return Ok(());
        }
        self.end_field();
        let width = self.binary.len();
        // A table without columns has empty lines for rows.
        if width == 0 && self.fields.len() == 1 && self.fields[0] == (0, false) {
            self.fields.clear();
        }
        if self.fields.len() != width {
            return Err(self.row_error(format!("has {} fields, expected {width}", self.fields.len())));
        }
        sluice_sdk::text::push_text_row(
            &mut self.out,
            &self.row,
            &self.fields,
            &self.binary,
            &self.names,
            "copy",
            self.rows_done + 1,
        )?;
        self.rows_done += 1;
        self.reset_row();
        Ok(())
    }

    fn reset_row(&mut self) {
        self.row.clear();
        self.fields.clear();
        self.raw_len = 0;
        self.in_row = false;
    }

    fn push_decoded(&mut self, b: u8) {
        self.row.push(b);
    }

    /// Consumes `input`, completing rows into `self.out`.
    fn feed(&mut self, input: &[u8]) -> Result<(), StageError> {
        let mut i = 0;
        while i < input.len() {
            if self.ended {
                return Err(StageError::invalid_input("copy data continues after the \\. end marker"));
            }
            match self.state {
                State::Plain => {
                    let start = i;
                    while i < input.len() && !SPECIAL[input[i] as usize] {
                        i += 1;
                    }
                    if i > start {
                        self.in_row = true;
                        self.note_raw_run(&input[start..i]);
                        self.row.extend_from_slice(&input[start..i]);
                    }
                    let Some(&b) = input.get(i) else { break };
                    i += 1;
                    self.in_row = true;
                    match b {
                        b'\\' => {
                            self.note_raw(b);
                            self.state = State::Backslash;
                        }
                        b'\t' => self.end_field(),
                        b'\n' => self.end_row()?,
                        _ => self.state = State::Cr,
                    }
                }
                State::Cr => {
                    if input[i] != b'\n' {
                        return Err(self.row_error("literal carriage return found in data (use \\r)"));
                    }
                    i += 1;
                    self.state = State::Plain;
                    self.end_row()?;
                }
                State::Backslash => {
                    let b = input[i];
                    i += 1;
                    self.note_raw(b);
                    self.state = State::Plain;
                    match b {
                        b'0'..=b'7' => self.state = State::Octal { digits: 1, value: u16::from(b - b'0') },
                        b'x' => self.state = State::Hex { digits: 0, value: 0 },
                        b'b' => self.push_decoded(0x08),
                        b'f' => self.push_decoded(0x0c),
                        b'n' => self.push_decoded(b'\n'),
                        b'r' => self.push_decoded(b'\r'),
                        b't' => self.push_decoded(b'\t'),
                        b'v' => self.push_decoded(0x0b),
                        other => self.push_decoded(other),
                    }
                }
                State::Octal { digits, value } => {
                    let b = input[i];
                    if let b'0'..=b'7' = b {
                        i += 1;
                        self.note_raw(b);
                        let value = value * 8 + u16::from(b - b'0');
                        if digits + 1 == 3 {
                            // PostgreSQL keeps the low byte of `\777`.
                            self.push_decoded(value as u8);
                            self.state = State::Plain;
                        } else {
                            self.state = State::Octal { digits: digits + 1, value };
                        }
                    } else {
                        self.finish_escape();
                    }
                }
                State::Hex { digits, value } => {
                    let b = input[i];
                    if let Some(d) = bytea::hex_digit(b) {
                        i += 1;
                        self.note_raw(b);
                        let value = value << 4 | d;
                        if digits + 1 == 2 {
                            self.push_decoded(value);
                            self.state = State::Plain;
                        } else {
                            self.state = State::Hex { digits: 1, value };
                        }
                    } else {
                        self.finish_escape();
                    }
                }
            }
        }
        Ok(())
    }

    /// Ends a `\NNN` or `\xHH` escape cut short by a byte that is not a digit.
    fn finish_escape(&mut self) {
        match self.state {
            State::Octal { value, .. } => self.push_decoded(value as u8),
            // `\x` without digits is just `x`.
            State::Hex { digits: 0, .. } => self.push_decoded(b'x'),
            State::Hex { value, .. } => self.push_decoded(value),
            State::Plain | State::Backslash | State::Cr => {}
        }
        self.state = State::Plain;
    }

    fn take_batch(&mut self) -> Result<Batch, StageError> {
        mem::replace(&mut self.out, BatchBuilder::new(self.binary.len())).finish()
    }
}

impl Parser for CopyParser {
    fn start(table: &Table, _config: &str) -> Result<Self, StageError> {
        Ok(CopyParser::new(table))
    }

    fn parse(&mut self, input: &[u8]) -> Result<Batch, StageError> {
        self.feed(input)?;
        self.take_batch()
    }

    fn end(mut self) -> Result<Batch, StageError> {
        match self.state {
            State::Backslash => return Err(self.row_error("file ends inside an escape")),
            State::Cr => return Err(self.row_error("literal carriage return found in data (use \\r)")),
            State::Octal { .. } | State::Hex { .. } => self.finish_escape(),
            State::Plain => {}
        }
        if self.in_row && !self.at_end_marker() {
            return Err(self.row_error("file ends inside the row (no final newline)"));
        }
        self.take_batch()
    }
}
