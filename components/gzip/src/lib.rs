//! `gzip`: gzip compression in pure Rust (`flate2` on `miniz_oxide`), as a
//! byte transform.
//!
//! Encoding streams one gzip member; the config is empty (level 6) or a
//! level `0`..`9`. Decoding streams too, accepts input split anywhere and
//! files of several concatenated members (what `cat a.gz b.gz` makes), and
//! checks every member's CRC and length.

use std::io::Write;

use flate2::Compression;
use flate2::write::{GzEncoder, MultiGzDecoder};
use sluice_sdk::{ByteTransform, Direction, StageError};

/// One file, in either direction. Both sides write into a `Vec` that each
/// call drains, so memory stays at flate2's window and buffers.
pub enum Gzip {
    Encode(GzEncoder<Vec<u8>>),
    Decode {
        decoder: MultiGzDecoder<Vec<u8>>,
        /// Whether any input arrived; an empty file decodes to nothing.
        seen_input: bool,
    },
}

/// Parses the config: empty for level 6, or a level `0`..`9`.
pub fn parse_level(config: &str) -> Result<Compression, StageError> {
    let config = config.trim();
    if config.is_empty() {
        return Ok(Compression::new(6));
    }
    match config.parse::<u32>() {
        Ok(level @ 0..=9) => Ok(Compression::new(level)),
        _ => Err(StageError::invalid_config(format!("gzip level must be a number from 0 to 9, got {config:?}"))),
    }
}

fn corrupt(e: std::io::Error) -> StageError {
    StageError::invalid_input(format!("gzip: {e}"))
}

impl ByteTransform for Gzip {
    const EXTENSION: &'static str = "gz";

    fn start(direction: Direction, config: &str) -> Result<Self, StageError> {
        let level = parse_level(config)?;
        Ok(match direction {
            Direction::Encode => Gzip::Encode(GzEncoder::new(Vec::new(), level)),
            Direction::Decode => Gzip::Decode { decoder: MultiGzDecoder::new(Vec::new()), seen_input: false },
        })
    }

    fn push(&mut self, input: &[u8]) -> Result<Vec<u8>, StageError> {
        match self {
            Gzip::Encode(e) => {
                // Writing into a Vec cannot fail.
                e.write_all(input).map_err(|e| StageError::failed(format!("gzip: {e}")))?;
                // No flush: a sync flush would cost compression; flate2 hands
                // its output over on the next write or at finish anyway.
                Ok(std::mem::take(e.get_mut()))
            }
            Gzip::Decode { decoder, seen_input } => {
                *seen_input |= !input.is_empty();
                decoder.write_all(input).map_err(corrupt)?;
                Ok(std::mem::take(decoder.get_mut()))
            }
        }
    }

    fn finish(self) -> Result<Vec<u8>, StageError> {
        match self {
            Gzip::Encode(e) => e.finish().map_err(|e| StageError::failed(format!("gzip: {e}"))),
            Gzip::Decode { seen_input: false, .. } => Ok(Vec::new()),
            Gzip::Decode { decoder, .. } => decoder.finish().map_err(|e| {
                StageError::invalid_input(format!("gzip: stream ends inside a member (truncated file): {e}"))
            }),
        }
    }
}

sluice_sdk::export_byte_transform!(Gzip);

#[cfg(test)]
mod tests;
