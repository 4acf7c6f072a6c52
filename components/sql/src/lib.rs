//! `sql`: `INSERT` statements that SQLite, MariaDB/MySQL or PostgreSQL
//! (`psql`) execute to load the rows back, in the dialect of the engine the
//! table was dumped from.
//!
//! Writing: no header or trailer; each `format` call writes its rows as
//! statements of the form
//!
//! ```text
//! INSERT INTO "t" ("id","name") VALUES
//! (1,'Ada'),
//! (2,NULL);
//! ```
//!
//! one row per line, the table name without its schema, every column listed
//! in table order. Statements never span `format` calls; a batch without
//! rows writes nothing. Names are quoted `"name"` (SQLite, PostgreSQL) or
//! `` `name` `` (MySQL) with the quote doubled. PostgreSQL tables are named
//! with their schema, `"public"."t"`, as pg_dump `--inserts` does, and
//! with `OVERRIDING SYSTEM VALUE` before `VALUES` (so identity columns
//! `GENERATED ALWAYS` take the dumped values).
//!
//! SQLite values follow the row's storage class when the batch carries one
//! (`types` in `types.wit`): `i` bare, `r` bare with `.0` appended when it
//! has no `.`, `e` or `E` (so it stays REAL) and `inf`/`-inf` as
//! `9e999`/`-9e999`, `t` as `'…'` with `'` doubled, `b` as `X'<hex>'`. A
//! text that is not UTF-8 or holds a NUL is written `CAST(X'<hex>' AS TEXT)`
//! to keep its bytes. Without classes, integer, float and decimal columns
//! write valid numeric literals bare, binary columns `X'<hex>'`, the rest
//! text. An `i` or `r` value whose text is no such literal is written as text
//! rather than as broken SQL.
//!
//! MySQL values: integer, float, decimal and `bit(n)` columns write valid
//! numeric literals bare, binary columns `X'<hex>'`, everything else a string
//! with `\\ \' \0 \n \r \Z` escapes (so restore needs `NO_BACKSLASH_ESCAPES`
//! off); text that is not UTF-8 goes as `X'<hex>'`.
//!
//! PostgreSQL values are the server's text: integer, float and numeric
//! columns write valid numeric literals bare (but `-0` quoted, which a bare
//! literal would turn into 0), `bytea` as `E'\\x<hex>'`, everything else
//! (including `NaN`, `Infinity`, booleans `'t'`/`'f'`, arrays, json) a string:
//! `'…'` with `'` doubled, or `E'…'` with `\` doubled too when it holds a
//! backslash, so the file means the same whatever
//! `standard_conforming_strings` is.
//!
//! Parsing reads exactly this layout back, streaming. SQLite batches carry a
//! class on every value: `i` for an integer literal, `r` for any other
//! number, `t` for `'…'` and `CAST(…)`, `b` for `X'…'`. A real reads back as
//! written, except `9e999`/`-9e999` (`inf`/`-inf`) and `[-]D.0`, whose `.0`
//! is dropped because writing adds it to integral reals. So a file parsed
//! and formatted again, statement by statement, comes out byte for byte the
//! same, and so do rows formatted from reals printed shortest (Rust's `{}`).
//! MySQL and PostgreSQL batches carry no classes; PostgreSQL `bytea` reads
//! back as its raw bytes.
//!
//! Config: `rows=N` (most rows per statement, default 1000) and `bytes=N`
//! (most bytes per statement from `INSERT` to `;` and newline, default 1 MiB;
//! a row longer than that still gets a statement of its own), separated by
//! `,` or whitespace.

mod literal;
mod read;
mod write;

use sluice_sdk::{Batch, Dialect, Formatter, StageError, Table};

pub use read::SqlParser;
pub use write::SqlWriter;

/// The SQL dialect a file is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// SQLite.
    Sqlite,
    /// MariaDB and MySQL.
    Mysql,
    /// PostgreSQL.
    Postgres,
}

impl Engine {
    /// The dialect of `table`'s engine.
    pub fn of(table: &Table) -> Result<Engine, StageError> {
        Ok(match table.dialect {
            Dialect::Sqlite => Engine::Sqlite,
            Dialect::Mysql => Engine::Mysql,
            Dialect::Postgres => Engine::Postgres,
        })
    }
}

/// How large one statement may grow, from the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most rows per statement, at least 1.
    pub rows: usize,
    /// Most bytes per statement unless it holds a single row, at least 1.
    pub bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Well under the 64 MiB `max_allowed_packet` MySQL and MariaDB ship
        // with, and SQLite's 1 GB statement limit.
        Limits { rows: 1000, bytes: 1 << 20 }
    }
}

impl Limits {
    /// Reads `rows=N` and `bytes=N`, separated by `,` or whitespace; an empty
    /// config gives the defaults.
    pub fn parse(config: &str) -> Result<Limits, StageError> {
        let mut limits = Limits::default();
        for pair in config.split(|c: char| c == ',' || c.is_whitespace()).filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| StageError::invalid_config(format!("sql config: expected key=value, got {pair:?}")))?;
            let slot = match key {
                "rows" => &mut limits.rows,
                "bytes" => &mut limits.bytes,
                _ => {
                    return Err(StageError::invalid_config(format!(
                        "sql config: unknown key {key:?} (expected rows or bytes)"
                    )));
                }
            };
            *slot = value.parse().ok().filter(|&n| n >= 1).ok_or_else(|| {
                StageError::invalid_config(format!(
                    "sql config: {key} must be a whole number of at least 1, got {value:?}"
                ))
            })?;
        }
        Ok(limits)
    }
}

/// Writing side: the statement prefix and how each column is written.
pub struct SqlText {
    writer: SqlWriter,
}

impl Formatter for SqlText {
    const EXTENSION: &'static str = "sql";
    type Parser = SqlParser;

    fn header(table: &Table, config: &str) -> Result<(Self, Vec<u8>), StageError> {
        let writer = SqlWriter::new(table, Engine::of(table)?, Limits::parse(config)?);
        Ok((SqlText { writer }, Vec::new()))
    }

    fn format(&mut self, input: &Batch) -> Result<Vec<u8>, StageError> {
        let mut out = Vec::new();
        self.writer.format(input, &mut out)?;
        Ok(out)
    }

    fn trailer(self) -> Result<Vec<u8>, StageError> {
        Ok(Vec::new())
    }
}

sluice_sdk::export_formatter!(SqlText);

#[cfg(test)]
mod tests;
