//! The worker pool of dump and restore: N workers take items from one
//! queue in its order (the callers put the largest first); the first error
//! stops the others and is the one reported.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use anyhow::anyhow;
use futures_util::future::BoxFuture;
use tokio::task::JoinSet;

use crate::stop::{GRACE, Stop};

/// One worker: its connection and whatever it keeps between items.
pub trait Worker: Send + 'static {
    /// What the queue holds.
    type Item: Send + 'static;
    /// What one item gives.
    type Output: Send + 'static;

    /// Does one item.
    fn run(&mut self, item: Self::Item) -> BoxFuture<'_, anyhow::Result<Self::Output>>;

    /// Ends the worker once the queue is empty (closes its connection).
    fn close(self) -> BoxFuture<'static, ()>;
}

/// Runs every item on the workers, one task each; returns the outputs in
/// the order they finished. On the first error the other workers are
/// stopped (their connections dropped) and that error is returned.
///
/// Once `stop` is requested, no worker takes a new item; running items may
/// end for [`GRACE`], then (or at a second request) they are aborted, and
/// the result is [`Interrupted`].
pub async fn run<W: Worker>(workers: Vec<W>, items: Vec<W::Item>, stop: &Stop) -> anyhow::Result<Vec<W::Output>> {
    let queue = Arc::new(Mutex::new(VecDeque::from(items)));
    let mut set = JoinSet::new();
    for mut worker in workers {
        let queue = queue.clone();
        let stop = stop.clone();
        set.spawn(async move {
            let mut done = Vec::new();
            loop {
                if stop.requested().is_some() {
                    break;
                }
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                let Some(item) = next else { break };
                match worker.run(item).await {
                    Ok(output) => done.push(output),
                    Err(e) => {
                        worker.close().await;
                        return Err(e);
                    }
                }
            }
            worker.close().await;
            anyhow::Ok(done)
        });
    }
    let mut outputs = Vec::new();
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            joined = set.join_next() => {
                let Some(joined) = joined else { break };
                match joined.map_err(|e| anyhow!("a worker stopped: {e}")).and_then(|r| r) {
                    Ok(done) => outputs.extend(done),
                    Err(e) => {
                        stop_all(&mut set).await;
                        return Err(e);
                    }
                }
            }
            () = stop.requests(1), if deadline.is_none() => {
                deadline = Some(tokio::time::Instant::now() + GRACE);
            }
            () = wait_until(deadline), if deadline.is_some() => break,
            () = stop.requests(2), if deadline.is_some() => break,
        }
    }
    if let Some(interrupted) = stop.error() {
        stop_all(&mut set).await;
        return Err(interrupted.into());
    }
    Ok(outputs)
}

async fn wait_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Aborts the workers still running and waits until they are dropped
/// (their connections closed, their channels shut).
async fn stop_all<T: 'static>(set: &mut JoinSet<T>) {
    set.abort_all();
    while set.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Doubler {
        fail_on: Option<u32>,
        closed: Arc<Mutex<u32>>,
    }

    impl Worker for Doubler {
        type Item = u32;
        type Output = u32;

        fn run(&mut self, item: u32) -> BoxFuture<'_, anyhow::Result<u32>> {
            Box::pin(async move {
                if Some(item) == self.fail_on {
                    anyhow::bail!("item {item} failed");
                }
                Ok(item * 2)
            })
        }

        fn close(self) -> BoxFuture<'static, ()> {
            Box::pin(async move { *self.closed.lock().expect("lock") += 1 })
        }
    }

    #[tokio::test]
    async fn every_item_runs_once_and_every_worker_closes() {
        let closed = Arc::new(Mutex::new(0));
        let workers = (0..3).map(|_| Doubler { fail_on: None, closed: closed.clone() }).collect();
        let mut out = run(workers, (1..=10).collect(), &Stop::new()).await.expect("runs");
        out.sort();
        assert_eq!(out, (1..=10).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(*closed.lock().expect("lock"), 3);
    }

    #[tokio::test]
    async fn the_first_error_is_the_result() {
        let closed = Arc::new(Mutex::new(0));
        let workers = vec![Doubler { fail_on: Some(4), closed: closed.clone() }];
        let error = run(workers, (1..=10).collect(), &Stop::new()).await.expect_err("fails");
        assert_eq!(error.to_string(), "item 4 failed");
    }

    /// Takes `self.0` of (paused, virtual) time on every item, so a stop
    /// comes while items run.
    struct Sleeper(std::time::Duration);

    impl Worker for Sleeper {
        type Item = u32;
        type Output = u32;

        fn run(&mut self, item: u32) -> BoxFuture<'_, anyhow::Result<u32>> {
            Box::pin(async move {
                tokio::time::sleep(self.0).await;
                Ok(item)
            })
        }

        fn close(self) -> BoxFuture<'static, ()> {
            Box::pin(async {})
        }
    }

    /// Runs `items` on two sleepers, the stop requested `signals` times
    /// 50 ms apart; returns the signal of the error and the (virtual) time.
    async fn stopped(per_item: std::time::Duration, items: u32, signals: u32) -> (Option<i32>, std::time::Duration) {
        let stop = Stop::new();
        let stopper = stop.clone();
        tokio::spawn(async move {
            for _ in 0..signals {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                stopper.request(crate::stop::SIGTERM);
            }
        });
        let started = tokio::time::Instant::now();
        let error = run(vec![Sleeper(per_item), Sleeper(per_item)], (0..items).collect(), &stop)
            .await
            .expect_err("interrupted");
        (error.downcast_ref::<crate::stop::Interrupted>().map(|i| i.signal), started.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_lets_running_items_end_takes_no_new_one_and_says_interrupted() {
        let (signal, took) = stopped(std::time::Duration::from_millis(20), 1000, 1).await;
        assert_eq!(signal, Some(crate::stop::SIGTERM));
        // Running items end within 20 ms of the stop; 1000 items would take 10 s.
        assert!(took < std::time::Duration::from_millis(100), "took {took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_item_is_aborted_after_the_grace_or_at_a_second_stop() {
        let minute = std::time::Duration::from_secs(60);
        let (signal, took) = stopped(minute, 10, 1).await;
        assert_eq!(signal, Some(crate::stop::SIGTERM));
        assert!(took >= GRACE && took < GRACE * 2, "one stop: took {took:?}, the grace is {GRACE:?}");
        let (_, took) = stopped(minute, 10, 2).await;
        assert!(took < GRACE, "two stops: took {took:?}: the second did not abort");
    }
}
