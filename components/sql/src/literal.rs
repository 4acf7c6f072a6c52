//! Pieces both directions share: quoting names, the statement prefix,
//! numeric literals and hex digits.

use sluice_sdk::Table;

use crate::Engine;

/// The two lowercase hex digits of every byte, so encoding is one lookup.
const HEX_PAIRS: [[u8; 2]; 256] = {
    let digits = b"0123456789abcdef";
    let mut t = [[0u8; 2]; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = [digits[b >> 4], digits[b & 0xf]];
        b += 1;
    }
    t
};

/// Appends the lowercase hex digits of `raw` (no quotes, no `X`).
pub(crate) fn push_hex(raw: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + raw.len() * 2, 0);
    for (pair, &b) in out[start..].chunks_exact_mut(2).zip(raw) {
        pair.copy_from_slice(&HEX_PAIRS[b as usize]);
    }
}

/// Value of one hex digit, either case.
pub(crate) fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Length of the run of ASCII digits at the start of `text`.
fn digits(text: &[u8]) -> usize {
    text.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// Whether `text` is `-?[0-9]+`: an integer literal.
pub(crate) fn is_integer(text: &[u8]) -> bool {
    let body = text.strip_prefix(b"-").unwrap_or(text);
    !body.is_empty() && digits(body) == body.len()
}

/// Whether `text` is a numeric literal both SQLite and MySQL read as a number:
/// `-?(D+(.D*)?|.D+)([eE][+-]?D+)?`. Only one leading `-`, because `--`
/// starts a comment.
pub(crate) fn is_number(text: &[u8]) -> bool {
    let text = text.strip_prefix(b"-").unwrap_or(text);
    let whole = digits(text);
    let mut rest = &text[whole..];
    let mut mantissa = whole;
    if let Some(after) = rest.strip_prefix(b".") {
        let fraction = digits(after);
        mantissa += fraction;
        rest = &after[fraction..];
    }
    if mantissa == 0 {
        return false;
    }
    match rest.split_first() {
        None => true,
        Some((b'e' | b'E', exponent)) => {
            let exponent = exponent.strip_prefix(b"+").or_else(|| exponent.strip_prefix(b"-")).unwrap_or(exponent);
            !exponent.is_empty() && digits(exponent) == exponent.len()
        }
        Some(_) => false,
    }
}

/// Whether the numeric literal `text` is a negative zero (`-0`, `-0.0e5`),
/// which PostgreSQL reads bare as 0: the minus applies to the constant.
pub(crate) fn is_negative_zero(text: &[u8]) -> bool {
    text.strip_prefix(b"-").is_some_and(|body| {
        let mantissa = body.split(|&b| b == b'e' || b == b'E').next().unwrap_or(body);
        mantissa.iter().all(|&b| b == b'0' || b == b'.')
    })
}

/// Appends `name` as a quoted identifier: `"name"` (SQLite, PostgreSQL) or
/// `` `name` `` (MySQL), the quote character doubled inside.
fn push_name(engine: Engine, name: &str, out: &mut Vec<u8>) {
    let quote = match engine {
        Engine::Sqlite | Engine::Postgres => b'"',
        Engine::Mysql => b'`',
    };
    out.push(quote);
    for &b in name.as_bytes() {
        out.push(b);
        if b == quote {
            out.push(quote);
        }
    }
    out.push(quote);
}

/// `INSERT INTO <table> (<columns>) VALUES` and a newline: how every
/// statement of `table` starts. SQLite and MySQL tables go without their
/// schema, so a file restores into whatever database it is run against;
/// PostgreSQL ones with it, since a database holds many schemas.
pub(crate) fn statement_prefix(engine: Engine, table: &Table) -> Vec<u8> {
    let mut out = b"INSERT INTO ".to_vec();
    if engine == Engine::Postgres {
        push_name(engine, &table.schema, &mut out);
        out.push(b'.');
    }
    push_name(engine, &table.name, &mut out);
    out.extend_from_slice(b" (");
    for (i, column) in table.columns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_name(engine, &column.name, &mut out);
    }
    // Identity columns `GENERATED ALWAYS` take the dumped values only so;
    // tables without one ignore it.
    if engine == Engine::Postgres {
        out.extend_from_slice(b") OVERRIDING SYSTEM VALUE VALUES\n");
    } else {
        out.extend_from_slice(b") VALUES\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_sql_literal_grammar() {
        for good in ["0", "-1", "007", "1.5", "1.", ".5", "-.5", "1e5", "1E+5", "2.5e-3", "9223372036854775807"] {
            assert!(is_number(good.as_bytes()), "{good}");
        }
        for bad in ["", "-", ".", "--1", "+1", "1e", "1e+", "e5", "1.2.3", "0x10", " 1", "1 ", "inf", "NaN", "1_0"] {
            assert!(!is_number(bad.as_bytes()), "{bad}");
        }
        assert!(is_integer(b"-9223372036854775808"));
        for bad in ["", "-", "1.0", "1e3", "+1", "--1"] {
            assert!(!is_integer(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn hex_pairs_cover_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let mut out = Vec::new();
        push_hex(&all, &mut out);
        let back: Vec<u8> = out
            .chunks(2)
            .map(|p| hex_value(p[0]).zip(hex_value(p[1])).map(|(h, l)| h << 4 | l).expect("hex digit"))
            .collect();
        assert_eq!(back, all);
        assert_eq!(&out[..6], b"000102");
        assert_eq!(&out[out.len() - 2..], b"ff");
    }
}
