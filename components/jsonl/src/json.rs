//! The JSON pieces the format needs, hand-written because the parser must
//! hand back a value's exact source bytes (a json column reads back byte
//! for byte) and write strings straight into the output buffer; a general
//! JSON crate would build a tree and re-print it.

/// Deepest nesting a json column's value may have to be embedded; deeper
/// values are written as strings (the guest's stack stays bounded).
pub const MAX_DEPTH: usize = 128;

/// Largest integer magnitude every JSON reader holds exactly (2^53).
const SAFE_INTEGER: u64 = 1 << 53;

/// Whether any byte of the 8 in `w` must be escaped in a JSON string: a
/// control byte (below 0x20), `"` or `\`. The usual SWAR tests (a byte
/// below `n` sets its high bit in `(w - n·0x01…) & !w & 0x80…`; equal
/// bytes are zero bytes of `w ^ b·0x01…`), exact for "any of the 8".
#[inline(always)]
fn block_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |v: u64, n: u64| v.wrapping_sub(ONES * n) & !v & HIGH;
    (below(w, 0x20) | below(w ^ (ONES * u64::from(b'"')), 1) | below(w ^ (ONES * u64::from(b'\\')), 1)) != 0
}

/// Length of the leading run of `bytes` that needs no escape, 8 bytes at
/// a time first; with `ascii`, bytes from 0x80 up end the run too.
#[inline(always)]
fn plain_run(bytes: &[u8], ascii: bool) -> usize {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let high = if ascii { HIGH } else { 0 };
    let mut i = 0;
    while let Some(block) = bytes.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(block);
        let w = u64::from_le_bytes(word);
        if block_needs_escape(w) || w & high != 0 {
            break;
        }
        i += 8;
    }
    while i < bytes.len() && !matches!(bytes[i], 0..=0x1f | b'"' | b'\\') && !(ascii && bytes[i] >= 0x80) {
        i += 1;
    }
    i
}

/// Appends `text` as a JSON string (quotes included).
pub fn write_string(text: &str, out: &mut Vec<u8>) {
    write_checked(text.as_bytes(), true, out);
}

/// Appends `bytes` as a JSON string (quotes included) if they are UTF-8,
/// checking them on the way (only what follows the first non-ASCII byte is
/// checked again); `false`, with `out` as it was, if they are not.
pub fn write_utf8(bytes: &[u8], out: &mut Vec<u8>) -> bool {
    let start = out.len();
    let written = write_checked(bytes, false, out);
    if !written {
        out.truncate(start);
    }
    written
}

fn write_checked(bytes: &[u8], mut valid: bool, out: &mut Vec<u8>) -> bool {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut rest = bytes;
    loop {
        let n = plain_run(rest, !valid);
        out.extend_from_slice(&rest[..n]);
        let Some((&b, tail)) = rest[n..].split_first() else { break };
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f => {
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            }
            // The first non-ASCII byte: the rest must be UTF-8.
            _ => {
                if std::str::from_utf8(&rest[n..]).is_err() {
                    return false;
                }
                valid = true;
                rest = &rest[n..];
                continue;
            }
        }
        rest = tail;
    }
    out.push(b'"');
    true
}

/// Whether `text` is a JSON number exactly as written
/// (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`).
pub fn is_number(text: &[u8]) -> bool {
    number_end(text, 0) == Some(text.len())
}

/// Whether `text` is a JSON integer that every reader holds exactly.
pub fn is_safe_integer(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    if digits.is_empty() || digits.len() > 16 || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    if digits.len() > 1 && digits[0] == b'0' || text == b"-0" {
        return false;
    }
    std::str::from_utf8(digits).ok().and_then(|d| d.parse::<u64>().ok()).is_some_and(|n| n <= SAFE_INTEGER)
}

/// The end of the number starting at `at`, if one does.
pub fn number_end(text: &[u8], mut at: usize) -> Option<usize> {
    let digits = |text: &[u8], at: usize| at + text[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    if text.get(at) == Some(&b'-') {
        at += 1;
    }
    match text.get(at) {
        Some(b'0') => at += 1,
        Some(b'1'..=b'9') => at = digits(text, at),
        _ => return None,
    }
    if text.get(at) == Some(&b'.') {
        let end = digits(text, at + 1);
        if end == at + 1 {
            return None;
        }
        at = end;
    }
    if matches!(text.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(text.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let end = digits(text, at);
        if end == at {
            return None;
        }
        at = end;
    }
    Some(at)
}

fn skip_space(text: &[u8], mut at: usize) -> usize {
    while matches!(text.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// The end of the JSON value starting at `at` (no whitespace before it),
/// if `text` holds a valid one there nested at most `depth` deep.
pub fn value_end(text: &[u8], at: usize, depth: usize) -> Option<usize> {
    match *text.get(at)? {
        b'"' => string_end(text, at),
        b'{' | b'[' if depth == 0 => None,
        b'{' => {
            let mut at = skip_space(text, at + 1);
            if text.get(at) == Some(&b'}') {
                return Some(at + 1);
            }
            loop {
                if text.get(at) != Some(&b'"') {
                    return None;
                }
                at = skip_space(text, string_end(text, at)?);
                if text.get(at) != Some(&b':') {
                    return None;
                }
                at = skip_space(text, at + 1);
                at = skip_space(text, value_end(text, at, depth - 1)?);
                match text.get(at)? {
                    b',' => at = skip_space(text, at + 1),
                    b'}' => return Some(at + 1),
                    _ => return None,
                }
            }
        }
        b'[' => {
            let mut at = skip_space(text, at + 1);
            if text.get(at) == Some(&b']') {
                return Some(at + 1);
            }
            loop {
                at = skip_space(text, value_end(text, at, depth - 1)?);
                match text.get(at)? {
                    b',' => at = skip_space(text, at + 1),
                    b']' => return Some(at + 1),
                    _ => return None,
                }
            }
        }
        b't' => text[at..].starts_with(b"true").then_some(at + 4),
        b'f' => text[at..].starts_with(b"false").then_some(at + 5),
        b'n' => text[at..].starts_with(b"null").then_some(at + 4),
        _ => number_end(text, at),
    }
}

/// The end of the string whose opening quote is at `at` (just past the
/// closing quote), if it is a valid JSON string.
pub fn string_end(text: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    loop {
        match *text.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => match *text.get(i + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                b'u' if text.get(i + 2..i + 6)?.iter().all(u8::is_ascii_hexdigit) => i += 6,
                _ => return None,
            },
            0..=0x1f => return None,
            _ => i += 1,
        }
    }
}

/// Decodes the string `quoted` (quotes included, as [`string_end`]
/// delimited it) into `out`; `None` if it holds an escape that is not
/// valid text (a lone surrogate).
pub fn decode_string(quoted: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let inner = &quoted[1..quoted.len() - 1];
    let mut i = 0;
    while i < inner.len() {
        let run = inner[i..].iter().position(|&b| b == b'\\').unwrap_or(inner.len() - i);
        out.extend_from_slice(&inner[i..i + run]);
        i += run;
        if i >= inner.len() {
            break;
        }
        let simple = match inner[i + 1] {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            i += 2;
            continue;
        }
        let unit = hex4(&inner[i + 2..i + 6])?;
        i += 6;
        let code = if (0xd800..0xdc00).contains(&unit) {
            if inner.get(i..i + 2) != Some(b"\\u") {
                return None;
            }
            let low = hex4(inner.get(i + 2..i + 6)?)?;
            if !(0xdc00..0xe000).contains(&low) {
                return None;
            }
            i += 6;
            0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
        } else {
            unit
        };
        let c = char::from_u32(code)?;
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    Some(())
}

fn hex4(digits: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(digits).ok()?;
    u32::from_str_radix(text, 16).ok()
}
