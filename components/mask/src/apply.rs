//! Applying a rule to the non-NULL values of one column of a batch. Every
//! keyed rule makes one host call for the whole column (a few for `ff1`'s
//! cycle walking), never one per value.

use std::collections::BTreeMap;

use sluice_sdk::{ColumnKind, StageError, keyed};

use crate::fit::Limits;
use crate::names::{FIRST_NAMES, LAST_NAMES};
use crate::rule::{HashFormat, Redact, Rule};

/// One output per input value; `None` is NULL.
pub type Out = Vec<Option<Vec<u8>>>;

/// The column (or json path) a rule runs on.
pub struct Target<'a> {
    /// `schema.table.column`, plus the json path inside a json column; for
    /// messages.
    pub label: &'a str,
    /// The keyed domain.
    pub domain: &'a str,
    pub kind: ColumnKind,
    pub limits: Limits,
}

/// State kept for one chunk: `ff1`'s permutation tables for small domains,
/// built once and reused by every batch.
#[derive(Default)]
pub struct Cache {
    pub tables: BTreeMap<(String, u64), Vec<u32>>,
}

/// The reserved domain masked emails use (RFC 2606).
const EMAIL_DOMAIN: &str = "example.com";

/// Length of a masked email without `keep_domain`: `u` + 12 + `@example.com`.
pub const EMAIL_LEN: usize = 1 + 12 + 1 + EMAIL_DOMAIN.len();

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const HEX: &[u8; 16] = b"0123456789abcdef";

/// Characters in a full-length hash.
pub fn hash_len(format: HashFormat) -> usize {
    match format {
        HashFormat::Hex => 64,
        HashFormat::Base32 => 52,
    }
}

/// Masks `items` (the non-NULL values of a column, in row order).
/// `seeds[i]` is the row key of item `i`, used by `noise` only.
pub fn apply(
    rule: &Rule,
    t: &Target<'_>,
    items: &[&[u8]],
    seeds: &[&[u8]],
    cache: &mut Cache,
) -> Result<Out, StageError> {
    match rule {
        Rule::Null => Ok(vec![None; items.len()]),
        Rule::Const(value) => Ok(vec![Some(value.as_bytes().to_vec()); items.len()]),
        Rule::Redact(r) => items.iter().map(|item| Ok(Some(redact(r, text(t, item)?).into_bytes()))).collect(),
        Rule::Email { keep_domain } => email(t, items, *keep_domain),
        Rule::FirstName | Rule::LastName | Rule::FullName => names(rule, t, items),
        Rule::Digits { luhn } => digits(t, items, *luhn),
        Rule::Hash { format, length } => hash(t, items, *format, *length),
        Rule::Ff1 { range } => crate::ff1::apply(*range, t, items, cache),
        Rule::Noise(bound) => crate::noise::apply(bound, t, items, seeds),
        Rule::Json(rules) => crate::json::apply(rules, t, items, seeds, cache),
    }
}

/// The value as UTF-8, or `invalid-input` naming the column.
pub fn text<'a>(t: &Target<'_>, item: &'a [u8]) -> Result<&'a str, StageError> {
    std::str::from_utf8(item).map_err(|_| StageError::invalid_input(format!("{}: a value is not UTF-8", t.label)))
}

/// A value for an error message, cut short so a huge value cannot flood it.
pub fn quote(value: &str) -> String {
    let short: String = value.chars().take(40).collect();
    if short.len() < value.len() { format!("{short:?}…") } else { format!("{short:?}") }
}

fn redact(r: &Redact, value: &str) -> String {
    match r {
        Redact::Token(token) => token.clone(),
        Redact::Keep { first, last, fill } => {
            let len = value.chars().count();
            // Keeping first + last >= len characters would keep the whole
            // value: then nothing is kept.
            let (first, last) = if first + last < len { (*first, *last) } else { (0, 0) };
            let mut out = String::with_capacity(value.len());
            for (i, c) in value.chars().enumerate() {
                out.push(if i < first || i >= len - last { c } else { *fill });
            }
            out
        }
    }
}

/// The first `chars` base32 characters (5 bits each) of `digest`.
fn base32(digest: &[u8], chars: usize) -> String {
    let mut out = String::with_capacity(chars);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in digest {
        if out.len() == chars {
            return out;
        }
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 && out.len() < chars {
            bits -= 5;
            out.push(char::from(BASE32[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 && out.len() < chars {
        out.push(char::from(BASE32[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

fn email(t: &Target<'_>, items: &[&[u8]], keep_domain: bool) -> Result<Out, StageError> {
    let digests = keyed::hmac(t.domain, items.iter().copied())?;
    items
        .iter()
        .zip(&digests)
        .map(|(item, digest)| {
            let domain = match text(t, item)?.rsplit_once('@') {
                Some((_, d)) if keep_domain && !d.is_empty() => d,
                _ => EMAIL_DOMAIN,
            };
            let out = format!("u{}@{domain}", base32(digest, 12));
            if let Some(max) = t.limits.max_chars
                && out.chars().count() > max
            {
                return Err(StageError::invalid_input(format!(
                    "{}: the masked email keeping domain {} is longer than the column's {max} characters",
                    t.label,
                    quote(domain)
                )));
            }
            Ok(Some(out.into_bytes()))
        })
        .collect()
}

fn pick<'n>(list: &[&'n str], bytes: &[u8]) -> &'n str {
    let mut r = [0u8; 8];
    r.copy_from_slice(&bytes[..8]);
    list[(u64::from_be_bytes(r) % list.len() as u64) as usize]
}

fn names(rule: &Rule, t: &Target<'_>, items: &[&[u8]]) -> Result<Out, StageError> {
    let digests = keyed::hmac(t.domain, items.iter().copied())?;
    Ok(digests
        .iter()
        .map(|d| {
            let first = pick(&FIRST_NAMES, &d[..8]);
            let last = pick(&LAST_NAMES, &d[8..16]);
            let mut name = match rule {
                Rule::FirstName => first.to_owned(),
                Rule::LastName => last.to_owned(),
                _ => format!("{first} {last}"),
            };
            // The names are ASCII, so a byte cut is a character cut.
            if let Some(max) = t.limits.max_chars {
                name.truncate(max);
            }
            Some(name.into_bytes())
        })
        .collect())
}

/// Keyed digits per digest: 16, one per big-endian u16 (mod 10; the bias
/// is 6 in 65536).
const DIGITS_PER_DIGEST: usize = 16;

fn digits(t: &Target<'_>, items: &[&[u8]], luhn: bool) -> Result<Out, StageError> {
    // Values with more than 16 digits take extra digests, from the item
    // followed by 0xff and a block number: 0xff never occurs in UTF-8 text,
    // so no extra item equals another value.
    let mut material: Vec<Vec<u8>> = Vec::with_capacity(items.len());
    let mut first_block = Vec::with_capacity(items.len());
    for item in items {
        first_block.push(material.len());
        let count = item.iter().filter(|b| b.is_ascii_digit()).count();
        material.push(item.to_vec());
        for block in 1..count.div_ceil(DIGITS_PER_DIGEST) {
            let mut extra = item.to_vec();
            extra.push(0xff);
            extra.extend_from_slice(&(block as u32).to_be_bytes());
            material.push(extra);
        }
    }
    let digests = keyed::hmac(t.domain, material.iter().map(Vec::as_slice))?;
    items
        .iter()
        .zip(first_block)
        .map(|(item, first)| {
            let mut out = text(t, item)?.as_bytes().to_vec();
            let positions: Vec<usize> = (0..out.len()).filter(|&i| out[i].is_ascii_digit()).collect();
            for (n, &pos) in positions.iter().enumerate() {
                let d = &digests[first + n / DIGITS_PER_DIGEST];
                let k = n % DIGITS_PER_DIGEST * 2;
                out[pos] = b'0' + (u16::from_be_bytes([d[k], d[k + 1]]) % 10) as u8;
            }
            if let [payload @ .., check] = &positions[..]
                && luhn
                && !payload.is_empty()
            {
                let digits: Vec<u8> = payload.iter().map(|&p| out[p] - b'0').collect();
                out[*check] = b'0' + luhn_check_digit(&digits);
            }
            Ok(Some(out))
        })
        .collect()
}

/// The digit that makes `payload` followed by it pass the Luhn check.
pub fn luhn_check_digit(payload: &[u8]) -> u8 {
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

fn hash(t: &Target<'_>, items: &[&[u8]], format: HashFormat, length: Option<usize>) -> Result<Out, StageError> {
    let digests = keyed::hmac(t.domain, items.iter().copied())?;
    let len = length.unwrap_or(hash_len(format));
    Ok(digests
        .iter()
        .map(|d| {
            let mut out = match format {
                HashFormat::Hex => {
                    d.iter().flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]).collect()
                }
                HashFormat::Base32 => base32(d, 52).into_bytes(),
            };
            out.truncate(len);
            Some(out)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_encodes_like_rfc_4648_in_lowercase() {
        assert_eq!(base32(b"foobar", 10), "mzxw6ytboi");
        assert_eq!(base32(b"f", 2), "my");
        assert_eq!(base32(&[0xff; 32], 52).len(), 52);
    }

    #[test]
    fn luhn_check_digit_matches_known_numbers() {
        let digits = |s: &str| s.bytes().map(|b| b - b'0').collect::<Vec<_>>();
        assert_eq!(luhn_check_digit(&digits("7992739871")), 3);
        assert_eq!(luhn_check_digit(&digits("411111111111111")), 1);
        assert_eq!(luhn_check_digit(&digits("0")), 0);
    }

    #[test]
    fn redact_keeps_chars_not_bytes_and_never_the_whole_value() {
        let keep = Redact::Keep { first: 1, last: 2, fill: '*' };
        assert_eq!(redact(&keep, "Zoë Ängström"), "Z*********öm");
        assert_eq!(redact(&keep, "abc"), "***");
        assert_eq!(redact(&keep, "abcd"), "a*cd");
        assert_eq!(redact(&Redact::Keep { first: 0, last: 0, fill: '#' }, "héllo"), "#####");
        assert_eq!(redact(&Redact::Token("X".into()), "anything"), "X");
    }
}
