//! Why a stage call failed, in words that name the component: the guest's
//! own `stage-error`, a trap with its cause, a limit, a malformed result.

use super::bindings;

/// Why a stage call failed. Every variant names the component.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StageError {
    /// The component could not be compiled or instantiated.
    #[error("component {component} cannot be loaded: {reason}")]
    Load {
        /// Component label.
        component: String,
        /// What went wrong.
        reason: String,
    },
    /// The guest trapped or hit a limit (CPU deadline, memory).
    #[error("component {component} trapped: {reason}")]
    Trap {
        /// Component label.
        component: String,
        /// The trap, with its cause.
        reason: String,
    },
    /// The guest returned its own `stage-error`.
    #[error("component {component} failed: {reason}; it says: {said}")]
    Reported {
        /// Component label.
        component: String,
        /// The error's kind (`invalid input`), in sluice's words.
        reason: String,
        /// The guest's own message, made safe by [`guest_text`].
        said: String,
    },
    /// The guest hit a resource limit the host enforces on its output.
    #[error("component {component} exceeded a limit: {reason}")]
    Limit {
        /// Component label.
        component: String,
        /// Which limit.
        reason: String,
    },
    /// The guest returned output of the wrong shape.
    #[error("component {component} returned a malformed batch: {reason}")]
    Malformed {
        /// Component label.
        component: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl StageError {
    /// What failed and where, without why: `component x (sha256 …) trapped`.
    fn subject(&self) -> String {
        match self {
            StageError::Load { component, .. } => format!("component {component} cannot be loaded"),
            StageError::Trap { component, .. } => format!("component {component} trapped"),
            StageError::Reported { component, .. } => format!("component {component} failed"),
            StageError::Limit { component, .. } => format!("component {component} exceeded a limit"),
            StageError::Malformed { component, .. } => format!("component {component} returned a malformed batch"),
        }
    }

    /// The first line of a report: what failed and, in plain words, what
    /// happened (`component x (sha256 …) trapped: out-of-bounds memory
    /// access`). A component's own words are never on it.
    pub fn headline(&self) -> String {
        let first = self.reason().lines().next().unwrap_or_default();
        if first.is_empty() { self.subject() } else { format!("{}: {first}", self.subject()) }
    }

    /// The lines after the headline: what the component said (escaped, on
    /// one line, prefixed `component x says:`), or a trap's backtrace.
    pub fn details(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let StageError::Reported { component, said, .. } = self {
            lines.push(format!("component {component} says: {said}"));
        }
        lines.extend(self.reason().lines().skip(1).map(str::to_owned));
        lines
    }

    /// Why it failed.
    pub fn reason(&self) -> &str {
        match self {
            StageError::Load { reason, .. }
            | StageError::Trap { reason, .. }
            | StageError::Reported { reason, .. }
            | StageError::Limit { reason, .. }
            | StageError::Malformed { reason, .. } => reason,
        }
    }
}

/// Turns a guest `stage-error` into text that cannot pass for sluice's
/// own: on one line, escaped, at most [`GUEST_TEXT_MAX`] bytes, and shown
/// after `says:` on the line that names the component.
pub(crate) fn reported(component: &str, error: bindings::types::StageError) -> StageError {
    use bindings::types::StageError as E;
    let (kind, message) = match error {
        E::InvalidConfig(m) => ("invalid config", m),
        E::InvalidInput(m) => ("invalid input", m),
        E::Failed(m) => ("failed", m),
    };
    StageError::Reported { component: component.to_owned(), reason: kind.to_owned(), said: guest_text(&message) }
}

/// The most bytes of a component's own text shown in a message.
pub const GUEST_TEXT_MAX: usize = 1024;

/// Text a component wrote, made safe to print: control characters (escape
/// sequences, newlines, carriage returns, tabs, DEL, C1) and backslashes
/// escaped as `\x1b`, `\n`, `\\` …, cut at [`GUEST_TEXT_MAX`] bytes with a
/// note of how much was left out, in double quotes.
pub fn guest_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(GUEST_TEXT_MAX) + 2);
    out.push('"');
    let mut shown = 0;
    for (at, c) in text.char_indices() {
        let escaped = match c {
            '\n' => "\\n".to_owned(),
            '\r' => "\\r".to_owned(),
            '\t' => "\\t".to_owned(),
            '\\' => "\\\\".to_owned(),
            '"' => "\\\"".to_owned(),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => format!("\\x{:02x}", c as u32),
            c if c.is_control()
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                format!("\\u{{{:x}}}", c as u32)
            }
            c => c.to_string(),
        };
        if shown + escaped.len() > GUEST_TEXT_MAX {
            out.push_str(&format!("\" … ({} more bytes not shown)", text.len() - at));
            return out;
        }
        shown += escaped.len();
        out.push_str(&escaped);
    }
    out.push('"');
    out
}

/// Names what stopped a guest in plain words on the first line (a limit,
/// a call to an import sluice does not provide, a trap's kind), with
/// wasmtime's backtrace on the next lines only when `SLUICE_LOG` asks for
/// debug output.
pub(crate) fn trap(component: &str, error: wasmtime::Error) -> StageError {
    let chain: Vec<String> = error.chain().map(|c| c.to_string()).collect();
    let whole = chain.join(": ");
    let grow = chain.iter().find(|c| c.contains("forcing trap when growing memory"));
    let mut reason = match (grow, error.downcast_ref::<wasmtime::Trap>()) {
        (Some(at), _) => format!("memory limit exceeded (--memory-limit): {}", at.lines().next().unwrap_or_default()),
        (None, Some(trap)) => trap_words(*trap),
        (None, None) => match whole.find("unknown import: `") {
            Some(start) => {
                let name = whole[start + 17..].split('`').next().unwrap_or("?");
                format!("called `{name}`, which sluice does not provide to components")
            }
            // Not a trap: the host's own error, on its first line.
            None => chain.last().and_then(|c| c.lines().next()).unwrap_or("unknown failure").to_owned(),
        },
    };
    if std::env::var("SLUICE_LOG").is_ok_and(|v| v.contains("debug"))
        && let Some(backtrace) = error.downcast_ref::<wasmtime::WasmBacktrace>()
    {
        reason.push_str(&format!("\n{backtrace}"));
    }
    StageError::Trap { component: component.to_owned(), reason }
}

/// A trap's kind in plain words.
fn trap_words(trap: wasmtime::Trap) -> String {
    use wasmtime::Trap as T;
    match trap {
        T::Interrupt => "CPU time limit per call exceeded (--cpu-limit)".to_owned(),
        T::OutOfFuel => "fuel budget per call exhausted (--fuel)".to_owned(),
        T::StackOverflow => "wasm stack limit exceeded (--stack-limit): endless or too deep recursion".to_owned(),
        T::MemoryOutOfBounds => "out-of-bounds memory access (a bug in the component)".to_owned(),
        T::UnreachableCodeReached => "the component panicked or aborted (wasm `unreachable` executed)".to_owned(),
        T::IntegerDivisionByZero => "integer division by zero".to_owned(),
        T::IntegerOverflow => "integer overflow".to_owned(),
        T::TableOutOfBounds | T::IndirectCallToNull | T::BadSignature => {
            format!("bad indirect call ({trap}; a bug in the component)")
        }
        T::AllocationTooLarge => "memory limit exceeded (--memory-limit): allocation too large".to_owned(),
        other => format!("{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_text_is_one_escaped_line_of_at_most_a_kibibyte() {
        assert_eq!(guest_text("plain words"), "\"plain words\"");
        assert_eq!(
            guest_text("a\nsluice: dump complete\r\x1b[2J\t\\ \"q\" \u{7f}\u{9b}\u{202e}"),
            "\"a\\nsluice: dump complete\\r\\x1b[2J\\t\\\\ \\\"q\\\" \\x7f\\u{9b}\\u{202e}\""
        );
        let flood = "line\n".repeat(2_000_000);
        let shown = guest_text(&flood);
        assert!(shown.len() < GUEST_TEXT_MAX + 100, "{} bytes", shown.len());
        assert!(!shown.contains('\n'));
        assert!(shown.ends_with("more bytes not shown)"), "{shown}");
    }
}
