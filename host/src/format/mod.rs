//! The shared vocabulary of data files, a leaf every layer imports: the
//! format rows are written in, the compression around them, where stages
//! run, and how a loader wants a decoded file cut. Also the host's native
//! codecs of the formats: COPY text, MySQL INSERT statements, statement
//! splitting and the LOAD DATA rows made from INSERTs.

pub mod copy_text;
pub mod load_rows;
pub mod mysql_insert;
pub mod sql_text;

use anyhow::{anyhow, bail};

/// How stages run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum StagesMode {
    /// Native fast paths where they produce the same bytes (PostgreSQL COPY
    /// pass-through, zstd and gzip in the host); components everywhere else.
    #[default]
    Auto,
    /// Every stage runs as a wasm component (formatter and codec included).
    Wasm,
}

/// Output format of data files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// PostgreSQL COPY text.
    Copy,
    /// CSV with a header line.
    Csv,
    /// SQL INSERT statements in the source's dialect, every engine.
    Sql,
    /// Typed JSON Lines, one object a row (`docs/jsonl.md`), every engine.
    Jsonl,
    /// The tab-separated text MySQL's `LOAD DATA` reads (`\N`, backslash
    /// escapes).
    Tsv,
}

impl Format {
    /// Name of the built-in formatter component, also the file extension.
    pub fn name(self) -> &'static str {
        match self {
            Format::Copy => "copy",
            Format::Csv => "csv",
            Format::Sql => "sql",
            Format::Jsonl => "jsonl",
            Format::Tsv => "tsv",
        }
    }

    /// Parses a format name as `--format` and the manifest spell it.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        match text {
            "copy" => Ok(Format::Copy),
            "csv" => Ok(Format::Csv),
            "sql" => Ok(Format::Sql),
            "jsonl" => Ok(Format::Jsonl),
            "tsv" => Ok(Format::Tsv),
            other => bail!("unknown format '{other}' (expected copy, csv, sql, jsonl or tsv)"),
        }
    }
}

/// Compression of data files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "codec", content = "level", rename_all = "lowercase")]
pub enum Compression {
    /// No byte stage.
    None,
    /// zstd at a level 1-22.
    Zstd(i32),
    /// gzip at a level 0-9.
    Gzip(u32),
}

impl Compression {
    /// Parses `zstd[:LEVEL]`, `gzip[:LEVEL]` or `none`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let (codec, level) = match text.split_once(':') {
            Some((c, l)) => (c, Some(l)),
            None => (text, None),
        };
        let level_of = |l: Option<&str>, default: i64, max: i64| -> anyhow::Result<i64> {
            let Some(l) = l else { return Ok(default) };
            let n: i64 = l.parse().map_err(|_| anyhow!("compression level '{l}' is not a number"))?;
            if !(0..=max).contains(&n) {
                bail!("compression level {n} is out of range 0..={max} for {codec}");
            }
            Ok(n)
        };
        Ok(match codec {
            "none" if level.is_none() => Compression::None,
            "zstd" => Compression::Zstd(level_of(level, 1, 22)?.max(1) as i32),
            "gzip" => Compression::Gzip(level_of(level, 6, 9)? as u32),
            _ => bail!("unknown compression '{text}' (expected zstd[:LEVEL], gzip[:LEVEL] or none)"),
        })
    }

    /// Built-in byte-transform component name, if any.
    pub fn component(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Zstd(_) => Some("zstd"),
            Compression::Gzip(_) => Some("gzip"),
        }
    }

    /// File extension added by this codec, if any.
    pub fn extension(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Zstd(_) => Some("zst"),
            Compression::Gzip(_) => Some("gz"),
        }
    }

    /// The config text the codec component receives (its level).
    pub fn config_text(self) -> String {
        match self {
            Compression::None => String::new(),
            Compression::Zstd(l) => l.to_string(),
            Compression::Gzip(l) => l.to_string(),
        }
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Compression::None => write!(f, "none"),
            Compression::Zstd(l) => write!(f, "zstd:{l}"),
            Compression::Gzip(l) => write!(f, "gzip:{l}"),
        }
    }
}

/// How a loader wants a decoded data file handed to it: what restore's
/// file reader turns the file's bytes into before they reach the loader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// The bytes as they are (COPY text or CSV, read by the server itself);
    /// batches from a formatter component's parse direction are re-encoded
    /// as COPY text.
    Copy,
    /// Whole SQL statements, never one cut in two.
    Statements {
        /// Whether `\` escapes a quote inside a string (MySQL) or not (SQLite).
        backslash_escapes: bool,
    },
    /// LOAD DATA's tab-separated rows: a `tsv` file as it is, or the dump's
    /// INSERT statements converted.
    LoadDataRows {
        /// Columns per row.
        columns: usize,
    },
}

impl Framing {
    /// Whether a file in `format` goes to this loader without being parsed
    /// into batches first.
    pub fn reads(self, format: Format) -> bool {
        match self {
            Framing::Copy => matches!(format, Format::Copy | Format::Csv),
            Framing::Statements { .. } => format == Format::Sql,
            Framing::LoadDataRows { .. } => matches!(format, Format::Sql | Format::Tsv),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_parses_levels_and_rejects_nonsense() {
        assert_eq!(Compression::parse("zstd").ok(), Some(Compression::Zstd(1)));
        assert_eq!(Compression::parse("zstd:19").ok(), Some(Compression::Zstd(19)));
        assert_eq!(Compression::parse("gzip:1").ok(), Some(Compression::Gzip(1)));
        assert_eq!(Compression::parse("none").ok(), Some(Compression::None));
        assert!(Compression::parse("zstd:99").is_err());
        assert!(Compression::parse("lz4").is_err());
        assert!(Compression::parse("none:3").is_err());
    }
}
