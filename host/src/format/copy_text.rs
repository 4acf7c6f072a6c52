//! PostgreSQL COPY text, the `copy` format: the native decoder from COPY
//! text to column-major batches (used when a component stage needs
//! batches; the pass-through fast path never decodes) and the encoder
//! from batches back to COPY text (the same bytes as the `copy` component).

use anyhow::bail;

use crate::batch::{Batch, ColumnData};
use crate::catalog::ColumnKind;

/// Streaming decoder from PostgreSQL COPY text to batches of bounded size.
pub struct CopyTextDecoder {
    binary: Vec<bool>,
    carry: Vec<u8>,
    batch: Batch,
    max_rows: u32,
    max_bytes: usize,
    rows_seen: u64,
    field: Vec<u8>,
}

impl CopyTextDecoder {
    /// A decoder for rows of `kinds`, emitting batches of at most
    /// `max_rows` rows or about `max_bytes` bytes.
    pub fn new(kinds: &[ColumnKind], max_rows: u32, max_bytes: usize) -> Self {
        CopyTextDecoder {
            binary: kinds.iter().map(|k| *k == ColumnKind::Binary).collect(),
            carry: Vec::new(),
            batch: Batch::with_columns(kinds.len()),
            max_rows,
            max_bytes,
            rows_seen: 0,
            field: Vec::new(),
        }
    }

    /// Feeds bytes split anywhere; full batches go to `emit`.
    pub fn feed(&mut self, mut data: &[u8], emit: &mut impl FnMut(Batch) -> anyhow::Result<()>) -> anyhow::Result<()> {
        if !self.carry.is_empty() {
            let Some(end) = memchr::memchr(b'\n', data) else {
                self.carry.extend_from_slice(data);
                return Ok(());
            };
            let mut line = std::mem::take(&mut self.carry);
            line.extend_from_slice(&data[..end]);
            self.row(&line, emit)?;
            line.clear();
            self.carry = line;
            data = &data[end + 1..];
        }
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', data) {
            self.row(&data[start..end], emit)?;
            start = end + 1;
        }
        self.carry.extend_from_slice(&data[start..]);
        Ok(())
    }

    /// Emits the last partial batch; fails if the input ended inside a row.
    pub fn finish(mut self, emit: &mut impl FnMut(Batch) -> anyhow::Result<()>) -> anyhow::Result<()> {
        if !self.carry.is_empty() {
            bail!("COPY data ends inside row {}", self.rows_seen + 1);
        }
        if self.batch.rows > 0 {
            emit(self.take())?;
        }
        Ok(())
    }

    fn row(&mut self, line: &[u8], emit: &mut impl FnMut(Batch) -> anyhow::Result<()>) -> anyhow::Result<()> {
        self.rows_seen += 1;
        let columns = self.binary.len();
        let mut fields = 0;
        // A table with no data columns still has one (empty) line per row.
        if columns > 0 {
            let mut start = 0;
            // One more field than tabs: the last ends at the line's end.
            for end in memchr::memchr_iter(b'\t', line).chain(std::iter::once(line.len())) {
                let raw = &line[start..end];
                start = end + 1;
                if fields == columns {
                    bail!("COPY row {} has more than {columns} fields", self.rows_seen);
                }
                let column = &mut self.batch.columns[fields];
                if raw == b"\\N" {
                    column.push(None);
                } else if self.binary[fields] {
                    unescape(raw, &mut self.field);
                    let hex = self.field.strip_prefix(b"\\x").unwrap_or(b"-");
                    if !column.push_hex(hex) {
                        bail!("COPY row {} column {}: bytea value is not hex", self.rows_seen, fields + 1);
                    }
                } else if memchr::memchr(b'\\', raw).is_none() {
                    // Most values have no escapes: copied once, into the column.
                    column.push(Some(raw));
                } else {
                    unescape(raw, &mut self.field);
                    column.push(Some(&self.field));
                }
                fields += 1;
            }
        } else if !line.is_empty() {
            bail!("COPY row {} has data for a table without columns", self.rows_seen);
        }
        if fields != columns {
            bail!("COPY row {} has {fields} fields, expected {columns}", self.rows_seen);
        }
        self.batch.rows += 1;
        if self.batch.rows >= self.max_rows || self.batch.data_bytes() >= self.max_bytes {
            emit(self.take())?;
        }
        Ok(())
    }

    fn take(&mut self) -> Batch {
        // The next batch starts with this one's sizes, so its buffers do not
        // grow (and copy) their way up again.
        let next = Batch { rows: 0, columns: self.batch.columns.iter().map(ColumnData::with_capacity_of).collect() };
        let mut batch = std::mem::replace(&mut self.batch, next);
        batch.columns.iter_mut().for_each(|c| c.seal());
        batch
    }
}

/// Undoes COPY text escapes (`\n`, `\t`, octal `\NNN`, hex `\xHH`, `\c`).
fn unescape(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut i = 0;
    while i < raw.len() {
        let Some(offset) = memchr::memchr(b'\\', &raw[i..]) else {
            out.extend_from_slice(&raw[i..]);
            break;
        };
        out.extend_from_slice(&raw[i..i + offset]);
        i += offset + 1;
        let Some(&c) = raw.get(i) else {
            out.push(b'\\');
            break;
        };
        i += 1;
        match c {
            b'0'..=b'7' => {
                let mut value = u32::from(c - b'0');
                for _ in 0..2 {
                    match raw.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(value as u8);
            }
            b'x' if raw.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let mut value = hex_value(raw[i]);
                i += 1;
                if let Some(&d) = raw.get(i).filter(|d| d.is_ascii_hexdigit()) {
                    value = value * 16 + hex_value(d);
                    i += 1;
                }
                out.push(value);
            }
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            other => out.push(other),
        }
    }
}

fn hex_value(d: u8) -> u8 {
    match d {
        b'0'..=b'9' => d - b'0',
        b'a'..=b'f' => d - b'a' + 10,
        _ => d - b'A' + 10,
    }
}

/// Appends `batch` as PostgreSQL COPY text; `binary` marks bytea columns,
/// whose raw bytes are written in bytea hex form.
pub fn encode_copy_text(batch: &crate::batch::Batch, binary: &[bool], out: &mut Vec<u8>) {
    out.reserve(batch.data_bytes() + batch.rows as usize * (batch.columns.len() + 1));
    for row in 0..batch.rows as usize {
        for (i, column) in batch.columns.iter().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            match column.value(row) {
                None => out.extend_from_slice(b"\\N"),
                Some(bytes) if binary[i] => {
                    out.extend_from_slice(b"\\\\x");
                    let start = out.len();
                    out.resize(start + bytes.len() * 2, 0);
                    hex::encode_to_slice(bytes, &mut out[start..]).expect("room for two digits per byte");
                }
                Some(bytes) => escape_into(bytes, out),
            }
        }
        out.push(b'\n');
    }
}

/// Bytes COPY text escapes: the backslash and the controls `\b` to `\r`.
fn needs_escape(b: u8) -> bool {
    (b == b'\\') | (0x08..=0x0d).contains(&b)
}

fn escape_into(bytes: &[u8], out: &mut Vec<u8>) {
    // Most values need no escape: one vectorised scan, then one copy.
    if super::sql_text::plain_run(bytes, needs_escape) == bytes.len() {
        out.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x0b => b"\\v",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(kinds: &[ColumnKind], text: &[u8], piece: usize) -> Vec<Batch> {
        let mut batches = Vec::new();
        let mut decoder = CopyTextDecoder::new(kinds, 3, 1 << 20);
        for part in text.chunks(piece.max(1)) {
            decoder
                .feed(part, &mut |b| {
                    batches.push(b);
                    Ok(())
                })
                .expect("feed");
        }
        decoder
            .finish(&mut |b| {
                batches.push(b);
                Ok(())
            })
            .expect("finish");
        batches
    }

    #[test]
    fn copy_text_round_trips_through_batches_split_anywhere() {
        let kinds = [ColumnKind::Text, ColumnKind::Binary, ColumnKind::Integer];
        let all_bytes: Vec<u8> = (0..=255).collect();
        let mut text = Vec::new();
        text.extend_from_slice(b"tab\\there\\nnew\\\\back\\rcr\t\\\\x00ff\t1\n");
        text.extend_from_slice(b"\\N\t\\N\t\\N\n");
        text.extend_from_slice(b"\t\\\\x\t-7\n");
        text.extend_from_slice("ünïcødé 🦀\t".as_bytes());
        text.extend_from_slice(format!("\\\\x{}\t42\n", hex::encode(&all_bytes)).as_bytes());
        text.extend_from_slice(b"\\N\t\\\\x41\t\\b\\f\\v\n");
        for piece in [1, 2, 3, 7, 1000] {
            let batches = decode_all(&kinds, &text, piece);
            assert_eq!(batches.iter().map(|b| b.rows).sum::<u32>(), 5);
            assert_eq!(batches[0].columns[0].value(0), Some(&b"tab\there\nnew\\back\rcr"[..]));
            assert_eq!(batches[0].columns[1].value(0), Some(&[0u8, 255][..]));
            assert_eq!(batches[0].columns[0].value(1), None);
            assert_eq!(batches[0].columns[0].value(2), Some(&b""[..]));
            assert_eq!(batches[0].columns[1].value(2), Some(&b""[..]));
            assert_eq!(batches[1].columns[1].value(0), Some(&all_bytes[..]));
            let mut again = Vec::new();
            for b in &batches {
                encode_copy_text(b, &[false, true, false], &mut again);
            }
            assert_eq!(again, text, "piece {piece}");
        }
    }

    #[test]
    fn every_special_byte_at_every_position_of_long_values_round_trips() {
        let escapes: [(u8, &[u8]); 7] = [
            (b'\\', b"\\\\"),
            (b'\n', b"\\n"),
            (b'\r', b"\\r"),
            (b'\t', b"\\t"),
            (8, b"\\b"),
            (11, b"\\v"),
            (12, b"\\f"),
        ];
        for (special, escaped) in escapes {
            for at in 0..40 {
                let mut value = vec![b'a'; 40];
                value[at] = special;
                let mut batch = Batch::with_columns(1);
                batch.columns[0].push(Some(&value));
                batch.rows = 1;
                let mut text = Vec::new();
                encode_copy_text(&batch, &[false], &mut text);
                assert_eq!(text, [&value[..at], escaped, &value[at + 1..], b"\n"].concat(), "byte {special} at {at}");
                let back = decode_all(&[ColumnKind::Text], &text, 1000);
                assert_eq!(back[0].columns[0].value(0), Some(&value[..]), "byte {special} at {at}");
            }
        }
    }

    #[test]
    fn octal_and_hex_escapes_decode_like_postgres() {
        let batches = decode_all(&[ColumnKind::Text], b"\\101\\x42\\7\\xg\\q\n", 100);
        assert_eq!(batches[0].columns[0].value(0), Some(&b"AB\x07xgq"[..]));
    }

    #[test]
    fn rows_with_wrong_field_counts_are_rejected() {
        let mut decoder = CopyTextDecoder::new(&[ColumnKind::Text, ColumnKind::Text], 10, 1 << 20);
        let err = decoder.feed(b"a\tb\tc\n", &mut |_| Ok(())).expect_err("too many fields");
        assert!(err.to_string().contains("row 1"), "{err}");
        let mut decoder = CopyTextDecoder::new(&[ColumnKind::Text], 10, 1 << 20);
        decoder.feed(b"partial", &mut |_| Ok(())).expect("feed");
        assert!(decoder.finish(&mut |_| Ok(())).is_err());
    }
}
