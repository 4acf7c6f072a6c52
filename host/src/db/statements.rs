//! Loading a data file that is SQL text (the INSERT statements of MySQL
//! and SQLite dumps): its statements run in one transaction on one
//! connection, committed only when the file's last piece arrived whole.

use anyhow::{anyhow, bail};
use futures_util::future::BoxFuture;
use tokio::sync::mpsc::Receiver;

use super::source::Piece;

/// A connection that runs SQL text.
pub trait SqlConnection: Send {
    /// Runs any number of statements.
    fn run<'a>(&'a mut self, sql: &'a str) -> BoxFuture<'a, anyhow::Result<()>>;
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
