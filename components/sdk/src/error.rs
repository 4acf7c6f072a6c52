//! Shorthands for building a [`StageError`].

use crate::StageError;

impl StageError {
    /// The config given to a start call is unusable.
    pub fn invalid_config(message: impl Into<String>) -> Self {
        StageError::InvalidConfig(message.into())
    }

    /// The input (batch shape, bytes) is not what this stage accepts.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        StageError::InvalidInput(message.into())
    }

    /// Any other failure, including calls in the wrong order.
    pub fn failed(message: impl Into<String>) -> Self {
        StageError::Failed(message.into())
    }

    /// The message, whatever the variant.
    pub fn message(&self) -> &str {
        match self {
            StageError::InvalidConfig(m) | StageError::InvalidInput(m) | StageError::Failed(m) => m,
        }
    }
}
