//! Progress reporting: a bar on a terminal (chunks, rows/s, MB/s, ETA) and
//! a summary table after it, plain lines otherwise, JSON events with
//! `--progress json` (`run-start`, `phase`, `chunk`, `table-done`,
//! `warning`, `run-end`, one object a line on stderr), or nothing.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::error::Failure;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ProgressMode {
    /// A bar and a summary table on a terminal, plain lines otherwise.
    #[default]
    Auto,
    /// One line per finished chunk on stderr.
    Plain,
    /// One JSON object per event on stderr.
    Json,
    /// Only errors and the final summary line.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Bar,
    Plain,
    Json,
    Nothing,
}

/// One table's work so far.
#[derive(Debug, Default, Clone)]
struct TableStats {
    chunks_expected: u64,
    chunks: u64,
    rows: u64,
    bytes: u64,
    started: Option<Instant>,
    done: Option<Instant>,
}

/// What every clone of a [`Progress`] shares.
#[derive(Default)]
struct Shared {
    rows: AtomicU64,
    bytes: AtomicU64,
    tables: Mutex<BTreeMap<String, TableStats>>,
    warnings: Mutex<Vec<String>>,
    snapshot: Mutex<Option<String>>,
    /// Chunks retried, by why.
    retries: Mutex<BTreeMap<&'static str, u64>>,
}

/// Emits progress events for one command; clones share one bar and totals.
#[derive(Clone)]
pub struct Progress {
    command: &'static str,
    shown: Shown,
    bar: Option<ProgressBar>,
    shared: Arc<Shared>,
    started: Instant,
}

impl Progress {
    /// A reporter of `command` (`dump`, `restore`, `verify`) for `mode`;
    /// `auto` draws a bar when stderr is a terminal.
    pub fn new(mode: ProgressMode, command: &'static str) -> Self {
        let shown = match mode {
            ProgressMode::Auto if std::io::stderr().is_terminal() => Shown::Bar,
            ProgressMode::Auto | ProgressMode::Plain => Shown::Plain,
            ProgressMode::Json => Shown::Json,
            ProgressMode::None => Shown::Nothing,
        };
        Progress { command, shown, bar: None, shared: Arc::default(), started: Instant::now() }
    }

    fn emit(&self, event: serde_json::Value) {
        let _ = writeln!(std::io::stderr(), "{event}");
    }

    /// Data starts moving: `chunks` gives each table's chunk count, with the
    /// plan's estimates of rows and bytes in all.
    pub fn run_start(&mut self, chunks: &[(String, u64)], estimated_rows: u64, estimated_bytes: u64) {
        let total: u64 = chunks.iter().map(|(_, n)| n).sum();
        {
            let mut tables = self.shared.tables.lock().unwrap_or_else(|p| p.into_inner());
            for (table, n) in chunks {
                tables.entry(table.clone()).or_default().chunks_expected += n;
            }
        }
        match self.shown {
            Shown::Json => self.emit(json!({
                "event": "run-start", "command": self.command, "tables": chunks.len(), "chunks": total,
                "estimated_rows": estimated_rows, "estimated_bytes": estimated_bytes,
            })),
            Shown::Bar => {
                let bar = ProgressBar::new(total);
                let style =
                    ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} chunks, {msg} (eta {eta})")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> ");
                bar.set_style(style);
                self.bar = Some(bar);
            }
            Shown::Plain | Shown::Nothing => {}
        }
    }

    /// A chunk of `table` started.
    pub fn chunk_started(&self, table: &str) {
        let mut tables = self.shared.tables.lock().unwrap_or_else(|p| p.into_inner());
        tables.entry(table.to_owned()).or_default().started.get_or_insert_with(Instant::now);
    }

    /// A chunk finished.
    pub fn chunk_done(&self, verb: &str, table: &str, chunk: u32, rows: u64, bytes: u64) {
        let all_rows = self.shared.rows.fetch_add(rows, Ordering::Relaxed) + rows;
        let all_bytes = self.shared.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let table_done = {
            let mut tables = self.shared.tables.lock().unwrap_or_else(|p| p.into_inner());
            let stats = tables.entry(table.to_owned()).or_default();
            let now = Instant::now();
            stats.started.get_or_insert(now);
            stats.chunks += 1;
            stats.rows += rows;
            stats.bytes += bytes;
            let done = stats.chunks == stats.chunks_expected;
            if done {
                stats.done = Some(now);
            }
            done.then(|| stats.clone())
        };
        match self.shown {
            Shown::Bar => {
                if let Some(bar) = &self.bar {
                    let secs = self.started.elapsed().as_secs_f64().max(1e-3);
                    bar.set_message(format!(
                        "{all_rows} rows, {:.0} rows/s, {:.1} MB/s",
                        all_rows as f64 / secs,
                        all_bytes as f64 / secs / 1e6
                    ));
                    bar.inc(1);
                }
            }
            Shown::Plain => eprintln!("{verb} {table} chunk {chunk}: {rows} rows, {bytes} bytes"),
            Shown::Json => {
                self.emit(json!({"event": "chunk", "verb": verb, "table": table, "chunk": chunk, "rows": rows, "bytes": bytes}));
                if let Some(stats) = table_done {
                    self.emit(json!({
                        "event": "table-done", "table": table, "rows": stats.rows, "bytes": stats.bytes,
                        "chunks": stats.chunks, "seconds": seconds(&stats),
                    }));
                }
            }
            Shown::Nothing => {}
        }
    }

    /// A chunk is read again after a transient failure (`why`: `connection
    /// loss`), on try `attempt` of `tries`.
    pub fn retry(&self, table: &str, chunk: u32, attempt: u32, tries: u32, why: &'static str, cause: &str) {
        *self.shared.retries.lock().unwrap_or_else(|p| p.into_inner()).entry(why).or_default() += 1;
        let line = format!("retrying {table} chunk {chunk} (try {attempt} of {tries}) after {why}: {cause}");
        match (self.shown, &self.bar) {
            (Shown::Json, _) => self.emit(json!({
                "event": "retry", "table": table, "chunk": chunk, "attempt": attempt, "reason": why, "cause": cause,
            })),
            (_, Some(bar)) => bar.println(line),
            (Shown::Nothing, _) => {}
            _ => eprintln!("{line}"),
        }
    }

    /// What was retried, for the summary: `2 chunk retries after connection
    /// loss`.
    pub fn retries(&self) -> Vec<String> {
        let retries = self.shared.retries.lock().unwrap_or_else(|p| p.into_inner());
        retries
            .iter()
            .map(|(why, n)| format!("{n} chunk {} after {why}", if *n == 1 { "retry" } else { "retries" }))
            .collect()
    }

    /// A phase started (schema, data, post-data, checks).
    pub fn phase(&self, name: &str) {
        match (self.shown, &self.bar) {
            (Shown::Bar, Some(bar)) => bar.println(name),
            (Shown::Bar | Shown::Plain, _) => eprintln!("{name}"),
            (Shown::Json, _) => self.emit(json!({"event": "phase", "name": name})),
            (Shown::Nothing, _) => {}
        }
    }

    /// Says a warning now and lists it in the summary.
    pub fn warn(&self, message: &str) {
        self.shared.warnings.lock().unwrap_or_else(|p| p.into_inner()).push(message.to_owned());
        match (self.shown, &self.bar) {
            (Shown::Json, _) => self.emit(json!({"event": "warning", "message": message})),
            (_, Some(bar)) => bar.println(format!("warning: {message}")),
            _ => eprintln!("warning: {message}"),
        }
    }

    /// Where the snapshot was, for the summary.
    pub fn snapshot(&self, text: &str) {
        *self.shared.snapshot.lock().unwrap_or_else(|p| p.into_inner()) = Some(text.to_owned());
    }

    /// Data is done: the bar goes away (the summary follows).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// The run ended with `outcome`: the `run-end` event, or on a terminal
    /// the summary table (per table: rows, bytes, MB/s, seconds, chunks;
    /// totals; the snapshot; warnings).
    pub fn run_end(&self, outcome: &Result<(), Failure>) {
        self.finish();
        let (rows, bytes) = (self.shared.rows.load(Ordering::Relaxed), self.shared.bytes.load(Ordering::Relaxed));
        let elapsed = self.started.elapsed().as_secs_f64();
        let tables = self.shared.tables.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match self.shown {
            Shown::Json => self.emit(json!({
                "event": "run-end", "command": self.command, "tables": tables.len(), "rows": rows, "bytes": bytes,
                "seconds": elapsed, "exit_code": outcome.as_ref().map_or_else(Failure::exit_code, |()| 0),
                "retries": self.retries(),
                "error": outcome.as_ref().err().map(Failure::message),
            })),
            Shown::Bar if outcome.is_ok() && !tables.is_empty() => {
                let mut text = format!(
                    "{:<36} {:>12} {:>14} {:>8} {:>8} {:>6}\n",
                    "table", "rows", "bytes", "MB/s", "seconds", "chunks"
                );
                for (name, stats) in &tables {
                    let secs = seconds(stats);
                    text.push_str(&format!(
                        "{name:<36} {:>12} {:>14} {:>8.1} {secs:>8.2} {:>6}\n",
                        stats.rows,
                        stats.bytes,
                        stats.bytes as f64 / secs.max(1e-3) / 1e6,
                        stats.chunks
                    ));
                }
                let chunks: u64 = tables.values().map(|s| s.chunks).sum();
                text.push_str(&format!(
                    "{:<36} {rows:>12} {bytes:>14} {:>8.1} {elapsed:>8.2} {chunks:>6}\n",
                    format!("total ({} tables)", tables.len()),
                    bytes as f64 / elapsed.max(1e-3) / 1e6
                ));
                if let Some(snapshot) = self.shared.snapshot.lock().unwrap_or_else(|p| p.into_inner()).as_deref() {
                    text.push_str(&format!("snapshot: {snapshot}\n"));
                }
                for warning in self.shared.warnings.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                    text.push_str(&format!("warning: {warning}\n"));
                }
                for retried in self.retries() {
                    text.push_str(&format!("{retried}\n"));
                }
                let _ = std::io::stderr().write_all(text.as_bytes());
            }
            _ => {}
        }
    }
}

/// A table's time from its first chunk's start to its last chunk's end.
fn seconds(stats: &TableStats) -> f64 {
    match (stats.started, stats.done) {
        (Some(start), Some(done)) => done.duration_since(start).as_secs_f64(),
        (Some(start), None) => start.elapsed().as_secs_f64(),
        _ => 0.0,
    }
}
