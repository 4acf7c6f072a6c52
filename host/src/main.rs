//! The `sluice` binary: parse → tracing → runtime → `sluice::run` → exit code.

use clap::Parser;
use sluice::cli::Cli;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let outcome = runtime.block_on(async {
        let job = cli.resolve()?;
        sluice::run(job).await
    });
    if let Err(failure) = outcome {
        // First line what failed and where, next line why, each said once.
        eprintln!("{}", failure.report());
        std::process::exit(failure.exit_code());
    }
}
