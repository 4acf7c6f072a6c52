//! zstd stream to plain bytes, fed in arbitrary pieces.
//!
//! ruzstd's `FrameDecoder` reads from a `Read` and cannot resume when the
//! input runs out mid-block, so this module walks the frame layout itself
//! (RFC 8878 §3.1): it waits until a whole frame header or a whole block is
//! buffered, then hands exactly those bytes to ruzstd. Memory stays bounded
//! by one block (at most 128 KiB) plus the frame's window, whatever the file
//! size.

use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
use sluice_sdk::StageError;

const MAGIC: u32 = 0xFD2F_B528;
const SKIPPABLE: std::ops::RangeInclusive<u32> = 0x184D_2A50..=0x184D_2A5F;
/// The largest block payload the format allows.
const MAX_BLOCK: usize = 128 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Between frames: expecting a magic number (or the end).
    Magic,
    /// Inside a frame, expecting the next block.
    Block { checksum: bool },
    /// Inside a skippable frame with this many bytes left to skip.
    Skip(u64),
}

/// Streaming zstd decoder.
pub struct Decoder {
    frame: FrameDecoder,
    /// Input not yet consumed: less than one frame header or block.
    pending: Vec<u8>,
    stage: Stage,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

fn corrupt(what: impl std::fmt::Display) -> StageError {
    StageError::invalid_input(format!("zstd: {what}"))
}

/// Length of the frame header starting at the magic number, from the frame
/// header descriptor byte.
fn frame_header_len(descriptor: u8) -> Result<usize, StageError> {
    if descriptor & 0x08 != 0 {
        return Err(corrupt("reserved bit set in frame header"));
    }
    let single_segment = descriptor & 0x20 != 0;
    let window = if single_segment { 0 } else { 1 };
    let dict_id = [0, 1, 2, 4][usize::from(descriptor & 0x03)];
    let content_size = match descriptor >> 6 {
        0 if single_segment => 1,
        0 => 0,
        1 => 2,
        2 => 4,
        _ => 8,
    };
    Ok(4 + 1 + window + dict_id + content_size)
}

impl Decoder {
    /// A decoder expecting the start of a frame.
    pub fn new() -> Self {
        Decoder { frame: FrameDecoder::new(), pending: Vec::new(), stage: Stage::Magic }
    }

    /// Takes the next piece; returns the bytes decoded so far.
    pub fn push(&mut self, input: &[u8]) -> Result<Vec<u8>, StageError> {
        self.pending.extend_from_slice(input);
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some(used) = step(&mut self.frame, &mut self.stage, &self.pending[pos..], &mut out)? {
            pos += used;
        }
        self.pending.drain(..pos);
        Ok(out)
    }

    /// Ends the stream: fails if it stopped inside a frame.
    pub fn finish(self) -> Result<Vec<u8>, StageError> {
        if self.stage != Stage::Magic || !self.pending.is_empty() {
            return Err(corrupt("stream ends inside a frame (truncated file)"));
        }
        Ok(Vec::new())
    }
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Consumes one unit (frame header, block, skipped bytes) from the start of
/// `avail` if it is complete, appending decoded bytes to `out`. Returns how
/// many bytes it consumed, or `None` when it needs more input.
fn step(
    frame: &mut FrameDecoder,
    stage: &mut Stage,
    avail: &[u8],
    out: &mut Vec<u8>,
) -> Result<Option<usize>, StageError> {
    match *stage {
        Stage::Magic => {
            if avail.len() < 4 {
                return Ok(None);
            }
            let magic = le_u32(avail);
            if SKIPPABLE.contains(&magic) {
                if avail.len() < 8 {
                    return Ok(None);
                }
                *stage = Stage::Skip(u64::from(le_u32(&avail[4..])));
                return Ok(Some(8));
            }
            if magic != MAGIC {
                return Err(corrupt(format!("not a zstd frame (magic number {magic:#010x})")));
            }
            let Some(&descriptor) = avail.get(4) else { return Ok(None) };
            let len = frame_header_len(descriptor)?;
            if avail.len() < len {
                return Ok(None);
            }
            frame.reset(&avail[..len]).map_err(corrupt)?;
            *stage = Stage::Block { checksum: descriptor & 0x04 != 0 };
            Ok(Some(len))
        }
        Stage::Skip(left) => {
            if left == 0 {
                *stage = Stage::Magic;
                return Ok(Some(0));
            }
            if avail.is_empty() {
                return Ok(None);
            }
            let take = left.min(avail.len() as u64);
            *stage = Stage::Skip(left - take);
            // `take <= avail.len()`, a usize.
            Ok(Some(take as usize))
        }
        Stage::Block { checksum } => {
            if avail.len() < 3 {
                return Ok(None);
            }
            let header = u32::from(avail[0]) | u32::from(avail[1]) << 8 | u32::from(avail[2]) << 16;
            let last = header & 1 != 0;
            let size = (header >> 3) as usize;
            let payload = match (header >> 1) & 3 {
                0 | 2 => size,
                1 => 1, // RLE: one byte repeated `size` times
                _ => return Err(corrupt("reserved block type")),
            };
            if payload > MAX_BLOCK {
                return Err(corrupt(format!("block of {payload} bytes exceeds the 128 KiB limit")));
            }
            let need = 3 + payload + if last && checksum { 4 } else { 0 };
            if avail.len() < need {
                return Ok(None);
            }
            let before = frame.bytes_read_from_source();
            frame.decode_blocks(&avail[..need], BlockDecodingStrategy::UptoBlocks(1)).map_err(corrupt)?;
            if frame.bytes_read_from_source() - before != need as u64 {
                return Err(StageError::failed("zstd: block length disagrees with the decoder"));
            }
            // While the frame goes on, the decoder keeps its window and hands
            // out the rest; after the last block it hands out everything.
            frame.collect_to_writer(&mut *out).map_err(|e| StageError::failed(format!("zstd: {e}")))?;
            if last {
                if checksum && frame.get_checksum_from_data() != frame.get_calculated_checksum() {
                    return Err(corrupt("content checksum mismatch"));
                }
                *stage = Stage::Magic;
            }
            Ok(Some(need))
        }
    }
}
