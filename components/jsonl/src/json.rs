//! The JSON pieces the format needs, hand-written because the parser must
//! hand back a value's exact source bytes (a json column reads back byte
//! for byte) and write strings straight into the output buffer; a general
//! JSON crate would build a tree and re-print it.

/// Deepest nesting a json column's value may have to be embedded; deeper
/// values are written as strings (the guest's stack stays bounded).
pub const MAX_DEPTH: usize = 128;

/// Largest integer magnitude every JSON reader holds exactly (2^53).
const SAFE_INTEGER: u64 = 1 << 53;

/// Appends `text` as a JSON string (quotes included).
pub fn write_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
        } else {
            out.extend_from_slice(escape);
        }
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
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
