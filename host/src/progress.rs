//! Progress reporting: plain lines, JSON events, or nothing.

use std::io::{IsTerminal, Write};

use serde_json::json;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ProgressMode {
    /// Plain lines (a terminal gets the same lines; bars are not drawn yet).
    #[default]
    Auto,
    /// One line per finished chunk on stderr.
    Plain,
    /// One JSON object per event on stderr.
    Json,
    /// Only errors and the final summary.
    None,
}

/// Emits progress events for one command.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    mode: ProgressMode,
}

impl Progress {
    /// A reporter for `mode`; `auto` is plain on a terminal and when piped.
    pub fn new(mode: ProgressMode) -> Self {
        let mode = match mode {
            ProgressMode::Auto if std::io::stderr().is_terminal() => ProgressMode::Plain,
            ProgressMode::Auto => ProgressMode::Plain,
            other => other,
        };
        Progress { mode }
    }

    /// A chunk finished.
    pub fn chunk_done(&self, verb: &str, table: &str, chunk: u32, rows: u64, bytes: u64) {
        match self.mode {
            ProgressMode::Plain | ProgressMode::Auto => {
                eprintln!("{verb} {table} chunk {chunk}: {rows} rows, {bytes} bytes");
            }
            ProgressMode::Json => {
                let event = json!({"event": "chunk", "verb": verb, "table": table, "chunk": chunk, "rows": rows, "bytes": bytes});
                let _ = writeln!(std::io::stderr(), "{event}");
            }
            ProgressMode::None => {}
        }
    }

    /// A phase started (schema, data, post-data, checks).
    pub fn phase(&self, name: &str) {
        match self.mode {
            ProgressMode::Plain | ProgressMode::Auto => eprintln!("{name}"),
            ProgressMode::Json => {
                let _ = writeln!(std::io::stderr(), "{}", json!({"event": "phase", "name": name}));
            }
            ProgressMode::None => {}
        }
    }
}
