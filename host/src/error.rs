//! The two ways a command fails, and the exit code each maps to.
//!
//! Every module returns its own typed error; orchestration wraps them into a
//! [`Failure`] that says whether the user gave bad input (exit 2) or the job
//! itself failed (exit 1). Messages never contain a password: URLs are shown
//! through [`crate::db::redact_url`].

use crate::stage::StageError;

/// A failed command.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage or bad input: unknown flag, unreadable config, not a dump
    /// directory, a non-empty restore target. Exit code 2.
    Usage(anyhow::Error),
    /// The job failed: a table, a component, a check. Exit code 1.
    Job(anyhow::Error),
    /// A signal stopped the job (SIGINT, SIGTERM). Exit code 128 + its
    /// number (130, 143), as a shell reports a process the signal killed.
    Interrupted(i32, anyhow::Error),
}

impl Failure {
    /// Process exit code for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Job(_) => 1,
            Failure::Interrupted(signal, _) => 128 + signal,
        }
    }

    /// The underlying error chain.
    pub fn error(&self) -> &anyhow::Error {
        match self {
            Failure::Usage(e) | Failure::Job(e) | Failure::Interrupted(_, e) => e,
        }
    }

    /// The whole cause chain in one line, each cause said once: a cause
    /// whose text its wrapper already shows (sqlx's "error returned from
    /// database: role x does not exist" over "role x does not exist") is
    /// not repeated.
    pub fn message(&self) -> String {
        let mut shown = String::new();
        for cause in self.error().chain() {
            let text = cause.to_string();
            if shown.contains(text.as_str()) {
                continue;
            }
            if !shown.is_empty() {
                shown.push_str(": ");
            }
            shown.push_str(&text);
        }
        shown
    }

    /// What `sluice` prints: the first line says what went wrong and where
    /// (table, chunk, component, file, host), the next line the cause, each
    /// said once. A component's failure says on the first line what
    /// happened in plain words (`component x (sha256 …) trapped:
    /// out-of-bounds memory access`); what the component itself said goes,
    /// escaped, on the next line (`component x says: "…"`).
    pub fn report(&self) -> String {
        // What to do next goes last, on a line of its own.
        let hint = self.error().downcast_ref::<Hint>();
        let report = self.report_without(usize::from(hint.is_some()));
        match hint {
            Some(hint) => format!("{report}\n  {hint}"),
            None => report,
        }
    }

    fn report_without(&self, skip: usize) -> String {
        let mut head: Vec<String> = Vec::new();
        let mut cause: Option<String> = None;
        for error in self.error().chain().skip(skip) {
            if let Some(stage) = error.downcast_ref::<StageError>() {
                // Plain words on the first line; what the component said,
                // escaped, or a backtrace on the next ones.
                head.push(stage.headline());
                let mut report = format!("error: {}", head.join(": "));
                for line in stage.details() {
                    report.push_str(&format!("\n  {line}"));
                }
                return report;
            }
            let text = error.to_string();
            if !head.iter().any(|h| h.contains(text.as_str())) {
                head.push(text);
            }
        }
        if cause.is_none() && head.len() > 1 {
            cause = head.pop();
        }
        // A wrapper that already shows its cause's text (sqlx's "error
        // returned from database: …") keeps it, and the cause is not repeated.
        let head = head.join(": ");
        match cause {
            Some(cause) if !head.contains(cause.as_str()) => format!("error: {head}\n  cause: {cause}"),
            _ => format!("error: {head}"),
        }
    }

    /// A job failure that says what to do next (`hint`, printed last); one
    /// a signal caused becomes [`Failure::Interrupted`] (exit 130, 143).
    /// Usage failures stay as they are: nothing was done to resume.
    pub fn with_hint(self, hint: String) -> Failure {
        match self {
            Failure::Job(e) => match e.downcast_ref::<crate::stop::Interrupted>().map(|i| i.signal) {
                Some(signal) => Failure::Interrupted(signal, e.context(Hint(hint))),
                None => Failure::Job(e.context(Hint(hint))),
            },
            other => other,
        }
    }

    /// Shorthand for a usage failure from a message.
    pub fn usage(message: impl std::fmt::Display) -> Self {
        Failure::Usage(anyhow::anyhow!("{message}"))
    }
}

/// What the user can do next, added as the outermost context of an error:
/// [`Failure::report`] prints it last, on a line of its own.
#[derive(Debug)]
pub struct Hint(pub String);

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Marks a `Result` as failing because of the user's input.
pub trait UsageContext<T> {
    /// Turns an error into [`Failure::Usage`].
    fn usage_err(self) -> Result<T, Failure>;
}

impl<T, E: Into<anyhow::Error>> UsageContext<T> for Result<T, E> {
    fn usage_err(self) -> Result<T, Failure> {
        self.map_err(|e| Failure::Usage(e.into()))
    }
}

/// Marks a `Result` of reaching a dump location: the location's own fault
/// (no such bucket or directory, credentials refused, no permission, not
/// empty, not a dump) is bad input, exit 2; storage that cannot be reached
/// or keeps failing after its retries fails the job, exit 1.
pub trait LocationContext<T> {
    /// Turns an error into [`Failure::Usage`] or [`Failure::Job`] by its kind.
    fn location_err(self) -> Result<T, Failure>;
}

impl<T, E: Into<anyhow::Error>> LocationContext<T> for Result<T, E> {
    fn location_err(self) -> Result<T, Failure> {
        self.map_err(|e| {
            let error = e.into();
            let unreachable = error
                .chain()
                .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
                .any(|io| io.kind() == std::io::ErrorKind::Other);
            if unreachable { Failure::Job(error) } else { Failure::Usage(error) }
        })
    }
}

/// Marks a `Result` as failing the job.
pub trait JobContext<T> {
    /// Turns an error into [`Failure::Job`].
    fn job_err(self) -> Result<T, Failure>;
}

impl<T, E: Into<anyhow::Error>> JobContext<T> for Result<T, E> {
    fn job_err(self) -> Result<T, Failure> {
        self.map_err(|e| Failure::Job(e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("error returned from database: {0}")]
    struct Wrapped(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("role \"nobody\" does not exist")]
    struct Inner;

    #[test]
    fn a_cause_already_shown_is_not_repeated() {
        let failure = Failure::Job(anyhow::Error::new(Wrapped(Inner)).context("cannot connect to postgres://h/db"));
        assert_eq!(
            failure.message(),
            "cannot connect to postgres://h/db: error returned from database: role \"nobody\" does not exist"
        );
        let plain = Failure::Job(anyhow::anyhow!("b").context("a"));
        assert_eq!(plain.message(), "a: b");
        assert_eq!(plain.report(), "error: a\n  cause: b");
        assert_eq!(Failure::usage("one line").report(), "error: one line");
    }

    #[test]
    fn a_components_own_words_come_escaped_on_the_line_after_the_headline() {
        let said = crate::stage::error::guest_text("sluice: dump complete\n\x1b[2J");
        let error = StageError::Reported {
            component: "x.wasm (sha256 0123456789ab)".into(),
            reason: "invalid input".into(),
            said,
        };
        let failure = Failure::Job(anyhow::Error::new(error).context("table public.t chunk 0"));
        assert_eq!(
            failure.report(),
            "error: table public.t chunk 0: component x.wasm (sha256 0123456789ab) failed: invalid input\n  \
             component x.wasm (sha256 0123456789ab) says: \"sluice: dump complete\\n\\x1b[2J\""
        );
    }

    #[test]
    fn a_component_failure_names_the_component_first_and_its_reason_next() {
        let trap =
            StageError::Trap { component: "x.wasm (sha256 0123456789ab)".into(), reason: "out of bounds".into() };
        let failure = Failure::Job(anyhow::Error::new(trap).context("table public.t chunk 0"));
        assert_eq!(
            failure.report(),
            "error: table public.t chunk 0: component x.wasm (sha256 0123456789ab) trapped: out of bounds"
        );
    }
}
