//! `sluice gc`: what a killed dump left half-made at a location (the
//! unfinished multipart uploads of a bucket prefix, the `*.partial` files of
//! a directory), removed; everything whole stays, so `dump --resume` still
//! finishes the dump.

use crate::cli::GcJob;
use crate::error::{Failure, JobContext, UsageContext};
use crate::output::out;
use crate::store;

/// `sluice gc`.
pub fn run(job: GcJob) -> Result<(), Failure> {
    let store = store::open(&job.dir, &job.storage).usage_err()?;
    let removed = store.remove_partials().job_err()?;
    for item in &removed {
        out!("removed {item}");
    }
    match removed.len() {
        0 => out!("{}: nothing half-made to remove", store.location()),
        n => out!("{}: removed {n} half-made object{}", store.location(), if n == 1 { "" } else { "s" }),
    }
    Ok(())
}
