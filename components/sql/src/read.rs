//! `INSERT` statements back to batches, streaming: input pieces may split a
//! statement, a value or an escape anywhere; the unfinished row waits in the
//! parser. Only the layout `write` produces is accepted.

use std::mem;

use sluice_sdk::{Batch, BatchBuilder, Parser, StageError, Table, bytea};

use crate::literal::{hex_value, is_integer, is_number, statement_prefix};
use crate::{Engine, Limits};

/// Class recorded for a NULL value (as in `types.wit`).
const NULL: u8 = b'n';

/// Bytes that may continue a bare number.
const NUMBER: [bool; 256] = {
    let mut t = [false; 256];
    let chars = b"0123456789.eE+-";
    let mut i = 0;
    while i < chars.len() {
        t[chars[i] as usize] = true;
        i += 1;
    }
    t
};

/// What finishing a fixed word leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Then {
    /// `NULL` was read.
    Null,
    /// `X'` or `CAST(X'` was read: hex digits follow.
    Hex { cast: bool },
    /// `' AS TEXT)` was read: the cast text value is complete.
    CastEnd,
    /// `E'` was read (PostgreSQL): a string with backslash escapes follows.
    EscapeString,
}

/// Where the parser is in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Matching the statement prefix; `0` bytes matched is between statements.
    Prefix(usize),
    /// Expecting the `(` that opens a row.
    RowStart,
    /// Expecting a value.
    Value,
    /// Inside a fixed word, `pos` bytes of it matched.
    Word { word: &'static [u8], pos: usize, then: Then },
    /// Inside a bare number.
    Number,
    /// Inside a quoted string.
    Str,
    /// Just after a `'` inside a string: a doubled quote or the end.
    StrQuote,
    /// Just after a `\` inside a MySQL string or a PostgreSQL `E'…'`.
    Escape,
    /// Inside `X'…'`; `high` is the first digit of an unfinished pair.
    Hex { cast: bool, high: Option<u8> },
    /// Expecting `,` or `)` after a value.
    AfterValue,
    /// Expecting `,` or `;` after a row.
    AfterRow,
    /// Expecting the newline after a row's `,` or the statement's `;`.
    LineEnd { last: bool },
}

impl State {
    /// What the parser wants next, for error messages.
    fn expected(&self) -> String {
        match self {
            State::Prefix(_) => "expected the statement start".to_string(),
            State::RowStart => "expected `(` opening a row".to_string(),
            State::Value => "expected a value (NULL, a number, a quoted string or X'…')".to_string(),
            State::Word { word, .. } => format!("expected `{}`", String::from_utf8_lossy(word)),
            State::Number | State::AfterValue | State::StrQuote => "expected `,` or `)` after a value".to_string(),
            State::Str => "expected the closing `'` of a string".to_string(),
            State::Escape => "expected one of `0'\"bnrtZ\\` after a backslash".to_string(),
            State::Hex { .. } => "expected a hex digit or the closing `'`".to_string(),
            State::AfterRow => "expected `,` or `;` after a row".to_string(),
            State::LineEnd { .. } => "expected a newline".to_string(),
        }
    }
}

/// Streaming parser for one chunk.
pub struct SqlParser {
    engine: Engine,
    prefix: Vec<u8>,
    width: usize,
    state: State,
    /// Decoded bytes of the current row's values, back to back.
    row: Vec<u8>,
    /// End in `row` and class (`i r t b`, `n` for NULL, 0 for MySQL values)
    /// of each finished value of the current row.
    fields: Vec<(usize, u8)>,
    /// Bytes of input consumed before the current piece.
    offset: u64,
    /// The string being read takes backslash escapes (MySQL, `E'…'`).
    escapes: bool,
    /// Which columns hold raw bytes that PostgreSQL writes as bytea text.
    bytea: Vec<bool>,
    /// A bytea value's raw bytes, decoded from its text.
    raw: Vec<u8>,
    out: BatchBuilder,
}

impl SqlParser {
    /// A parser for statements of `table` in `engine`'s dialect.
    pub fn new(table: &Table, engine: Engine) -> Self {
        SqlParser {
            engine,
            prefix: statement_prefix(engine, table),
            width: table.columns.len(),
            state: State::Prefix(0),
            row: Vec::new(),
            fields: Vec::new(),
            offset: 0,
            escapes: false,
            bytea: match engine {
                Engine::Postgres => sluice_sdk::text::binary_columns(table),
                Engine::Sqlite | Engine::Mysql => vec![false; table.columns.len()],
            },
            raw: Vec::new(),
            out: BatchBuilder::new(table.columns.len()),
        }
    }

    /// `invalid-input` at byte `at` of the current piece.
    fn error(&self, at: usize, found: u8, expected: &str) -> StageError {
        StageError::invalid_input(format!(
            "sql input byte {}: {expected}, found '{}'",
            self.offset + at as u64,
            found.escape_ascii()
        ))
    }

    fn unexpected(&self, input: &[u8], at: usize) -> StageError {
        let expected = match self.state {
            State::Prefix(_) => format!("expected {:?}", String::from_utf8_lossy(&self.prefix)),
            state => state.expected(),
        };
        self.error(at, input[at], &expected)
    }

    fn end_value(&mut self, class: u8) {
        self.fields.push((self.row.len(), class));
    }

    /// Ends the bare number at the end of `row`; `at` is the byte after it.
    fn end_number(&mut self, input: &[u8], at: usize) -> Result<(), StageError> {
        let start = self.fields.last().map_or(0, |f| f.0);
        let text = &self.row[start..];
        if !is_number(text) {
            let message = format!("`{}` is not a number", text.escape_ascii());
            return Err(self.error(at, input[at], &message));
        }
        let class = match self.engine {
            Engine::Mysql | Engine::Postgres => 0,
            Engine::Sqlite if is_integer(text) => b'i',
            Engine::Sqlite => {
                // Undo what writing does to reals (see the crate docs).
                let infinity: Option<&[u8]> = match text {
                    b"9e999" => Some(b"inf"),
                    b"-9e999" => Some(b"-inf"),
                    _ => None,
                };
                let integral = text.strip_suffix(b".0").is_some_and(is_integer);
                if let Some(infinity) = infinity {
                    self.row.truncate(start);
                    self.row.extend_from_slice(infinity);
                } else if integral {
                    self.row.truncate(self.row.len() - 2);
                }
                b'r'
            }
        };
        self.end_value(class);
        Ok(())
    }

    /// Moves the finished row into the output batch.
    fn end_row(&mut self) -> Result<(), StageError> {
        let mut start = 0;
        for (i, &(end, class)) in self.fields.iter().enumerate() {
            let mut value = (class != NULL).then(|| &self.row[start..end]);
            start = end;
            if let (Some(text), true) = (value, self.bytea[i]) {
                self.raw.clear();
                bytea::decode(text, &mut self.raw)?;
                value = Some(&self.raw);
            }
            let column = self.out.column_mut(i);
            match self.engine {
                Engine::Sqlite => column.push_typed(value, class),
                Engine::Mysql | Engine::Postgres => column.push(value),
            }
        }
        if self.width == 0 {
            // Counts the row; a batch without columns has no column to do it.
            self.out.push_row(&[])?;
        }
        self.row.clear();
        self.fields.clear();
        Ok(())
    }

    /// Consumes `input`, completing rows into `self.out`.
    fn feed(&mut self, input: &[u8]) -> Result<(), StageError> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::Prefix(pos) => {
                    let want = &self.prefix[pos..];
                    let n = want.len().min(input.len() - i);
                    if let Some(k) = (0..n).find(|&k| input[i + k] != want[k]) {
                        return Err(self.unexpected(input, i + k));
                    }
                    i += n;
                    self.state = if pos + n == self.prefix.len() { State::RowStart } else { State::Prefix(pos + n) };
                }
                State::RowStart => {
                    if b != b'(' {
                        return Err(self.unexpected(input, i));
                    }
                    i += 1;
                    self.state = if self.width == 0 { State::AfterValue } else { State::Value };
                }
                State::Value => {
                    self.state = match b {
                        b'N' => State::Word { word: b"NULL", pos: 1, then: Then::Null },
                        b'\'' => {
                            self.escapes = self.engine == Engine::Mysql;
                            State::Str
                        }
                        b'E' if self.engine == Engine::Postgres => {
                            State::Word { word: b"E'", pos: 1, then: Then::EscapeString }
                        }
                        b'X' if self.engine != Engine::Postgres => {
                            State::Word { word: b"X'", pos: 1, then: Then::Hex { cast: false } }
                        }
                        b'C' if self.engine == Engine::Sqlite => {
                            State::Word { word: b"CAST(X'", pos: 1, then: Then::Hex { cast: true } }
                        }
                        b'-' | b'.' | b'0'..=b'9' => {
                            self.row.push(b);
                            State::Number
                        }
                        _ => return Err(self.unexpected(input, i)),
                    };
                    i += 1;
                }
                State::Word { word, pos, then } => {
                    if b != word[pos] {
                        return Err(self.unexpected(input, i));
                    }
                    i += 1;
                    self.state = if pos + 1 < word.len() {
                        State::Word { word, pos: pos + 1, then }
                    } else {
                        match then {
                            Then::Null => {
                                self.end_value(NULL);
                                State::AfterValue
                            }
                            Then::Hex { cast } => State::Hex { cast, high: None },
                            Then::CastEnd => {
                                self.end_value(b't');
                                State::AfterValue
                            }
                            Then::EscapeString => {
                                self.escapes = true;
                                State::Str
                            }
                        }
                    };
                }
                State::Number => {
                    let start = i;
                    while i < input.len() && NUMBER[input[i] as usize] {
                        i += 1;
                    }
                    self.row.extend_from_slice(&input[start..i]);
                    if i < input.len() {
                        self.end_number(input, i)?;
                        self.state = State::AfterValue;
                    }
                }
                State::Str => {
                    let start = i;
                    let escapes = self.escapes;
                    while i < input.len() && input[i] != b'\'' && !(escapes && input[i] == b'\\') {
                        i += 1;
                    }
                    self.row.extend_from_slice(&input[start..i]);
                    if let Some(&end) = input.get(i) {
                        self.state = if end == b'\'' { State::StrQuote } else { State::Escape };
                        i += 1;
                    }
                }
                State::StrQuote => {
                    if b == b'\'' {
                        self.row.push(b'\'');
                        self.state = State::Str;
                        i += 1;
                    } else {
                        // The string ended; this byte comes after it.
                        self.end_value(b't');
                        self.state = State::AfterValue;
                    }
                }
                State::Escape => {
                    let decoded = match b {
                        // PostgreSQL's `E'…'` as written: only these two.
                        b'\\' | b'\'' if self.engine == Engine::Postgres => b,
                        _ if self.engine == Engine::Postgres => return Err(self.unexpected(input, i)),
                        b'0' => 0,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b'Z' => 0x1a,
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'\\' | b'\'' | b'"' => b,
                        _ => return Err(self.unexpected(input, i)),
                    };
                    self.row.push(decoded);
                    self.state = State::Str;
                    i += 1;
                }
                State::Hex { cast, mut high } => {
                    while let Some(d) = input.get(i).and_then(|&b| hex_value(b)) {
                        match high.take() {
                            Some(h) => self.row.push(h << 4 | d),
                            None => high = Some(d),
                        }
                        i += 1;
                    }
                    self.state = State::Hex { cast, high };
                    let Some(&end) = input.get(i) else { continue };
                    if end != b'\'' || high.is_some() {
                        return Err(self.unexpected(input, i));
                    }
                    i += 1;
                    self.state = if cast {
                        State::Word { word: b" AS TEXT)", pos: 0, then: Then::CastEnd }
                    } else {
                        self.end_value(if self.engine == Engine::Sqlite { b'b' } else { 0 });
                        State::AfterValue
                    };
                }
                State::AfterValue => {
                    let (values, width) = (self.fields.len(), self.width);
                    match b {
                        b',' if values < width => self.state = State::Value,
                        b')' if values == width => {
                            self.end_row()?;
                            self.state = State::AfterRow;
                        }
                        b',' => {
                            let message = format!("expected `)`: the table has {width} columns");
                            return Err(self.error(i, b, &message));
                        }
                        b')' => {
                            let message = format!("expected `,`: the row has {values} of {width} values");
                            return Err(self.error(i, b, &message));
                        }
                        _ => return Err(self.unexpected(input, i)),
                    }
                    i += 1;
                }
                State::AfterRow => {
                    self.state = match b {
                        b',' => State::LineEnd { last: false },
                        b';' => State::LineEnd { last: true },
                        _ => return Err(self.unexpected(input, i)),
                    };
                    i += 1;
                }
                State::LineEnd { last } => {
                    if b != b'\n' {
                        return Err(self.unexpected(input, i));
                    }
                    self.state = if last { State::Prefix(0) } else { State::RowStart };
                    i += 1;
                }
            }
        }
        self.offset += input.len() as u64;
        Ok(())
    }

    fn take_batch(&mut self) -> Result<Batch, StageError> {
        mem::replace(&mut self.out, BatchBuilder::new(self.width)).finish()
    }
}

impl Parser for SqlParser {
    fn start(table: &Table, config: &str) -> Result<Self, StageError> {
        let engine = Engine::of(table)?;
        // Statements of any size parse; the config is only checked.
        Limits::parse(config)?;
        Ok(SqlParser::new(table, engine))
    }

    fn parse(&mut self, input: &[u8]) -> Result<Batch, StageError> {
        self.feed(input)?;
        self.take_batch()
    }

    fn end(mut self) -> Result<Batch, StageError> {
        if self.state != State::Prefix(0) {
            let expected = match self.state {
                // A string may end right at the end of the input.
                State::StrQuote => State::AfterValue.expected(),
                state => state.expected(),
            };
            return Err(StageError::invalid_input(format!(
                "sql input ends at byte {} inside a statement: {expected}",
                self.offset
            )));
        }
        self.take_batch()
    }
}
