//! `sluice snapshot hold`: exports a PostgreSQL snapshot, prints its name
//! as the first line of standard output, and holds it until SIGINT or
//! SIGTERM (or until the `--until` location has a manifest), so that dumps
//! read in it with `--snapshot NAME` and a resumed dump reads in it again.

use std::time::Duration;

use crate::cli::HoldJob;
use crate::db::{self, redact_url};
use crate::error::{Failure, JobContext, UsageContext};
use crate::output::out;
use crate::stop::{Stop, signal_name};
use crate::store::{self, naming::MANIFEST};

/// How often the holder checks its session and the `--until` location.
const POLL: Duration = Duration::from_secs(1);

/// `sluice snapshot hold`.
pub async fn run(job: HoldJob) -> Result<(), Failure> {
    let until = job.until.as_deref().map(|location| store::open(location, &job.storage)).transpose().usage_err()?;
    let stop = Stop::on_signals().job_err()?;
    let mut holder = db::hold_snapshot(&job.source).await.job_err()?;
    out!("{}", holder.id);
    let ends = match &job.until {
        Some(location) => format!("until {location}/{MANIFEST} exists, or SIGINT/SIGTERM"),
        None => "until SIGINT/SIGTERM".to_owned(),
    };
    eprintln!("holding snapshot {} of {} {ends}", holder.id, redact_url(job.source.as_str()));
    loop {
        tokio::select! {
            () = stop.requests(1) => break,
            () = tokio::time::sleep(POLL) => {
                holder.check().await.job_err()?;
                if let Some(store) = &until
                    && store.exists(MANIFEST).unwrap_or(false)
                {
                    break;
                }
            }
        }
    }
    let why = match stop.requested() {
        Some(signal) => format!("on {}", signal_name(signal)),
        None => "the dump is complete".to_owned(),
    };
    let id = holder.id.clone();
    holder.release().await.job_err()?;
    eprintln!("released snapshot {id} ({why})");
    Ok(())
}
