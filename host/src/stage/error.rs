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
    #[error("component {component} failed: {reason}")]
    Reported {
        /// Component label.
        component: String,
        /// The guest's message with its kind.
        reason: String,
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
    pub fn headline(&self) -> String {
        match self {
            StageError::Load { component, .. } => format!("component {component} cannot be loaded"),
            StageError::Trap { component, .. } => format!("component {component} trapped"),
            StageError::Reported { component, .. } => format!("component {component} failed"),
            StageError::Limit { component, .. } => format!("component {component} exceeded a limit"),
            StageError::Malformed { component, .. } => format!("component {component} returned a malformed batch"),
        }
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

/// Turns a guest `stage-error` into text.
pub(crate) fn reported(component: &str, error: bindings::types::StageError) -> StageError {
    use bindings::types::StageError as E;
    let reason = match error {
        E::InvalidConfig(m) => format!("invalid config: {m}"),
        E::InvalidInput(m) => format!("invalid input: {m}"),
        E::Failed(m) => m,
    };
    StageError::Reported { component: component.to_owned(), reason }
}

/// Names what stopped a guest: a limit, a call to an import sluice does not
/// provide, or another trap (panic, bug), with wasmtime's cause chain.
pub(crate) fn trap(component: &str, error: wasmtime::Error) -> StageError {
    let chain: Vec<String> = error.chain().map(|c| c.to_string()).collect();
    let whole = chain.join(": ");
    let reason = match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => "CPU time limit per call exceeded (--cpu-limit)".to_owned(),
        Some(wasmtime::Trap::OutOfFuel) => "fuel budget per call exhausted (--fuel)".to_owned(),
        Some(wasmtime::Trap::StackOverflow) => "wasm stack limit exceeded (--stack-limit)".to_owned(),
        _ if whole.contains("forcing trap when growing memory") => {
            let at = chain.iter().find(|c| c.contains("growing memory")).cloned().unwrap_or_default();
            format!("memory limit exceeded (--memory-limit): {at}")
        }
        _ => match whole.find("unknown import: `") {
            Some(start) => {
                let name = whole[start + 17..].split('`').next().unwrap_or("?");
                format!("called `{name}`, which sluice does not provide to components")
            }
            None => whole,
        },
    };
    StageError::Trap { component: component.to_owned(), reason }
}
