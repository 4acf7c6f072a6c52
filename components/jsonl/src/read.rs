//! JSON Lines back to batches. A row is one line (strings escape their line
//! breaks and json values with one are written as strings), so the parser
//! keeps the unfinished last line of a piece and parses whole lines.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sluice_sdk::{Batch, BatchBuilder, Parser, StageError, Table};

use crate::json::{self, MAX_DEPTH};
use crate::write::Shape;

/// Streaming parser for one chunk.
pub struct JsonlParser {
    names: Vec<String>,
    shapes: Vec<Shape>,
    /// The start of a line the last piece cut off.
    pending: Vec<u8>,
    /// Lines read so far (for errors).
    line: u64,
    scratch: Vec<u8>,
    out: BatchBuilder,
}

impl Parser for JsonlParser {
    fn start(table: &Table, _config: &str) -> Result<Self, StageError> {
        Ok(JsonlParser {
            names: table.columns.iter().map(|c| c.name.clone()).collect(),
            shapes: Shape::of(table),
            pending: Vec::new(),
            line: 0,
            scratch: Vec::new(),
            out: BatchBuilder::new(table.columns.len()),
        })
    }

    fn parse(&mut self, input: &[u8]) -> Result<Batch, StageError> {
        let mut rest = input;
        if !self.pending.is_empty() {
            match rest.iter().position(|&b| b == b'\n') {
                None => {
                    self.pending.extend_from_slice(rest);
                    return self.take();
                }
                Some(end) => {
                    let mut line = std::mem::take(&mut self.pending);
                    line.extend_from_slice(&rest[..end]);
                    self.row(&line)?;
                    rest = &rest[end + 1..];
                }
            }
        }
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            self.row(&rest[..end])?;
            rest = &rest[end + 1..];
        }
        self.pending.extend_from_slice(rest);
        self.take()
    }

    fn end(mut self) -> Result<Batch, StageError> {
        if !self.pending.is_empty() {
            return Err(StageError::invalid_input(format!(
                "jsonl line {}: the file ends inside a row (no line break after it)",
                self.line + 1
            )));
        }
        self.take()
    }
}

impl JsonlParser {
    fn take(&mut self) -> Result<Batch, StageError> {
        std::mem::replace(&mut self.out, BatchBuilder::new(self.names.len())).finish()
    }

    fn bad(&self, why: impl std::fmt::Display) -> StageError {
        StageError::invalid_input(format!("jsonl line {}: {why}", self.line))
    }

    /// Parses one line into the batch.
    fn row(&mut self, line: &[u8]) -> Result<(), StageError> {
        self.line += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut at = 0;
        let eat = |at: &mut usize, b: u8| {
            if line.get(*at) == Some(&b) {
                *at += 1;
                true
            } else {
                false
            }
        };
        if !eat(&mut at, b'{') {
            return Err(self.bad("a row is a JSON object on one line"));
        }
        for i in 0..self.names.len() {
            if i > 0 && !eat(&mut at, b',') {
                return Err(self.bad(format!("expected ',' before key \"{}\"", self.names[i])));
            }
            let end = json::string_end(line, at).filter(|_| line.get(at) == Some(&b'"'));
            let key_end = end.ok_or_else(|| self.bad(format!("expected key \"{}\"", self.names[i])))?;
            self.scratch.clear();
            json::decode_string(&line[at..key_end], &mut self.scratch);
            if self.scratch != self.names[i].as_bytes() {
                return Err(self.bad(format!(
                    "expected key \"{}\", found \"{}\"",
                    self.names[i],
                    String::from_utf8_lossy(&self.scratch)
                )));
            }
            at = key_end;
            if !eat(&mut at, b':') {
                return Err(self.bad(format!("expected ':' after key \"{}\"", self.names[i])));
            }
            let value_end = json::value_end(line, at, MAX_DEPTH)
                .ok_or_else(|| self.bad(format!("column {}: not a JSON value", self.names[i])))?;
            let value = &line[at..value_end];
            self.value(i, value).map_err(|why| self.bad(format!("column {}: {why}", self.names[i])))?;
            at = value_end;
        }
        if !eat(&mut at, b'}') || at != line.len() {
            return Err(self.bad(format!("expected the row to end after its {} columns", self.names.len())));
        }
        if self.names.is_empty() {
            // A row of a table without columns counts too.
            self.out.push_row(&[])?;
        }
        Ok(())
    }

    /// Pushes the value `token` of column `i`.
    fn value(&mut self, i: usize, token: &[u8]) -> Result<(), String> {
        let shape = self.shapes[i];
        let column = self.out.column_mut(i);
        let dynamic = shape == Shape::Dynamic;
        let push = |column: &mut sluice_sdk::ColumnBuilder, value: &[u8], class: u8| {
            if dynamic {
                column.push_typed(Some(value), class);
            } else {
                column.push_value(value);
            }
        };
        match token[0] {
            b'n' if token == b"null" => {
                if dynamic {
                    column.push_typed(None, b'n');
                } else {
                    column.push_null();
                }
            }
            b't' | b'f' if shape == Shape::Boolean => push(column, &token[..1], b'i'),
            b'"' => {
                self.scratch.clear();
                json::decode_string(token, &mut self.scratch).ok_or("a string that is not valid text")?;
                if shape == Shape::Bytes {
                    return Err("bytes are written as {\"base64\":…}".into());
                }
                push(column, &self.scratch, b't');
            }
            b'{' if shape != Shape::Json => {
                let (tag, text) = tag_of(token).ok_or("an object that is none of the documented tags")?;
                self.scratch.clear();
                json::decode_string(text, &mut self.scratch).ok_or("a tag whose string is not valid text")?;
                let class = match (tag, shape) {
                    (b"base64", Shape::Bytes | Shape::Dynamic) => b'b',
                    (b"text_base64", Shape::Text | Shape::Json | Shape::Dynamic) => b't',
                    (b"integer", Shape::Dynamic) => b'i',
                    (b"real", Shape::Dynamic) => b'r',
                    _ => return Err(format!("tag \"{}\" does not fit this column", String::from_utf8_lossy(tag))),
                };
                if matches!(tag, b"base64" | b"text_base64") {
                    let decoded = STANDARD.decode(&self.scratch).map_err(|e| format!("bad base64: {e}"))?;
                    push(column, &decoded, class);
                } else {
                    push(column, &self.scratch, class);
                }
            }
            _ if shape == Shape::Json => push(column, token, b't'),
            b'-' | b'0'..=b'9' => {
                if shape == Shape::Bytes {
                    return Err("bytes are written as {\"base64\":…}".into());
                }
                let real = token.iter().any(|b| matches!(b, b'.' | b'e' | b'E'));
                push(column, token, if real { b'r' } else { b'i' });
            }
            _ => return Err(format!("unexpected value {}", String::from_utf8_lossy(token))),
        }
        Ok(())
    }
}

/// `{"tag":"string"}` → (tag, the string token with its quotes).
fn tag_of(token: &[u8]) -> Option<(&[u8], &[u8])> {
    let inner = token.strip_prefix(b"{\"")?.strip_suffix(b"}")?;
    let colon = inner.iter().position(|&b| b == b'"')?;
    let (tag, rest) = (&inner[..colon], inner[colon + 1..].strip_prefix(b":")?);
    (rest.first() == Some(&b'"') && json::string_end(rest, 0) == Some(rest.len())).then_some((tag, rest))
}
