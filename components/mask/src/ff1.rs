//! The `ff1` rule: a keyed bijection, so masked primary keys stay unique and
//! foreign keys masked under the same domain still join.
//!
//! - **Integer range** (`min`/`max` on an integer column): `v - min` is
//!   mapped within `[0, max - min]`, and `min` added back.
//! - **Digit string** (text column): the ASCII digits of the value, read as
//!   one numeral string, are mapped to another string of as many digits;
//!   every other character stays where it is.
//!
//! Either way the mapping is a permutation of `[0, n)` for a domain size `n`
//! (`max - min + 1`, or `10^digits`), chosen by size:
//! - `n > 100_000`: FF1 (radix 10) over numeral strings of
//!   `max(6, digits of n - 1)` digits, re-encrypting while the result is
//!   `>= n` (cycle walking; the strings' domain is at most 10 times `n`, so
//!   a few rounds on average, each one host call for all pending values).
//! - `n <= 100_000`: FF1 cannot go below NIST's minimum domain of 10^6, and
//!   cycle walking a range of 2 inside 10^6 strings would take ~500 000
//!   encryptions per value. Instead the permutation is a table: the keyed
//!   HMAC of every `i < n` (one host call), sorted. That is a uniformly
//!   random keyed permutation, built once per chunk and column.

use sluice_sdk::{StageError, keyed};

use crate::apply::{Cache, Out, Target, quote, text};

/// Largest domain permuted by a table rather than by FF1.
const TABLE_MAX: u64 = 100_000;

/// NIST SP 800-38G's minimum FF1 domain, as a number of decimal digits.
const MIN_DIGITS: usize = 6;

/// Cycle walking ends after a few rounds with a true bijection; this many
/// means the host is broken.
const MAX_ROUNDS: usize = 100_000;

pub fn apply(
    range: Option<(i128, i128)>,
    t: &Target<'_>,
    items: &[&[u8]],
    cache: &mut Cache,
) -> Result<Out, StageError> {
    match range {
        Some((min, max)) => integers(min, max, t, items, cache),
        None => digit_strings(t, items, cache),
    }
}

fn integers(min: i128, max: i128, t: &Target<'_>, items: &[&[u8]], cache: &mut Cache) -> Result<Out, StageError> {
    let offsets = items
        .iter()
        .map(|item| {
            let value = text(t, item)?;
            match value.trim().parse::<i128>() {
                Ok(v) if (min..=max).contains(&v) => Ok((v - min) as u128),
                _ => Err(StageError::invalid_input(format!(
                    "{}: value {} is outside the ff1 range [{min}, {max}]",
                    t.label,
                    quote(value)
                ))),
            }
        })
        .collect::<Result<Vec<u128>, _>>()?;
    // max - min < 2^64 as both fit an i64.
    let n = (max - min) as u128 + 1;
    let mapped = permute(t.domain, n, &offsets, cache)?;
    Ok(mapped.into_iter().map(|x| Some((min + x as i128).to_string().into_bytes())).collect())
}

fn digit_strings(t: &Target<'_>, items: &[&[u8]], cache: &mut Cache) -> Result<Out, StageError> {
    let texts = items.iter().map(|item| text(t, item)).collect::<Result<Vec<_>, _>>()?;
    let mut out: Vec<Vec<u8>> = texts.iter().map(|s| s.as_bytes().to_vec()).collect();
    // Group by digit count: each count is its own domain of 10^count.
    let mut by_len: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for (i, s) in texts.iter().enumerate() {
        let count = s.bytes().filter(u8::is_ascii_digit).count();
        if count > 0 {
            by_len.entry(count).or_default().push(i);
        }
    }
    for (len, members) in by_len {
        let numerals: Vec<Vec<u16>> = members
            .iter()
            .map(|&i| texts[i].bytes().filter(u8::is_ascii_digit).map(|b| u16::from(b - b'0')).collect())
            .collect();
        let mapped: Vec<Vec<u16>> = if len >= MIN_DIGITS {
            // 10^len >= 10^6: FF1 directly, no walking.
            keyed::ff1_encrypt(t.domain, 10, &numerals)?
        } else {
            let values: Vec<u128> = numerals.iter().map(|n| to_value(n)).collect();
            permute(t.domain, 10u128.pow(len as u32), &values, cache)?
                .into_iter()
                .map(|v| to_numerals(v, len))
                .collect()
        };
        for (&i, digits) in members.iter().zip(mapped) {
            let positions = out[i].iter().enumerate().filter(|(_, b)| b.is_ascii_digit()).map(|(p, _)| p);
            let positions: Vec<usize> = positions.collect();
            for (p, d) in positions.into_iter().zip(digits) {
                out[i][p] = b'0' + d as u8;
            }
        }
    }
    Ok(out.into_iter().map(Some).collect())
}

/// Maps each `x < n` through the keyed permutation of `[0, n)`.
fn permute(domain: &str, n: u128, values: &[u128], cache: &mut Cache) -> Result<Vec<u128>, StageError> {
    if n <= 1 || values.is_empty() {
        return Ok(values.to_vec());
    }
    if n <= u128::from(TABLE_MAX) {
        let table = table(domain, n as u64, cache)?;
        return Ok(values.iter().map(|&x| u128::from(table[x as usize])).collect());
    }
    let len = digit_count(n - 1).max(MIN_DIGITS);
    let mut out = values.to_vec();
    let mut pending: Vec<usize> = (0..values.len()).collect();
    for _ in 0..MAX_ROUNDS {
        if pending.is_empty() {
            return Ok(out);
        }
        let numerals: Vec<Vec<u16>> = pending.iter().map(|&i| to_numerals(out[i], len)).collect();
        let encrypted = keyed::ff1_encrypt(domain, 10, &numerals)?;
        let mut still = Vec::new();
        for (&i, e) in pending.iter().zip(&encrypted) {
            out[i] = to_value(e);
            if out[i] >= n {
                still.push(i);
            }
        }
        pending = still;
    }
    Err(StageError::failed(format!("ff1 cycle walking in domain `{domain}` did not end: the keyed host is broken")))
}

/// The keyed permutation table of `[0, n)`: every `i` ordered by its HMAC.
fn table<'c>(domain: &str, n: u64, cache: &'c mut Cache) -> Result<&'c [u32], StageError> {
    let key = (domain.to_owned(), n);
    if !cache.tables.contains_key(&key) {
        let items: Vec<[u8; 26]> = (0..n)
            .map(|i| {
                let mut item = [0u8; 26];
                item[..10].copy_from_slice(b"ff1-table\0");
                item[10..18].copy_from_slice(&n.to_be_bytes());
                item[18..].copy_from_slice(&i.to_be_bytes());
                item
            })
            .collect();
        let digests = keyed::hmac(domain, items.iter().map(|i| &i[..]))?;
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_unstable_by_key(|&i| (digests[i as usize], i));
        cache.tables.insert(key.clone(), order);
    }
    Ok(&cache.tables[&key])
}

fn digit_count(mut x: u128) -> usize {
    let mut count = 1;
    while x >= 10 {
        x /= 10;
        count += 1;
    }
    count
}

fn to_numerals(x: u128, len: usize) -> Vec<u16> {
    format!("{x:0len$}").bytes().map(|b| u16::from(b - b'0')).collect()
}

fn to_value(numerals: &[u16]) -> u128 {
    numerals.iter().fold(0u128, |acc, &d| acc * 10 + u128::from(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::Limits;
    use sluice_sdk::ColumnKind;

    fn target(domain: &str) -> Target<'_> {
        Target { label: "public.t.id", domain, kind: ColumnKind::Integer, limits: Limits::default() }
    }

    fn ints(t: &Target<'_>, min: i128, max: i128, values: impl Iterator<Item = i128>) -> Vec<i128> {
        let texts: Vec<String> = values.map(|v| v.to_string()).collect();
        let items: Vec<&[u8]> = texts.iter().map(|s| s.as_bytes()).collect();
        let out = apply(Some((min, max)), t, &items, &mut Cache::default()).expect("ff1");
        out.into_iter().map(|v| String::from_utf8(v.expect("not null")).expect("utf8").parse().expect("int")).collect()
    }

    #[test]
    fn small_range_is_a_bijection_onto_itself() {
        let t = target("ff1:public.t.id");
        let out = ints(&t, 1, 2000, 1..=2000);
        assert!(out.iter().all(|v| (1..=2000).contains(v)));
        let mut sorted = out.clone();
        sorted.sort();
        assert_eq!(sorted, (1..=2000).collect::<Vec<_>>(), "not a permutation");
        assert_ne!(out, (1..=2000).collect::<Vec<_>>());
        assert_eq!(out, ints(&t, 1, 2000, 1..=2000), "not deterministic");
        assert_ne!(out, ints(&target("ff1:other"), 1, 2000, 1..=2000), "domain ignored");
    }

    #[test]
    fn large_range_walks_cycles_and_stays_injective() {
        let t = target("ff1:public.t.big");
        let (min, max) = (-50_000, 249_999);
        let inputs: Vec<i128> = (min..=max).step_by(97).collect();
        let out = ints(&t, min, max, inputs.iter().copied());
        assert!(out.iter().all(|v| (min..=max).contains(v)));
        let mut sorted = out.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), inputs.len(), "collision");
    }

    #[test]
    fn range_of_one_value_maps_to_itself() {
        assert_eq!(ints(&target("d"), 7, 7, [7].into_iter()), vec![7]);
    }

    #[test]
    fn digit_strings_keep_their_layout_and_stay_distinct() {
        let t = Target { kind: ColumnKind::Text, ..target("ff1:public.t.code") };
        let texts: Vec<String> = (0..1000).map(|i| format!("AB-{i:03}/x")).collect();
        let mut items: Vec<&[u8]> = texts.iter().map(|s| s.as_bytes()).collect();
        items.push(b"1234567-89");
        items.push(b"no digits");
        let out: Vec<String> = apply(None, &t, &items, &mut Cache::default())
            .expect("ff1")
            .into_iter()
            .map(|v| String::from_utf8(v.expect("not null")).expect("utf8"))
            .collect();
        for s in &out[..1000] {
            assert!(s.starts_with("AB-") && s.ends_with("/x") && s.len() == 8, "{s}");
        }
        let mut distinct = out[..1000].to_vec();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 1000);
        assert_eq!(out[1000].len(), 10);
        assert_eq!(&out[1000][7..8], "-");
        assert_ne!(out[1000], "1234567-89");
        assert_eq!(out[1001], "no digits");
    }

    #[test]
    fn values_outside_the_range_are_invalid_input_naming_column_and_value() {
        let err = apply(Some((1, 10)), &target("d"), &[b"11"], &mut Cache::default()).expect_err("outside");
        assert!(
            matches!(&err, StageError::InvalidInput(m) if m.contains("public.t.id") && m.contains("\"11\"")),
            "{err:?}"
        );
    }
}
