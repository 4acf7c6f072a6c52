//! Loading a data file that is SQL text (the INSERT statements of MySQL
//! and SQLite dumps): its statements run in one transaction on one
//! connection, committed only when the file's last piece arrived whole.

use anyhow::{anyhow, bail};
use futures_util::future::BoxFuture;
use tokio::sync::mpsc::Receiver;

use super::source::Piece;
use super::target::{LoadFile, Loader};
use crate::catalog::Table;
use crate::format::Framing;

/// A connection that runs SQL text.
pub trait SqlConnection: Send + 'static {
    /// Runs any number of statements.
    fn run<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, anyhow::Result<()>>;

    /// Ends the session politely.
    fn close(self) -> BoxFuture<'static, ()>;
}

/// A loader that runs each file's statements in a transaction of its own;
/// the server does not count the rows, so restore counts them after.
pub struct StatementLoader<C> {
    conn: C,
    /// What starts a transaction (`BEGIN`, `START TRANSACTION`).
    begin: &'static str,
    /// Whether `\` escapes a quote inside a string literal.
    backslash_escapes: bool,
}

impl<C: SqlConnection> StatementLoader<C> {
    /// A loader on `conn`.
    pub fn new(conn: C, begin: &'static str, backslash_escapes: bool) -> Self {
        StatementLoader { conn, begin, backslash_escapes }
    }
}

impl<C: SqlConnection> Loader for StatementLoader<C> {
    fn framing(&self, _: &Table) -> Framing {
        Framing::Statements { backslash_escapes: self.backslash_escapes }
    }

    fn load<'a>(&'a mut self, _: LoadFile<'a>, pieces: Receiver<Piece>) -> BoxFuture<'a, anyhow::Result<Option<u64>>> {
        Box::pin(async move {
            load_file(&mut self.conn, self.begin, pieces).await?;
            Ok(None)
        })
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        self.conn.close()
    }
}

/// Runs the statements `pieces` brings between `BEGIN` and `COMMIT`; the
/// transaction is rolled back unless [`Piece::End`] arrives.
pub async fn load_file(conn: &mut dyn SqlConnection, begin: &str, mut pieces: Receiver<Piece>) -> anyhow::Result<()> {
    conn.run(begin).await?;
    let outcome = async {
        while let Some(piece) = pieces.recv().await {
            match piece {
                Piece::Data(sql) => {
                    conn.run(std::str::from_utf8(&sql).map_err(|_| anyhow!("a data file is not UTF-8 SQL"))?).await?
                }
                Piece::Batch(_) => bail!("a SQL loader got rows in batches"),
                Piece::End => return Ok(()),
            }
        }
        bail!("the file's reader stopped before its end")
    }
    .await;
    match outcome {
        Ok(()) => conn.run("COMMIT").await,
        Err(e) => {
            let _ = conn.run("ROLLBACK").await;
            Err(e)
        }
    }
}
