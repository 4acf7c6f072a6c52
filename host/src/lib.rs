//! sluice: parallel, table-level logical dump and restore whose rows stream
//! through sandboxed WebAssembly components.
//!
//! `main.rs` only parses arguments and maps [`Failure`] to an exit code; the
//! work starts at [`run`], which dispatches a resolved [`cli::Job`] to the
//! orchestrators: [`dump`], [`restore`], [`verify`].

pub mod batch;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod config;
pub mod db;
pub mod dump;
pub mod error;
pub mod format;
pub mod gc;
pub mod hold;
pub mod inspect;
pub mod journal;
pub mod manifest;
pub mod masking;
pub mod output;
pub mod pipeline;
pub mod plan;
pub mod pool;
pub mod progress;
pub mod restore;
pub mod resume;
pub mod sealed;
pub mod select;
pub mod signing;
pub mod stage;
pub mod stop;
pub mod store;
pub mod verify;
pub mod worker;

pub use error::Failure;

/// Runs one resolved command to completion.
pub async fn run(job: cli::Job) -> Result<(), Failure> {
    match job {
        cli::Job::Dump(job) if job.resume => resume::run(job).await,
        cli::Job::Dump(job) => dump::run(job).await,
        cli::Job::Restore(job) => restore::run(job).await,
        cli::Job::Verify(job) => verify::run(job).await,
        cli::Job::Inspect(job) => inspect::run(job),
        cli::Job::Plan(job) => dump::plan_only(job).await,
        cli::Job::Check(job) => check::run(job),
        cli::Job::Hold(job) => hold::run(job).await,
        cli::Job::Gc(job) => gc::run(job),
    }
}
