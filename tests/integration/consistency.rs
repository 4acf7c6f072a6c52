//! One snapshot for every worker: while a writer moves money between accounts
//! during a parallel, chunked dump, the restored accounts still hold exactly
//! the total the writer preserves.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use sluice_tests::{TestDb, dump, restore_into};
use sqlx::{Connection, PgConnection};

const ACCOUNTS: i64 = 100_000;
const TOTAL: i64 = 10_000_000;

/// Moves random amounts between random accounts, one transaction per
/// transfer, until told to stop; counts its commits.
async fn transfers(url: String, stop: Arc<AtomicBool>, commits: Arc<AtomicU64>) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(&url).await?;
    let mut state = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH)?.as_nanos() as u64 | 1;
    let mut next = move || {
        // xorshift64: random enough to spread transfers over every chunk.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    while !stop.load(Ordering::Relaxed) {
        let from = (next() % ACCOUNTS as u64) as i32 + 1;
        let to = (next() % ACCOUNTS as u64) as i32 + 1;
        let amount = (next() % 1000) as i64 + 1;
        let mut tx = conn.begin().await?;
        sqlx::query("UPDATE accounts SET balance = balance - $1 WHERE id = $2")
            .bind(amount)
            .bind(from)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE accounts SET balance = balance + $1 WHERE id = $2")
            .bind(amount)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        commits.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

#[test]
fn parallel_dump_sees_one_snapshot_while_a_writer_moves_money() {
    let src = TestDb::new();
    src.exec(&format!(
        "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL); \
         INSERT INTO accounts SELECT i, {} FROM generate_series(1, {ACCOUNTS}) AS i",
        TOTAL / ACCOUNTS
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let (stop, commits) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let writer = runtime.spawn(transfers(format!("{}?sslmode=disable", src.url()), stop.clone(), commits.clone()));

    // Start the dump only once the writer is committing, so it runs throughout.
    let deadline = Instant::now() + Duration::from_secs(60);
    while commits.load(Ordering::Relaxed) == 0 && !writer.is_finished() {
        assert!(Instant::now() < deadline, "the writer committed nothing within a minute");
        thread::sleep(Duration::from_millis(5));
    }
    let before = commits.load(Ordering::Relaxed);
    let dir = dump(&src, &["-j", "2", "--chunk-size", "256KiB"]);
    let during = commits.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    runtime.block_on(writer).expect("writer task").expect("writer");
    assert!(during > 0, "the writer committed no transfer while the dump ran: the test proved nothing");

    let target = TestDb::new();
    restore_into(&dir, &target, &["-j", "2"]).assert_success();
    assert_eq!(target.query_i64("SELECT count(*) FROM accounts"), ACCOUNTS);
    assert_eq!(target.query_i64("SELECT sum(balance) FROM accounts"), TOTAL, "the dump mixed points in time");
    assert_eq!(src.query_i64("SELECT sum(balance) FROM accounts"), TOTAL, "the writer itself lost money");
    // The writer kept committing after the snapshot was exported, so the
    // source's final state must differ from the dump's: otherwise the dump
    // did not read one earlier point in time, it read the end state.
    let fingerprint = "SELECT hashtext(string_agg(id || ':' || balance, ',' ORDER BY id))::bigint FROM accounts";
    assert_ne!(
        target.query_i64(fingerprint),
        src.query_i64(fingerprint),
        "the restored accounts equal the source after the writer stopped: no commit fell after the snapshot"
    );
}
