//! PostgreSQL `bytea` text forms, for formatters that write binary columns
//! (whose batch values are raw bytes) as text.
//!
//! Output is always the hex form: `\x` followed by two lowercase hex digits
//! per byte. Input accepts what PostgreSQL's `byteain` accepts: the hex form
//! (either case, whitespace between digit pairs) and the older escape form
//! (`\\` for a backslash, `\ooo` octal, other bytes as themselves).

use crate::StageError;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `\x` and the lowercase hex digits of `raw` to `out`.
pub fn encode_hex(raw: &[u8], out: &mut Vec<u8>) {
    out.reserve(2 + raw.len() * 2);
    out.extend_from_slice(b"\\x");
    for &b in raw {
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 0xf) as usize]);
    }
}

/// Value of one hex digit, either case.
pub fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Appends the raw bytes that the bytea text `text` stands for to `out`;
/// `invalid-input` (and `out` unspecified) if `text` is not valid bytea.
pub fn decode(text: &[u8], out: &mut Vec<u8>) -> Result<(), StageError> {
    match text.strip_prefix(b"\\x") {
        Some(hex) => decode_hex_digits(hex, out),
        None => decode_escape(text, out),
    }
}

fn decode_hex_digits(hex: &[u8], out: &mut Vec<u8>) -> Result<(), StageError> {
    out.reserve(hex.len() / 2);
    let mut i = 0;
    while i < hex.len() {
        let hi = hex[i];
        if matches!(hi, b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
            continue;
        }
        let lo = *hex.get(i + 1).ok_or_else(|| StageError::invalid_input("invalid bytea: odd number of hex digits"))?;
        match (hex_digit(hi), hex_digit(lo)) {
            (Some(h), Some(l)) => out.push(h << 4 | l),
            _ => {
                return Err(StageError::invalid_input(format!(
                    "invalid bytea: bad hex digit in {:?}",
                    String::from_utf8_lossy(&[hi, lo])
                )));
            }
        }
        i += 2;
    }
    Ok(())
}

fn decode_escape(text: &[u8], out: &mut Vec<u8>) -> Result<(), StageError> {
    out.reserve(text.len());
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        match text.get(i + 1..i + 4) {
            Some([b'\\', ..]) => {
                out.push(b'\\');
                i += 2;
            }
            Some(&[a @ b'0'..=b'3', b @ b'0'..=b'7', c @ b'0'..=b'7']) => {
                out.push((a - b'0') << 6 | (b - b'0') << 3 | (c - b'0'));
                i += 4;
            }
            _ if text.get(i + 1) == Some(&b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            _ => return Err(StageError::invalid_input("invalid bytea: bad escape sequence")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_every_byte() {
        let raw: Vec<u8> = (0..=255).collect();
        let mut text = Vec::new();
        encode_hex(&raw, &mut text);
        assert!(text.starts_with(b"\\x000102"));
        assert!(text.ends_with(b"feff"));
        let mut back = Vec::new();
        decode(&text, &mut back).expect("valid");
        assert_eq!(back, raw);
    }

    #[test]
    fn empty_bytea_is_bare_prefix() {
        let mut text = Vec::new();
        encode_hex(b"", &mut text);
        assert_eq!(text, b"\\x");
        let mut back = vec![1];
        decode(&text, &mut back).expect("valid");
        assert_eq!(back, vec![1]);
    }

    #[test]
    fn decode_accepts_upper_case_and_whitespace() {
        let mut out = Vec::new();
        decode(b"\\xAB cd\n0F", &mut out).expect("valid");
        assert_eq!(out, vec![0xab, 0xcd, 0x0f]);
    }

    #[test]
    fn decode_accepts_escape_form() {
        let mut out = Vec::new();
        decode(b"a\\\\b\\000\\377", &mut out).expect("valid");
        assert_eq!(out, b"a\\b\x00\xff");
        // A trailing `\\` too.
        out.clear();
        decode(b"x\\\\", &mut out).expect("valid");
        assert_eq!(out, b"x\\");
    }

    #[test]
    fn decode_rejects_bad_text() {
        for bad in [&b"\\x0"[..], b"\\xzz", b"\\x0g", b"a\\", b"\\9", b"\\400"] {
            let mut out = Vec::new();
            assert!(matches!(decode(bad, &mut out), Err(StageError::InvalidInput(_))), "{bad:?}");
        }
    }
}
