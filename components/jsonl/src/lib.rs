//! `jsonl`: typed JSON Lines, one object per row, for every engine. The
//! format is specified in `docs/jsonl.md`; in short:
//!
//! - one line per row, `{"col":value,…}\n`, keys in the table's column order;
//! - `null` is SQL NULL; strings are text; numbers are written exactly as the
//!   engine printed them, and only when JSON can hold them (integers within
//!   ±2^53, floats in JSON's number grammar); anything else is a string;
//! - bytes are `{"base64":"…"}`, text that is not UTF-8 `{"text_base64":"…"}`;
//! - PostgreSQL booleans are `true`/`false`; json columns are embedded as
//!   JSON values when the text reads back byte for byte, else as strings;
//! - SQLite values keep their storage class: an integer is a number without
//!   `.`/`e`, a real a number with one, text a string, a blob
//!   `{"base64":…}`; an integer JSON cannot hold is `{"integer":"…"}`, a real
//!   that is not such a number `{"real":"…"}`.
//!
//! The config is ignored.

mod json;
mod read;
mod write;

use sluice_sdk::{Batch, Formatter, StageError, Table};

pub use read::JsonlParser;
pub use write::Encoder;

/// The writing side of one chunk.
pub struct Jsonl {
    encoder: Encoder,
}

impl Formatter for Jsonl {
    const EXTENSION: &'static str = "jsonl";
    type Parser = JsonlParser;

    fn header(table: &Table, _config: &str) -> Result<(Self, Vec<u8>), StageError> {
        Ok((Jsonl { encoder: Encoder::new(table) }, Vec::new()))
    }

    fn format(&mut self, input: &Batch) -> Result<Vec<u8>, StageError> {
        let mut out = Vec::new();
        self.encoder.batch(input, &mut out)?;
        Ok(out)
    }

    fn trailer(self) -> Result<Vec<u8>, StageError> {
        Ok(Vec::new())
    }
}

sluice_sdk::export_formatter!(Jsonl);

#[cfg(test)]
mod tests;
