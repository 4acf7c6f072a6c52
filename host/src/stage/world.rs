//! The three component worlds: what a component is used as.

use serde::{Deserialize, Serialize};

/// The three component worlds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    /// `sluice:pipeline/row-transform`.
    RowTransform,
    /// `sluice:pipeline/formatter`.
    Formatter,
    /// `sluice:pipeline/byte-transform`.
    ByteTransform,
}

impl World {
    /// The world's WIT name.
    pub fn wit_name(self) -> &'static str {
        match self {
            World::RowTransform => "sluice:pipeline/row-transform@0.1.0",
            World::Formatter => "sluice:pipeline/formatter@0.1.0",
            World::ByteTransform => "sluice:pipeline/byte-transform@0.1.0",
        }
    }
}
