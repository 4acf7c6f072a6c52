//! `zstd`: zstd compression in pure Rust ([`ruzstd`]), as a byte transform.
//!
//! Encoding writes a standard zstd stream any zstd decoder reads: one
//! independent frame per [`FRAME_INPUT`] bytes of input (and one empty frame
//! for empty input), each with a content checksum. ruzstd implements only
//! its `Fastest` level (about zstd level 1), so every level `1`..`22` maps to
//! it; the config still validates the number so a file's recorded level
//! means the same with the native codec.
//!
//! Decoding accepts any standard zstd stream: concatenated frames (any
//! level, with or without checksums and content sizes), skippable frames,
//! input split at any byte. It holds at most one block of input (128 KiB)
//! plus the frame's window, never the whole file.

mod decode;
mod encode;

use sluice_sdk::{ByteTransform, Direction, StageError};

pub use decode::Decoder;
pub use encode::{Encoder, FRAME_INPUT};

/// One file, in either direction.
pub enum Zstd {
    Encode(Encoder),
    /// Boxed: the frame decoder's state is large.
    Decode(Box<Decoder>),
}

/// Parses the config: empty for the default, or a level `1`..`22`.
pub fn parse_level(config: &str) -> Result<u8, StageError> {
    let config = config.trim();
    if config.is_empty() {
        return Ok(3);
    }
    match config.parse::<u8>() {
        Ok(level @ 1..=22) => Ok(level),
        _ => Err(StageError::invalid_config(format!("zstd level must be a number from 1 to 22, got {config:?}"))),
    }
}

impl ByteTransform for Zstd {
    const EXTENSION: &'static str = "zst";

    fn start(direction: Direction, config: &str) -> Result<Self, StageError> {
        let level = parse_level(config)?;
        Ok(match direction {
            Direction::Encode => Zstd::Encode(Encoder::new(level)),
            Direction::Decode => Zstd::Decode(Box::default()),
        })
    }

    fn push(&mut self, input: &[u8]) -> Result<Vec<u8>, StageError> {
        match self {
            Zstd::Encode(e) => Ok(e.push(input)),
            Zstd::Decode(d) => d.push(input),
        }
    }

    fn finish(self) -> Result<Vec<u8>, StageError> {
        match self {
            Zstd::Encode(e) => Ok(e.finish()),
            Zstd::Decode(d) => d.finish(),
        }
    }
}

sluice_sdk::export_byte_transform!(Zstd);

#[cfg(test)]
mod tests;
