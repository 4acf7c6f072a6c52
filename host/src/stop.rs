//! Stopping on a signal. SIGINT or SIGTERM asks the workers to take no new
//! chunk and lets each running chunk end, for at most [`GRACE`]; a second
//! signal (or the grace running out) aborts them at once. Whatever was
//! committed is journalled, so `--resume` goes on from there.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use tokio::sync::watch;

/// How long running chunks may take to end after the first signal.
pub const GRACE: Duration = Duration::from_secs(5);

/// SIGINT's number.
pub const SIGINT: i32 = 2;
/// SIGTERM's number.
pub const SIGTERM: i32 = 15;

/// The run was stopped by a signal; exit 128 + the signal's number.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {}", signal_name(*signal))]
pub struct Interrupted {
    /// The first signal received.
    pub signal: i32,
}

/// A signal's name (`SIGTERM`).
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// How many stop requests have come, and the first one's signal.
#[derive(Clone)]
pub struct Stop {
    count: watch::Sender<u32>,
    first: Arc<AtomicI32>,
}

impl Default for Stop {
    fn default() -> Self {
        Stop { count: watch::Sender::new(0), first: Arc::new(AtomicI32::new(0)) }
    }
}

impl Stop {
    /// A stop that only [`Stop::request`] triggers.
    pub fn new() -> Self {
        Self::default()
    }

    /// A stop that SIGINT and SIGTERM trigger, from now on (they no longer
    /// kill the process at once).
    pub fn on_signals() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let stop = Stop::new();
        for (kind, number) in [(SignalKind::interrupt(), SIGINT), (SignalKind::terminate(), SIGTERM)] {
            let mut stream = signal(kind)?;
            let stop = stop.clone();
            tokio::spawn(async move {
                while stream.recv().await.is_some() {
                    stop.request(number);
                }
            });
        }
        Ok(stop)
    }

    /// Records a stop request (what a signal does).
    pub fn request(&self, signal: i32) {
        let _ = self.first.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
        self.count.send_modify(|n| *n += 1);
        tracing::info!(signal = signal_name(signal), "Stop requested.");
    }

    /// The first signal, once one has come.
    pub fn requested(&self) -> Option<i32> {
        (*self.count.borrow() > 0).then(|| self.first.load(Ordering::SeqCst))
    }

    /// Resolves once `n` stop requests have come.
    pub async fn requests(&self, n: u32) {
        let mut rx = self.count.subscribe();
        let _ = rx.wait_for(|count| *count >= n).await;
    }

    /// The error of a stopped run.
    pub fn error(&self) -> Option<Interrupted> {
        self.requested().map(|signal| Interrupted { signal })
    }
}
