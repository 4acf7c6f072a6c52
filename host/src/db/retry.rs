//! Which failures are worth a retry: the connection went away, the server
//! is restarting or full, a lock or deadlock that another try will not
//! meet. Permission, syntax, data and checksum errors never are.

use std::time::Duration;

use sqlx::error::DatabaseError;

/// Tries of one chunk after its first: at most this many retries.
pub const MAX_RETRIES: u32 = 3;

/// Why a failure is transient, in words for messages and the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Transient {
    /// The connection was cut or reset, or timed out.
    ConnectionLost,
    /// The server is shutting down, restarting or not yet accepting.
    ServerRestarting,
    /// Too many connections.
    ServerFull,
    /// A deadlock, a lock wait timeout or a serialization failure.
    Conflict,
}

impl Transient {
    /// `connection loss`, for "retried after connection loss".
    pub fn words(self) -> &'static str {
        match self {
            Transient::ConnectionLost => "connection loss",
            Transient::ServerRestarting => "a server restart",
            Transient::ServerFull => "too many connections",
            Transient::Conflict => "a lock conflict",
        }
    }
}

/// What kind of transient failure `error` is, if any: the first cause in
/// its chain that says.
pub fn transient(error: &anyhow::Error) -> Option<Transient> {
    error.chain().find_map(|cause| {
        if let Some(e) = cause.downcast_ref::<sqlx::Error>() {
            return of_sqlx(e);
        }
        cause.downcast_ref::<std::io::Error>().and_then(of_io)
    })
}

fn of_sqlx(error: &sqlx::Error) -> Option<Transient> {
    match error {
        sqlx::Error::Io(e) => of_io(e).or(Some(Transient::ConnectionLost)),
        sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            Some(Transient::ConnectionLost)
        }
        sqlx::Error::Database(e) => of_database(e.as_ref()),
        _ => None,
    }
}

fn of_io(error: &std::io::Error) -> Option<Transient> {
    use std::io::ErrorKind::*;
    matches!(
        error.kind(),
        ConnectionReset | ConnectionAborted | ConnectionRefused | BrokenPipe | UnexpectedEof | TimedOut | NotConnected
    )
    .then_some(Transient::ConnectionLost)
}

fn of_database(error: &dyn DatabaseError) -> Option<Transient> {
    if let Some(mysql) = error.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return match mysql.number() {
            1040 => Some(Transient::ServerFull),
            1205 | 1213 => Some(Transient::Conflict),
            2006 | 2013 => Some(Transient::ConnectionLost),
            1053 => Some(Transient::ServerRestarting),
            _ => None,
        };
    }
    if let Some(sqlite) = error.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
        // SQLITE_BUSY and SQLITE_LOCKED, with their extended codes.
        let code = sqlite.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
        return matches!(code & 0xff, 5 | 6).then_some(Transient::Conflict);
    }
    let code = error.code()?;
    match code.as_ref() {
        c if c.starts_with("08") => Some(Transient::ConnectionLost),
        "57P01" | "57P02" | "57P03" => Some(Transient::ServerRestarting),
        "53300" => Some(Transient::ServerFull),
        "40001" | "40P01" | "55P03" => Some(Transient::Conflict),
        // idle_in_transaction_session_timeout ended the session.
        "25P03" => Some(Transient::ConnectionLost),
        _ => None,
    }
}

/// How long to wait before retry `attempt` (1, 2, 3): 0.5 s, 1 s, 2 s,
/// each with up to ±25% of jitter so workers cut at once do not return at
/// once.
pub fn backoff(attempt: u32) -> Duration {
    let base = 500u64 << attempt.saturating_sub(1).min(6);
    // Jitter from the clock's nanoseconds: no need for a random generator.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let jitter = u64::from(nanos) % (base / 2 + 1);
    Duration::from_millis(base - base / 4 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_connection_is_transient_and_a_bad_query_is_not() {
        let cut = anyhow::Error::new(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "expected to read 5 bytes, got 0 bytes at EOF",
        )))
        .context("reading from the source failed");
        assert_eq!(transient(&cut), Some(Transient::ConnectionLost));
        let reset = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(transient(&reset), Some(Transient::ConnectionLost));
        assert_eq!(transient(&anyhow::anyhow!("permission denied for table t")), None);
        assert_eq!(transient(&anyhow::Error::new(sqlx::Error::RowNotFound)), None);
    }

    #[test]
    fn backoff_grows_and_stays_near_its_base() {
        for (attempt, base) in [(1, 500), (2, 1000), (3, 2000)] {
            let wait = backoff(attempt).as_millis() as u64;
            assert!(wait >= base * 3 / 4 && wait <= base * 5 / 4, "attempt {attempt}: {wait} ms");
        }
    }
}
