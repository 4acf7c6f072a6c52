//! Plain bytes to zstd frames.

use ruzstd::encoding::{CompressionLevel, compress};

/// Input bytes gathered into one frame. Larger frames gain nothing: the
/// matcher's window is 128 KiB; smaller ones add 10-byte frame overheads.
pub const FRAME_INPUT: usize = 1 << 20;

/// Streaming encoder: buffers up to [`FRAME_INPUT`] bytes, then emits them
/// as one complete frame.
pub struct Encoder {
    level: CompressionLevel,
    pending: Vec<u8>,
    frames: u64,
}

impl Encoder {
    /// `level` is a zstd level 1..=22; ruzstd only implements `Fastest`
    /// (~level 1; its `Default`/`Better`/`Best` are `unimplemented!()` in
    /// 0.9), so every level maps to it.
    pub fn new(level: u8) -> Self {
        let _ = level;
        Encoder { level: CompressionLevel::Fastest, pending: Vec::new(), frames: 0 }
    }

    /// Takes the next piece; returns the frames completed by it, if any.
    pub fn push(&mut self, mut input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        while !input.is_empty() {
            let take = (FRAME_INPUT - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.pending.len() == FRAME_INPUT {
                self.emit_frame(&mut out);
            }
        }
        out
    }

    /// Emits the last frame (an empty one if the file was empty, so the
    /// output is always a valid zstd stream).
    pub fn finish(mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if !self.pending.is_empty() || self.frames == 0 {
            self.emit_frame(&mut out);
        }
        out
    }

    fn emit_frame(&mut self, out: &mut Vec<u8>) {
        compress(self.pending.as_slice(), &mut *out, self.level);
        self.pending.clear();
        self.frames += 1;
    }
}
