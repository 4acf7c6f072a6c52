//! The worker pool of dump and restore: N workers take items from one
//! queue in its order (the callers put the largest first); the first error
//! stops the others and is the one reported.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use anyhow::anyhow;
use futures_util::future::BoxFuture;
use tokio::task::JoinSet;

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
pub async fn run<W: Worker>(workers: Vec<W>, items: Vec<W::Item>) -> anyhow::Result<Vec<W::Output>> {
    let queue = Arc::new(Mutex::new(VecDeque::from(items)));
    let mut set = JoinSet::new();
    for mut worker in workers {
        let queue = queue.clone();
        set.spawn(async move {
            let mut done = Vec::new();
            loop {
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
    while let Some(joined) = set.join_next().await {
        match joined.map_err(|e| anyhow!("a worker stopped: {e}")).and_then(|r| r) {
            Ok(done) => outputs.extend(done),
            Err(e) => {
                set.abort_all();
                // Wait until the stopped workers are dropped (their
                // connections closed, their channels shut).
                while set.join_next().await.is_some() {}
                return Err(e);
            }
        }
    }
    Ok(outputs)
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
        let mut out = run(workers, (1..=10).collect()).await.expect("runs");
        out.sort();
        assert_eq!(out, (1..=10).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(*closed.lock().expect("lock"), 3);
    }

    #[tokio::test]
    async fn the_first_error_is_the_result() {
        let closed = Arc::new(Mutex::new(0));
        let workers = vec![Doubler { fail_on: Some(4), closed: closed.clone() }];
        let error = run(workers, (1..=10).collect()).await.expect_err("fails");
        assert_eq!(error.to_string(), "item 4 failed");
    }
}
