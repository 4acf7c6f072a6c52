//! Progress reporting: a bar on a terminal (chunks, rows/s, MB/s, ETA),
//! plain lines otherwise, JSON events with `--progress json`, or nothing.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ProgressMode {
    /// A bar on a terminal, plain lines otherwise.
    #[default]
    Auto,
    /// One line per finished chunk on stderr.
    Plain,
    /// One JSON object per event on stderr.
    Json,
    /// Only errors and the final summary.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Bar,
    Plain,
    Json,
    Nothing,
}

/// Emits progress events for one command; clones share one bar and totals.
#[derive(Clone)]
pub struct Progress {
    shown: Shown,
    bar: Option<ProgressBar>,
    totals: Arc<(AtomicU64, AtomicU64)>,
    started: Instant,
}

impl Progress {
    /// A reporter for `mode`; `auto` draws a bar when stderr is a terminal.
    pub fn new(mode: ProgressMode) -> Self {
        let shown = match mode {
            ProgressMode::Auto if std::io::stderr().is_terminal() => Shown::Bar,
            ProgressMode::Auto | ProgressMode::Plain => Shown::Plain,
            ProgressMode::Json => Shown::Json,
            ProgressMode::None => Shown::Nothing,
        };
        Progress { shown, bar: None, totals: Arc::default(), started: Instant::now() }
    }

    /// Data starts moving: `chunks` units of work in all.
    pub fn begin(&mut self, chunks: u64) {
        if self.shown != Shown::Bar {
            return;
        }
        let bar = ProgressBar::new(chunks);
        let style = ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} chunks, {msg} (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        self.bar = Some(bar);
    }

    /// A chunk finished.
    pub fn chunk_done(&self, verb: &str, table: &str, chunk: u32, rows: u64, bytes: u64) {
        let all_rows = self.totals.0.fetch_add(rows, Ordering::Relaxed) + rows;
        let all_bytes = self.totals.1.fetch_add(bytes, Ordering::Relaxed) + bytes;
        match self.shown {
            Shown::Bar => {
                if let Some(bar) = &self.bar {
                    let secs = self.started.elapsed().as_secs_f64().max(1e-3);
                    bar.set_message(format!(
                        "{all_rows} rows, {:.0} rows/s, {:.1} MB/s written",
                        all_rows as f64 / secs,
                        all_bytes as f64 / secs / 1e6
                    ));
                    bar.inc(1);
                }
            }
            Shown::Plain => eprintln!("{verb} {table} chunk {chunk}: {rows} rows, {bytes} bytes"),
            Shown::Json => {
                let event = json!({"event": "chunk", "verb": verb, "table": table, "chunk": chunk, "rows": rows, "bytes": bytes});
                let _ = writeln!(std::io::stderr(), "{event}");
            }
            Shown::Nothing => {}
        }
    }

    /// A phase started (schema, data, post-data, checks).
    pub fn phase(&self, name: &str) {
        match (self.shown, &self.bar) {
            (Shown::Bar, Some(bar)) => bar.println(name),
            (Shown::Bar | Shown::Plain, _) => eprintln!("{name}"),
            (Shown::Json, _) => {
                let _ = writeln!(std::io::stderr(), "{}", json!({"event": "phase", "name": name}));
            }
            (Shown::Nothing, _) => {}
        }
    }

    /// Data is done: the bar goes away (the summary follows).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
