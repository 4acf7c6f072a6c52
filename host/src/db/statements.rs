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
    /// For the tables it says yes to, the statements run before and after
    /// the file's transaction (a MySQL table with an ENUM column loads
    /// under a lenient sql_mode).
    around: Option<Around>,
}

/// Which tables, and the statements before and after their files.
type Around = (fn(&Table) -> bool, &'static str, &'static str);

impl<C: SqlConnection> StatementLoader<C> {
    /// A loader on `conn`.
    pub fn new(conn: C, begin: &'static str, backslash_escapes: bool) -> Self {
        StatementLoader { conn, begin, backslash_escapes, around: None }
    }

    /// Runs `before` and `after` around the files of the tables `when`
    /// says yes to.
    pub fn around(mut self, when: fn(&Table) -> bool, before: &'static str, after: &'static str) -> Self {
        self.around = Some((when, before, after));
        self
    }
}

impl<C: SqlConnection> Loader for StatementLoader<C> {
    fn framing(&self, _: &Table) -> Framing {
        Framing::Statements { backslash_escapes: self.backslash_escapes }
    }

    fn load<'a>(
        &'a mut self,
        file: LoadFile<'a>,
        pieces: Receiver<Piece>,
    ) -> BoxFuture<'a, anyhow::Result<Option<u64>>> {
        Box::pin(async move {
            let around = self.around.filter(|(when, _, _)| when(file.table));
            if let Some((_, before, _)) = around {
                self.conn.run(before).await?;
            }
            let loaded = load_file(&mut self.conn, self.begin, pieces, file.record).await;
            if let Some((_, _, after)) = around {
                self.conn.run(after).await?;
            }
            loaded.map(|()| None)
        })
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        self.conn.close()
    }
}

/// Runs the statements `pieces` brings between `BEGIN` and `COMMIT`, then
/// `record` (the bookkeeping row) last in the same transaction; it is
/// rolled back unless [`Piece::End`] arrives.
pub async fn load_file(
    conn: &mut dyn SqlConnection,
    begin: &str,
    mut pieces: Receiver<Piece>,
    record: Option<&str>,
) -> anyhow::Result<()> {
    conn.run(begin).await?;
    let outcome = async {
        while let Some(piece) = pieces.recv().await {
            match piece {
                Piece::Data(sql) => {
                    conn.run(std::str::from_utf8(&sql).map_err(|_| anyhow!("a data file is not UTF-8 SQL"))?).await?
                }
                Piece::Batch(_) => bail!("a SQL loader got rows in batches"),
                Piece::End => {
                    if let Some(record) = record {
                        conn.run(record).await?;
                    }
                    return Ok(());
                }
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
